"""Medium's internal GraphQL: request bodies for the three listing operations and their parsers.

Every request body is a JSON array of operations; every answer is a JSON array with one
`{"data": ...}` (or `{"errors": [...]}`) per operation, in the same order. A server that
answers a single operation with a bare object is accepted too.
"""

from __future__ import annotations

import reprlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from archive_spider.items import Post, Publication
from archive_spider.sources import post_nodes
from archive_spider.sources.post_nodes import inline

GRAPHQL_PATH = "/_/graphql"
MAX_FIRST = 100
MAX_IDS_PER_BODY = 25

PUBLICATION_POSTS = "PublicationContentDataQuery"
HOMEPAGE_POSTS = "PublicationHomepageQuery"
POST_BY_ID = "PostByIdQuery"

POST_FIELDS = (
    "fragment PostFields on Post { id title uniqueSlug mediumUrl firstPublishedAt "
    "latestPublishedAt readingTime isLocked visibility pinnedAt previewImage { id } "
    "extendedPreviewContent { subtitle } creator { id name username } "
    "collection { id slug domain } }"
)
PUBLICATION_POSTS_QUERY = (
    "query PublicationContentDataQuery($ref: PublicationRef!, $first: Int!, $after: String!, "
    "$orderBy: PublicationPostsOrderBy, $filter: PublicationPostsFilter) { "
    "publication: publicationByRef(ref: $ref) { __typename id "
    "publicationPostsConnection(first: $first, after: $after, orderBy: $orderBy, "
    "filter: $filter) { edges { listedAt node { ...PostFields } } "
    "pageInfo { endCursor hasNextPage } } } } " + POST_FIELDS
)
HOMEPAGE_POSTS_QUERY = (
    "query PublicationHomepageQuery($domainOrSlug: ID!, $paging: PagingOptions) { "
    "collection: collectionByDomainOrSlug(domainOrSlug: $domainOrSlug) { id "
    "homepagePostsConnection(paging: $paging) { posts { ...PostFields } "
    "pagingInfo { next { from limit } } } } } " + POST_FIELDS
)
POST_BY_ID_QUERY = (
    "query PostByIdQuery($id: ID!) { post(id: $id) { ...PostFields } } " + POST_FIELDS
)

SOURCE = "graphql"


class SchemaDrift(ValueError):
    """Medium's GraphQL answer does not have the shape this module was written against."""

    def __init__(self, operation: str, detail: str) -> None:
        self.operation = operation
        super().__init__(f"Medium's GraphQL answer to {operation} {detail}")


@dataclass
class ListingPage:
    """The posts of one listing page and the cursor of the next page (None on the last)."""

    posts: list[Post]
    next_cursor: str | None
    rejected: list[str] = field(default_factory=list)


@dataclass
class PostBatch:
    """The posts of one `PostByIdQuery` batch. Unknown ids (`data.post` null) are absent."""

    posts: list[Post]
    rejected: list[str] = field(default_factory=list)


