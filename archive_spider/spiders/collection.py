"""The `collection` spider: archive Medium publications from capture files or their sites.

    scrapy crawl collection -a source=<file path or URL> [-a as_of=2025-11-06] [-a full=1]
    scrapy crawl collection -a publications=list.csv [-a part=2 -a parts=3] [-a db=shard.db]

Each source or listed publication is walked as its own chain of requests (a `Walk`), with
its own run row. A live publication is read in this order: its homepage (cards and Apollo
state, which name the publication), Medium's GraphQL listing page by page, then the sitemap
(custom domains only) and on full walks the RSS feed as cross-checks; ids they name that are
not archived are fetched by id. Each listing page is stored before the next is requested:
once a whole page holds only known, unchanged posts, an incremental run stops paging.

With `parts` > 1 the run crawls one stable share of the list and divides the politeness
budget (DOWNLOAD_DELAY, the delay between two requests to Medium) by the number of parts.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import scrapy
from dateutil.parser import isoparse
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import CloseSpider, DownloadCancelledError
from scrapy.settings import SETTINGS_PRIORITIES
from scrapy.spidermiddlewares.httperror import HttpError

from ..dates import format_instant, parse_reference
from ..items import Page
from ..middlewares import MOVE_ALLOWED
from ..outcome import record_fatal
from ..pipelines.store import PAGE_STORED, StorePipeline
from ..publications import (
    normalize_publication_url,
    parse_part,
    read_publications,
    select_part,
)
from ..sources import LayoutChanged, graphql
from ..sources.capture import looks_like_capture, parse_capture
from ..sources.feeds import FeedError, parse_rss, parse_sitemap
from ..sources.page import read_page
from ..sources.post_nodes import BadPublication
from .walk import SOURCE_FAILURE, Walk, WalkStopped, walk_step

SITEMAP_PATH = "/sitemap/sitemap.xml"
FEED_PATH = "/feed"


def is_web_url(source: str) -> bool:
    return urlsplit(source).scheme in ("http", "https")


def host_of(url: str) -> str | None:
    return urlsplit(url).hostname


def source_url(source: str) -> str:
    """A URL Scrapy can fetch for a source given as a URL or a local path."""
    if urlsplit(source).scheme in ("http", "https", "file"):
        return source
    return Path(source).resolve().as_uri()


def sitemap_key(url: str) -> str:
    """A sitemap's path (and query): what names it whatever host it was fetched from."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def listed_walks(sources, publications, part, parts) -> list[Walk]:
    """The walks of a run: one per source, then one per publication of the list's part."""
    walks = [Walk(normalize_publication_url(s) if is_web_url(s) else s) for s in sources or ()]
    if publications:
        listed = read_publications(Path(publications))
        for entry in select_part(listed, part, parts):
            walks.append(Walk(entry.url, name=entry.name))
    unique: dict[str, Walk] = {}
    for walk in walks:
        unique.setdefault(walk.source, walk)  # a publication listed twice is walked once
    return list(unique.values())


