"""End to end: `archive-spider crawl http://127.0.0.1:PORT/` against a local Medium-like site."""

from __future__ import annotations

import pytest
from helpers import dump, expected_posts, query, run_cli, stored_posts

FAST = (
    "--setting",
    "ARCHIVE_RETRY_BACKOFF_BASE=0.01",
    "--setting",
    "DOWNLOAD_DELAY=0",
    "--setting",
    "AUTOTHROTTLE_ENABLED=0",
    "--setting",
    "DOWNLOAD_TIMEOUT=5",
)


def crawl(site, db, *args):
    """Crawl the site as of its own clock, so card dates resolve as Medium meant them."""
    return run_cli(
        "crawl", site.url, "--db", str(db), "--as-of", site.now.isoformat(), *FAST, *args
    )


def requests_after_robots(site) -> list:
    return [r for r in site.requests if r[1] != "/robots.txt"]


def test_a_full_crawl_stores_every_post_exactly(make_medium_site, tmp_path):
    site = make_medium_site(posts=1000)
    db = tmp_path / "live.db"
    result = crawl(site, db)
    assert result.returncode == 0, result.stderr
    assert stored_posts(db) == expected_posts(site)
    assert query(db, "SELECT count(*), count(DISTINCT id) FROM posts") == [(1000, 1000)]
    assert query(db, "SELECT walk_complete, status FROM crawls") == [(1, "ok")]
    # 10 listing pages of 100, never a tracking parameter in a request.
    listing = [r for r in site.requests if r[2] == "PublicationContentDataQuery"]
    assert len(listing) == 10
    assert not any("source=" in r[1] for r in site.requests)

    # Nothing new: robots.txt, the homepage, one listing page and the sitemap index.
    site.reset_log()
    again = crawl(site, db)
    assert again.returncode == 0, again.stderr
    assert len(requests_after_robots(site)) <= 3, site.requests
    assert "new 0, updated 0" in again.stdout

    # Three new posts: exactly those are stored, and paging stops early.
    site.add_posts(3)
    site.reset_log()
    before = dump(db)
    third = crawl(site, db)
    assert third.returncode == 0, third.stderr
    assert "new 3, updated 0" in third.stdout
    assert stored_posts(db) == expected_posts(site)
    assert len(stored_posts(db)) == 1003
    assert len(dump(db)["posts"]) - len(before["posts"]) == 3
    # Page 1 holds the new posts, page 2 only known ones: paging stops there, not at page 11.
    assert len([r for r in site.requests if r[2] == "PublicationContentDataQuery"]) == 2
    assert query(db, "SELECT count(*) FROM post_changes") == [(0,)]


def test_a_killed_first_walk_is_finished_by_the_next_run(make_medium_site, tmp_path):
    site = make_medium_site(posts=300)
    db = tmp_path / "live.db"
    first = crawl(site, db, "--setting", "CLOSESPIDER_PAGECOUNT=3")
    assert first.returncode == 4, first.stderr
    assert len(stored_posts(db)) < 300
    second = crawl(site, db)
    assert second.returncode == 0, second.stderr
    assert stored_posts(db) == expected_posts(site)


@pytest.mark.parametrize("seed", [1, 2])
def test_thirty_percent_failures_still_give_every_post_once(make_medium_site, tmp_path, seed):
    site = make_medium_site(posts=1000, seed=seed)
    site.faults.rate = 0.3
    site.faults.kinds = ["503", "429"]
    db = tmp_path / "faulty.db"
    result = crawl(site, db, "--setting", "RETRY_TIMES=20")
    assert result.returncode == 0, result.stderr
    assert stored_posts(db) == expected_posts(site)


def test_a_challenge_page_is_reported_and_nothing_is_stored(make_medium_site, tmp_path):
    site = make_medium_site(posts=30)
    db = tmp_path / "blocked.db"
    site.faults.challenge = True
    result = crawl(site, db)
    assert result.returncode == 3
    assert "blocked the crawler" in result.stderr
    assert not db.exists()


def test_schema_drift_is_an_error_and_writes_nothing_half(make_medium_site, tmp_path):
    site = make_medium_site(posts=30)
    site.faults.schema_drift = True
    db = tmp_path / "drift.db"
    result = crawl(site, db)
    assert result.returncode == 1
    assert "PublicationHomepageQuery" in result.stderr
    # The homepage's own posts are whole posts; nothing from the listing was stored.
    assert query(db, "SELECT count(*) FROM posts WHERE title IS NULL OR url IS NULL") == [(0,)]


