"""`window.__APOLLO_STATE__`, the normalized Apollo cache embedded in every Medium page.

Nodes are keyed `<Typename>:<id>` and point at each other with `{"__ref": "<key>"}`.
`ROOT_QUERY` says what the page is: a publication (`collectionByDomainOrSlug(...)`,
`collection(...)`) or an author (`user(...)`, `userResult(...)`). The posts it lists are in
`homepagePostsConnection(...)` of that Collection or User (2021) or in the
`PublicationPage` sections (current pages, whose `Post` nodes are mostly stubs that carry
nothing: the cards give those). Every post keeps its own publication (`Post.collection`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from archive_spider.dates import format_instant
from archive_spider.items import Post, Publication
from archive_spider.sources import post_nodes
from archive_spider.sources.post_nodes import BadPublication

SOURCE = "apollo"

_MARKER = re.compile(r"window\.__APOLLO_STATE__\s*=\s*")
_STUB_KEYS = {"__typename", "id"}
_PUBLICATION_ROOTS = ("collectionByDomainOrSlug(", "collection(")
_AUTHOR_ROOTS = ("user(", "userResult(")
_LISTING = "homepagePostsConnection"


class ApolloStateError(ValueError):
    """The page assigns `window.__APOLLO_STATE__`, but not a valid JSON object."""


@dataclass
class ApolloPage:
    """What a page's Apollo state holds.

    `publication` is the page's own publication (None on an author page or a page that
    names none); `posts` are the full `Post` nodes it may archive, listed ones first;
    `publications` every publication those posts belong to; `missing` the ids the page
    lists but does not hold; `skipped` why other `Post` nodes were passed over.
    """

    publication: Publication | None
    is_author_page: bool
    posts: list[Post]
    publications: list[Publication]
    missing: list[str] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)


def read_apollo_state(html: str) -> dict | None:
    """The Apollo state of a page, or None if the page has none."""
    match = _MARKER.search(html)
    if match is None:
        return None
    decoder = json.JSONDecoder(parse_constant=_reject_constant)
    try:
        state, _ = decoder.raw_decode(html, match.end())
    except (ValueError, RecursionError) as error:
        raise ApolloStateError(f"window.__APOLLO_STATE__ is not valid JSON: {error}") from error
    if not isinstance(state, dict):
        raise ApolloStateError(
            f"window.__APOLLO_STATE__ is a JSON {type(state).__name__}, not an object"
        )
    return state


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_apollo(state: dict, *, reference: datetime, origin: str) -> ApolloPage:
    """The page's publication and one `Post` per full `Post:<id>` node, listed ones first.

    On a publication's page only that publication's posts are archived; an author page
    archives each post with its own publication, or none. `origin`, the URL the page was
    served from, resolves relative URLs and stands for the publication's domain when its
    Collection names none. Raises `BadPublication` when the page names two publications or
    its own cannot be read.
    """
    resolve = _resolver(state)
    served_host = urlsplit(origin).hostname
    root = post_nodes.obj(state, "ROOT_QUERY")
    own = _own_publication(state, root, resolve, served_host)
    authors = [_deref(state, v) for k, v in root.items() if k.startswith(_AUTHOR_ROOTS)]
    is_author_page = own is None and any(authors)
    owner = own_key = None
    if own is not None:
        owner, own_key = _obj(state, f"Collection:{own.id}"), f"Collection:{own.id}"
    elif is_author_page:
        owner = next(node for node in authors if node)
    listed = _listed_keys(state, owner)
    page = ApolloPage(own, is_author_page, [], [own] if own else [])
    page.missing = [key.partition(":")[2] for key in listed if key not in state]
    seen_at = format_instant(reference)
    latest_ms = post_nodes.latest_publishing_ms(reference)
    collections: dict[str, Publication | None] = {own_key: own} if own_key else {}
    for key in dict.fromkeys([*listed, *state]):
        node = state.get(key)
        if not key.startswith("Post:") or not isinstance(node, dict):
            continue
        reason = _skip_reason(node)
        if reason is None:
            publication, reason = _publication_of(node, state, resolve, own, collections)
        if reason is None:
            url = post_nodes.post_url(node, publication, origin)
            reason = "no_url" if url is None else None
        if reason is not None:
            page.skipped[reason] = page.skipped.get(reason, 0) + 1
            continue
        page.posts.append(
            post_nodes.build_post(
                node,
                url=url,
                publication=publication,
                resolve=resolve,
                latest_ms=latest_ms,
                source=SOURCE,
                seen_at=seen_at,
            )
        )
    used = {post.publication for post in page.posts}
    page.publications += [p for p in collections.values() if p and p != own and p.id in used]
    return page


def _own_publication(
    state: dict, root: dict, resolve, served_host: str | None
) -> Publication | None:
    """The publication `ROOT_QUERY` names, or None; two different ones are an error."""
    keys = {post_nodes.ref(v) for k, v in root.items() if k.startswith(_PUBLICATION_ROOTS)}
    found = {
        key: post_nodes.read_publication(_obj(state, key), resolve, served_host=served_host)
        for key in sorted(k for k in keys if k and k.startswith("Collection:") and _obj(state, k))
    }
    if len({p.id for p in found.values()}) > 1:
        named = ", ".join(f"{p.id} ({p.domain or p.slug})" for p in found.values())
        raise BadPublication(f"the page names two publications: {named}")
    return next(iter(found.values()), None)


def _listed_keys(state: dict, owner: dict | None) -> list[str]:
    """`Post:` keys the page lists, in order: homepage sections, then the owner's listing."""
    keys = []
    for key in state:
        if key.startswith("PublicationPage:"):
            for section in _list(_obj(state, key), "sections"):
                keys += [post_nodes.ref(p) for p in _list(_deref(state, section), "posts")]
    for key, value in (owner or {}).items():
        if key == _LISTING or key.startswith(_LISTING + "("):
            keys += [post_nodes.ref(p) for p in _list(_deref(state, value), "posts")]
    return list(dict.fromkeys(k for k in keys if k and k.startswith("Post:")))


