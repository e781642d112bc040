"""Count the fields that two sources give different values for, within one run.

The merge keeps one value; this pipeline only tells how often the sources disagreed, per
field (`archive/disagreements/<field>`), so a parser gone wrong shows in `status` before it
shows in the data. A post's field is counted once per run, however many renderings repeat it.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from ..items import Page, Post

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector
    from typing_extensions import Self

    from ..items import Item

# The facts every source reads; presentation (published_text, image_url) and what follows
# from another field (authors, precision) are left out.
FIELDS = ("url", "title", "subtitle", "account", "read_minutes", "image_id", "member_only")
# Dates one day apart are one date seen through two time zones or a relative text.
SAME_DATE_DAYS = 1


def disagreements(first: Post, other: Post) -> list[str]:
    """The fields two renderings of one post from different sources show different values for."""
    fields = [
        name
        for name in FIELDS
        if getattr(first, name) not in (None, "")
        and getattr(other, name) not in (None, "")
        and getattr(first, name) != getattr(other, name)
    ]
    if first.published and other.published:
        days = abs((_day(first.published) - _day(other.published)).days)
        if days > SAME_DATE_DAYS:
            fields.append("published")
    return fields


def _day(value: str) -> date:
    return date.fromisoformat(value[:10])


class AgreementPipeline:
    """Before the merge: compare each rendering with the first one of every other source."""

    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats
        self.first: dict[str, dict[str, Post]] = {}  # post id -> source -> first rendering
        self.counted: set[tuple[str, str]] = set()  # (post id, field)
        self.on_page: dict[str, int] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler.stats)

    def process_item(self, item: Item) -> Item:
        if isinstance(item, Page):
            for field, count in self.on_page.items():
                item.walk.inc_value(f"archive/disagreements/{field}", count)
            self.on_page = {}
        elif isinstance(item, Post):
            self._compare(item)
        return item

    def _compare(self, post: Post) -> None:
        seen = self.first.setdefault(post.id, {})
        source = post.source or ""
        for other_source, other in seen.items():
            if other_source == source:
                continue
            for field in disagreements(other, post):
                if (post.id, field) not in self.counted:
                    self.counted.add((post.id, field))
                    self.stats.inc_value(f"archive/disagreements/{field}")
                    self.on_page[field] = self.on_page.get(field, 0) + 1
        seen.setdefault(source, post)
