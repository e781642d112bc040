"""End to end: what a crawl costs in requests to Medium, first walk and no-news rerun, with
and without `<lastmod>` in the sitemap index, and how the cross-check still finds what the
listing leaves out."""

from __future__ import annotations

import math

import pytest
from helpers import expected_posts, query, run_cli, stored_posts

FAST = (
    *("-s", "DOWNLOAD_DELAY=0"),
    *("-s", "AUTOTHROTTLE_ENABLED=0"),
    *("-s", "ARCHIVE_RETRY_BACKOFF_BASE=0.01"),
    *("-s", "DOWNLOAD_TIMEOUT=5"),
)
AUDIT = 10  # ARCHIVE_AUDIT_REQUESTS, the default


def crawl(site, db, *args):
    return run_cli(
        "crawl", site.url, "--db", str(db), "--as-of", site.now.isoformat(), *FAST, *args
    )


def sent(site) -> list:
    """Requests after robots.txt, then forget them."""
    requests = [r for r in site.requests if r.path != "/robots.txt"]
    site.reset_log()
    return requests


@pytest.mark.parametrize("lastmod", [True, False])
def test_a_first_walk_and_a_rerun_stay_within_their_request_budgets(
    make_medium_site, tmp_path, lastmod
):
    site = make_medium_site(posts=469, sitemap_lastmod=lastmod)
    db = tmp_path / "budget.db"
    first = crawl(site, db)
    assert first.returncode == 0, first.stderr
    assert stored_posts(db) == expected_posts(site)
    requests = sent(site)
    assert len(requests) <= math.ceil(469 / 100) + 4 + AUDIT, requests
    days = [r for r in requests if r.path.startswith("/sitemap/posts/")]
    assert len(days) == AUDIT  # the listing covers every day: only the audit reads days

    again = crawl(site, db)
    assert again.returncode == 0, again.stderr
    requests = sent(site)
    assert [r.path for r in requests] == ["/", "/_/graphql", "/sitemap/sitemap.xml"]

    status = run_cli("status", "--db", str(db))
    assert f"sitemap days audited {AUDIT}/469" in status.stdout, status.stdout


def test_posts_left_out_of_the_listing_on_days_without_a_listed_post_come_in_the_first_run(
    make_medium_site, tmp_path
):
    site = make_medium_site(posts=300, sitemap_lastmod=False)
    hidden = {post.id for post in site.posts[40:300:37]}
    site.faults.unlisted = hidden
    db = tmp_path / "gaps.db"
    result = crawl(site, db, "-s", "ARCHIVE_AUDIT_REQUESTS=0")
    assert result.returncode == 0, result.stderr
    assert stored_posts(db) == expected_posts(site)
    requests = sent(site)
    days = [r for r in requests if r.path.startswith("/sitemap/posts/")]
    assert len(days) == len(hidden)  # one day sitemap a gap, nothing else
    assert len([r for r in requests if r.operation == "PostByIdQuery"]) == 1  # 25 ids a batch


def test_a_post_hidden_on_a_day_with_a_listed_post_is_found_by_the_rotating_audit(
    make_medium_site, tmp_path
):
    site = make_medium_site(posts=40, sitemap_lastmod=False)
    site.add_posts(30)  # several a day
    by_day: dict[str, list] = {}
    for post in site.posts:
        by_day.setdefault(site.day_sitemap_path(post), []).append(post)
    # A day of two posts or more, older than the 10 newest that the RSS feed names.
    in_feed = {post.id for post in site.posts[:10]}
    shared = next(
        posts for posts in by_day.values() if len(posts) > 1 and not in_feed & {p.id for p in posts}
    )
    site.faults.unlisted = {shared[-1].id}
    db = tmp_path / "audit.db"
    first = crawl(site, db, "-s", "ARCHIVE_AUDIT_REQUESTS=0")
    assert first.returncode == 0, first.stderr
    assert shared[-1].id not in stored_posts(db)
    runs, per_run = 0, 4
    while shared[-1].id not in stored_posts(db):
        runs += 1
        assert runs <= math.ceil(len(by_day) / per_run), f"not found in {runs} runs"
        again = crawl(site, db, "--audit", str(per_run))
        assert again.returncode == 0, again.stderr
    assert stored_posts(db) == expected_posts(site)


def test_full_reads_every_day_sitemap(make_medium_site, tmp_path):
    site = make_medium_site(posts=60, sitemap_lastmod=False)
    db = tmp_path / "full.db"
    assert crawl(site, db).returncode == 0
    sent(site)
    full = crawl(site, db, "--full")
    assert full.returncode == 0, full.stderr
    days = [r for r in sent(site) if r.path.startswith("/sitemap/posts/")]
    assert len(days) == 60
    assert query(db, "SELECT count(*), count(read_at) FROM sitemap_days WHERE day IS NOT NULL") == [
        (60, 60)
    ]
