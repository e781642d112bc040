"""Write merged posts to the archive, one transaction per page, and record each walk's run.

The pipeline holds the archive's lock for the whole crawl (`archive_spider.lock`), so
`scrapy crawl` and Scrapyd jobs are single writers too, and a merge can tell a shard that
is being written. Each walk (publication or capture file) gets its own run row, committed
as "running" at the start and made final as soon as the walk ends.

A write that fails (disk full, I/O error, a read-only file) stops the run: what was
committed stays, the counts are those of committed pages, and the run rows say why.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from scrapy import signals
from scrapy.exceptions import DropItem
from scrapy.utils.defer import deferred_from_coro

from ..dates import format_instant
from ..items import CrossCheck, Page, Publication, SitemapIndex, Thumbnail
from ..lock import Locked, hold_lock
from ..outcome import image_outcomes, judge, record_fatal
from ..storage import Archive

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from typing_extensions import Self

    from ..items import Item
    from ..spiders.collection import CollectionSpider
    from ..spiders.walk import Walk
    from .merge import Merged, MergedItem

# Sent once a page is committed, with `page` and `fresh` (its new or updated posts).
PAGE_STORED = object()
_POST_STATUSES = ("new", "updated", "unchanged")


class StorePipeline:
    """Owns the open `Archive` for the crawl; other components reach it through this pipeline.

    `archive` is None when another process holds the archive's lock: the spider then
    requests nothing and the run ends as "locked". `write_error` is set once a write failed:
    nothing more is written and the run ends as "failed".
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.lock = ExitStack()
        self.archive: Archive | None = None
        # What this run did to each post it saw: "new", "updated" or "unchanged".
        self.post_status: dict[str, str] = {}
        self.page_counts: dict[str, int] = {}
        self.fresh_on_page = 0  # renderings of the page that wrote something
        self.write_error: str | None = None
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        self.path = Path(crawler.settings["ARCHIVE_DB"])
        try:
            wait = crawler.settings.getfloat("ARCHIVE_LOCK_WAIT")
            self.lock.enter_context(hold_lock(self.path, wait))
        except Locked as error:
            record_fatal(self.stats, "locked", str(error))
            return
        try:
            self.archive = Archive(self.path)
        except sqlite3.Error as error:
            self.write_failed(error)

    @property
    def writable(self) -> bool:
        return self.archive is not None and self.write_error is None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def open_spider(self) -> None:
        if not self.writable:
            return
        spider = self.crawler.spider
        started = format_instant(spider.started)
        try:
            self.archive.close_abandoned_runs(started)
            for walk in spider.walks:
                walk.crawl_id = self.archive.begin_crawl(
                    source=walk.source,
                    started=started,
                    as_of=format_instant(spider.as_of),
                    part=spider.part_label,
                )
        except sqlite3.Error as error:
            self.write_failed(error)
            return
        if spider.walks:
            self.stats.set_value("archive/crawl_id", spider.walks[0].crawl_id)

    def process_item(self, item: MergedItem) -> Item:
        if self.write_error is not None:
            raise DropItem(self.write_error)
        try:
            return self._write(item)
        except sqlite3.Error as error:
            self.write_failed(error)
            raise DropItem(self.write_error) from error

    def write_failed(self, error: sqlite3.Error) -> None:
        """The first failed write ends the run: roll back the page, mark the runs failed
        (if even that can be written), and stop asking for more."""
        self._rollback()
        kept = sum(self.stats.get_value(f"archive/posts_{s}", 0) for s in _POST_STATUSES)
        message = f"cannot write {self.path.name}: {error}; {kept} posts kept"
        spider = self.crawler.spider
        walks = [walk for walk in getattr(spider, "walks", ()) if not walk.finished]
        marked = self.archive is not None  # None: the archive could not even be opened
        if marked:
            try:
                for walk in walks:
                    if walk.crawl_id is not None:
                        self.archive.update_crawl(
                            walk.crawl_id,
                            status="failed",
                            error=message,
                            finished=format_instant(spider.clock()),
                            **walk.counts(),
                        )
                self.archive.commit()
            except sqlite3.Error:
                self._rollback()
                marked = False
        if not marked:
            message += " (the run's row could not be marked failed either)"
        self.write_error = message
        record_fatal(self.stats, "write_failed", message)
        for walk in walks:
            record_fatal(walk, "write_failed", message)
            self.finish_walk(walk)
        try:
            engine = self.crawler.engine
        except RuntimeError:  # not started: the spider sees `writable` false and asks nothing
            return
        if spider is not None and engine is not None:
            deferred_from_coro(engine.close_spider_async(reason="write_failed"))

    def _rollback(self) -> None:
        if self.archive is None:
            return
        try:
            self.archive.rollback()
        except sqlite3.Error:
            return  # the connection gives up its transaction when it is closed

    def _write(self, item: MergedItem) -> Item:
        if isinstance(item, Page):
            self._store_page(item)
            return item
        if isinstance(item, CrossCheck):
            self._store_crosscheck(item)
            return item
        if isinstance(item, Thumbnail):  # kept by the images pipeline, after this one
            return item
        if isinstance(item, SitemapIndex):
            self.archive.note_sitemaps(item.publication, item.children)
            return item
        if isinstance(item, Publication):
            self.archive.save_publication(
                id=item.id,
                url=item.home_url,
                name=item.name,
                slug=item.slug,
                domain=item.domain,
                seen=format_instant(self.crawler.spider.as_of),
                crawled=item.url is not None,
            )
            return item
        saved = self.archive.save(item.post, item.previous, item.changes, self._crawl_id(item))
        self._count_post(item.post.id, saved.status)
        if saved.status != "unchanged":
            self.fresh_on_page += 1
        if saved.changes:
            self.stats.inc_value("archive/changes", len(saved.changes))
        return item.post

    def _store_crosscheck(self, check: CrossCheck) -> None:
        """Forget what a cross-check has now read, or remember what it could not."""
        if not check.read:
            self.archive.add_pending(check.publication, check.kind, check.keys, check.at)
            return
        self.archive.drop_pending(check.publication, check.kind, check.keys)
        if check.kind == "sitemap":
            self.archive.mark_sitemaps_read(check.publication, check.keys, check.at)

    def _store_page(self, page: Page) -> None:
        walk = page.walk
        counts, self.page_counts = self.page_counts, {}
        if page.kind != "crosscheck":
            counts["archive/pages"] = 1
        counts["archive/renderings"] = page.renderings
        before = dict(walk.stats)
        for key, count in counts.items():
            walk.inc_value(key, count)
        try:
            self.archive.update_crawl(walk.crawl_id, **walk.counts())
            self.archive.commit()
        except sqlite3.Error:
            walk.stats = before  # the page is not kept: neither are its counts
            raise
        for key, count in counts.items():
            if key != "archive/renderings":  # the validate pipeline counts them for the run
                self.stats.inc_value(key, count)
        fresh, self.fresh_on_page = self.fresh_on_page, 0
        self.crawler.signals.send_catch_log(PAGE_STORED, page=page, fresh=fresh)

    def _crawl_id(self, item: Merged) -> int | None:
        """The run row of the walk a post came from (the first walk's for a capture)."""
        spider = self.crawler.spider
        walk = spider.walk_of.get(item.post.publication)
        if walk is None:
            walk = spider.walks[0] if spider.walks else None
        return walk.crawl_id if walk else None

    def _count_post(self, post_id: str, status: str) -> None:
        """Count each post once per run: new if this run created it, else updated if changed.

        The counts of a page go to its walk once the page is stored.
        """
        before = self.post_status.get(post_id)
        if before is None:
            self.post_status[post_id] = status
            self._count_on_page(f"archive/posts_{status}", 1)
        elif before == "unchanged" and status == "updated":
            self.post_status[post_id] = status
            self._count_on_page("archive/posts_unchanged", -1)
            self._count_on_page("archive/posts_updated", 1)

    def _count_on_page(self, key: str, count: int) -> None:
        self.page_counts[key] = self.page_counts.get(key, 0) + count

    def finish_walk(self, walk: Walk, reason: str = "finished") -> None:
        """Make a walk's run row final: its status, error and counts."""
        walk.finished = True
        outcome = judge(walk.stats, reason)
        if self.write_error is None:
            try:
                self.archive.update_crawl(
                    walk.crawl_id,
                    finished=format_instant(self.crawler.spider.clock()),
                    status=outcome.status,
                    error=outcome.error,
                    **walk.counts(),
                )
                self.archive.commit()
            except sqlite3.Error as error:
                self.write_failed(error)
                record_fatal(walk, "write_failed", self.write_error)
                outcome = judge(walk.stats, reason)
        walks = self.stats.get_value("archive/walks") or {}
        walks[walk.source] = {
            "crawl_id": walk.crawl_id,
            **walk.counts(),
            **outcome.as_dict(),
            "warnings": walk.warnings(),
        }
        self.stats.set_value("archive/walks", walks)

    def close_spider(self) -> None:
        # Renderings of a page that never finished are not committed: a page is all or nothing.
        self._rollback()
        self._record_images()

    def _record_images(self) -> None:
        """What `--images` did in this run, on the run's first row."""
        counts = image_outcomes(self.stats.get_stats())
        crawl_id = self.stats.get_value("archive/crawl_id")
        if not counts or crawl_id is None or not self.writable:
            return
        try:
            self.archive.update_crawl(crawl_id, images=json.dumps(counts, sort_keys=True))
            self.archive.commit()
        except sqlite3.Error as error:
            self.write_failed(error)

    def spider_closed(self, spider: CollectionSpider, reason: str) -> None:
        if self.archive is not None:
            fatal = {
                key: value
                for key, value in self.stats.get_stats().items()
                if key.startswith(("archive/errors/", "archive/error_message/"))
            }
            for walk in spider.walks:
                if not walk.finished:
                    # Cut short by the end of the crawl: a global stop (blocked) applies to it.
                    if reason != "finished":
                        walk.stats = {**fatal, **walk.stats}
                    self.finish_walk(walk, reason)
            try:
                self.archive.close()
            except sqlite3.Error as error:
                self.write_failed(error)
        self.lock.close()
