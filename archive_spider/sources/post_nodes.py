"""Values of Medium's `Post` objects, shared by the Apollo-state and GraphQL parsers.

Both sources carry the same fields (`firstPublishedAt`, `readingTime`, `isLocked`, ...);
each helper returns None for a value that is missing or not sane, never raises.
"""

from __future__ import annotations

import math
import re
from typing import Any

from ..bylines import post_authors
from ..dates import ResolvedDate, from_epoch_ms
from ..items import MAX_READ_MINUTES, Post
from ..urls import image_url

# A single URL path segment: a uniqueSlug or an image id.
PATH_SEGMENT = re.compile(r"^[^/?#\s\\]+\Z")
# firstPublishedAt outside 2000-2100 is not a publishing date.
EPOCH_MS_RANGE = (946_684_800_000, 4_102_444_800_000)


def _number(value: Any) -> int | float | None:
    """An int, or a finite float. An int is never converted: 10**400 does not fit a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


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


def clean_text(value: str) -> str:
    """`value` without lone surrogates (JSON escapes such as "\\ud800"): SQLite refuses them."""
    return _SURROGATE.sub("\ufffd", value)


_SURROGATE = re.compile("[\ud800-\udfff]")


def member_only(node: dict) -> bool | None:
    locked, visibility = node.get("isLocked"), node.get("visibility")
    if not isinstance(locked, bool) and not isinstance(visibility, str):
        return None
    return locked is True or visibility == "LOCKED"


def build_post(
    node: dict,
    *,
    post_id: str,
    url: str,
    title,
    subtitle,
    account,
    image,
    latest_ms: int | None,
    source: str,
    seen_at: str,
) -> Post:
    """A `Post` from a Post object's values that both sources read the same way."""
    date = published(node.get("firstPublishedAt"), latest_ms=latest_ms)
    return Post(
        id=post_id,
        url=url,
        title=title,
        subtitle=subtitle,
        authors=post_authors(subtitle, account),
        account=account,
        published=date.value if date else None,
        published_precision=date.precision if date else None,
        read_minutes=read_minutes(node.get("readingTime")),
        image_id=image,
        image_url=image_url(image) if image else None,
        member_only=member_only(node),
        source=source,
        seen_at=seen_at,
    )
