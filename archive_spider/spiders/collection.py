"""The `collection` spider: archive a Medium publication from a capture file or its site.

`scrapy crawl collection -a source=<file path or URL> [-a as_of=2025-11-06] [-a full=1]`

A live publication is read in this order: the homepage (cards and Apollo state, which name
the publication), Medium's GraphQL listing page by page, then the sitemap (and on full
walks the RSS feed) as cross-checks; ids they name that are not archived are fetched by id.
Each listing page is stored before the next is requested: once a whole page holds only
known, unchanged posts, an incremental run stops paging.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import scrapy
from dateutil.parser import isoparse
from scrapy import signals
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import CloseSpider, DontCloseSpider, DownloadCancelledError
from scrapy.spidermiddlewares.httperror import HttpError

from ..dates import format_instant, parse_reference
from ..items import Page
from ..outcome import record_fatal
from ..pipelines.store import PAGE_STORED, StorePipeline
from ..sources import LayoutChanged, graphql
from ..sources.apollo import ApolloStateError, parse_apollo, read_apollo_state
from ..sources.capture import looks_like_capture, parse_capture
from ..sources.cards import parse_cards
from ..sources.feeds import FeedError, parse_rss, parse_sitemap

SITEMAP_PATH = "/sitemap/sitemap.xml"
FEED_PATH = "/feed"


def source_url(source: str) -> str:
    """A URL Scrapy can fetch for a source given as a URL or a local path."""
    if urlsplit(source).scheme in ("http", "https", "file"):
        return source
    return Path(source).resolve().as_uri()


class CollectionSpider(scrapy.Spider):
    name = "collection"

    def __init__(self, source=None, sources=None, as_of=None, full=False, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sources = list(sources or ([source] if source else []))
        if not self.sources:
            raise ValueError("the collection spider needs -a source=<file path or URL>")
        self.started = self.clock()
        self.as_of = parse_reference(as_of) if as_of else self.started
        self.full = str(full).lower() in ("1", "true", "yes")
        self.allowed_hosts = {urlsplit(source_url(s)).hostname for s in self.sources} - {None}
        self.publication = None
        self.origin = ""
        # Until a full walk of the listing has completed once, no run may stop paging early.
        self.walk_needed = True
        self.listed: set[str] = set()
        # Cursors each listing operation answered, and listing pages in a row with no new post.
        self.cursors: dict[str, set[str]] = {}
        self.stale_pages = 0
        self.missing: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.page_stored, signal=PAGE_STORED)
        crawler.signals.connect(spider.spider_idle, signal=signals.spider_idle)
        return spider

    @staticmethod
    def clock() -> datetime:
        return datetime.now(timezone.utc)

    @property
    def seen_at(self) -> str:
        return format_instant(self.as_of)

    @property
    def archive(self):
        return self.crawler.get_item_pipeline(StorePipeline).archive

    async def start(self):
        for source in self.sources:
            yield scrapy.Request(source_url(source), callback=self.parse, errback=self.failed)

    # Routing -----------------------------------------------------------------------------

    def parse(self, response):
        text = self.decode(response)
        try:
            if looks_like_capture(text):
                yield from self.parse_capture(response, text)
            else:
                yield from self.parse_homepage(response, text)
        except (LayoutChanged, ApolloStateError) as error:
            self.fail("layout_changed", f"{response.url}: {error}")

    def parse_capture(self, response, text):
        """A reader-style markdown capture: each rendered block is one page."""
        for number, renderings in enumerate(parse_capture(text, reference=self.as_of), 1):
            yield from renderings
            yield Page(f"{response.url}#block-{number}", "capture", number, len(renderings))

    def parse_homepage(self, response, text):
        """A publication page: its cards and Apollo state, then (live) the full listing."""
        posts = parse_cards(text, page_url=response.url, reference=self.as_of)
        state = read_apollo_state(text)
        if state is not None:
            self.publication, apollo_posts = parse_apollo(
                state, reference=self.as_of, origin=response.url
            )
            posts += apollo_posts
        if self.publication is not None and self.publication.domain:
            self.allowed_hosts.add(self.publication.domain)  # before its posts are validated
        yield from posts
        yield Page(response.url, "homepage", 1, len(posts))
        if urlsplit(response.url).scheme in ("http", "https"):
            if self.publication is None:
                raise LayoutChanged("the page names no publication in its Apollo state")
            self.origin = urljoin(response.url, "/")
            self.crawler.stats.set_value("archive/publication", self.publication.id)
            self.walk_needed = self.full or not self.archive.walk_completed(self.publication.id)
            yield self.listing_request(graphql.PUBLICATION_POSTS, cursor="", number=1)

    # The listing ---------------------------------------------------------------------------

    def listing_request(self, operation: str, cursor: str | None, number: int):
        page_size = self.settings.getint("ARCHIVE_PAGE_SIZE")
        if operation == graphql.PUBLICATION_POSTS:
            body = graphql.publication_posts_body(
                slug=self.publication.slug,
                domain=self.publication.domain,
                first=page_size,
                after=cursor,
            )
        else:
            body = graphql.homepage_posts_body(
                domain_or_slug=self.publication.domain or self.publication.slug,
                limit=page_size,
                from_=cursor,
            )
        return self.graphql_request(
            body,
            operation,
            callback=self.parse_listing,
            cb_kwargs={"operation": operation, "cursor": cursor, "number": number},
        )

    def graphql_request(self, body, operation, **kwargs):
        return scrapy.Request(
            urljoin(self.origin, graphql.GRAPHQL_PATH),
            method="POST",
            body=json.dumps(body),
            headers=graphql.headers(self.publication_origin, operation),
            dont_filter=True,
            errback=self.failed,
            # A refused operation answers 400 with GraphQL errors: read them, then fall back.
            meta={"handle_httpstatus_list": [400]},
            **kwargs,
        )

    @property
    def publication_origin(self) -> str:
        domain = self.publication.domain if self.publication else None
        return f"https://{domain}" if domain else self.origin

    def parse_listing(self, response, operation, cursor, number):
        payload = self.decode_json(response)
        if payload is None:
            yield from self.retry(response, "invalid JSON")
            return
        parse = (
            graphql.parse_publication_posts
            if operation == graphql.PUBLICATION_POSTS
            else graphql.parse_homepage_posts
        )
        try:
            page = parse(payload, seen_at=self.seen_at)
        except graphql.SchemaDrift as error:
            yield from self.refused(operation, number, str(error))
            return
        self.count_rejected(page.rejected)
        new = {post.id for post in page.posts} - self.listed
        self.stale_pages = 0 if new else self.stale_pages + 1
        self.listed.update(post.id for post in page.posts)
        yield from page.posts
        follow = None
        if page.next_cursor is not None:
            seen = self.cursors.setdefault(operation, {cursor or ""})
            if page.next_cursor in seen:
                self.fail(
                    "schema_drift", f"{operation} returned a cursor it gave before: paging loop"
                )
            if self.stale_pages >= 3:
                self.fail(
                    "schema_drift",
                    f"{operation} listed no new post in {self.stale_pages} pages: paging loop",
                )
            seen.add(page.next_cursor)
            follow = self.listing_request(operation, page.next_cursor, number + 1)
        yield Page(
            f"{response.url}#{operation}-{number}", "listing", number, len(page.posts), follow
        )

    def refused(self, operation, number, message):
        """The first page of the primary operation may fall back; anything else is drift."""
        if operation == graphql.PUBLICATION_POSTS and number == 1:
            self.logger.warning("%s; falling back to %s", message, graphql.HOMEPAGE_POSTS)
            self.crawler.stats.inc_value("archive/listing_fallback")
            yield self.listing_request(graphql.HOMEPAGE_POSTS, cursor=None, number=1)
        else:
            self.fail("schema_drift", message)

    def page_stored(self, page: Page, fresh: int):
        """After a listing page is committed: follow it, or stop paging and cross-check."""
        if page.kind != "listing":
            return
        if page.follow is not None and (fresh or self.walk_needed):
            self.crawler.engine.crawl(page.follow)
            return
        if page.follow is None:
            self.crawler.stats.set_value("archive/walk_complete", 1)
        else:
            self.logger.info("page %s held only known, unchanged posts: stop paging", page.number)
            self.crawler.stats.set_value("archive/stopped_early_at_page", page.number)
        self.crawler.engine.crawl(self.sitemap_request(urljoin(self.origin, SITEMAP_PATH)))
        if self.full or self.walk_needed:
            self.crawler.engine.crawl(
                scrapy.Request(
                    urljoin(self.origin, FEED_PATH), callback=self.parse_feed, errback=self.failed
                )
            )

    # Cross-checks ---------------------------------------------------------------------------

    def sitemap_request(self, url: str):
        return scrapy.Request(url, callback=self.parse_sitemap, errback=self.failed)

    def parse_sitemap(self, response):
        try:
            sitemap = parse_sitemap(response.body)
        except FeedError as error:
            self.logger.error("%s: %s", response.url, error)
            return
        since = (
            None
            if (self.full or self.walk_needed)
            else self.archive.last_walk_started(self.publication.id)
        )
        for child in sitemap.children:
            if since is None or child.lastmod is None or isoparse(child.lastmod) > since:
                yield self.sitemap_request(self.local(child.url))
        self.note_missing(entry.post_id for entry in sitemap.posts)

    def parse_feed(self, response):
        try:
            posts = parse_rss(response.body, seen_at=self.seen_at)
        except FeedError as error:
            self.logger.error("%s: %s", response.url, error)
            return
        self.note_missing(post.id for post in posts)

    def note_missing(self, ids) -> None:
        """Remember ids the listing did not show and the archive lacks, to fetch by id."""
        for post_id in ids:
            if post_id and post_id not in self.listed and not self.archive.has_post(post_id):
                self.missing.add(post_id)

    def spider_idle(self):
        """Once the cross-checks are read, fetch what they found missing, 25 to a request."""
        if not self.missing:
            return
        missing, self.missing = sorted(self.missing), set()
        self.listed.update(missing)
        self.crawler.stats.inc_value("archive/fetched_by_id", len(missing))
        for start in range(0, len(missing), graphql.MAX_IDS_PER_BODY):
            batch = missing[start : start + graphql.MAX_IDS_PER_BODY]
            self.crawler.engine.crawl(
                self.graphql_request(
                    graphql.posts_by_id_body(batch), graphql.POST_BY_ID, callback=self.parse_posts
                )
            )
        raise DontCloseSpider

    def parse_posts(self, response):
        payload = self.decode_json(response)
        if payload is None:
            yield from self.retry(response, "invalid JSON")
            return
        try:
            batch = graphql.parse_posts_by_id(payload, seen_at=self.seen_at)
        except graphql.SchemaDrift as error:
            self.fail("schema_drift", str(error))
        self.count_rejected(batch.rejected)
        yield from batch.posts
        yield Page(f"{response.url}#by-id", "by_id", 1, len(batch.posts))

    def local(self, url: str) -> str:
        """A sitemap child on the publication's domain, fetched from the host we reached."""
        parts = urlsplit(url)
        return urljoin(self.origin, parts.path + (f"?{parts.query}" if parts.query else ""))

    # Helpers --------------------------------------------------------------------------------

    @staticmethod
    def decode_json(response):
        """The decoded JSON body, or None for a truncated or garbled answer."""
        try:
            return json.loads(response.body)
        except (ValueError, RecursionError):  # RecursionError: JSON nested too deep
            return None

    def retry(self, response, reason: str):
        """Ask again for a response that arrived broken (counted like Scrapy's retries)."""
        request = get_retry_request(response.request, spider=self, reason=reason)
        if request is not None:
            yield request

    def count_rejected(self, reasons: list[str]) -> None:
        stats = self.crawler.stats
        for reason in reasons:
            stats.inc_value("archive/rejected")
            self.logger.warning("rejected a post: %s", reason)

    def decode(self, response) -> str:
        try:
            return response.body.decode(getattr(response, "encoding", None) or "utf-8")
        except UnicodeDecodeError as error:
            self.fail("unreadable", f"{response.url} is not UTF-8 text ({error.reason})")

    def failed(self, failure):
        """A request that failed for good: a missing publication or file is fatal; a page
        that failed after its retries makes the run partial (run again to complete)."""
        request = failure.request
        reason = self.reason(failure)
        self.crawler.stats.set_value("archive/last_failure", f"{request.url}: {reason}")
        if failure.check(HttpError):
            status = failure.value.response.status
            if status in (404, 410) and request.callback == self.parse:
                self.fail("not_found", f"{request.url} answered {status}: no such publication")
            self.logger.error("%s answered %s", request.url, status)
        elif request.callback == self.parse and urlsplit(request.url).scheme == "file":
            self.fail("unreadable", f"cannot read {request.url}: {reason}")
        else:
            self.logger.error("%s failed: %s", request.url, reason)
        self.crawler.stats.inc_value("archive/failed_requests")

    def reason(self, failure) -> str:
        """What went wrong, in words (some of Scrapy's errors have an empty message)."""
        if failure.check(DownloadCancelledError):  # Scrapy's cancel at DOWNLOAD_MAXSIZE
            maxsize = self.settings.getint("DOWNLOAD_MAXSIZE")
            return f"the answer was larger than DOWNLOAD_MAXSIZE ({maxsize} bytes)"
        return str(failure.value) or type(failure.value).__name__

    def fail(self, kind: str, message: str):
        """Record a fatal error for the exit status and stop the crawl."""
        record_fatal(self.crawler.stats, kind, message)
        self.logger.error(message)
        raise CloseSpider(kind)
