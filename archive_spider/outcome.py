"""Turn a finished crawl's stats into a status, an exit code and a one-line summary.

`scrapy crawl` exits 0 whatever happened; these codes are what cron and scripts see.
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_BLOCKED = 3
EXIT_PARTIAL = 4
EXIT_LOCKED = 5

EXIT_CODES = {
    EXIT_OK: "success: every page was archived",
    EXIT_FAILED: "failure: the run archived nothing usable (bad input, layout or API change), "
    "or the archive could not be written",
    EXIT_USAGE: "usage error: a bad option, a missing source or an unusable database",
    EXIT_BLOCKED: "blocked: the site answered with a bot challenge or refused the crawler",
    EXIT_PARTIAL: "partial: some pages failed, the site stopped answering, or the run was "
    "stopped; run again to complete",
    EXIT_LOCKED: "locked: another crawl is writing to this database",
}

# Spider-reported errors (stats "archive/errors/<kind>") that make a run fail outright.
FATAL_ERRORS = {
    "write_failed": ("failed", EXIT_FAILED),
    "blocked": ("blocked", EXIT_BLOCKED),
    "layout_changed": ("failed", EXIT_FAILED),
    "schema_drift": ("failed", EXIT_FAILED),
    "bad_publication": ("failed", EXIT_FAILED),
    "not_found": ("failed", EXIT_FAILED),
    "unreadable": ("failed", EXIT_FAILED),
    "offsite_redirect": ("failed", EXIT_FAILED),
    "locked": ("locked", EXIT_LOCKED),
}


# Why a run that did not finish stopped, in words.
STOP_REASONS = {
    "shutdown": "stopped by a signal (SIGTERM or Ctrl-C)",
    "closespider_timeout": "stopped at its --max-time",
    "max_time": "stopped at its --max-time",
}


def record_fatal(stats, kind: str, message: str) -> None:
    """Count a fatal error (a key of FATAL_ERRORS) and keep its message for `judge`."""
    stats.inc_value(f"archive/errors/{kind}")
    stats.set_value(f"archive/error_message/{kind}", message)


@dataclass(frozen=True)
class Outcome:
    status: str  # ok, partial, failed, blocked, interrupted, locked
    exit_code: int
    error: str | None  # one line for the user and the crawls table; None on success

    def as_dict(self) -> dict:
        return {"status": self.status, "exit_code": self.exit_code, "error": self.error}


def judge(stats: dict, reason: str) -> Outcome:
    """The outcome of a crawl from its Scrapy stats and its close reason."""
    for kind, (status, code) in FATAL_ERRORS.items():
        if stats.get(f"archive/errors/{kind}"):
            return Outcome(status, code, stats.get(f"archive/error_message/{kind}", kind))
    if reason != "finished":
        why = STOP_REASONS.get(reason, f"the crawl stopped early ({reason})")
        return Outcome("interrupted", EXIT_PARTIAL, f"{why}; run again to resume")
    if stats.get("archive/outage"):
        return Outcome("partial", EXIT_PARTIAL, stats["archive/outage"])
    posts = sum(stats.get(f"archive/posts_{s}", 0) for s in ("new", "updated", "unchanged"))
    lost = max(stats.get("retry/max_reached", 0), stats.get("archive/failed_requests", 0))
    failed_pages = lost + stats.get("spider_exceptions/count", 0)
    if posts == 0 and not failed_pages:
        return Outcome("failed", EXIT_FAILED, "the run found zero posts")
    if failed_pages:
        last = stats.get("archive/last_failure")
        why = f" (last: {last})" if last else ""
        return Outcome(
            "partial", EXIT_PARTIAL, f"{failed_pages} page(s) failed{why}; run again to complete"
        )
    if stats.get("log_count/ERROR", 0):
        last = stats.get("archive/last_error") or "an error was logged"
        return Outcome("partial", EXIT_PARTIAL, f"{last}; some posts may be missing")
    return Outcome("ok", EXIT_OK, None)


IMAGE_STATS = "archive/images/"


def image_outcomes(stats: dict) -> dict[str, int]:
    """What `--images` did in a run, from its stats: stored, gone, refused, failed,
    already_kept, not_medium_id."""
    return {k[len(IMAGE_STATS) :]: v for k, v in stats.items() if k.startswith(IMAGE_STATS)}