def test_refused_primary_listing_falls_back(make_medium_site, tmp_path):
    site = make_medium_site(posts=120)
    site.faults.refuse_primary = True
    db = tmp_path / "fallback.db"
    result = crawl(site, db)
    assert result.returncode == 0, result.stderr
    assert stored_posts(db) == expected_posts(site)


def test_an_offsite_redirect_is_not_followed(make_medium_site, tmp_path):
    site = make_medium_site(posts=30)
    site.faults.offsite_redirect = True
    result = crawl(site, tmp_path / "off.db")
    assert result.returncode == 1
    assert "refused to leave the publication" in result.stderr


def test_a_missing_publication_says_so(make_medium_site, tmp_path):
    site = make_medium_site(posts=30)
    site.faults.gone = True
    result = crawl(site, tmp_path / "gone.db")
    assert result.returncode == 1
    assert "no such publication" in result.stderr


def test_posts_missing_from_the_listing_are_fetched_by_id(make_medium_site, tmp_path):
    site = make_medium_site(posts=150)
    missing = {post.id for post in site.posts[100:103]}
    site.faults.unlisted = missing
    db = tmp_path / "crosscheck.db"
    result = crawl(site, db, "--log-level", "INFO")
    assert result.returncode == 0, result.stderr
    assert stored_posts(db) == expected_posts(site)
    by_id = [r for r in site.requests if r[2] == "PostByIdQuery"]
    assert len(by_id) == 1
    assert "'archive/fetched_by_id': 3" in result.stderr


def test_full_walks_everything_again(make_medium_site, tmp_path):
    site = make_medium_site(posts=250)
    db = tmp_path / "full.db"
    assert crawl(site, db).returncode == 0
    site.reset_log()
    again = crawl(site, db, "--full")
    assert again.returncode == 0, again.stderr
    assert "new 0, updated 0" in again.stdout
    listing = [r for r in site.requests if r[2] == "PublicationContentDataQuery"]
    assert len(listing) == 3
    assert any(r[1] == "/feed" for r in site.requests)


def test_a_sitemap_that_failed_is_read_again_by_the_next_run(make_medium_site, tmp_path):
    """A post only a day sitemap names, whose sitemap failed: the next incremental run,
    though the listing walk was complete, reads that day again and fetches the post."""
    site = make_medium_site(posts=60)
    hidden = site.posts[40]  # too old for the homepage or the RSS feed
    site.faults.unlisted = {hidden.id}
    site.faults.broken_paths = {site.day_sitemap_path(hidden)}
    db = tmp_path / "pending.db"
    first = crawl(site, db)
    assert first.returncode == 4, first.stderr  # partial: one sitemap failed
    assert hidden.id not in stored_posts(db)
    assert query(db, "SELECT walk_complete, status FROM crawls") == [(1, "partial")]
    assert query(db, "SELECT kind, key FROM crosscheck_pending") == [
        ("sitemap", site.day_sitemap_path(hidden))
    ]

    site.faults.broken_paths = set()
    site.reset_log()
    second = crawl(site, db)
    assert second.returncode == 0, second.stderr
    assert stored_posts(db) == expected_posts(site)
    assert ("GET", site.day_sitemap_path(hidden)) in {(r[0], r[1]) for r in site.requests}
    assert query(db, "SELECT count(*) FROM crosscheck_pending") == [(0,)]
    # Once read, the next run reads only newer days again.
    site.reset_log()
    assert crawl(site, db).returncode == 0
    assert site.day_sitemap_path(hidden) not in {r[1] for r in site.requests}


def test_posts_a_fetch_by_id_missed_are_fetched_by_the_next_run(make_medium_site, tmp_path):
    site = make_medium_site(posts=60)
    hidden = site.posts[40]
    site.faults.unlisted = {hidden.id}
    site.faults.broken_operations = {"PostByIdQuery"}
    db = tmp_path / "pending-post.db"
    first = crawl(site, db)
    assert first.returncode == 4, first.stderr
    assert query(db, "SELECT kind, key FROM crosscheck_pending") == [("post", hidden.id)]

    # Its day sitemap was read: only the pending row brings the post back.
    site.faults.broken_operations = set()
    site.reset_log()
    second = crawl(site, db)
    assert second.returncode == 0, second.stderr
    assert stored_posts(db) == expected_posts(site)
    assert site.day_sitemap_path(hidden) not in {r[1] for r in site.requests}
    assert query(db, "SELECT count(*) FROM crosscheck_pending") == [(0,)]
