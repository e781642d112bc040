"""One publication's chain of requests within a run: its state, its counts, its end."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

from ..items import Publication

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from scrapy.http import Response
    from twisted.python.failure import Failure

    from .collection import CollectionSpider

# Stats key prefix of the first failure of each source of a walk's pages.
SOURCE_FAILURE = "archive/source_failure/"

# What a walk's callback yields: items and requests.
_Yield = TypeVar("_Yield")


class WalkStopped(Exception):
    """Raised inside a callback once its walk has failed: the walk sends nothing more."""


@dataclass(eq=False)
class Walk:
    """A publication (or a capture file) walked in this run.

    Every request of the walk is counted in `in_flight` when it is made and uncounted when
    its callback or errback has run (or when it is never sent); once none is in flight the walk
    is over and its run row is final. `stats` uses the keys of Scrapy's stats, so the same
    `judge` turns either into an outcome.
    """

    source: str  # the publication URL (normalized) or the capture file, as listed
    name: str | None = None  # the name the publication list gives it
    crawl_id: int | None = None
    publication: Publication | None = None
    origin: str = ""
    # Until a full walk of the listing has completed once, no run may stop paging early.
    walk_needed: bool = True
    listed: set[str] = field(default_factory=set)
    # Cursors each listing operation answered, and listing pages in a row with no new post.
    cursors: dict[str, set[str]] = field(default_factory=dict)
    stale_pages: int = 0
    # Days the listing showed a post of, in this run (exact dates).
    listed_days: set[date] = field(default_factory=set)
    sitemaps: set[str] = field(default_factory=set)  # paths of the sitemaps asked for
    # Sitemap paths an earlier run failed to read: read again whatever their date.
    unread_sitemaps: set[str] = field(default_factory=set)
    missing: set[str] = field(default_factory=set)
    in_flight: int = 0
    stopped: bool = False
    finished: bool = False
    stats: dict = field(default_factory=dict)

    # The part of Scrapy's StatsCollector interface that `record_fatal` and `judge` use.
    def get_value(self, key: str, default: Any = None) -> Any:
        return self.stats.get(key, default)

    def set_value(self, key: str, value: object) -> None:
        self.stats[key] = value

    def inc_value(self, key: str, count: int = 1) -> None:
        self.stats[key] = self.stats.get(key, 0) + count

    @property
    def on_medium_com(self) -> bool:
        """A publication served under medium.com/<slug> rather than on its own domain."""
        return self.publication is not None and not self.publication.domain

    def counts(self) -> dict:
        """The columns of the walk's run row."""
        value = self.stats.get
        return {
            "pages": value("archive/pages", 0),
            "renderings": value("archive/renderings", 0),
            "posts_new": value("archive/posts_new", 0),
            "posts_updated": value("archive/posts_updated", 0),
            "errors": value("log_count/ERROR", 0),
            "publication": self.publication.id if self.publication else None,
            "walk_complete": value("archive/walk_complete", 0),
            "source_failures": self._counts_json("archive/source_failed/"),
            "disagreements": self._counts_json("archive/disagreements/"),
            "outage": value("archive/outage_since"),
        }

    def warnings(self) -> list[str]:
        """One line per source that failed on some page while the others gave its posts."""
        return [
            f"the {key[len(SOURCE_FAILURE) :]} source failed ({message}); "
            "its posts came from the other sources"
            for key, message in sorted(self.stats.items())
            if key.startswith(SOURCE_FAILURE)
        ]

    def _counts_json(self, prefix: str) -> str | None:
        """The counts under `prefix`, by the rest of their key, as JSON (None when none)."""
        counts = {
            k[len(prefix) :]: v for k, v in sorted(self.stats.items()) if k.startswith(prefix)
        }
        return json.dumps(counts) if counts else None


def walk_step(handler: Callable[..., Iterator[_Yield]]) -> Callable[..., Iterator[_Yield]]:
    """Wrap a callback of a walk: skipped once the walk stopped, and counted as answered
    when it is done, so the spider learns when the walk has nothing left to do."""

    @functools.wraps(handler)
    def step(
        self: CollectionSpider, response: Response | Failure, walk: Walk, **kwargs: Any
    ) -> Iterator[_Yield]:
        try:
            if not walk.stopped:
                yield from handler(self, response, walk, **kwargs)
        except WalkStopped:
            return  # `fail` has recorded why; the walk's other answers are ignored
        finally:
            self.answered(walk)

    return step
