"""Date texts of Medium cards, resolved against a reference time (never the clock).

Cards show "5h ago", "2d ago", "Oct 24" or "Nov 26, 2018"; what they mean depends on when
the page was seen, so every function here takes that moment as an argument.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from dateutil import parser as dateutil_parser


@dataclass(frozen=True)
class ResolvedDate:
    """A resolved date: `value` is ISO 8601, `precision` one of `items.PRECISIONS`."""

    value: str
    precision: str


# "<N><unit> ago", by the unit's first letter: (timedelta argument, precision). Days are
# approximate: "2d ago" covers 48 to 71 hours, which may span three calendar days.
_UNITS = {"d": ("days", "day_approx"), "h": ("hours", "hour"), "m": ("minutes", "minute")}
_FLAGS = re.IGNORECASE | re.ASCII
_AGO = re.compile(r"(\d+)\s*(d|days?|h|hrs?|hours?|m|mins?|minutes?)\s+ago", _FLAGS)
_NOW = re.compile(r"(?:just\s+)?now", _FLAGS)
_YESTERDAY = re.compile(r"yesterday", _FLAGS)
# The gate before dateutil, which would otherwise turn almost any text into some date.
_MONTH_DAY = re.compile(
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
    r"\s+(?:0?[1-9]|[12][0-9]|3[01])(?P<year>,?\s+[1-9][0-9]{3})?",
    _FLAGS,
)
_REFERENCE = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?", re.ASCII
)
# Feb 29 recurs at most 8 years apart (1896 -> 1904).
_YEARS_BACK = 8


def resolve_date(text: str, reference: datetime) -> ResolvedDate | None:
    """The date a card text means when seen at `reference`; None if it is not a date.

    A date without a year is the most recent such day not after the reference's date; a
    date with a year that lies after the reference is not a publication date (None).
    """
    text = text.strip().strip("·").strip()
    reference = _utc(reference)
    try:
        if match := _AGO.fullmatch(text):
            argument, precision = _UNITS[match[2][0].lower()]
            return _relative(reference - timedelta(**{argument: int(match[1])}), precision)
        if _NOW.fullmatch(text):
            return _relative(reference, "minute")
        if _YESTERDAY.fullmatch(text):
            return _relative(reference - timedelta(days=1), "day_approx")
    except (OverflowError, ValueError):  # too many days, or too many digits for int()
        return None
    if match := _MONTH_DAY.fullmatch(text):
        return _calendar_day(text, reference, has_year=match["year"] is not None)
    return None


def plausible(resolved: ResolvedDate | None) -> ResolvedDate | None:
    """`resolved`, unless it lies before 2000: no Medium post was published then."""
    return resolved if resolved is not None and resolved.value[:4] >= "2000" else None


def from_epoch_ms(ms: int | float) -> ResolvedDate:
    """An exact instant from milliseconds since the Unix epoch."""
    moment = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=ms)
    return ResolvedDate(format_instant(moment), "exact")


def parse_reference(text: str) -> datetime:
    """An aware UTC datetime from "2025-11-06", "2025-11-06T12:00[:00][Z|+02:00]".

    A time without offset is UTC. Raises ValueError for anything else.
    """
    expected = "expected YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM]"
    stripped = text.strip()
    if not _REFERENCE.fullmatch(stripped):
        raise ValueError(f"not a date or time ({expected}): {text!r}")
    if stripped.endswith("Z"):
        stripped = stripped[:-1] + "+00:00"
    try:
        return _utc(datetime.fromisoformat(stripped))
    except ValueError as error:
        raise ValueError(f"not a valid date or time ({error}): {text!r}") from error


def format_instant(dt: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ` in UTC; a naive datetime is taken to be UTC."""
    return _utc(dt).replace(tzinfo=None, microsecond=0).isoformat() + "Z"


def _utc(dt: datetime) -> datetime:
    """`dt` in UTC; a naive datetime is taken to be UTC already."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def _relative(moment: datetime, precision: str) -> ResolvedDate:
    """`moment` truncated to `precision` ("day_approx", "hour" or "minute")."""
    if precision == "day_approx":
        return ResolvedDate(moment.date().isoformat(), precision)
    if precision == "hour":
        moment = moment.replace(minute=0)
    return ResolvedDate(format_instant(moment.replace(second=0)), precision)


def _calendar_day(text: str, reference: datetime, *, has_year: bool) -> ResolvedDate | None:
    """An (already gated) "Oct 24" or "Nov 26, 2018" as a day not after the reference's."""
    today = reference.date()
    years = [today.year] if has_year else range(today.year, today.year - _YEARS_BACK - 1, -1)
    for year in years:
        try:
            day = dateutil_parser.parse(text, default=datetime(year, 1, 1)).date()
        except (ValueError, OverflowError):
            continue
        if day <= today:
            return ResolvedDate(day.isoformat(), "day")
    return None
