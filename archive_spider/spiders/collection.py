"""The `collection` spider: archive Medium publications from capture files or their sites.

    scrapy crawl collection -a source=<file path or URL> [-a as_of=2025-11-06] [-a full=1]
    scrapy crawl collection -a publications=list.csv [-a part=2 -a parts=3] [-a db=shard.db]

Each source or listed publication is walked as its own chain of requests (a `Walk`), with
its own run row. A live publication is read in this order: its homepage (cards and Apollo
state, which name the publication), Medium's GraphQL listing page by page (`listing.py`),
then the cross-checks (`crosschecks.py`): the sitemap (custom domains only), on first and
full walks the RSS feed, and by id the posts they name that are not archived. Failures are
handled in `failures.py`. An author's page is archived as it is: it has no listing.

With `parts` > 1 the run crawls one stable share of the list and divides the politeness
budget (DOWNLOAD_DELAY, the delay between two requests to Medium) by the number of parts.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy.settings import SETTINGS_PRIORITIES

from ..dates import format_instant, parse_reference
from ..items import Page
from ..middlewares import MOVE_ALLOWED
from ..pipelines.images import configure_image_slot
from ..pipelines.store import PAGE_STORED, StorePipeline
from ..publications import (
    normalize_publication_url,
    parse_part,
    read_publications,
    select_part,
)
from ..sources import LayoutChanged, graphql
from ..sources.capture import looks_like_capture, parse_capture_report
from ..sources.page import read_page
from ..sources.post_nodes import BadPublication
from .crosschecks import CrossChecks
from .failures import Failures, host_of
from .listing import ListingSteps
from .walk import SOURCE_FAILURE, Walk, walk_step

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterable, Iterator

    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from typing_extensions import Self

    from ..items import Post, Publication
    from ..storage import Archive


def is_web_url(source: str) -> bool:
    return urlsplit(source).scheme in ("http", "https")


def source_url(source: str) -> str:
    """A URL Scrapy can fetch for a source given as a URL or a local path."""
    if urlsplit(source).scheme in ("http", "https", "file"):
        return source
    return Path(source).resolve().as_uri()


def listed_walks(
    sources: Iterable[str] | None, publications: str | None, part: int, parts: int
) -> list[Walk]:
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


class CollectionSpider(ListingSteps, CrossChecks, Failures, scrapy.Spider):
    """Routes each answer of a walk to its parser; the steps live in the mixins."""

    name = "collection"

    def __init__(
        self,
        source: str | None = None,
        sources: Iterable[str] | None = None,
        publications: str | None = None,
        part: int | str | None = None,
        parts: int | str | None = None,
        db: str | None = None,
        as_of: str | None = None,
        full: bool | str = False,
        *args: Any,
        **kwargs: Any,
    ) -> None:
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
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
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
        if settings.getbool("ARCHIVE_IMAGES"):
            configure_image_slot(settings)
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
    def archive(self) -> Archive | None:
        return self.store.archive

    async def start(self) -> AsyncIterator[scrapy.Request]:
        if not self.store.writable:  # no lock on the archive, or it cannot be written
            return
        for walk in self.walks:
            yield self.request(walk, source_url(walk.source), self.parse, meta={MOVE_ALLOWED: True})

    def request(
        self, walk: Walk, url: str, callback: Callable[..., Iterator[Any]], **kwargs: Any
    ) -> scrapy.Request:
        """A request of `walk`, counted in flight until it is answered."""
        walk.in_flight += 1
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
        """A request of `walk` is done: with nothing else in flight, the walk ends."""
        walk.in_flight -= 1
        if walk.in_flight > 0 or walk.finished or self.closing:
            return
        if walk.missing and not walk.stopped:
            self.fetch_missing(walk)
            return
        self.store.finish_walk(walk)

    def closed(self, reason: str) -> None:
        """Once the crawl is over, a walk's last answer starts nothing more."""
        self.closing = True

    # Routing -----------------------------------------------------------------------------

    @walk_step
    def parse(
        self, response: Response, walk: Walk
    ) -> Iterator[Post | Publication | Page | scrapy.Request]:
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

    def parse_capture(self, response: Response, walk: Walk, text: str) -> Iterator[Post | Page]:
        """A reader-style markdown capture: each rendered block is one page."""
        blocks, skipped = parse_capture_report(text, reference=self.as_of)
        if skipped:
            self.crawler.stats.inc_value("archive/skipped/capture_link", skipped)
        for number, renderings in enumerate(blocks, 1):
            yield from renderings
            yield Page(
                f"{response.url}#block-{number}", "capture", number, len(renderings), walk=walk
            )

    def parse_homepage(
        self, response: Response, walk: Walk, text: str
    ) -> Iterator[Post | Publication | Page | scrapy.Request]:
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

    def source_failed(self, walk: Walk, source: str, message: str) -> None:
        """One source of a page failed while another gave its posts: warn, count, go on."""
        for stats in (self.crawler.stats, walk):
            stats.inc_value(f"archive/source_failed/{source}")
        walk.stats.setdefault(f"{SOURCE_FAILURE}{source}", message)
        self.logger.warning("the %s source failed: %s", source, message)

    def check_arrival(
        self, response: Response, walk: Walk, publication: Publication | None
    ) -> None:
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

    def missing_from_page(self, walk: Walk, url: str, ids: list[str], live: bool) -> None:
        """Posts a page lists but does not hold: fetched by id on a live walk, else lost."""
        shown = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
        if live and walk.publication is not None:
            self.logger.warning("%s lists %s post(s) it does not hold (%s)", url, len(ids), shown)
            walk.missing.update(ids)
            return
        self.log_error(walk, f"{url} lists {len(ids)} post(s) it does not hold: {shown}")
