"""Drop renderings that cannot be a post, counting each rejection by its reason."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from scrapy.exceptions import DropItem

from ..items import MAX_READ_MINUTES, PRECISIONS, Post

_POST_ID = re.compile(r"^[0-9a-f]{8,12}$")


def rejection(post: Post) -> str | None:
    """Why `post` must not be stored, as a short reason, or None when it is valid."""
    if not _POST_ID.match(post.id or ""):
        return "bad_id"
    url = urlsplit(post.url or "")
    if url.scheme not in ("http", "https") or not url.hostname or url.query:
        return "bad_url"
    if not (post.title or "").strip():
        return "no_title"
    if post.read_minutes is not None and not 0 <= post.read_minutes <= MAX_READ_MINUTES:
        return "bad_read_minutes"
    if post.published and post.published_precision not in PRECISIONS:
        return "bad_precision"
    return None


class ValidatePipeline:
    def __init__(self, stats):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)

    def process_item(self, item):
        if isinstance(item, Post):
            self.stats.inc_value("archive/renderings")
            reason = rejection(item)
            if reason:
                self.stats.inc_value("archive/rejected")
                self.stats.inc_value(f"archive/rejected/{reason}")
                raise DropItem(f"post {item.id!r} rejected: {reason}")
        return item
