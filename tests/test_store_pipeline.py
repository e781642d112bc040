"""The store pipeline in process: a page is committed whole or not at all, counts are those of
committed pages, a post is counted once per run, and a failed write stops the run."""

from __future__ import annotations

import sqlite3
from dataclasses import replace

import pytest
from helpers import CAPTURE, query
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from archive_spider.items import Page, Post
from archive_spider.pipelines.merge import MergePipeline
from archive_spider.pipelines.store import StorePipeline
from archive_spider.spiders.collection import CollectionSpider

POST = Post(
    id="3f1c0a9d5b2e",
    url="https://netflixtechblog.com/adaptive-backpressure-3f1c0a9d5b2e",
    title="Adaptive Backpressure",
    read_minutes=7,
    source="html",
    seen_at="2025-11-06T12:00:00Z",
)
OTHER = replace(POST, id="5be2093f7c41", url="https://netflixtechblog.com/other-5be2093f7c41")


@pytest.fixture
def run(tmp_path):
    """A crawler of the bundled capture with its merge and store pipelines, opened."""
    crawler = get_crawler(CollectionSpider, {"ARCHIVE_DB": str(tmp_path / "a.db")})
    crawler.spider = crawler._create_spider(source=str(CAPTURE), as_of="2025-11-06")
    crawler.stats.open_spider()
    merge, store = MergePipeline.from_crawler(crawler), StorePipeline.from_crawler(crawler)
    crawler.get_item_pipeline = lambda cls: store
    store.open_spider()
    walk = crawler.spider.walks[0]

    def feed(*items):
        for item in items:
            if isinstance(item, Post):
                item = merge.process_item(item)
            store.process_item(item)

    yield feed, walk, store, crawler, tmp_path / "a.db"
    store.close_spider()
    store.spider_closed(crawler.spider, "finished")


def page(walk, number=1, renderings=1):
    return Page(f"file:///capture#block-{number}", "capture", number, renderings, walk=walk)


def test_a_page_is_committed_with_its_counts(run):
    feed, walk, _, crawler, db = run
    feed(POST, replace(POST, title="Adaptive Backpressure"), OTHER, page(walk, renderings=3))
    assert query(db, "SELECT count(*) FROM posts") == [(2,)]
    assert query(db, "SELECT pages, renderings, posts_new FROM crawls") == [(1, 3, 2)]
    assert crawler.stats.get_value("archive/posts_new") == 2


def test_a_page_that_never_ends_is_not_committed(run):
    feed, walk, store, _, db = run
    feed(POST, page(walk), OTHER)
    store.close_spider()
    assert query(db, "SELECT id FROM posts") == [(POST.id,)]


def test_a_post_is_counted_once_a_run_new_then_updated(run):
    feed, walk, _, crawler, db = run
    feed(POST, page(walk, 1))
    feed(replace(POST, title="Adaptive Backpressure, Revisited", seen_at="2025-11-07T00:00:00Z"))
    feed(page(walk, 2))
    stats = crawler.stats.get_value
    assert (stats("archive/posts_new"), stats("archive/posts_updated", 0)) == (1, 0)
    assert query(db, "SELECT title FROM posts") == [("Adaptive Backpressure, Revisited",)]
    assert query(db, "SELECT field, old, new FROM post_changes") == [
        ("title", "Adaptive Backpressure", "Adaptive Backpressure, Revisited")
    ]


def test_a_failed_write_drops_the_page_and_stops_the_run(run, monkeypatch):
    feed, walk, store, crawler, db = run
    feed(POST, page(walk, 1))

    def full(*_args):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(store.archive, "commit", full)
    with pytest.raises(DropItem, match=r"cannot write a\.db: database or disk is full; 1 posts"):
        feed(OTHER, page(walk, 2))
    with pytest.raises(DropItem):
        feed(OTHER)
    monkeypatch.undo()
    assert query(db, "SELECT id FROM posts") == [(POST.id,)]
    assert query(db, "SELECT pages, posts_new FROM crawls") == [(1, 1)]
    assert crawler.stats.get_value("archive/errors/write_failed") == 1
    assert walk.counts()["pages"] == 1
