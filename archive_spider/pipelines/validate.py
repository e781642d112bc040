"""Drop renderings that cannot be a post, counting each rejection by its reason."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from scrapy.exceptions import DropItem

from ..items import MAX_READ_MINUTES, PRECISIONS, Post
from ..sources.post_nodes import POST_ID, is_medium_host

if TYPE_CHECKING:
    from collections.abc import Collection

    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector
    from typing_extensions import Self

    from ..items import Item

# White space, control characters and backslashes have no place in a post URL.
_URL_JUNK = re.compile(r"[\s\x00-\x1f\x7f\\]")


def rejection(post: Post, allowed_hosts: Collection[str] | None = None) -> str | None:
    """Why `post` must not be stored, as a short reason, or None when it is valid.

    With `allowed_hosts`, a post must live on one of them, on medium.com or a subdomain.
    """
    if not POST_ID.match(post.id or ""):
        return "bad_id"
    if _URL_JUNK.search(post.url or ""):
        return "bad_url"
    url = urlsplit(post.url or "")
    if url.scheme not in ("http", "https") or not url.hostname or url.query or url.fragment:
        return "bad_url"
    try:
        url.port  # noqa: B018 (raises ValueError for a port out of range)
    except ValueError:
        return "bad_url"
    if "@" in url.netloc:
        return "bad_url"
    host = url.hostname
    if allowed_hosts and not (is_medium_host(host) or host in allowed_hosts):
        return "offsite_url"
    if not all(
        _storable(text) for text in (post.title, post.subtitle, post.account, *post.authors)
    ):
        return "bad_text"
    if not (post.title or "").strip():
        return "no_title"
    if post.read_minutes is not None and not 0 <= post.read_minutes <= MAX_READ_MINUTES:
        return "bad_read_minutes"
    if post.published and post.published_precision not in PRECISIONS:
        return "bad_precision"
    return None


def _storable(text: object) -> bool:
    """False for a string SQLite cannot store (lone surrogates)."""
    if not isinstance(text, str):
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class ValidatePipeline:
    def __init__(self, stats: StatsCollector, crawler: Crawler | None = None) -> None:
        self.stats = stats
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler.stats, crawler)

    def process_item(self, item: Item) -> Item:
        if isinstance(item, Post):
            self.stats.inc_value("archive/renderings")
            spider = self.crawler.spider if self.crawler else None
            reason = rejection(item, getattr(spider, "allowed_hosts", None))
            if reason:
                self.stats.inc_value("archive/rejected")
                self.stats.inc_value(f"archive/rejected/{reason}")
                raise DropItem(f"post {item.id!r} rejected: {reason}")
        return item
