"""A walk's listing: Medium's GraphQL pages, each stored before the next is asked for.

Once a whole page holds only known, unchanged posts, an incremental run stops paging; a
first walk (or `--full`) pages to the end. Then the cross-checks start.
"""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

import scrapy

from ..items import Page
from ..sources import graphql
from .walk import walk_step

if TYPE_CHECKING:
    from collections.abc import Iterator

    from scrapy.http import Response

    from ..items import Post
    from .walk import Walk


class ListingSteps:
    """Part of `CollectionSpider`: the GraphQL listing of a walk's publication."""

    def listing_request(
        self, walk: Walk, operation: str, cursor: str | None, number: int
    ) -> scrapy.Request:
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

    def graphql_request(
        self, walk: Walk, body: list[dict], operation: str, **kwargs: Any
    ) -> scrapy.Request:
        return self.request(
            walk,
            urljoin(walk.origin, graphql.GRAPHQL_PATH),
            method="POST",
            body=json.dumps(body),
            headers=graphql.headers(publication_origin(walk), operation),
            # A refused operation answers 400 with GraphQL errors: read them, then fall back.
            meta={"handle_httpstatus_list": [400]},
            **kwargs,
        )

    @walk_step
    def parse_listing(
        self, response: Response, walk: Walk, operation: str, cursor: str | None, number: int
    ) -> Iterator[scrapy.Request | Post | Page]:
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
        walk.listed_days.update(
            date.fromisoformat(post.published[:10])
            for post in page.posts
            if post.published and post.published_precision == "exact"
        )
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
            f"{response.url}#{operation}-{number}", "listing", number, len(page.posts), follow, walk
        )

    def refused(
        self, walk: Walk, operation: str, number: int, message: str
    ) -> Iterator[scrapy.Request]:
        """The first page of the primary operation may fall back; anything else is drift."""
        if operation == graphql.PUBLICATION_POSTS and number == 1:
            self.logger.warning("%s; falling back to %s", message, graphql.HOMEPAGE_POSTS)
            self.crawler.stats.inc_value("archive/listing_fallback")
            yield self.listing_request(walk, graphql.HOMEPAGE_POSTS, cursor=None, number=1)
        else:
            self.fail(walk, "schema_drift", message)

    def page_stored(self, page: Page, fresh: int) -> None:
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
            walk.in_flight -= 1  # the next page is never requested
            self.logger.info(
                "%s: page %s held only known, unchanged posts: stop paging",
                walk.source,
                page.number,
            )
            self.crawler.stats.set_value("archive/stopped_early_at_page", page.number)
        self.start_crosschecks(walk)


def publication_origin(walk: Walk) -> str:
    """The origin GraphQL requests name: the publication's own domain, else the one reached."""
    domain = walk.publication.domain if walk.publication else None
    return f"https://{domain}" if domain else walk.origin
