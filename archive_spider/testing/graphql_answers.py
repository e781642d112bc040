"""Medium's GraphQL endpoint: the listing operations, posts by id, paging and errors."""

from __future__ import annotations

import base64
import bisect
import json
from collections.abc import Callable
from typing import Any

from .faults import Faults
from .server import Reply, json_reply
from .synthetic import Catalog, Publication, SyntheticPost, homepage_from, tag_title

GRAPHQL_PATH = "/_/graphql"
PUBLICATION_POSTS = "PublicationContentDataQuery"
HOMEPAGE_POSTS = "PublicationHomepageQuery"
POST_BY_ID = "PostByIdQuery"
MAX_FIRST = 100
MAX_OPERATIONS = 25

# Answers one GraphQL operation of a request's JSON array.
OperationAnswer = Callable[[dict], dict]


def graphql_errors(message: str, **extensions: str) -> dict:
    error: dict[str, Any] = {"message": message}
    if extensions:
        error["extensions"] = extensions
    return {"errors": [error]}


def operations_of(body: bytes) -> list[dict]:
    """The operations of a GraphQL body (a JSON array, or one object); none if malformed."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return []
    operations = payload if isinstance(payload, list) else [payload]
    return [operation for operation in operations if isinstance(operation, dict)]


def operation_name(body: bytes) -> str | None:
    """The operationName of the first operation of a GraphQL body, if it has one."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    first = payload[0] if isinstance(payload, list) and payload else payload
    name = first.get("operationName") if isinstance(first, dict) else None
    return name if isinstance(name, str) else None


