"""Which expected publications lack a recent successful run: what cron alerts on.

Scrapyd reports a crashed job as "finished"; the archive's run rows are the truth. A
publication is fresh when a run of it ended "ok" within the allowed age.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dateutil.parser import isoparse

from .publications import Listed
from .storage import PublicationRuns


@dataclass(frozen=True)
class Stale:
    """An expected publication with no successful run in the window, and what happened."""

    listed: Listed
    runs: PublicationRuns

    def describe(self, max_age: timedelta) -> str:
        name = f" ({self.listed.name})" if self.listed.name else ""
        last_ok = self.runs.last_ok_finished or "never"
        latest = self.runs.latest_status or "no run"
        if self.runs.latest_error:
            latest += f": {self.runs.latest_error}"
        return (
            f"{self.listed.url}{name}: no successful run in the last {_hours(max_age)} "
            f"(last ok: {last_ok}; latest run: {latest})"
        )


def stale_publications(
    listed: list[Listed], runs: list[PublicationRuns], *, max_age: timedelta, now: datetime
) -> list[Stale]:
    """The expected publications whose last successful run is missing or older than max_age."""
    oldest = now - max_age
    return [
        Stale(entry, found)
        for entry, found in zip(listed, runs, strict=True)
        if found.last_ok_finished is None or isoparse(found.last_ok_finished) < oldest
    ]


def _hours(age: timedelta) -> str:
    hours = age.total_seconds() / 3600
    return f"{hours:g}h"
