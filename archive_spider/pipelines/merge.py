"""Fold each rendering into the stored version of its post (see `archive_spider.merge`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from ..items import CrossCheck, Page, Post, Publication, SitemapIndex
from ..merge import Change, merge
from .store import StorePipeline

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from typing_extensions import Self

    from ..items import Item


@dataclass
class Merged:
    """A rendering merged with the stored post: what the store pipeline writes."""

    post: Post
    previous: Post | None
    changes: list[Change]


# What the merge passes on to the store: a `Merged` for each `Post`, other items as they came.
MergedItem: TypeAlias = Merged | Publication | CrossCheck | SitemapIndex | Page


class MergePipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_item(self, item: Item) -> MergedItem:
        if not isinstance(item, Post):
            return item
        archive = self.crawler.get_item_pipeline(StorePipeline).archive
        stored = archive.get(item.id)
        merged, changes = merge(stored, item)
        return Merged(merged, stored, changes)
