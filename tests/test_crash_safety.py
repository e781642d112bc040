"""`kill -9` in the middle of a crawl, then run again: nothing committed is lost, nothing doubles.

Each kill point crawls a local Medium-like site of 300 posts published over six weeks (so
that the sitemap cross-check reads about 40 day sitemaps, not 300), 20 to a listing page:
the homepage then 15 listing pages, 16 pages of one transaction each. Every answer of the
site is slowed down so that a page is committed about every 60 ms. The test watches
`crawls.pages` in the database, waits a fixed extra delay once the chosen page is committed,
and kills the crawler with SIGKILL, mostly while it is fetching or storing the next page.
Then:

- the database passes `PRAGMA integrity_check`;
- what it holds is exactly the pages the killed run had committed (`crawls.pages` is
  updated in the page's own transaction): each post complete and equal to what the site
  serves, none from a half-stored page;
- the killed run's `crawls` row stays "running" (it never got to say how it ended); the
  rerun's row is "ok";
- a normal rerun (same command, no `--wait`: the killed crawler's lock is gone) completes
  the archive: every post exactly once, the posts the killed run had stored unchanged.
"""

from __future__ import annotations

import fcntl
import os
import signal
import sqlite3
import subprocess
import time
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest
from dateutil.parser import isoparse
from helpers import POST_FIELDS, expected_posts, local_crawl_args, query, run_cli, start_cli

from archive_spider.storage import ABANDONED
from archive_spider.testing.medium_site import MediumSite

POSTS = 300
PAGE_SIZE = 20
HOMEPAGE_CARDS = 10  # the homepage shows the 10 newest posts; it is the first page stored
PAGES = 1 + POSTS // PAGE_SIZE  # the homepage, then the listing
SLOW = 0.03  # seconds every answer of the site waits while the crawl to kill runs
# How far the date of a card may be from the post's exact time, by its precision.
CARD_PRECISION = {
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day_approx": timedelta(days=2),
    "day": timedelta(days=1),
}
DEADLINE = 60  # seconds any wait of this module may last before it fails

# (pages committed, then seconds more) before the kill: a page takes about 60 ms, so the
# extra delays land the kill at different moments of fetching and storing the next page.
# 0 pages: only the run's "running" row is committed (the homepage is held back a second).
# 16: the listing is complete and the crawler is reading the sitemaps (it writes nothing
# more until it ends).
KILL_POINTS = [
    (0, 0.0),
    (1, 0.0),
    (2, 0.01),
    (3, 0.045),
    (5, 0.0),
    (7, 0.02),
    (9, 0.035),
    (11, 0.005),
    (13, 0.05),
    (15, 0.025),
    (PAGES, 0.3),
]


def start_crawl(site: MediumSite, db: Path) -> subprocess.Popen:
    return start_cli(*local_crawl_args(site, db, PAGE_SIZE))


def rerun(site: MediumSite, db: Path) -> subprocess.CompletedProcess:
    """The same crawl again, run to its end (the site no longer slowed down)."""
    site.faults.slow = 0
    return run_cli(*local_crawl_args(site, db, PAGE_SIZE), timeout=DEADLINE)


def committed_pages(db: Path) -> int:
    """`crawls.pages` of the latest run, read-only (never creates the file); -1 if none yet."""
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)) as conn:
            row = conn.execute("SELECT pages FROM crawls ORDER BY id DESC LIMIT 1").fetchone()
    except sqlite3.Error:  # not created yet, schema not committed yet
        return -1
    return -1 if row is None else row[0]


def wait_until(ready, crawler: subprocess.Popen, what: str) -> None:
    """Poll `ready()` every 2 ms while the crawler runs; fail if it ends or time runs out."""
    deadline = time.monotonic() + DEADLINE
    while not ready():
        if crawler.poll() is not None:
            pytest.fail(
                f"the crawl ended (exit {crawler.returncode}) before {what}: "
                f"{crawler.stderr.read()}"
            )
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {DEADLINE} s")
        time.sleep(0.002)


