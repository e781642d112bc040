"""Fold each rendering into the stored version of its post (see `archive_spider.merge`)."""

from __future__ import annotations

from dataclasses import dataclass

from ..items import Post
from ..merge import Change, merge
from .store import StorePipeline


@dataclass
class Merged:
    """A rendering merged with the stored post: what the store pipeline writes."""

    post: Post
    previous: Post | None
    changes: list[Change]


class MergePipeline:
    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item):
        if not isinstance(item, Post):
            return item
        archive = self.crawler.get_item_pipeline(StorePipeline).archive
        stored = archive.get(item.id)
        merged, changes = merge(stored, item)
        return Merged(merged, stored, changes)
