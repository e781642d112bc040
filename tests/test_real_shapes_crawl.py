"""End to end: `archive-spider crawl` of a local Medium in each real shape — both eras, a
publication reached through the medium.com redirect, an author page, Cloudflare at 200."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import FLEET_POST_FIELDS, dump, expected_posts, query, run_cli, stored_posts

from archive_spider.testing.medium_fleet import MediumFleet
from archive_spider.testing.server import Listener, Plan, html_reply

FIXTURES = Path(__file__).parent / "fixtures"
SETTINGS = (
    *("-s", "DOWNLOAD_DELAY=0"),
    *("-s", "AUTOTHROTTLE_ENABLED=0"),
    *("-s", "ARCHIVE_RETRY_BACKOFF_BASE=0.01"),
    *("-s", "DOWNLOAD_TIMEOUT=5"),
    *("-s", "DNS_RESOLVER=archive_spider.testing.loopback.LoopbackResolver"),
)


def crawl(url: str, db: Path, as_of: str, *extra: str):
    return run_cli("crawl", url, "--db", str(db), "--as-of", as_of, *SETTINGS, *extra)


def source_checks(db: Path) -> list[tuple]:
    return query(db, "SELECT status, source_failures, disagreements FROM crawls ORDER BY id")


@pytest.mark.parametrize("era", ["2021", "2025"])
def test_each_era_is_archived_exactly_and_a_rerun_changes_nothing(make_medium_site, tmp_path, era):
    site = make_medium_site(posts=250, era=era)
    db = tmp_path / f"{era}.db"
    first = crawl(site.url, db, site.now.isoformat())
    assert first.returncode == 0, first.stderr
    stored = stored_posts(db, FLEET_POST_FIELDS)
    assert stored == {
        i: {**post, "publication": site.collection_id} for i, post in expected_posts(site).items()
    }
    warnings = [line for line in first.stderr.splitlines() if line.startswith("warning:")]
    if era == "2021":
        # No post-preview cards on a 2021 homepage: one warning, the run still ok.
        assert len(warnings) == 1 and "the html source failed" in warnings[0], first.stderr
        assert source_checks(db) == [("ok", '{"html": 1}', None)]
    else:
        assert warnings == []
        assert source_checks(db) == [("ok", None, None)]
    status = run_cli("status", "--db", str(db))
    assert ("sources failed: html 1" in status.stdout) == (era == "2021"), status.stdout

    before = dump(db)
    again = crawl(site.url, db, site.now.isoformat())
    assert again.returncode == 0, again.stderr
    assert dump(db) == before


def fleet_crawl(fleet: MediumFleet, url: str, db: Path, *extra: str):
    return crawl(url, db, fleet.sites[0].now.isoformat(), *extra)


def test_a_publication_reached_through_medium_com_is_walked_on_its_own_domain(tmp_path):
    with MediumFleet.synthetic(count=2, posts=120, seed=3, era="2021") as fleet:
        site = next(s for s in fleet.sites if s.domain)
        db = tmp_path / "moved.db"
        result = fleet_crawl(fleet, fleet.medium_url(site), db)
        assert result.returncode == 0, result.stderr
        want = {
            p["id"]: p for p in fleet.expected_posts() if p["publication"] == site.collection_id
        }
        assert stored_posts(db, FLEET_POST_FIELDS) == {
            i: {**p, "member_only": int(p["member_only"])} for i, p in want.items()
        }
        assert all(
            url.startswith(f"https://{site.domain}/")
            for (url,) in query(db, "SELECT url FROM posts")
        )
        # One request on medium.com (the 301); the rest on the publication's own host.
        on_medium = [r for r in fleet.requests if r.host and r.host.startswith("medium.test")]
        assert [(r.path, r.status) for r in on_medium if r.path != "/robots.txt"] == [
            (f"/{site.slug}", 301)
        ]
        paths = {r.path for r in fleet.requests if r.host and r.host.startswith(site.domain)}
        assert {"/", "/_/graphql", "/sitemap/sitemap.xml", "/feed", "/robots.txt"} <= paths
        assert query(db, "SELECT id, domain, url FROM publications") == [
            (site.collection_id, site.domain, fleet.medium_url(site))
        ]


def test_a_redirect_that_leaves_medium_and_the_publication_is_refused(tmp_path):
    with MediumFleet.synthetic(count=2, posts=20, seed=3) as fleet:
        site = next(s for s in fleet.sites if s.domain)
        fleet.redirect_offsite.add(site.slug)
        db = tmp_path / "offsite.db"
        result = fleet_crawl(fleet, fleet.medium_url(site), db)
        assert result.returncode == 1, result.stderr
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "elsewhere.invalid" in errors[0], result.stderr
        assert not db.exists() or query(db, "SELECT count(*) FROM posts") == [(0,)]


def test_an_author_page_keeps_each_post_with_its_own_publication(tmp_path):
    with MediumFleet.synthetic(count=2, posts=6, seed=5, authors=1) as fleet:
        (author,) = fleet.authors
        db = tmp_path / "author.db"
        result = fleet_crawl(fleet, fleet.author_url(author), db)
        assert result.returncode == 0, result.stderr
        want = {
            p["id"]: {**p, "member_only": int(p["member_only"])} for p in author.expected_posts()
        }
        assert stored_posts(db, FLEET_POST_FIELDS) == want
        personal = [p for p in want.values() if p["publication"] is None]
        assert personal and len(personal) < len(want)
        named = {p["publication"] for p in want.values()} - {None}
        assert {row[0] for row in query(db, "SELECT id FROM publications")} == named
        # The author's page is the whole walk: no listing, no cross-check.
        assert not [r for r in fleet.requests if r.operation]
        assert query(db, "SELECT status, publication FROM crawls") == [("ok", None)]


def test_a_cloudflare_challenge_served_with_status_200_exits_3(make_medium_site, tmp_path):
    site = make_medium_site(posts=10)
    site.faults.challenge, site.faults.challenge_status = True, 200
    db = tmp_path / "blocked.db"
    result = crawl(site.url, db, site.now.isoformat())
    assert result.returncode == 3, result.stderr
    assert "Cloudflare" in result.stderr
    assert not db.exists()


@pytest.mark.parametrize("name", ["challenge-200.html", "challenge-attention.html", "challenge.md"])
def test_a_saved_cloudflare_page_exits_3(tmp_path, name):
    db = tmp_path / "saved.db"
    result = run_cli("crawl", str(FIXTURES / "shapes" / name), "--db", str(db))
    assert result.returncode == 3, result.stderr
    (line,) = result.stderr.splitlines()
    assert "saved Cloudflare challenge page" in line and name in line
    assert not db.exists()


@pytest.mark.parametrize(
    ("name", "code", "message"),
    [
        ("bad-domain.html", 1, "has a domain that is not a host: 'not a host/name'"),
        ("two-collections.html", 1, "the page names two publications"),
        ("missing-posts.html", 4, "lists 2 post(s) it does not hold"),
    ],
)
def test_a_bad_saved_page_gets_one_line_and_its_exit_code(tmp_path, name, code, message):
    db = tmp_path / "bad.db"
    result = run_cli("crawl", str(FIXTURES / "shapes" / name), "--db", str(db), "--quiet")
    assert result.returncode == code, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ") and message in line
    stored = query(db, "SELECT count(*) FROM posts")[0][0] if db.exists() else 0
    assert stored == (1 if name == "missing-posts.html" else 0)


def test_a_live_page_that_names_no_publication_fails_after_keeping_its_posts(tmp_path):
    page = (FIXTURES / "shapes" / "publication-2025.html").read_text(encoding="utf-8")
    nameless = page.replace("window.__APOLLO_STATE__", "window.__OTHER_STATE__")

    def answer(method, path, body, host):
        # The cards link to the host that serves them: the only host the crawl may trust.
        found = path == "/"
        served = nameless.replace("https://engineering.quarrylane.dev", f"http://{host}")
        return Plan(html_reply(200 if found else 404, served if found else ""))

    server = Listener(("127.0.0.1", 0), answer, "nameless")
    try:
        db = tmp_path / "nameless.db"
        url = f"http://127.0.0.1:{server.port}/"
        result = crawl(url, db, "2025-11-06T12:00:00Z", "--quiet")
    finally:
        server.stop()
    assert result.returncode == 1, result.stderr
    assert "names no publication and no author" in result.stderr
    assert query(db, "SELECT count(*), count(publication) FROM posts") == [(3, 0)]
