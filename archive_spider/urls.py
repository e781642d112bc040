"""Post ids, canonical post URLs and Medium image ids: the one place that knows their shapes."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from w3lib.url import url_query_cleaner

POST_ID = re.compile(r"-([0-9a-f]{8,12})$")
MIRO_HOST = "miro.medium.com"
# Path segments of a miro URL that describe a transformation, not the image.
_MIRO_TRANSFORM = re.compile(r"^(v2|max|\d+|[a-z]+:.*)$")
IMAGE_URL_TEMPLATE = "https://miro.medium.com/v2/resize:fit:1400/{}"


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
    """The image id of a miro.medium.com URL: its last path segment after the transforms."""
    parts = urlsplit(url)
    if parts.hostname != MIRO_HOST:
        return None
    segments = [s for s in parts.path.split("/") if s]
    if not segments or _MIRO_TRANSFORM.match(segments[-1]):
        return None
    return segments[-1]


def image_url(image: str) -> str:
    """One canonical URL for a miro image id."""
    return IMAGE_URL_TEMPLATE.format(image)
