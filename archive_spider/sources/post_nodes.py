"""Medium's `Post` and `Collection` objects: the one reading of each fact for every parser.

The Apollo state (2021 and current pages) and the GraphQL answers carry the same objects:
a publication's domain, a post's canonical URL, subtitle and preview image are read here
only, so that every source gives the same value. Readers return None for a value that is
missing or not sane and never raise, except `read_publication` on a domain that cannot be
one (`BadPublication`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from ..bylines import post_authors
from ..dates import ResolvedDate, from_epoch_ms
from ..items import MAX_READ_MINUTES, Post, Publication
from ..urls import image_url, strip_query
from ..urls import post_id as url_post_id

# A post id: 8-12 lowercase hex characters.
POST_ID = re.compile(r"^[0-9a-f]{8,12}\Z")
# A single URL path segment: a uniqueSlug or an image id.
PATH_SEGMENT = re.compile(r"^[^/?#\s\\]+\Z")
# A collection id or slug: letters, digits, "-" and "_".
SLUG = re.compile(r"^[A-Za-z0-9_-]{1,100}\Z")
# A DNS host name with a top-level label of letters: never an address, port or path.
HOST = re.compile(
    r"^(?=.{1,253}\Z)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?\Z"
)
MEDIUM = "medium.com"
# firstPublishedAt outside 2000-2100 is not a publishing date.
EPOCH_MS_RANGE = (946_684_800_000, 4_102_444_800_000)
# An empty `ImageMetadata:` ref means "no image".
IMAGE_REF = "ImageMetadata:"

# Turns a `{"__ref": ...}` into the object it names (Apollo), or an inline object into itself.
Resolve = Callable[[Any], dict]


class BadPublication(ValueError):
    """A page's publication cannot be read: no usable id, or a domain that is no host name."""


def inline(value: Any) -> dict:
    """The `Resolve` of GraphQL answers, whose objects are inline: the object itself, or {}."""
    return value if isinstance(value, dict) else {}


def is_medium_host(host: str) -> bool:
    """medium.com or one of its subdomains (author pages, the CDN)."""
    return host == MEDIUM or host.endswith("." + MEDIUM)


def read_publication(
    node: dict, resolve: Resolve = inline, *, served_host: str | None = None
) -> Publication:
    """The publication a `Collection` object describes.

    Its custom domain is `domain` (null when it has none), else `customDomainState.live.
    domain`; when the node has neither key, the host the page was served from, unless that
    is medium.com. Raises `BadPublication` for a node without an id, or for a domain that
    is not a host name.
    """
    ident = text(node.get("id"))
    if ident is None or not SLUG.match(ident):
        raise BadPublication(f"a Collection has no usable id ({str(node.get('id'))[:40]!r})")
    if "domain" in node:
        domain = node["domain"]
    else:
        live = resolve(resolve(node.get("customDomainState")).get("live"))
        domain = live.get("domain")
        if domain is None and "customDomainState" not in node:
            domain = _own_host(served_host)
    if domain is not None:
        shown = str(domain)[:80]
        domain = domain.strip().lower() if isinstance(domain, str) else None
        if not domain or not HOST.match(domain) or is_medium_host(domain):
            raise BadPublication(f"Collection:{ident} has a domain that is not a host: {shown!r}")
    slug = text(node.get("slug"))
    return Publication(
        id=ident,
        slug=slug if slug and SLUG.match(slug) else None,
        domain=domain,
        name=text(node.get("name")),
    )


def _own_host(host: str | None) -> str | None:
    """A host a page was served from, when it can be a publication's own domain."""
    host = (host or "").lower()
    return host if HOST.match(host) and not is_medium_host(host) else None


def post_url(node: dict, publication: Publication | None, base: str | None = None) -> str | None:
    """The post's canonical URL, the same from every source.

    A post of a publication with a custom domain lives at `https://<domain>/<segment>`, of
    one without at `https://medium.com/<slug>/<segment>`; the segment is `uniqueSlug`, else
    the last path segment of `mediumUrl`. A personal post keeps its `mediumUrl`. Query and
    fragment are dropped; `base` resolves a relative `mediumUrl`.
    """
    medium_url = _medium_url(node.get("mediumUrl"), base)
    segment = node.get("uniqueSlug")
    if not (isinstance(segment, str) and PATH_SEGMENT.match(segment)):
        segment = _last_segment(medium_url, node.get("id"))
    if segment and publication is not None:
        if publication.domain:
            return f"https://{publication.domain}/{segment}"
        if publication.slug:
            return f"https://{MEDIUM}/{publication.slug}/{segment}"
    return medium_url