def _skip_reason(node: dict) -> str | None:
    """Why a `Post` node gives no post: a stub, or an id that is not a post id."""
    if set(node) <= _STUB_KEYS:
        return "stub"
    post_id = node.get("id")
    if not isinstance(post_id, str) or not post_nodes.POST_ID.match(post_id):
        return "bad_id"
    return None


def _publication_of(
    node: dict,
    state: dict,
    resolve: post_nodes.Resolve,
    own: Publication | None,
    collections: dict[str, Publication | None],
) -> tuple[Publication | None, str | None]:
    """The post's own publication (None: a personal post), or the reason to skip it.

    A page of one publication archives only that publication's posts.
    """
    if "collection" not in node:
        return own, None
    key = post_nodes.ref(node["collection"])
    if key is None or key not in state:
        publication = None  # a personal post, or a publication the page does not describe
    else:
        if key not in collections:
            try:
                collections[key] = post_nodes.read_publication(_obj(state, key), resolve)
            except BadPublication:
                collections[key] = None
        publication = collections[key]
        if publication is None:
            return None, "bad_collection"
    if own is not None and publication != own:
        return None, "other_publication"
    return publication, None


def _resolver(state: dict):
    return lambda value: _deref(state, value)


def _deref(state: dict, value: Any) -> dict:
    """The node `{"__ref": key}` points at, an inline object itself, else `{}`."""
    reference = post_nodes.ref(value)
    if reference is not None:
        return _obj(state, reference)
    return value if isinstance(value, dict) else {}


def _obj(container: dict, key: str) -> dict:
    return post_nodes.obj(container, key)


def _list(container: dict, key: str) -> list:
    value = container.get(key)
    return value if isinstance(value, list) else []