def graphql_reply(body: bytes, answer: OperationAnswer, *, refuse_primary: bool = False) -> Reply:
    """The answer to a POST of `body`: a JSON array of operations in, one of answers out (or
    one object for one object). `refuse_primary`: a body with PublicationContentDataQuery
    answers 400 with validation errors."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        message = "POST body missing, invalid Content-Type, or JSON malformed"
        return json_reply(400, graphql_errors(message))
    single = isinstance(payload, dict)
    operations = [payload] if single else payload
    if not isinstance(operations, list) or not all(isinstance(o, dict) for o in operations):
        return json_reply(400, graphql_errors("expected a JSON array of operations"))
    if not 1 <= len(operations) <= MAX_OPERATIONS:
        return json_reply(400, graphql_errors(f"a request holds 1 to {MAX_OPERATIONS} operations"))
    if refuse_primary and any(o.get("operationName") == PUBLICATION_POSTS for o in operations):
        refused = graphql_errors(
            'Unknown argument "after" on field "Publication.publicationPostsConnection".',
            code="GRAPHQL_VALIDATION_FAILED",
        )
        return json_reply(400, refused if single else [refused] * len(operations))
    results = [answer(operation) for operation in operations]
    return json_reply(200, results[0] if single else results)


def answer_operation(
    operation: dict,
    publication: Publication | None,
    catalog: Catalog,
    faults: Faults,
    page_shortfall: int = 0,
) -> dict:
    """The answer to one operation about `publication` (None: one Medium does not have)."""
    name = operation.get("operationName")
    variables = operation.get("variables") or {}
    if name not in (PUBLICATION_POSTS, HOMEPAGE_POSTS, POST_BY_ID):
        return graphql_errors("unknown operation")
    if not isinstance(variables, dict):
        return graphql_errors("variables must be an object", code="BAD_USER_INPUT")
    if faults.schema_drift and name in (PUBLICATION_POSTS, HOMEPAGE_POSTS):
        field_name, type_name = (
            ("publicationPostsConnection", "Publication")
            if name == PUBLICATION_POSTS
            else ("homepagePostsConnection", "Collection")
        )
        return graphql_errors(
            f'Cannot query field "{field_name}" on type "{type_name}".',
            code="GRAPHQL_VALIDATION_FAILED",
        )
    if name == PUBLICATION_POSTS:
        return _publication_posts(variables, publication, catalog, faults, page_shortfall)
    if name == HOMEPAGE_POSTS:
        return _homepage_posts(variables, publication, catalog, faults)
    post_id = variables.get("id")
    if not isinstance(post_id, str):
        return graphql_errors('Variable "$id" of required type "ID!" was not provided.')
    post = catalog.by_id.get(post_id)
    return {"data": {"post": post_node(publication, post) if publication and post else None}}


def is_named_by(operation: dict, publication: Publication, catalog: Catalog) -> bool:
    """Whether a GraphQL operation asks about `publication` or one of its posts."""
    name = operation.get("operationName")
    variables = operation.get("variables")
    if not isinstance(variables, dict):
        return False
    if name == POST_BY_ID:
        post_id = variables.get("id")
        return isinstance(post_id, str) and post_id in catalog.by_id
    if name == PUBLICATION_POSTS:
        ref = variables.get("ref")
        return isinstance(ref, dict) and _is_referred_to(ref, publication)
    if name == HOMEPAGE_POSTS:
        domain_or_slug = variables.get("domainOrSlug")
        return publication.names(domain_or_slug, domain_or_slug, domain_or_slug)
    return False


def _is_referred_to(ref: dict, publication: Publication | None) -> bool:
    """Whether a PublicationRef ({id, slug, domain}) names `publication`."""
    return publication is not None and publication.names(
        ref.get("slug"), ref.get("domain"), ref.get("id")
    )


def _publication_posts(
    variables: dict,
    publication: Publication | None,
    catalog: Catalog,
    faults: Faults,
    page_shortfall: int,
) -> dict:
    ref, first, after = variables.get("ref"), variables.get("first"), variables.get("after")
    if not isinstance(ref, dict):
        return graphql_errors(
            'Variable "$ref" of required type "PublicationRef!" was not provided.'
        )
    if not _is_count(first):
        return graphql_errors('Variable "$first" of required type "Int!" must be a positive Int.')
    if not isinstance(after, str):
        return graphql_errors('Variable "$after" of required type "String!" was not provided.')
    if publication is None or not _is_referred_to(ref, publication):
        return {"data": {"publication": None}}
    start = 0 if after == "" else _cursor_position(after, publication, catalog)
    if start is None:
        return graphql_errors("invalid cursor")
    size = min(first, MAX_FIRST)
    if size == MAX_FIRST:
        size -= page_shortfall
    page = catalog.posts[start : start + size]
    connection = {
        "edges": [
            {"listedAt": p.first_published_at, "node": post_node(publication, p)}
            for p in page
            if p.id not in faults.unlisted
        ],
        "pageInfo": {
            "endCursor": _cursor(page[-1], publication) if page else None,
            "hasNextPage": start + len(page) < len(catalog.posts),
        },
    }
    answer = {
        "__typename": "Publication",
        "id": publication.collection_id,
        "publicationPostsConnection": connection,
    }
    return {"data": {"publication": answer}}


def _cursor(post: SyntheticPost, publication: Publication) -> str:
    """An opaque cursor: base64 of the JSON Medium puts in its cursors."""
    position = {
        "feed_sort_listed_at##listed_at": post.first_published_at,
        "post_id": post.id,
        "publication_id": publication.collection_id,
    }
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode()


def _cursor_position(cursor: str, publication: Publication, catalog: Catalog) -> int | None:
    """The index of the post after the one `cursor` names, None if it names none."""
    try:
        position = json.loads(base64.b64decode(cursor, altchars=b"-_", validate=True))
    except ValueError:
        return None
    if (
        not isinstance(position, dict)
        or position.get("publication_id") != publication.collection_id
    ):
        return None
    listed_at = position.get("feed_sort_listed_at##listed_at")
    if not isinstance(listed_at, int) or isinstance(listed_at, bool):
        return None
    index = bisect.bisect_left(catalog.keys, -listed_at)
    if index < len(catalog.posts) and catalog.posts[index].id == position.get("post_id"):
        return index + 1
    return None


def _homepage_posts(
    variables: dict, publication: Publication | None, catalog: Catalog, faults: Faults
) -> dict:
    domain_or_slug = variables.get("domainOrSlug")
    paging = variables.get("paging") or {}
    if not isinstance(paging, dict):
        return graphql_errors('Variable "$paging" must be an object.')
    limit, start = paging.get("limit", 10), paging.get("from")
    if not _is_count(limit):
        return graphql_errors('Variable "$paging.limit" must be a positive Int.')
    if publication is None or not publication.names(domain_or_slug, domain_or_slug, domain_or_slug):
        return {"data": {"collection": None}}
    limit = min(limit, MAX_FIRST)
    sequence = catalog.homepage_sequence(start, limit + 1)
    if sequence is None:
        return graphql_errors("invalid paging: from must be P<ms> or L<ms>")
    page = sequence[:limit]
    following = {"from": homepage_from(page[-1]), "limit": limit} if len(sequence) > limit else None
    connection = {
        "__typename": "PostConnection",
        "posts": [post_node(publication, p) for p in page if p.id not in faults.unlisted],
        "pagingInfo": {"__typename": "Paging", "next": following},
    }
    collection = {
        "__typename": "Collection",
        "id": publication.collection_id,
        "homepagePostsConnection": connection,
    }
    return {"data": {"collection": collection}}


def post_node(publication: Publication, post: SyntheticPost) -> dict:
    """A post as the listing operations and PostByIdQuery answer it."""
    image = post.image_id
    return {
        "__typename": "Post",
        "id": post.id,
        "title": post.title,
        "uniqueSlug": post.unique_slug,
        "mediumUrl": f"https://medium.com/{publication.slug}/{post.unique_slug}",
        "firstPublishedAt": post.first_published_at,
        "latestPublishedAt": post.latest_published_at,
        "readingTime": post.reading_time,
        "isLocked": post.locked,
        "visibility": "LOCKED" if post.locked else "PUBLIC",
        "pinnedAt": post.pinned_at,
        "previewImage": {"__typename": "ImageMetadata", "id": image} if image else None,
        "extendedPreviewContent": {"__typename": "PreviewContent", "subtitle": post.subtitle},
        "creator": {
            "__typename": "User",
            "id": publication.account_id,
            "name": publication.account,
            "username": publication.account_username,
        },
        "collection": {
            "__typename": "Collection",
            "id": publication.collection_id,
            "slug": publication.slug,
            "domain": publication.domain,
        },
        "tags": [{"__typename": "Tag", "id": t, "displayTitle": tag_title(t)} for t in post.tags],
    }


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1
