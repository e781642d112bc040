"""The agreement pipeline: fields two sources give different values for, counted per post."""

from __future__ import annotations

from dataclasses import replace

from scrapy.utils.test import get_crawler

from archive_spider.items import Page, Post
from archive_spider.pipelines.agreement import AgreementPipeline, disagreements
from archive_spider.spiders.walk import Walk

CARD = Post(
    id="3f1c0a9d5b2e",
    url="https://netflixtechblog.com/adaptive-backpressure-3f1c0a9d5b2e",
    title="Adaptive Backpressure",
    read_minutes=7,
    published="2025-10-17",
    published_precision="day_approx",
    source="html",
)
STATE = replace(
    CARD, published="2025-10-17T23:30:00Z", published_precision="exact", source="apollo"
)


def run(*posts: Post) -> tuple[dict, Walk]:
    crawler = get_crawler()
    crawler.stats.open_spider()
    pipeline = AgreementPipeline.from_crawler(crawler)
    walk = Walk("https://netflixtechblog.com/")
    for post in posts:
        assert pipeline.process_item(post) is post
    pipeline.process_item(
        Page("https://netflixtechblog.com/", "homepage", 1, len(posts), walk=walk)
    )
    stats = {
        k: v for k, v in crawler.stats.get_stats().items() if k.startswith("archive/disagreements")
    }
    return stats, walk


def test_sources_that_agree_count_nothing():
    # A day-precise card date and the exact date one time zone later are the same date.
    assert disagreements(CARD, STATE) == []
    assert run(CARD, STATE, CARD)[0] == {}


def test_each_differing_field_is_counted_once_per_post():
    other = replace(STATE, read_minutes=8, title="Adaptive Backpressure, Revisited")
    stats, walk = run(CARD, other, CARD, other, replace(other, id="5be2093f7c41"))
    assert stats == {"archive/disagreements/read_minutes": 1, "archive/disagreements/title": 1}
    assert walk.counts()["disagreements"] == '{"read_minutes": 1, "title": 1}'


def test_renderings_of_one_source_and_empty_values_are_never_disagreements():
    stats, _ = run(
        CARD, replace(CARD, read_minutes=9), replace(STATE, title=None, read_minutes=None)
    )
    assert stats == {}


def test_dates_two_days_apart_disagree():
    assert disagreements(CARD, replace(STATE, published="2025-10-19T10:00:00Z")) == ["published"]
