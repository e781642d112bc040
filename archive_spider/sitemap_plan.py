"""Which day sitemaps a walk reads: the cross-check at a bounded number of requests.

A publication's sitemap index has one child per publishing day (`posts-YYYY-MM-DD.xml`),
with or without `<lastmod>`. Reading every child costs one request a day, hundreds per run;
the listing already gives almost every post. So a walk reads a day only when it may hold
something the archive lacks, and otherwise checks a few days in rotation:

- `pending`: an earlier run failed to read it;
- `gap`: the archive and the listing show no post on that day, and it was never read;
- `new`: after a completed walk, the day may have changed since it was last read (its
  `lastmod`, else the end of the day plus a margin for time zones, is after that read, or
  after the last completed walk's start for a day never read); a child named by no day
  and without `lastmod` is left to the audit;
- `audit`: up to `audit` others, least recently read first (never read first, then newest).

A `full` walk reads them all. Pure: the caller passes what the archive knows and the time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from dateutil.parser import isoparse

# The publishing day in a day sitemap's name.
_DAY = re.compile(r"posts-(\d{4}-\d{2}-\d{2})\.xml$")
# Day sitemaps may be named by a day in another time zone than UTC.
MARGIN = timedelta(days=1)


@dataclass(frozen=True)
class Child:
    """A child of the sitemap index: its key (path), its day if named by one, its lastmod."""

    key: str
    day: date | None
    lastmod: datetime | None

    def row(self) -> tuple[str, str | None, str | None]:
        """(key, day, lastmod) as ISO 8601 text."""
        lastmod = None
        if self.lastmod is not None:
            lastmod = self.lastmod.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return self.key, self.day.isoformat() if self.day else None, lastmod


def child(key: str, lastmod: str | None) -> Child:
    """A `Child` from its key and its `<lastmod>` text (unparsable: none)."""
    match = _DAY.search(key)
    try:
        day = date.fromisoformat(match[1]) if match else None
    except ValueError:
        day = None
    try:
        moment = isoparse(lastmod) if lastmod else None
    except ValueError:
        moment = None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return Child(key, day, moment)


def choose(
    children: list[Child],
    *,
    full: bool,
    covered: set[date],
    since: datetime | None,
    read_at: dict[str, datetime],
    pending: set[str],
    audit: int,
) -> dict[str, str]:
    """The children to read, each with why: "full", "pending", "gap", "new" or "audit".

    `covered`: days the archive or this run's listing holds a post of; `since`: the start of
    the last completed walk (None before one); `read_at`: when each child was last read.
    """
    if full:
        return {c.key: "full" for c in children}
    chosen: dict[str, str] = {}
    for entry in children:
        last = read_at.get(entry.key)
        if entry.key in pending:
            chosen[entry.key] = "pending"
        elif entry.day is not None and last is None and entry.day not in covered:
            chosen[entry.key] = "gap"
        elif since is not None and _changed_since(entry, last or since):
            chosen[entry.key] = "new"
    rest = [entry for entry in children if entry.key not in chosen]
    rest.sort(key=lambda e: (e.key in read_at, read_at.get(e.key, _NEVER), _newest_first(e)))
    chosen.update((entry.key, "audit") for entry in rest[:audit])
    return chosen


_NEVER = datetime.min.replace(tzinfo=timezone.utc)


def _newest_first(entry: Child) -> int:
    return -(entry.day.toordinal() if entry.day else 0)


def _changed_since(entry: Child, moment: datetime) -> bool:
    """Whether the child may hold posts added after `moment`."""
    if entry.lastmod is not None:
        return entry.lastmod > moment
    if entry.day is None:
        return False  # neither dated nor named by a day: only audits read it
    end_of_day = datetime.combine(entry.day + timedelta(days=1), time(), tzinfo=timezone.utc)
    return end_of_day + MARGIN > moment