def kill(crawler: subprocess.Popen) -> None:
    assert crawler.poll() is None, "the crawl ended before the kill point"
    crawler.send_signal(signal.SIGKILL)
    assert crawler.wait(timeout=DEADLINE) == -signal.SIGKILL
    crawler.stderr.close()


def posts(db: Path) -> dict[str, dict]:
    with closing(sqlite3.connect(db)) as conn:
        conn.row_factory = sqlite3.Row
        return {row["id"]: dict(row) for row in conn.execute("SELECT * FROM posts")}


def stored(db: Path) -> dict[str, dict]:
    return {post_id: {f: row[f] for f in POST_FIELDS} for post_id, row in posts(db).items()}


def ids_of_pages(site: MediumSite, pages: int) -> set[str]:
    """The posts the first `pages` committed pages hold: the homepage's 10 newest, then 20
    a listing page, newest first (listing page 1 repeats the homepage's 10)."""
    newest_first = [post["id"] for post in site.expected_posts()]
    if pages <= 1:
        return set(newest_first[: HOMEPAGE_CARDS * pages])
    return set(newest_first[: PAGE_SIZE * (pages - 1)])


def assert_sound(db: Path) -> None:
    """Integrity, and every stored post complete: authors linked, in the search index."""
    assert query(db, "PRAGMA integrity_check") == [("ok",)]
    assert query(db, "PRAGMA foreign_key_check") == []
    assert query(
        db, "SELECT count(*) FROM posts WHERE id NOT IN (SELECT post_id FROM post_authors)"
    ) == [(0,)]
    assert query(db, "SELECT count(*) FROM posts_fts") == query(db, "SELECT count(*) FROM posts")


def assert_homepage_card(row: dict, want: dict) -> None:
    """A post only the homepage showed so far: its card tells the time only roughly ("12m
    ago", "5h ago", "2d ago", "Oct 17"); every other field is final."""
    assert {f: row[f] for f in POST_FIELDS if f != "published"} == {
        f: want[f] for f in POST_FIELDS if f != "published"
    }
    slack = CARD_PRECISION.get(row["published_precision"])
    assert slack is not None, row
    published, exact = isoparse(row["published"]), isoparse(want["published"])
    assert abs(published.replace(tzinfo=exact.tzinfo) - exact) <= slack, (row, want)


def new_site(make_medium_site, slow: float = SLOW) -> MediumSite:
    site = make_medium_site(posts=0)
    site.add_posts(POSTS)
    site.faults.slow = slow
    return site