def _operation(name: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    return {"operationName": name, "variables": variables, "query": query}


def publication_posts_body(
    *, slug: str | None, domain: str | None, first: int, after: str = ""
) -> list[dict]:
    """Body of one `PublicationContentDataQuery` page; `after=""` asks for the first page."""
    if not 1 <= first <= MAX_FIRST:
        raise ValueError(f"first must be between 1 and {MAX_FIRST}, got {first}")
    variables = {
        "ref": {"slug": slug, "domain": domain},
        "first": first,
        "after": after,
        "orderBy": {"publishedAt": "DESC"},
        "filter": {"published": True},
    }
    return [_operation(PUBLICATION_POSTS, PUBLICATION_POSTS_QUERY, variables)]


def homepage_posts_body(*, domain_or_slug: str, limit: int, from_: str | None = None) -> list[dict]:
    """Body of one `PublicationHomepageQuery` page; `from_=None` asks for the first page."""
    paging: dict[str, Any] = {"limit": limit}
    if from_ is not None:
        paging["from"] = from_
    variables = {"domainOrSlug": domain_or_slug, "paging": paging}
    return [_operation(HOMEPAGE_POSTS, HOMEPAGE_POSTS_QUERY, variables)]


def posts_by_id_body(ids: list[str]) -> list[dict]:
    """One `PostByIdQuery` operation per post id, at most `MAX_IDS_PER_BODY` of them."""
    if not 1 <= len(ids) <= MAX_IDS_PER_BODY:
        raise ValueError(f"expected 1 to {MAX_IDS_PER_BODY} post ids, got {len(ids)}")
    for post_id in ids:
        if not post_nodes.POST_ID.match(post_id):
            raise ValueError(f"not a Medium post id: {post_id!r}")
    return [_operation(POST_BY_ID, POST_BY_ID_QUERY, {"id": post_id}) for post_id in ids]


def headers(origin: str, operation: str) -> dict[str, str]:
    """Request headers for a GraphQL POST made from the publication at `origin`."""
    origin = origin.rstrip("/")
    return {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "Origin": origin,
        "Referer": origin + "/",
        "graphql-operation": operation,
        "apollographql-client-name": "lite",
    }


def parse_publication_posts(
    payload: Any, *, seen_at: str, publication: Publication | None = None
) -> ListingPage:
    """Posts and next cursor of a `PublicationContentDataQuery` answer.

    `publication`, the one the listing was asked for, is the publication of a node that
    names none.
    """
    context = _context(seen_at, publication)
    op = PUBLICATION_POSTS
    data = _data(_single(payload, op), op)
    connection = _path(data, ("publication", "publicationPostsConnection"), op)
    edges = _list(connection, "edges", "data.publication.publicationPostsConnection.edges", op)
    page_info = connection.get("pageInfo")
    if not isinstance(page_info, dict):
        raise SchemaDrift(
            op, "has no data.publication.publicationPostsConnection.pageInfo: the API changed?"
        )
    has_next = page_info.get("hasNextPage")
    if not isinstance(has_next, bool):
        raise SchemaDrift(op, "has no boolean pageInfo.hasNextPage: the API changed?")
    next_cursor = None
    if has_next:
        next_cursor = page_info.get("endCursor")
        if not isinstance(next_cursor, str) or not next_cursor:
            raise SchemaDrift(op, "has hasNextPage but no pageInfo.endCursor: the API changed?")
    posts, rejected = [], []
    for index, edge in enumerate(edges):
        node = edge.get("node") if isinstance(edge, dict) else None
        _collect(node, f"edge {index}", context, posts, rejected)
    return ListingPage(posts=posts, next_cursor=next_cursor, rejected=rejected)


def parse_homepage_posts(
    payload: Any, *, seen_at: str, publication: Publication | None = None
) -> ListingPage:
    """Posts and next `from` of a `PublicationHomepageQuery` answer (pinned posts may lead)."""
    context = _context(seen_at, publication)
    op = HOMEPAGE_POSTS
    data = _data(_single(payload, op), op)
    connection = _path(data, ("collection", "homepagePostsConnection"), op)
    nodes = _list(connection, "posts", "data.collection.homepagePostsConnection.posts", op)
    paging = connection.get("pagingInfo")
    if not isinstance(paging, dict) or "next" not in paging:
        raise SchemaDrift(
            op, "has no data.collection.homepagePostsConnection.pagingInfo.next: the API changed?"
        )
    following = paging["next"]
    next_cursor = None
    if following is not None:
        next_cursor = following.get("from") if isinstance(following, dict) else None
        if not isinstance(next_cursor, str) or not next_cursor:
            raise SchemaDrift(op, "has a pagingInfo.next without a from: the API changed?")
    posts, rejected = [], []
    for index, node in enumerate(nodes):
        _collect(node, f"post {index}", context, posts, rejected)
    return ListingPage(posts=posts, next_cursor=next_cursor, rejected=rejected)


def parse_posts_by_id(
    payload: Any, *, seen_at: str, publication: Publication | None = None
) -> PostBatch:
    """Posts of a batch of `PostByIdQuery` answers, one per operation."""
    context = _context(seen_at, publication)
    op = POST_BY_ID
    answers = [payload] if isinstance(payload, dict) else payload
    if not isinstance(answers, list):
        raise SchemaDrift(op, f"is not a JSON list or object (got {type(payload).__name__})")
    posts, rejected = [], []
    for index, answer in enumerate(answers):
        data = _data(answer, op)
        if "post" not in data:
            raise SchemaDrift(op, "has no data.post: the API changed?")
        if data["post"] is not None:
            _collect(data["post"], f"operation {index}", context, posts, rejected)
    return PostBatch(posts=posts, rejected=rejected)


def _single(payload: Any, op: str) -> Any:
    """The answer to the first (only) operation of a batched or unbatched response."""
    if isinstance(payload, dict):
        return payload
    if not isinstance(payload, list):
        raise SchemaDrift(op, f"is not a JSON list or object (got {type(payload).__name__})")
    if not payload:
        raise SchemaDrift(op, "is an empty list: the API changed?")
    return payload[0]


def _data(answer: Any, op: str) -> dict:
    """`answer["data"]`, or SchemaDrift when the answer carries errors or no data."""
    if not isinstance(answer, dict):
        raise SchemaDrift(op, f"is not a JSON object (got {type(answer).__name__})")
    errors = answer.get("errors")
    if errors:
        first = errors[0] if isinstance(errors, list) else errors
        message = first.get("message") if isinstance(first, dict) else first
        raise SchemaDrift(op, f"has errors: {_one_line(message)}")
    data = answer.get("data")
    if not isinstance(data, dict):
        raise SchemaDrift(op, "has no data: the API changed?")
    return data


def _path(data: dict, keys: tuple[str, ...], op: str) -> dict:
    """The object at `data.<keys...>`, or SchemaDrift naming the whole path."""
    node: Any = data
    for depth, key in enumerate(keys):
        node = node.get(key)
        if not isinstance(node, dict):
            full = ".".join(("data", *keys))
            where = ".".join(("data", *keys[: depth + 1]))
            state = "missing" if node is None else f"a {type(node).__name__}"
            raise SchemaDrift(op, f"has no {full} ({where} is {state}): the API changed?")
    return node


def _list(container: dict, key: str, full: str, op: str) -> list:
    value = container.get(key)
    if not isinstance(value, list):
        raise SchemaDrift(op, f"has no {full} list: the API changed?")
    return value


def _one_line(value: Any) -> str:
    return " ".join(str(value).split())[:200]


def _collect(
    node: Any, where: str, context: _Context, posts: list[Post], rejected: list[str]
) -> None:
    """Append the Post made from `node` to `posts`, or the reason it is invalid to `rejected`."""
    if not isinstance(node, dict):
        rejected.append(f"{where}: node is not an object")
        return
    post_id = node.get("id")
    if not isinstance(post_id, str) or not post_nodes.POST_ID.match(post_id):
        shown = _one_line(reprlib.repr(post_id))[:40]
        rejected.append(f"{where}: id {shown} is not 8-12 hex characters")
        return
    publication = context.publication
    if "collection" in node:
        collection = node["collection"]
        try:
            publication = (
                None if collection is None else post_nodes.read_publication(inline(collection))
            )
        except post_nodes.BadPublication as error:
            rejected.append(f"{where}: post {post_id}: {error}")
            return
    url = post_nodes.post_url(node, publication)
    if url is None:
        rejected.append(f"{where}: post {post_id} has no usable uniqueSlug or mediumUrl")
        return
    posts.append(
        post_nodes.build_post(
            node,
            url=url,
            publication=publication,
            resolve=post_nodes.inline,
            latest_ms=context.latest_ms,
            source=SOURCE,
            seen_at=context.seen_at,
        )
    )


@dataclass(frozen=True)
class _Context:
    """What every node of one answer is read with; `latest_ms` (`post_nodes.
    latest_publishing_ms`) is None when `seen_at` is not a time."""

    seen_at: str
    publication: Publication | None
    latest_ms: int | None


def _context(seen_at: str, publication: Publication | None) -> _Context:
    try:
        seen = datetime.fromisoformat(seen_at.replace("Z", "+00:00"))
    except ValueError:
        return _Context(seen_at, publication, None)
    return _Context(seen_at, publication, post_nodes.latest_publishing_ms(seen))