def _medium_url(value: Any, base: str | None) -> str | None:
    """`mediumUrl` as an absolute http(s) URL without query, or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        url = strip_query(urljoin(base or "", value.strip()))
        host = urlsplit(url).hostname
    except ValueError:
        return None
    if urlsplit(url).scheme not in ("http", "https") or not host:
        return None
    return None if any(c.isspace() or c == "\\" for c in url) else url


def _last_segment(url: str | None, ident: Any) -> str | None:
    """The slug that ends `url` when it names the post `ident`."""
    if url is None or url_post_id(url) != ident:
        return None
    segment = urlsplit(url).path.rstrip("/").rpartition("/")[2]
    return segment if PATH_SEGMENT.match(segment) else None


def subtitle(node: dict, resolve: Resolve = inline) -> str | None:
    """`extendedPreviewContent(...).subtitle` (current pages), else `previewContent.subtitle`
    (2021 pages, whose extendedPreviewContent holds the body instead). Keys may carry call
    arguments: they are matched by name."""
    for name in ("extendedPreviewContent", "previewContent"):
        for key, value in node.items():
            if key == name or key.startswith(name + "("):
                found = text(resolve(value).get("subtitle"))
                if found:
                    return found
    return None


def preview_image_id(value: Any) -> str | None:
    """The image id of `previewImage`: `{"__ref": "ImageMetadata:<id>"}` or `{"id": "<id>"}`.

    The empty ref `ImageMetadata:` is a post without an image.
    """
    reference = ref(value)
    if reference is not None:
        image = reference[len(IMAGE_REF) :] if reference.startswith(IMAGE_REF) else None
    else:
        image = value.get("id") if isinstance(value, dict) else None
    return image if isinstance(image, str) and PATH_SEGMENT.match(image) else None


def account(node: dict, resolve: Resolve = inline) -> str | None:
    """The name of the account that published the post (`creator`)."""
    return text(resolve(node.get("creator")).get("name"))


def _number(value: Any) -> int | float | None:
    """An int, or a finite float. An int is never converted: 10**400 does not fit a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def latest_publishing_ms(seen: datetime) -> int:
    """Two days after `seen`, in epoch milliseconds: no post is published later than it is seen."""
    return int(seen.timestamp() * 1000) + 2 * 86_400_000


def published(ms: Any, *, latest_ms: int | None = None) -> ResolvedDate | None:
    """An exact date from epoch milliseconds in 2000-2100 and not after `latest_ms`."""
    ms = _number(ms)
    low, high = EPOCH_MS_RANGE
    if latest_ms is not None:
        high = min(high, latest_ms)
    return from_epoch_ms(int(ms)) if ms is not None and low <= ms < high else None


def read_minutes(reading_time: Any) -> int | None:
    """Minutes as Medium shows them: `ceil(readingTime)`."""
    value = _number(reading_time)
    if value is None or not 0 <= value <= MAX_READ_MINUTES:
        return None
    return math.ceil(value)


def member_only(node: dict) -> bool | None:
    locked, visibility = node.get("isLocked"), node.get("visibility")
    if not isinstance(locked, bool) and not isinstance(visibility, str):
        return None
    return locked is True or visibility == "LOCKED"


def ref(value: Any) -> str | None:
    """The key a `{"__ref": key}` names."""
    reference = value.get("__ref") if isinstance(value, dict) else None
    return reference if isinstance(reference, str) else None


def obj(container: dict, key: str) -> dict:
    value = container.get(key)
    return value if isinstance(value, dict) else {}


def text(value: Any) -> str | None:
    """A stripped, storable string, or None."""
    if not isinstance(value, str):
        return None
    return _SURROGATE.sub("\ufffd", value.strip()) or None


# Lone surrogates (JSON escapes such as "\ud800"): SQLite refuses them.
_SURROGATE = re.compile("[\ud800-\udfff]")


def build_post(
    node: dict,
    *,
    url: str,
    publication: Publication | None,
    resolve: Resolve,
    latest_ms: int | None,
    source: str,
    seen_at: str,
) -> Post:
    """A `Post` from a `Post` object, read the same way whichever source carried it."""
    date = published(node.get("firstPublishedAt"), latest_ms=latest_ms)
    sub, name = subtitle(node, resolve), account(node, resolve)
    image = preview_image_id(node.get("previewImage"))
    return Post(
        id=node["id"],
        url=url,
        title=text(node.get("title")),
        subtitle=sub,
        authors=post_authors(sub, name),
        account=name,
        published=date.value if date else None,
        published_precision=date.precision if date else None,
        read_minutes=read_minutes(node.get("readingTime")),
        image_id=image,
        image_url=image_url(image) if image else None,
        member_only=member_only(node),
        publication=publication.id if publication else None,
        source=source,
        seen_at=seen_at,
    )