class CollectionSpider(scrapy.Spider):
    name = "collection"

    def __init__(
        self,
        source=None,
        sources=None,
        publications=None,
        part=None,
        parts=None,
        db=None,
        as_of=None,
        full=False,
        *args,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        sources = list(sources or ([source] if source else []))
        if not sources and not publications:
            raise ValueError(
                "the collection spider needs -a source=<file path or URL> "
                "or -a publications=<CSV file>"
            )
        if parts is not None or part is not None:
            self.part, self.parts = parse_part(f"{part or 1}/{parts or 1}")
        else:
            self.part, self.parts = 1, 1
        self.walks = listed_walks(sources, publications, self.part, self.parts)
        self.db = db
        self.started = self.clock()
        self.as_of = parse_reference(as_of) if as_of else self.started
        self.full = str(full).lower() in ("1", "true", "yes")
        self.allowed_hosts = {urlsplit(source_url(w.source)).hostname for w in self.walks} - {None}
        self.closing = False
        self.walk_of: dict[str, Walk] = {}  # by publication id, once its homepage is read

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        if spider.db:
            settings.set("ARCHIVE_DB", spider.db, priority="cmdline")
        if spider.parts > 1:
            # One politeness budget for the whole fleet: each of N parts takes 1/N of it.
            delay = settings.getfloat("DOWNLOAD_DELAY") * spider.parts
            given = settings.getpriority("DOWNLOAD_DELAY") or 0
            priority = max(given, SETTINGS_PRIORITIES["cmdline"])
            settings.set("DOWNLOAD_DELAY", delay, priority=priority)
        crawler.signals.connect(spider.page_stored, signal=PAGE_STORED)
        return spider

    @staticmethod
    def clock() -> datetime:
        return datetime.now(timezone.utc)

    @property
    def part_label(self) -> str | None:
        """The part this run crawls, as "i/N", when it crawls one part of a list."""
        return f"{self.part}/{self.parts}" if self.parts > 1 else None

    @property
    def seen_at(self) -> str:
        return format_instant(self.as_of)

    @property
    def store(self) -> StorePipeline:
        return self.crawler.get_item_pipeline(StorePipeline)

    @property
    def archive(self):
        return self.store.archive

    async def start(self):
        if self.archive is None:  # the store could not take the archive's lock
            return
        for walk in self.walks:
            yield self.request(walk, source_url(walk.source), self.parse, meta={MOVE_ALLOWED: True})

    def request(self, walk: Walk, url: str, callback, **kwargs) -> scrapy.Request:
        """A request of `walk`, counted as pending until it is answered."""
        walk.pending += 1
        cb_kwargs = {"walk": walk, **kwargs.pop("cb_kwargs", {})}
        return scrapy.Request(
            url,
            callback=callback,
            errback=self.failed,
            cb_kwargs=cb_kwargs,
            dont_filter=True,
            **kwargs,
        )

    def answered(self, walk: Walk) -> None:
        """A request of `walk` is done: with nothing else pending, the walk ends."""
        walk.pending -= 1
        if walk.pending > 0 or walk.finished or self.closing:
            return
        if walk.missing and not walk.stopped:
            self.fetch_missing(walk)
            return
        self.store.finish_walk(walk)

    def closed(self, reason):
        """Once the crawl is over, a walk's last answer starts nothing more."""
        self.closing = True

    # Routing -----------------------------------------------------------------------------

    @walk_step
    def parse(self, response, walk):
        text = self.decode(response, walk)
        try:
            if looks_like_capture(text):
                yield from self.parse_capture(response, walk, text)
            else:
                yield from self.parse_homepage(response, walk, text)
        except LayoutChanged as error:
            self.fail(walk, "layout_changed", f"{response.url}: {error}")
        except BadPublication as error:
            self.fail(walk, "bad_publication", f"{response.url}: {error}")

    def parse_capture(self, response, walk, text):
        """A reader-style markdown capture: each rendered block is one page."""
        for number, renderings in enumerate(parse_capture(text, reference=self.as_of), 1):
            yield from renderings
            yield Page(
                f"{response.url}#block-{number}", "capture", number, len(renderings), walk=walk
            )

    def parse_homepage(self, response, walk, text):
        """A publication's or an author's page, then (live) the publication's full listing."""
        page = read_page(text, page_url=response.url, reference=self.as_of)
        for source, error in page.failed.items():
            self.source_failed(walk, source, f"{response.url}: {error}")
        live = is_web_url(response.url)
        publication = page.publication
        self.check_arrival(response, walk, publication)
        if publication is not None:
            publication = replace(publication, name=walk.name or publication.name, url=walk.source)
            walk.publication = publication
            self.walk_of[publication.id] = walk
        for named in page.publications:
            if named.domain:
                self.allowed_hosts.add(named.domain)  # before its posts are validated
            yield publication if named.id == getattr(publication, "id", None) else named
        yield from page.posts
        for reason, count in page.skipped.items():
            self.crawler.stats.inc_value(f"archive/skipped/{reason}", count)
        yield Page(response.url, "homepage", 1, len(page.posts), walk=walk)
        if page.missing:
            self.missing_from_page(walk, response.url, page.missing, live)
        if live and publication is None and not page.is_author_page:
            raise BadPublication("the page names no publication and no author in its state")
        if live and publication is not None:
            walk.origin = urljoin(response.url, "/")
            walk.walk_needed = self.full or not self.archive.walk_completed(publication.id)
            # What earlier cross-checks could not read is read again, whatever its date.
            walk.unread_sitemaps = self.archive.pending(publication.id, "sitemap")
            walk.missing |= self.archive.pending(publication.id, "post")
            yield self.listing_request(walk, graphql.PUBLICATION_POSTS, cursor="", number=1)

    def source_failed(self, walk, source: str, message: str) -> None:
        """One source of a page failed while another gave its posts: warn, count, go on."""
        for stats in (self.crawler.stats, walk):
            stats.inc_value(f"archive/source_failed/{source}")
        walk.stats.setdefault(f"{SOURCE_FAILURE}{source}", message)
        self.logger.warning("the %s source failed: %s", source, message)

    def check_arrival(self, response, walk, publication) -> None:
        """A walk redirected to another host must have arrived at its publication's domain."""
        first = response.meta.get("redirect_urls", [response.url])[0]
        arrived = host_of(response.url)
        if arrived == host_of(first):
            return
        if publication is None or publication.domain != arrived:
            self.fail(
                walk,
                "offsite_redirect",
                f"{first} redirected to {response.url}, which is not the publication's own "
                "domain: refused to leave Medium",
            )
        self.logger.info("%s moved to its own domain: %s", walk.source, response.url)

    def missing_from_page(self, walk, url: str, ids: list[str], live: bool) -> None:
        """Posts a page lists but does not hold: fetched by id on a live walk, else lost."""
        shown = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
        if live and walk.publication is not None:
            self.logger.warning("%s lists %s post(s) it does not hold (%s)", url, len(ids), shown)
            walk.missing.update(ids)
            return
        self.log_error(walk, f"{url} lists {len(ids)} post(s) it does not hold: {shown}")

    # The listing ---------------------------------------------------------------------------

    def listing_request(self, walk, operation: str, cursor: str | None, number: int):
        page_size = self.settings.getint("ARCHIVE_PAGE_SIZE")
        publication = walk.publication
        if operation == graphql.PUBLICATION_POSTS:
            body = graphql.publication_posts_body(
                slug=publication.slug, domain=publication.domain, first=page_size, after=cursor
            )
        else:
            body = graphql.homepage_posts_body(
                domain_or_slug=publication.domain or publication.slug,
                limit=page_size,
                from_=cursor,
            )
        return self.graphql_request(
            walk,
            body,
            operation,
            callback=self.parse_listing,
            cb_kwargs={"operation": operation, "cursor": cursor, "number": number},
        )

    def graphql_request(self, walk, body, operation, **kwargs):
        return self.request(
            walk,
            urljoin(walk.origin, graphql.GRAPHQL_PATH),
            method="POST",
            body=json.dumps(body),
            headers=graphql.headers(self.publication_origin(walk), operation),
            # A refused operation answers 400 with GraphQL errors: read them, then fall back.
            meta={"handle_httpstatus_list": [400]},
            **kwargs,
        )

    @staticmethod
    def publication_origin(walk) -> str:
        domain = walk.publication.domain if walk.publication else None
        return f"https://{domain}" if domain else walk.origin

    @walk_step
    def parse_listing(self, response, walk, operation, cursor, number):
        payload = self.decode_json(response)
        if payload is None:
            yield from self.retry(response, walk, "invalid JSON")
            return
        parse = (
            graphql.parse_publication_posts
            if operation == graphql.PUBLICATION_POSTS
            else graphql.parse_homepage_posts
        )
        try:
            page = parse(payload, seen_at=self.seen_at, publication=walk.publication)
        except graphql.SchemaDrift as error:
            yield from self.refused(walk, operation, number, str(error))
            return
        self.count_rejected(page.rejected)
        new = {post.id for post in page.posts} - walk.listed
        walk.stale_pages = 0 if new else walk.stale_pages + 1
        walk.listed.update(post.id for post in page.posts)
        yield from page.posts
        follow = None
        if page.next_cursor is not None:
            seen = walk.cursors.setdefault(operation, {cursor or ""})
            if page.next_cursor in seen:
                self.fail(
                    walk,
                    "schema_drift",
                    f"{operation} returned a cursor it gave before: paging loop",
                )
            if walk.stale_pages >= 3:
                self.fail(
                    walk,
                    "schema_drift",
                    f"{operation} listed no new post in {walk.stale_pages} pages: paging loop",
                )
            seen.add(page.next_cursor)
            follow = self.listing_request(walk, operation, page.next_cursor, number + 1)
        yield Page(
            f"{response.url}#{operation}-{number}",
            "listing",
            number,
            len(page.posts),
            follow,
            walk=walk,
        )

    def refused(self, walk, operation, number, message):
        """The first page of the primary operation may fall back; anything else is drift."""
        if operation == graphql.PUBLICATION_POSTS and number == 1:
            self.logger.warning("%s; falling back to %s", message, graphql.HOMEPAGE_POSTS)
            self.crawler.stats.inc_value("archive/listing_fallback")
            yield self.listing_request(walk, graphql.HOMEPAGE_POSTS, cursor=None, number=1)
        else:
            self.fail(walk, "schema_drift", message)

    def page_stored(self, page: Page, fresh: int):
        """After a listing page is committed: follow it, or stop paging and cross-check."""
        walk = page.walk
        if page.kind != "listing" or walk.stopped:
            return
        if page.follow is not None and (fresh or walk.walk_needed):
            self.crawler.engine.crawl(page.follow)
            return
        if page.follow is None:
            walk.set_value("archive/walk_complete", 1)
            self.crawler.stats.set_value("archive/walk_complete", 1)
        else:
            walk.pending -= 1  # the next page is never requested
            self.logger.info(
                "%s: page %s held only known, unchanged posts: stop paging",
                walk.source,
                page.number,
            )
            self.crawler.stats.set_value("archive/stopped_early_at_page", page.number)
        if not walk.on_medium_com:
            # medium.com's sitemap covers all of Medium: only custom domains have their own.
            sitemap = urljoin(walk.origin, SITEMAP_PATH)
            walk.sitemaps.add(sitemap)
            self.crawler.engine.crawl(self.request(walk, sitemap, self.parse_sitemap))
        if self.full or walk.walk_needed:
            self.crawler.engine.crawl(self.request(walk, self.feed_url(walk), self.parse_feed))

    @staticmethod
    def feed_url(walk) -> str:
        if walk.on_medium_com:
            return urljoin(walk.origin, f"{FEED_PATH}/{walk.publication.slug}")
        return urljoin(walk.origin, FEED_PATH)

    # Cross-checks ---------------------------------------------------------------------------

    @walk_step
    def parse_sitemap(self, response, walk):
        try:
            sitemap = parse_sitemap(response.body)
        except FeedError as error:
            self.unread(walk, "sitemap", [sitemap_key(response.url)])
            self.log_error(walk, f"{response.url}: {error}")
            return
        self.archive.drop_pending(walk.publication.id, "sitemap", [sitemap_key(response.url)])
        since = (
            None
            if (self.full or walk.walk_needed)
            else self.archive.last_walk_started(walk.publication.id)
        )
        for child in sitemap.children:
            url = self.local(walk, child.url)
            due = since is None or child.lastmod is None or isoparse(child.lastmod) > since
            if (due or sitemap_key(url) in walk.unread_sitemaps) and url not in walk.sitemaps:
                walk.sitemaps.add(url)
                yield self.request(walk, url, self.parse_sitemap)
        self.note_missing(walk, (entry.post_id for entry in sitemap.posts))

    @walk_step
    def parse_feed(self, response, walk):
        try:
            posts = parse_rss(response.body, seen_at=self.seen_at)
        except FeedError as error:
            self.log_error(walk, f"{response.url}: {error}")
            return
        self.note_missing(walk, (post.id for post in posts))
        yield from ()

    def note_missing(self, walk, ids) -> None:
        """Remember ids the listing did not show and the archive lacks, to fetch by id."""
        for post_id in ids:
            if post_id and post_id not in walk.listed and not self.archive.has_post(post_id):
                walk.missing.add(post_id)

    def fetch_missing(self, walk) -> None:
        """Once the cross-checks are read, fetch what they found missing, 25 to a request."""
        missing, walk.missing = sorted(walk.missing), set()
        walk.listed.update(missing)
        self.crawler.stats.inc_value("archive/fetched_by_id", len(missing))
        for start in range(0, len(missing), graphql.MAX_IDS_PER_BODY):
            batch = missing[start : start + graphql.MAX_IDS_PER_BODY]
            self.crawler.engine.crawl(
                self.graphql_request(
                    walk,
                    graphql.posts_by_id_body(batch),
                    graphql.POST_BY_ID,
                    callback=self.parse_posts,
                    cb_kwargs={"ids": batch},
                )
            )

    @walk_step
    def parse_posts(self, response, walk, ids):
        payload = self.decode_json(response)
        if payload is None:
            yield from self.retry(response, walk, "invalid JSON", unread=("post", ids))
            return
        try:
            batch = graphql.parse_posts_by_id(
                payload, seen_at=self.seen_at, publication=walk.publication
            )
        except graphql.SchemaDrift as error:
            self.unread(walk, "post", ids)
            self.fail(walk, "schema_drift", str(error))
        self.count_rejected(batch.rejected)
        self.archive.drop_pending(walk.publication.id, "post", ids)
        yield from batch.posts
        yield Page(f"{response.url}#by-id", "by_id", 1, len(batch.posts), walk=walk)

    @staticmethod
    def local(walk, url: str) -> str:
        """A sitemap child on the publication's domain, fetched from the host we reached."""
        return urljoin(walk.origin, sitemap_key(url))

    # Helpers --------------------------------------------------------------------------------

    @staticmethod
    def decode_json(response):
        """The decoded JSON body, or None for a truncated or garbled answer."""
        try:
            return json.loads(response.body)
        except (ValueError, RecursionError):  # RecursionError: JSON nested too deep
            return None

    def retry(self, response, walk, reason: str, unread=None):
        """Ask again for a response that arrived broken (counted like Scrapy's retries);
        once retries are spent, remember `unread` (kind, keys) for the next run."""
        request = get_retry_request(response.request, spider=self, reason=reason)
        if request is None:
            walk.inc_value("archive/failed_requests")
            walk.set_value("archive/last_failure", f"{response.url}: {reason}")
            if unread is not None:
                self.unread(walk, *unread)
            return
        walk.pending += 1
        yield request

    def unread(self, walk, kind: str, keys) -> None:
        """A cross-check could not read these: the next run reads them again."""
        self.archive.add_pending(walk.publication.id, kind, keys, format_instant(self.clock()))

    def count_rejected(self, reasons: list[str]) -> None:
        stats = self.crawler.stats
        for reason in reasons:
            stats.inc_value("archive/rejected")
            self.logger.warning("rejected a post: %s", reason)

    def decode(self, response, walk) -> str:
        try:
            return response.body.decode(getattr(response, "encoding", None) or "utf-8")
        except UnicodeDecodeError as error:
            self.fail(walk, "unreadable", f"{response.url} is not UTF-8 text ({error.reason})")

    def failed(self, failure):
        """The errback of every request: see `request_failed`."""
        yield from self.request_failed(failure, failure.request.cb_kwargs["walk"])

    @walk_step
    def request_failed(self, failure, walk):
        """A request that failed for good: a missing publication or file is fatal; a page
        that failed after its retries makes the run partial (run again to complete)."""
        request = failure.request
        if failure.check(CloseSpider):  # a bot challenge: the middleware stopped the run
            kind = failure.value.reason
            message = self.crawler.stats.get_value(f"archive/error_message/{kind}", kind)
            record_fatal(walk, kind, message)
            walk.stopped = True
            return
        reason = self.reason(failure)
        if request.callback == self.parse_sitemap:
            self.unread(walk, "sitemap", [sitemap_key(request.url)])
        elif request.callback == self.parse_posts:
            self.unread(walk, "post", request.cb_kwargs["ids"])
        for stats in (self.crawler.stats, walk):
            stats.set_value("archive/last_failure", f"{request.url}: {reason}")
            stats.inc_value("archive/failed_requests")
        moved_from = request.meta.get("redirect_urls", [request.url])[0]
        if request.callback == self.parse and host_of(moved_from) != host_of(request.url):
            self.fail(
                walk,
                "offsite_redirect",
                f"{moved_from} redirected to {request.url}, which failed ({reason}): "
                "not the publication's own domain",
            )
        if failure.check(HttpError):
            status = failure.value.response.status
            if status in (404, 410) and request.callback == self.parse:
                self.fail(
                    walk, "not_found", f"{request.url} answered {status}: no such publication"
                )
            self.log_error(walk, f"{request.url} answered {status}")
        elif request.callback == self.parse and urlsplit(request.url).scheme == "file":
            self.fail(walk, "unreadable", f"cannot read {request.url}: {reason}")
        else:
            self.log_error(walk, f"{request.url} failed: {reason}")
        yield from ()

    def reason(self, failure) -> str:
        """What went wrong, in words (some of Scrapy's errors have an empty message)."""
        if failure.check(DownloadCancelledError):  # Scrapy's cancel at DOWNLOAD_MAXSIZE
            maxsize = self.settings.getint("DOWNLOAD_MAXSIZE")
            return f"the answer was larger than DOWNLOAD_MAXSIZE ({maxsize} bytes)"
        return str(failure.value) or type(failure.value).__name__

    def log_error(self, walk, message: str) -> None:
        """Log an error of `walk` (it makes the walk's run partial)."""
        walk.inc_value("log_count/ERROR")
        for stats in (self.crawler.stats, walk):
            stats.set_value("archive/last_error", message)
        self.logger.error(message)

    def fail(self, walk, kind: str, message: str):
        """Record a fatal error of `walk` for its run row and the exit status, and stop it.

        Other walks go on: a missing or changed publication does not stop the rest.
        """
        record_fatal(self.crawler.stats, kind, message)
        record_fatal(walk, kind, message)
        walk.stopped = True
        self.log_error(walk, message)
        raise WalkStopped(kind)
