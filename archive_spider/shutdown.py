"""Prompt ends: SIGTERM, the first Ctrl-C and --max-time end a run within seconds.

Scrapy stops gracefully on a signal, but waits for every request in flight: one held in a
backoff, in DNS or in a 30 s download. cron and systemd send SIGKILL long before that. So
once a stop is asked for, the run gets `ARCHIVE_SHUTDOWN_GRACE` seconds to close by itself;
then the open page is rolled back (committed pages stay), the walks still running are marked
interrupted, the archive and its lock are released, and the reactor stops. The next run
resumes.
"""

from __future__ import annotations

import signal
from functools import partial

from scrapy import signals
from twisted.internet import reactor

from .pipelines.store import StorePipeline

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class PromptShutdown:
    """Extension: force the end of a run that does not close in time (see the module)."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.grace = crawler.settings.getfloat("ARCHIVE_SHUTDOWN_GRACE")
        self.deadline = None
        self.reason = "shutdown"
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def spider_opened(self, spider):
        # After Scrapy has installed its own handlers, which ours call first.
        reactor.callWhenRunning(reactor.callLater, 0, self.install)
        max_time = self.crawler.settings.getfloat("CLOSESPIDER_TIMEOUT")
        if max_time > 0:
            self.deadline = reactor.callLater(max_time + self.grace, self.force, "max_time")

    def install(self):
        for number in STOP_SIGNALS:
            previous = signal.getsignal(number)
            signal.signal(number, partial(self.on_signal, previous))

    def on_signal(self, previous, number, frame):
        if callable(previous):
            previous(number, frame)
        reactor.callFromThread(self.arm)

    def arm(self):
        if self.deadline is None or not self.deadline.active():
            self.deadline = reactor.callLater(self.grace, self.force, "shutdown")

    def force(self, reason: str):
        """The run did not close in time: end it here, keeping what was committed."""
        spider = self.crawler.spider
        if spider is None or not reactor.running:
            return
        self.crawler.stats.set_value("finish_reason", reason)
        self.crawler.get_item_pipeline(StorePipeline).spider_closed(spider, reason)
        self.deadline = None
        reactor.stop()

    def spider_closed(self, spider, reason):
        if self.deadline is not None and self.deadline.active():
            self.deadline.cancel()
