"""Datasette reads an archive while a crawl writes to it, and `archive-spider serve`.

The crawl (2,000 posts, 20 to a listing page: 101 pages of one transaction each) runs in a
subprocess; the test process reads through Datasette in its default, mutable mode (the
archive is in WAL mode) with three reads in flight at a time. Every read must answer 200
and show a state some commit left: whole pages only, never fewer posts than before. The
site holds each answer back until 1,000 reads are done, so the reads overlap the writes.
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from datasette.app import Datasette
from helpers import (
    cli_command,
    expected_posts,
    local_crawl_args,
    query,
    run_cli,
    start_cli,
    stored_posts,
)
from markupsafe import escape

from archive_spider.testing.medium_site import MediumSite

POSTS = 2000
PAGE_SIZE = 20
HOMEPAGE_CARDS = 10
MIN_READS = 1000
READERS = 3  # reads in flight at once
# Seconds each answer of the site waits until enough reads are done, then 0: the listing
# (100 pages) lasts at least 30 s unless the reads are done sooner.
HOLD = 0.3
DEADLINE = 120  # seconds the crawl and the reads may last in all
# What a reader may see: whole pages only. The homepage commits the 10 newest posts, then
# each listing page 20 more (its first repeats the homepage's 10).
COMMITTED_COUNTS = {HOMEPAGE_CARDS} | {PAGE_SIZE * n for n in range(1, POSTS // PAGE_SIZE + 1)}


def committed_pages(db: Path) -> int:
    """`crawls.pages` of the latest run, read-only (never creates the file); -1 if none yet."""
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)) as conn:
            row = conn.execute("SELECT pages FROM crawls ORDER BY id DESC LIMIT 1").fetchone()
    except sqlite3.Error:  # not created yet, schema not committed yet
        return -1
    return -1 if row is None else row[0]


@dataclass
class Reads:
    """What the readers did: reads, failed reads and the post counts they saw."""

    site: MediumSite
    crawler: subprocess.Popen
    urls: list[str]
    reads: int = 0
    during_crawl: int = 0  # completed while the crawler was running
    while_writing: int = 0  # started before the last listing page was committed
    errors: list[str] = field(default_factory=list)
    counts: set[int] = field(default_factory=set)
    highest: int = 0

    def done(self) -> bool:
        return self.crawler.poll() is not None and self.reads >= MIN_READS

    def check(self, url: str, response, previous: int) -> int:
        """The count of posts a JSON answer shows; never half a page, never going back."""
        if response.status_code != 200:
            raise AssertionError(f"status {response.status_code}: {response.text[:300]}")
        if ".json" not in url:
            if "Synthetic post" not in response.text:
                raise AssertionError("no post on the page")
            return previous
        answer = response.json()
        count = answer["filtered_table_rows_count"]
        if count not in COMMITTED_COUNTS or count < previous:
            raise AssertionError(f"{count} posts after {previous}: not a committed state")
        # Datasette counts and lists in two queries, each seeing the latest commit when it
        # runs: the rows may be from a page earlier than the count, but a whole page too.
        rows = len(answer["rows"])
        if rows != 50 and rows not in COMMITTED_COUNTS:
            raise AssertionError(f"{rows} rows (of {count}): not a committed state")
        return count

    async def reader(self, ds: Datasette, first: int, deadline: float) -> None:
        """One reader: the URLs in turn, from `first`, until the crawl ended and enough reads."""
        previous, turn = 0, first
        while not self.done() and time.monotonic() < deadline:
            url = self.urls[turn % len(self.urls)]
            turn += 1
            writing = self.highest < POSTS
            try:
                response = await ds.client.get(url)
                previous = self.check(url, response, previous)
            except Exception as error:  # any failure of a read is counted, never raised
                self.errors.append(f"{url}: {error!r}")
            self.reads += 1
            self.while_writing += writing
            self.during_crawl += self.crawler.poll() is None
            self.highest = max(self.highest, previous)
            if previous:
                self.counts.add(previous)
            if self.reads >= MIN_READS:
                self.site.faults.slow = 0  # enough reads: let the crawl finish quickly


async def read_while_crawling(db: Path, reads: Reads) -> int:
    """Read through Datasette until the crawl has ended; return the final post count."""
    # Facet suggestions (a query per column, for every table page) would triple the cost of
    # a read; the facets, counts and rows themselves are still read on every page.
    ds = Datasette([str(db)], settings={"suggest_facets": False})
    await ds.invoke_startup()
    deadline = time.monotonic() + DEADLINE
    await asyncio.gather(*(reads.reader(ds, n, deadline) for n in range(READERS)))
    final = await ds.client.get(f"/{db.stem}/posts.json?_size=50")
    return final.json()["filtered_table_rows_count"]


def test_datasette_reads_while_a_crawl_writes(make_medium_site, tmp_path):
    # Published over about nine months: the sitemap cross-check reads ~270 day sitemaps.
    site = make_medium_site(posts=0)
    site.add_posts(POSTS)
    site.faults.slow = HOLD
    db = tmp_path / "archive.db"
    name = db.stem
    # JSON (rows, count, facets), searches, and the HTML table page (with its facets; 20
    # rows, as each rendered row costs about a millisecond).
    urls = [
        f"/{name}/posts.json?_size=50",
        f"/{name}/posts.json?_size=50&_search=post",
        f"/{name}/posts.json?_size=50",
        f"/{name}/posts?_size=20",
        f"/{name}/posts.json?_size=50",
        f"/{name}/posts.json?_size=50&_search=post",
    ]
    started = time.monotonic()
    crawler = start_cli(*local_crawl_args(site, db, PAGE_SIZE))
    try:
        # Datasette opens the database once the crawl has created it and committed a page.
        deadline = time.monotonic() + DEADLINE
        while committed_pages(db) < 1:
            assert crawler.poll() is None, crawler.stderr.read()
            assert time.monotonic() < deadline, "the crawl committed no page"
            time.sleep(0.01)
        reads = Reads(site, crawler, urls)
        final_count = asyncio.run(read_while_crawling(db, reads))
        crawl_exit = crawler.wait(timeout=DEADLINE)
    finally:
        if crawler.poll() is None:
            crawler.kill()
            crawler.wait()
    elapsed = time.monotonic() - started
    stderr = crawler.stderr.read()
    crawler.stderr.close()
    print(
        f"{reads.reads} reads in {elapsed:.1f} s, {reads.during_crawl} during the crawl, "
        f"{reads.while_writing} while pages were being written, {len(reads.errors)} errors; "
        f"{len(reads.counts)} distinct post counts seen"
    )

    assert reads.errors == [], reads.errors[:5]
    assert reads.during_crawl >= MIN_READS
    assert crawl_exit == 0, stderr
    assert final_count == POSTS
    assert stored_posts(db) == expected_posts(site)
    assert query(db, "SELECT count(*), count(DISTINCT id) FROM posts") == [(POSTS, POSTS)]
    assert query(db, "SELECT status FROM crawls") == [("ok",)]
    assert query(db, "PRAGMA integrity_check") == [("ok",)]


def free_port() -> int:
    with closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# Straight to 127.0.0.1, whatever proxy the environment names.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def wait_until_up(url: str, server: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, f"serve exited with {server.returncode}"
        try:
            with OPENER.open(url, timeout=5):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    pytest.fail(f"nothing answered at {url} within {seconds} s")


def test_serve_shows_the_archive_in_datasette(make_medium_site, tmp_path):
    site = make_medium_site(posts=30)
    db = tmp_path / "served.db"
    crawled = run_cli(*local_crawl_args(site, db, PAGE_SIZE))
    assert crawled.returncode == 0, crawled.stderr
    port = free_port()
    server = subprocess.Popen(
        cli_command("serve", "--db", str(db), "--port", str(port)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/", server)
        with OPENER.open(f"http://127.0.0.1:{port}/served/posts", timeout=30) as response:
            status, page = response.status, response.read().decode()
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert status == 200
    newest = site.expected_posts()[0]
    assert str(escape(newest["title"])) in page
    assert newest["url"] in page


def test_serve_without_an_archive_is_a_usage_error(tmp_path):
    missing = tmp_path / "missing.db"
    result = run_cli("serve", "--db", str(missing))
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ")
    assert str(missing) in line
    assert result.stdout == ""
    assert not missing.exists()
