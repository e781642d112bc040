"""A walk's cross-checks, at a bounded number of requests: the sitemap index (one request),
the day sitemaps `sitemap_plan` chooses, the RSS feed on first and full walks, then the posts
they name that the archive lacks, fetched by id 25 to a request.

What a cross-check reads or fails to read is yielded as `CrossCheck` items, committed with
a "crosscheck" page: the next run reads again what this one could not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn
from urllib.parse import urljoin, urlsplit

from .. import sitemap_plan
from ..dates import format_instant
from ..items import CrossCheck, Page, SitemapIndex
from ..sources import graphql
from ..sources.feeds import FeedError, parse_rss, parse_sitemap
from .walk import walk_step

if TYPE_CHECKING:
    from collections.abc import Generator, Iterable, Iterator

    import scrapy
    from scrapy.http import Response

    from ..items import Post
    from ..sources.feeds import Sitemap
    from .walk import Walk

SITEMAP_PATH = "/sitemap/sitemap.xml"
FEED_PATH = "/feed"


def sitemap_key(url: str) -> str:
    """A sitemap's path (and query): what names it whatever host it was fetched from."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


class CrossChecks:
    """Part of `CollectionSpider`: what a walk reads once its listing is read."""

    def start_crosschecks(self, walk: Walk) -> None:
        if not walk.on_medium_com:
            # medium.com's sitemap covers all of Medium: only custom domains have their own.
            index = urljoin(walk.origin, SITEMAP_PATH)
            self.crawler.engine.crawl(self.request(walk, index, self.parse_sitemap_index))
        if self.full or walk.walk_needed:
            self.crawler.engine.crawl(self.request(walk, feed_url(walk), self.parse_feed))

    def read_sitemap(
        self, response: Response, walk: Walk
    ) -> Generator[CrossCheck | Page, None, Sitemap | None]:
        """The parsed sitemap (the value of `yield from`), or None once its failure is noted."""
        try:
            return parse_sitemap(response.body)
        except FeedError as error:
            self.log_error(walk, f"{response.url}: {error}")
            yield from self.crosscheck(walk, "sitemap", [sitemap_key(response.url)], read=False)
            return None

    @walk_step
    def parse_sitemap_index(
        self, response: Response, walk: Walk
    ) -> Iterator[scrapy.Request | SitemapIndex | CrossCheck | Page]:
        sitemap = yield from self.read_sitemap(response, walk)
        if sitemap is None:
            return
        publication = walk.publication.id
        children = [
            sitemap_plan.child(sitemap_key(child.url), child.lastmod) for child in sitemap.children
        ]
        chosen = sitemap_plan.choose(
            children,
            full=self.full,
            covered=walk.listed_days | self.archive.post_days(publication),
            since=None if walk.walk_needed else self.archive.last_walk_started(publication),
            read_at=self.archive.sitemaps_read(publication),
            pending=walk.unread_sitemaps,
            audit=self.audit_budget(walk),
        )
        for child_key, reason in chosen.items():
            self.crawler.stats.inc_value(f"archive/sitemaps_read/{reason}")
            if child_key not in walk.sitemaps:
                walk.sitemaps.add(child_key)
                url = urljoin(walk.origin, child_key)
                yield self.request(walk, url, self.parse_day_sitemap)
        self.note_missing(walk, (entry.post_id for entry in sitemap.posts))
        yield SitemapIndex(publication, tuple(child.row() for child in children))
        yield from self.crosscheck(walk, "sitemap", [sitemap_key(response.url)], read=True)

    def audit_budget(self, walk: Walk) -> int:
        """Day sitemaps to audit in this walk: ARCHIVE_AUDIT_REQUESTS on a first walk, plus
        ARCHIVE_AUDIT (`crawl --audit N`) on any."""
        first = self.settings.getint("ARCHIVE_AUDIT_REQUESTS") if walk.walk_needed else 0
        return first + self.settings.getint("ARCHIVE_AUDIT")

    @walk_step
    def parse_day_sitemap(self, response: Response, walk: Walk) -> Iterator[CrossCheck | Page]:
        sitemap = yield from self.read_sitemap(response, walk)
        if sitemap is None:
            return
        self.note_missing(walk, (entry.post_id for entry in sitemap.posts))
        yield from self.crosscheck(walk, "sitemap", [sitemap_key(response.url)], read=True)

    @walk_step
    def parse_feed(self, response: Response, walk: Walk) -> Iterator[NoReturn]:
        try:
            posts = parse_rss(response.body, seen_at=self.seen_at)
        except FeedError as error:
            self.log_error(walk, f"{response.url}: {error}")
            return
        self.note_missing(walk, (post.id for post in posts))
        yield from ()

    def note_missing(self, walk: Walk, ids: Iterable[str | None]) -> None:
        """Remember ids the listing did not show and the archive lacks, to fetch by id."""
        for post_id in ids:
            if post_id and post_id not in walk.listed and not self.archive.has_post(post_id):
                walk.missing.add(post_id)

    def fetch_missing(self, walk: Walk) -> None:
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
    def parse_posts(
        self, response: Response, walk: Walk, ids: list[str]
    ) -> Iterator[scrapy.Request | Post | CrossCheck | Page]:
        payload = self.decode_json(response)
        if payload is None:
            yield from self.retry(response, walk, "invalid JSON", unread=("post", ids))
            return
        try:
            batch = graphql.parse_posts_by_id(
                payload, seen_at=self.seen_at, publication=walk.publication
            )
        except graphql.SchemaDrift as error:
            yield from self.crosscheck(walk, "post", ids, read=False)
            self.fail(walk, "schema_drift", str(error))
        self.count_rejected(batch.rejected)
        yield from batch.posts
        yield CrossCheck(walk.publication.id, "post", tuple(ids), True, self.now())
        yield Page(f"{response.url}#by-id", "by_id", 1, len(batch.posts), walk=walk)

    def crosscheck(
        self, walk: Walk, kind: str, keys: list[str], *, read: bool
    ) -> Iterator[CrossCheck | Page]:
        """What a cross-check read (or could not read), committed at once."""
        yield CrossCheck(walk.publication.id, kind, tuple(keys), read, self.now())
        yield Page(f"{walk.source}#crosscheck-{kind}", "crosscheck", 0, 0, walk=walk)

    def now(self) -> str:
        return format_instant(self.clock())


def feed_url(walk: Walk) -> str:
    if walk.on_medium_com:
        return urljoin(walk.origin, f"{FEED_PATH}/{walk.publication.slug}")
    return urljoin(walk.origin, FEED_PATH)
