"""Spider middleware of `crawl --images`: which preview images the images pipeline fetches.

After each page, one `Thumbnail` for each image its posts show, once per run; at the start,
one for each archived post whose image has no row yet, so that `--images` on an existing
archive backfills it and a run cut short is finished by the next. A thumbnail follows its
page's `Page` marker: the posts are committed before their images are fetched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy.exceptions import NotConfigured

from .items import Page, Post, Thumbnail
from .pipelines.store import StorePipeline

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable, Iterator

    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from typing_extensions import Self


class ThumbnailsMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        if not crawler.settings.getbool("ARCHIVE_IMAGES"):
            raise NotConfigured("thumbnails are kept only with ARCHIVE_IMAGES (crawl --images)")
        self.crawler = crawler
        self.offered: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for request_or_item in start:
            yield request_or_item
        store = self.crawler.get_item_pipeline(StorePipeline)
        if store.writable:
            for thumbnail in self._offer(store.archive.wanted_images()):
                yield thumbnail

    def process_spider_output(
        self, response: Response, result: Iterable[Any]
    ) -> Iterator[Any]:
        shown: list[str] = []
        for item in result:
            yield item
            yield from self._after(item, shown)

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        shown: list[str] = []
        async for item in result:
            yield item
            for thumbnail in self._after(item, shown):
                yield thumbnail

    def _after(self, item: Any, shown: list[str]) -> Iterator[Thumbnail]:
        """Note the image of a post; after its page, offer the images the page showed."""
        if isinstance(item, Post) and item.image_id:
            shown.append(item.image_id)
        elif isinstance(item, Page):
            yield from self._offer(shown)
            shown.clear()

    def _offer(self, image_ids: Iterable[str]) -> Iterator[Thumbnail]:
        for image_id in image_ids:
            if image_id not in self.offered:
                self.offered.add(image_id)
                yield Thumbnail(image_id)
