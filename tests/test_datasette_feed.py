"""The Atom feed of the latest posts (datasette-atom over the `latest_posts` query), read back
with feedparser as a feed reader would."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import feedparser
import pytest
from helpers import datasette_get, save_post

from archive_spider.items import Post
from archive_spider.storage import Archive

ALPHA, BETA = "c0ffee00000a", "c0ffee00000b"
SCRIPT = "<script>alert(1)</script>"
# id: (publication, first seen, published, precision, authors, subtitle), in the feed's order:
# newest first seen first, then newest published.
POSTS = {
    "b100000000b1": (BETA, "2025-03-02T09:00:00Z", None, None, ["Barbara Liskov"], "Unknown date"),
    "a200000000a2": (ALPHA, "2025-03-01T10:00:00Z", "2025-02-01T08:30:00Z", "exact", [], None),
    "a100000000a1": (
        ALPHA,
        "2025-03-01T10:00:00Z",
        "2024-05-01",
        "day",
        ["Ada Lovelace", "Grace Hopper", "Edsger Dijkstra"],
        "Engines, by three",
    ),
    "b200000000b2": (BETA, "2025-01-01T00:00:00Z", "2025-03-01", "day_approx", [SCRIPT], SCRIPT),
}
# What each post's entry must say: (atom updated, author).
EXPECTED = {
    "b100000000b1": ("2025-03-02T09:00:00+00:00", "Barbara Liskov"),
    "a200000000a2": ("2025-02-01T08:30:00+00:00", "Alpha's account"),
    "a100000000a1": ("2024-05-01T00:00:00+00:00", "Ada Lovelace, Grace Hopper, Edsger Dijkstra"),
    "b200000000b2": ("2025-03-01T00:00:00+00:00", SCRIPT),
}


def url_of(post_id: str) -> str:
    """A web URL, except for the hostile post, whose URL is a script."""
    return "javascript:alert(1)" if post_id == "b200000000b2" else f"https://x.test/p-{post_id}"


@pytest.fixture(scope="module")
def feed_db(tmp_path_factory) -> Path:
    """Two publications; posts first seen by different crawls, with dates of every precision."""
    db = tmp_path_factory.mktemp("feed") / "feed.db"
    with Archive(db) as archive:
        for publication in (ALPHA, BETA):
            archive.save_publication(
                id=publication,
                url=f"https://medium.com/{publication}",
                name=publication,
                slug=publication,
                domain=None,
                seen="2025-01-01T00:00:00Z",
            )
        for post_id, (publication, seen, published, precision, authors, subtitle) in POSTS.items():
            post = Post(
                id=post_id,
                url=url_of(post_id),
                title=f"Title of {post_id}",
                subtitle=subtitle,
                authors=authors,
                account="Alpha's account",
                published=published,
                published_precision=precision,
                publication=publication,
                seen_at=seen,
            )
            save_post(archive, post)
    return db


def feed(db: Path, path: str) -> feedparser.FeedParserDict:
    response = datasette_get([db], path)
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith("application/xml")
    parsed = feedparser.parse(response.content)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return parsed


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        ("", list(POSTS)),
        ("?publication=", list(POSTS)),
        (f"?publication={ALPHA}", ["a200000000a2", "a100000000a1"]),
        (f"?publication={BETA}", ["b100000000b1", "b200000000b2"]),
    ],
)
def test_the_feed_lists_the_newest_crawled_first_per_publication(feed_db, query, ids):
    parsed = feed(feed_db, f"/feed/latest_posts.atom{query}")
    assert parsed.feed.title == "Latest posts"
    assert [entry.id for entry in parsed.entries] == [f"https://medium.com/p/{i}" for i in ids]
    for entry, post_id in zip(parsed.entries, ids, strict=True):
        _, _, _, _, _, subtitle = POSTS[post_id]
        updated, author = EXPECTED[post_id]
        assert entry.title == f"Title of {post_id}"
        assert (entry.updated, entry.author) == (updated, author)
        assert entry.get("summary") == subtitle
    assert parsed.feed.updated == max(EXPECTED[i][0] for i in ids)


def test_a_link_that_is_not_a_web_url_becomes_the_medium_permalink(feed_db):
    response = datasette_get([feed_db], "/feed/latest_posts.atom")
    assert "javascript:" not in response.text
    assert SCRIPT not in response.text  # escaped as XML text, never markup
    entries = {entry.id: entry for entry in feedparser.parse(response.content).entries}
    assert entries["https://medium.com/p/b200000000b2"].link == "https://medium.com/p/b200000000b2"
    assert entries["https://medium.com/p/a100000000a1"].link == url_of("a100000000a1")


def test_the_feed_of_the_real_archive_carries_its_latest_posts(real_db):
    parsed = feed(real_db, "/x/latest_posts.atom")
    with closing(sqlite3.connect(real_db)) as conn:
        posts = conn.execute(
            "SELECT id, url, title, subtitle, authors, published FROM posts "
            "ORDER BY first_seen DESC, published DESC, id LIMIT 50"
        ).fetchall()
    assert len(parsed.entries) == len(posts) == 50
    for entry, (post_id, url, title, subtitle, authors, published) in zip(
        parsed.entries, posts, strict=True
    ):
        assert entry.id == f"https://medium.com/p/{post_id}"
        assert (entry.title, entry.link, entry.summary) == (title, url, subtitle)
        assert entry.author == ", ".join(json.loads(authors))
        assert entry.updated == f"{published}T00:00:00+00:00"  # the capture gives days only
    first = parsed.entries[0]
    assert first.title == "Supercharging the ML and AI Development Experience at Netflix"
    assert first.author == "Netflix Technology Blog"
    assert first.updated_parsed[:3] == (2025, 11, 4)
    assert parsed.entries[1].author == (
        "Keertana Chidambaram, Qiuling Xu, Ko-Jen Hsiao, Moumita Bhattacharya"
    )
