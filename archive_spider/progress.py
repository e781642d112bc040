"""Crawl progress on stderr: a live line on a terminal, one line per page in a log.

Enabled by `ARCHIVE_PROGRESS` = "live" or "lines" (the CLI picks one; "off" by default).
"""

from __future__ import annotations

import sys
import time

from scrapy.exceptions import NotConfigured

from .outage import OUTAGE_CHANGED
from .pipelines.store import PAGE_STORED


class Progress:
    def __init__(self, crawler, mode: str, stream=None):
        self.stats = crawler.stats
        self.mode = mode
        self.stream = stream or sys.stderr
        self.start = time.monotonic()
        crawler.signals.connect(self.show, signal=PAGE_STORED)
        crawler.signals.connect(self.show, signal=OUTAGE_CHANGED)

    @classmethod
    def from_crawler(cls, crawler):
        mode = crawler.settings.get("ARCHIVE_PROGRESS", "off")
        if mode not in ("live", "lines"):
            raise NotConfigured
        return cls(crawler, mode)

    def line(self) -> str:
        value = self.stats.get_value
        pages = value("archive/pages", 0)
        rate = pages / max(time.monotonic() - self.start, 1e-6)
        line = (
            f"pages {pages} ({rate:.1f}/s), posts new {value('archive/posts_new', 0)}, "
            f"updated {value('archive/posts_updated', 0)}, "
            f"errors {value('log_count/ERROR', 0)}"
        )
        since = value("archive/not_answering_since")
        return line + (f", site not answering since {since}" if since else "")

    def show(self, **_signal):
        if self.mode == "live":
            self.stream.write(f"\r\x1b[K{self.line()}")
        else:
            self.stream.write(f"{self.line()}\n")
        self.stream.flush()
