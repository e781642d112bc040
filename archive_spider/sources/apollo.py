"""`window.__APOLLO_STATE__`, the normalized Apollo cache embedded in every Medium page.

Nodes are keyed `<Typename>:<id>` and point at each other with `{"__ref": "<key>"}`. On a
publication homepage most `Post:<id>` nodes are stubs (`{"__typename", "id"}`) that carry
nothing: only full nodes give posts; the cards give the rest.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from archive_spider.dates import format_instant
from archive_spider.items import Post
from archive_spider.sources import post_nodes
from archive_spider.urls import canonical_url

SOURCE = "apollo"

logger = logging.getLogger(__name__)

_MARKER = re.compile(r"window\.__APOLLO_STATE__\s*=\s*")
_STUB_KEYS = {"__typename", "id"}
_ID = re.compile(r"^[0-9a-f]{8,12}\Z")
_HOST = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?\.[A-Za-z]{2,}\Z")
_SLUG = re.compile(r"^[A-Za-z0-9_-]+\Z")
# Epoch milliseconds accepted as a publication date: 2000-01-01 to 2100-01-01 (UTC).


class ApolloStateError(ValueError):
    """The page assigns `window.__APOLLO_STATE__`, but not a valid JSON object."""


@dataclass(frozen=True)
class Publication:
    """The publication (Medium `Collection`) a page belongs to."""

    id: str
    slug: str | None
    domain: str | None
    name: str | None


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


def parse_apollo(
    state: dict, *, reference: datetime, origin: str
) -> tuple[Publication | None, list[Post]]:
    """The page's publication and one `Post` per full `Post:<id>` node, in homepage order.

    `origin`, the URL that was fetched, only resolves a post URL that is relative: the
    publication's domain always comes from the state.
    """
    publication = _publication(state)
    seen_at = format_instant(reference)
    latest_ms = int(reference.timestamp() * 1000) + 2 * 86_400_000  # nothing is published later
    posts = []
    for key in _post_keys(state):
        node = state[key]
        if set(node) <= _STUB_KEYS:
            continue
        post = _post(state, node, publication, origin, seen_at, latest_ms)
        if post is None:
            logger.debug("Apollo node %s has no valid post id or URL: skipped", key[:60])
        else:
            posts.append(post)
    return publication, posts


def _publication(state: dict) -> Publication | None:
    """The collection `ROOT_QUERY.collectionByDomainOrSlug(...)` points at, else the first one."""
    root = _obj(state, "ROOT_QUERY")
    refs = [_ref(v) for k, v in root.items() if k.startswith("collectionByDomainOrSlug")]
    keys = [k for k in refs if k and k.startswith("Collection:")]
    keys += [k for k in state if k.startswith("Collection:")]
    for key in keys:
        node = _obj(state, key)
        if node:
            return _collection(node, key)
    return None


def _collection(node: dict, key: str) -> Publication:
    ident = _text(node.get("id")) or key.partition(":")[2]
    slug = _text(node.get("slug"))
    domain = next(
        (
            value.lower()
            for value in (node.get("customDomain"), node.get("domainOrSlug"))
            if isinstance(value, str) and _HOST.match(value)
        ),
        None,
    )
    return Publication(
        id=ident,
        slug=slug if slug and _SLUG.match(slug) else None,
        domain=domain,
        name=_text(node.get("name")),
    )


def _post_keys(state: dict) -> list[str]:
    """`Post:` keys: those the homepage sections list first, in their order, then the rest."""
    ordered = []
    for key in state:
        if key.startswith("PublicationPage:"):
            for section in _list(_obj(state, key), "sections"):
                node = _deref(state, section)
                ordered += [_ref(post) for post in _list(node, "posts")]
    ordered += list(state)
    posts = [k for k in ordered if k and k.startswith("Post:") and isinstance(state.get(k), dict)]
    return list(dict.fromkeys(posts))


def _post(
    state: dict,
    node: dict,
    publication: Publication | None,
    origin: str,
    seen_at: str,
    latest_ms: int | None = None,
) -> Post | None:
    post_id = node.get("id")
    if not isinstance(post_id, str) or not _ID.match(post_id):
        return None
    if "collection" in node:
        own = _deref(state, node["collection"])
        publication = _collection(own, _ref(node["collection"]) or "") if own else None
    url = _post_url(node, publication, origin)
    if url is None:
        return None
    subtitle = _subtitle(node)
    account = _text(_deref(state, node.get("creator")).get("name"))
    image = _image_id(node.get("previewImage"))
    return post_nodes.build_post(
        node,
        post_id=post_id,
        url=url,
        title=_text(node.get("title")),
        subtitle=subtitle,
        account=account,
        image=image,
        latest_ms=latest_ms,
        source=SOURCE,
        seen_at=seen_at,
    )


def _post_url(node: dict, publication: Publication | None, origin: str) -> str | None:
    """On the publication's domain, else under its medium.com slug, else `mediumUrl`."""
    unique_slug = node.get("uniqueSlug")
    if isinstance(unique_slug, str) and post_nodes.PATH_SEGMENT.match(unique_slug):
        if publication and publication.domain:
            return f"https://{publication.domain}/{unique_slug}"
        if publication and publication.slug:
            return f"https://medium.com/{publication.slug}/{unique_slug}"
    href = node.get("mediumUrl")
    if not isinstance(href, str) or not href.strip():
        return None
    try:
        url = canonical_url(href.strip(), origin)
    except ValueError:
        return None
    if not url.startswith(("http://", "https://")) or any(c.isspace() for c in url):
        return None
    return url


def _subtitle(node: dict) -> str | None:
    """`extendedPreviewContent(<arguments>).subtitle`: the key carries the call's arguments."""
    for key, value in node.items():
        if key.startswith("extendedPreviewContent") and isinstance(value, dict):
            return _text(value.get("subtitle"))
    return None


def _image_id(value: Any) -> str | None:
    """The id of `{"__ref": "ImageMetadata:<id>"}` or `{"id": "<id>"}`."""
    ref = _ref(value)
    if ref and ref.startswith("ImageMetadata:"):
        image = ref.partition(":")[2]
    else:
        image = value.get("id") if isinstance(value, dict) else None
    return image if isinstance(image, str) and post_nodes.PATH_SEGMENT.match(image) else None


def _ref(value: Any) -> str | None:
    ref = value.get("__ref") if isinstance(value, dict) else None
    return ref if isinstance(ref, str) else None


def _deref(state: dict, value: Any) -> dict:
    """The node `{"__ref": key}` points at, an inline object itself, else `{}`."""
    ref = _ref(value)
    if ref is not None:
        return _obj(state, ref)
    return value if isinstance(value, dict) else {}


def _obj(container: dict, key: str) -> dict:
    value = container.get(key)
    return value if isinstance(value, dict) else {}


def _list(container: dict, key: str) -> list:
    value = container.get(key)
    return value if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return post_nodes.clean_text(value.strip()) or None