@pytest.mark.parametrize(
    ("pages", "delay"),
    KILL_POINTS,
    ids=[f"page{pages}+{round(delay * 1000)}ms" for pages, delay in KILL_POINTS],
)
def test_a_crawl_killed_at_any_moment_loses_nothing(make_medium_site, tmp_path, pages, delay):
    # Before the first page, the homepage is held back a whole second: time to kill.
    site = new_site(make_medium_site, slow=1.0 if pages == 0 else SLOW)
    db = tmp_path / "archive.db"
    want = expected_posts(site)
    started = time.monotonic()
    crawler = start_crawl(site, db)
    try:
        wait_until(lambda: committed_pages(db) >= pages, crawler, f"page {pages}")
        time.sleep(delay)
        kill(crawler)
    finally:
        if crawler.poll() is None:
            crawler.kill()
            crawler.wait()
    killed_after = time.monotonic() - started

    # Right after the kill: exactly the committed pages, each post whole.
    assert_sound(db)
    [(crawl_id, status, finished, committed)] = query(
        db, "SELECT id, status, finished, pages FROM crawls"
    )
    assert (status, finished) == ("running", None)
    assert pages <= committed <= PAGES
    at_kill = posts(db)
    assert set(at_kill) == ids_of_pages(site, committed)
    for post_id, row in at_kill.items():
        if committed == 1:
            assert_homepage_card(row, want[post_id])
        else:
            assert {f: row[f] for f in POST_FIELDS} == want[post_id]

    # A normal rerun completes the archive.
    again = rerun(site, db)
    assert again.returncode == 0, again.stderr
    assert_sound(db)
    assert stored(db) == want
    assert query(db, "SELECT count(*), count(DISTINCT id), count(DISTINCT url) FROM posts") == [
        (POSTS, POSTS, POSTS)
    ]
    after = posts(db)
    lost = set(at_kill) - set(after)
    assert not lost
    for post_id, row in at_kill.items():
        if row["published_precision"] == "exact":
            assert after[post_id] == row
        else:  # a homepage card's day, now made exact by the listing; first seen unchanged
            assert after[post_id]["first_seen"] == row["first_seen"]
    assert query(db, "SELECT count(*) FROM post_changes") == [(0,)]
    # The killed run never recorded how it ended; the rerun, once it holds the lock, marks
    # it interrupted (no live run can hold a "running" row then). The rerun's row is "ok".
    assert query(db, "SELECT id, status, error, finished IS NULL FROM crawls ORDER BY id") == [
        (crawl_id, "interrupted", ABANDONED, 0),
        (crawl_id + 1, "ok", None, 0),
    ]
    print(
        f"kill after page {pages}+{delay * 1000:.0f} ms: killed at {killed_after:.2f} s with "
        f"{committed} pages / {len(at_kill)} posts committed; after the rerun {len(after)} "
        f"posts, lost {len(lost)}, duplicates 0"
    )


def test_a_crawl_killed_while_creating_the_archive_can_start_over(make_medium_site, tmp_path):
    """Killed as soon as the database file appears (schema half made or not at all)."""
    site = new_site(make_medium_site)
    db = tmp_path / "archive.db"
    crawler = start_crawl(site, db)
    try:
        wait_until(db.exists, crawler, "database file")
        kill(crawler)
    finally:
        if crawler.poll() is None:
            crawler.kill()
            crawler.wait()
    again = rerun(site, db)
    assert again.returncode == 0, again.stderr
    assert_sound(db)
    assert stored(db) == expected_posts(site)
    statuses = [status for (status,) in query(db, "SELECT status FROM crawls ORDER BY id")]
    assert statuses[-1] == "ok"
    assert set(statuses[:-1]) <= {"running"}


def test_the_lock_of_a_killed_crawl_does_not_block_the_next(make_medium_site, tmp_path):
    site = new_site(make_medium_site)
    db = tmp_path / "archive.db"
    lock = Path(f"{db}.lock")
    crawler = start_crawl(site, db)
    try:
        wait_until(lambda: committed_pages(db) >= 3, crawler, "page 3")
        site.faults.slow = 1.0  # keep the crawler busy (and alive) until it is killed
        # While the crawler lives, its lock is held: a second crawl is turned away at once.
        refused = run_cli(*local_crawl_args(site, db, PAGE_SIZE), timeout=DEADLINE)
        assert refused.returncode == 5, refused.stderr
        assert f"pid {crawler.pid}" in refused.stderr
        kill(crawler)
    finally:
        if crawler.poll() is None:
            crawler.kill()
            crawler.wait()

    # The lock file stays behind, naming the dead crawler, but nobody holds the lock.
    assert lock.read_text().strip() == str(crawler.pid)
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)

    started = time.monotonic()
    again = rerun(site, db)
    assert again.returncode == 0, again.stderr
    assert "being written by another crawl" not in again.stderr
    assert time.monotonic() - started < DEADLINE
    assert stored(db) == expected_posts(site)
    assert [s for (s,) in query(db, "SELECT status FROM crawls ORDER BY id")] == [
        "interrupted",
        "ok",
    ]
