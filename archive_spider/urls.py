"""Post ids, canonical post URLs and Medium image ids: the one place that knows their shapes."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from w3lib.url import url_query_cleaner

POST_ID = re.compile(r"-([0-9a-f]{8,12})$")
# Hosts of Medium's image CDN: miro.medium.com today, cdn-images-<n>.medium.com before it.
IMAGE_HOST = re.compile(r"^(?:miro|cdn-images-\d{1,2})\.medium\.com\Z")
# Path segments that describe a transformation, not the image: `/max/1024/`, `/fit/c/80/53/`,
# `/v2/resize:fill:80:53/`, `/format:webp/`, `/proxy/`.
_TRANSFORM = re.compile(r"^(?:v2|max|fit|fill|c|proxy|\d{1,5}|[a-z]+:.*)\Z")
IMAGE_URL_TEMPLATE = "https://miro.medium.com/v2/resize:fit:1400/{}"
# A Medium image id: `1*<base64url>.png`, `0*<base64url>` (maybe without an extension), or a
# newer 32-64 hex hash, with an optional extension. Nothing else is ever fetched as an image.
MEDIUM_IMAGE_ID = re.compile(
    r"^(?:\d\*[A-Za-z0-9_-]{6,64}|[0-9a-f]{32,64})(?:\.(?:jpe?g|png|gif|webp|avif|svg))?\Z",
    re.IGNORECASE,
)


def strip_query(url: str) -> str:
    """The URL without its query string and fragment (`?source=...` tracking included)."""
    return url_query_cleaner(url, (), remove=False, keep_fragments=False)


def canonical_url(href: str, base: str) -> str:
    """Absolute post URL without query or fragment."""
    return strip_query(urljoin(base, href))


def post_id(url: str) -> str | None:
    """The 8-12 hex characters that end a post slug, or None if the URL is not a post."""
    match = POST_ID.search(urlsplit(url).path.rstrip("/"))
    return match.group(1) if match else None


def image_id(url: str) -> str | None:
    """The image id of a Medium image URL, in any of its forms: the last path segment, once
    the transformations before it are passed."""
    parts = urlsplit(url)
    if not IMAGE_HOST.match(parts.hostname or ""):
        return None
    segments = [s for s in parts.path.split("/") if s]
    if not segments or _TRANSFORM.match(segments[-1]):
        return None
    return segments[-1]


def is_medium_image_id(value: object) -> bool:
    return isinstance(value, str) and MEDIUM_IMAGE_ID.match(value) is not None


def image_url(image: str) -> str:
    """One canonical URL for a miro image id."""
    return IMAGE_URL_TEMPLATE.format(image)
