"""Values of Medium's `Post` objects, shared by the Apollo-state and GraphQL parsers.

Both sources carry the same fields (`firstPublishedAt`, `readingTime`, `isLocked`, ...);
each helper returns None for a value that is missing or not sane, never raises.
"""

from __future__ import annotations

import math
import re
from typing import Any

from ..dates import ResolvedDate, from_epoch_ms
from ..items import MAX_READ_MINUTES

# A single URL path segment: a uniqueSlug or an image id.
PATH_SEGMENT = re.compile(r"^[^/?#\s\\]+$")
# firstPublishedAt outside 2000-2100 is not a publishing date.
EPOCH_MS_RANGE = (946_684_800_000, 4_102_444_800_000)


def published(ms: Any) -> ResolvedDate | None:
    if isinstance(ms, bool) or not isinstance(ms, (int, float)) or not math.isfinite(ms):
        return None
    low, high = EPOCH_MS_RANGE
    return from_epoch_ms(int(ms)) if low <= ms < high else None


def read_minutes(reading_time: Any) -> int | None:
    """Minutes as Medium shows them: `ceil(readingTime)`."""
    if isinstance(reading_time, bool) or not isinstance(reading_time, (int, float)):
        return None
    if not math.isfinite(reading_time) or not 0 <= reading_time <= MAX_READ_MINUTES:
        return None
    return math.ceil(reading_time)


def member_only(node: dict) -> bool | None:
    locked, visibility = node.get("isLocked"), node.get("visibility")
    if not isinstance(locked, bool) and not isinstance(visibility, str):
        return None
    return locked is True or visibility == "LOCKED"
