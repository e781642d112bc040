"""Write merged posts to the archive, one transaction per listing page, and record the run."""

from __future__ import annotations

from scrapy import signals

from ..dates import format_instant
from ..items import Page
from ..outcome import judge
from ..storage import Archive

# Sent once a page is committed, with `page` and `fresh` (its new or updated posts).
PAGE_STORED = object()


class StorePipeline:
    """Owns the open `Archive` for the crawl; other components reach it through this pipeline."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        self.archive = Archive(crawler.settings["ARCHIVE_DB"])
        self.crawl_id: int | None = None
        # What this run did to each post it saw: "new", "updated" or "unchanged".
        self.post_status: dict[str, str] = {}
        self.fresh_on_page = 0
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def open_spider(self):
        spider = self.crawler.spider
        self.crawl_id = self.archive.begin_crawl(
            source=" ".join(spider.sources),
            started=format_instant(spider.started),
            as_of=format_instant(spider.as_of),
        )
        self.stats.set_value("archive/crawl_id", self.crawl_id)

    def process_item(self, item):
        if isinstance(item, Page):
            self.stats.inc_value("archive/pages")
            self.archive.update_crawl(self.crawl_id, **self._counts())
            self.archive.commit()
            fresh, self.fresh_on_page = self.fresh_on_page, 0
            self.crawler.signals.send_catch_log(PAGE_STORED, page=item, fresh=fresh)
            return item
        saved = self.archive.save(item.post, item.previous, item.changes, self.crawl_id)
        self._count_post(item.post.id, saved.status)
        if saved.status != "unchanged":
            self.fresh_on_page += 1
        if saved.changes:
            self.stats.inc_value("archive/changes", len(saved.changes))
        return item.post

    def _count_post(self, post_id: str, status: str) -> None:
        """Count each post once per run: new if this run created it, else updated if changed."""
        before = self.post_status.get(post_id)
        if before is None:
            self.post_status[post_id] = status
            self.stats.inc_value(f"archive/posts_{status}")
        elif before == "unchanged" and status == "updated":
            self.post_status[post_id] = status
            self.stats.inc_value("archive/posts_unchanged", -1)
            self.stats.inc_value("archive/posts_updated")

    def close_spider(self):
        # Renderings of a page that never finished are not committed: a page is all or nothing.
        self.archive.rollback()

    def spider_closed(self, spider, reason):
        outcome = judge(self.stats.get_stats(), reason)
        self.archive.update_crawl(
            self.crawl_id,
            finished=format_instant(spider.clock()),
            status=outcome.status,
            error=outcome.error,
            **self._counts(),
        )
        self.archive.commit()
        self.archive.close()

    def _counts(self) -> dict:
        value = self.stats.get_value
        return {
            "pages": value("archive/pages", 0),
            "renderings": value("archive/renderings", 0),
            "posts_new": value("archive/posts_new", 0),
            "posts_updated": value("archive/posts_updated", 0),
            "errors": value("log_count/ERROR", 0),
            "publication": value("archive/publication"),
            "walk_complete": value("archive/walk_complete", 0),
        }
