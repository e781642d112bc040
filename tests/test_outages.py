"""End to end: a site that goes down mid-run, a host that does not exist, a stop signal.

Every run must end in bounded time with exit 4 and one line that names the outage, send a
handful of requests to the down site, keep every committed post exact, release the lock,
and leave a rerun (once the site is back) to complete the archive.
"""

from __future__ import annotations

import signal
import subprocess
import time

import pytest
from helpers import cli_command, expected_posts, local_crawl_args, query, run_cli, stored_posts

from archive_spider.testing.faults import phase_starts as phase_starts_of
from archive_spider.testing.medium_fleet import MediumFleet
from archive_spider.testing.medium_site import MediumSite

AFTER = 10  # ARCHIVE_OUTAGE_AFTER, the default
TIMEOUT = 5.0  # ARCHIVE_OUTAGE_TIMEOUT, made short
CAP = 1.0  # ARCHIVE_RETRY_BACKOFF_MAX, made short
SETTINGS = (
    *("-s", "DOWNLOAD_DELAY=0"),
    *("-s", "AUTOTHROTTLE_ENABLED=0"),
    *("-s", "ARCHIVE_RETRY_BACKOFF_BASE=0.05"),
    *("-s", f"ARCHIVE_RETRY_BACKOFF_MAX={CAP}"),
    *("-s", f"ARCHIVE_OUTAGE_TIMEOUT={TIMEOUT}"),
    *("-s", "DOWNLOAD_TIMEOUT=5"),
    *("-s", "ARCHIVE_PAGE_SIZE=50"),
)
PHASES = ("homepage", "listing", "crosschecks", "by_id")


def crawl(site, db, *extra, timeout=120):
    started = time.monotonic()
    result = run_cli(
        "crawl",
        site.url,
        "--db",
        str(db),
        "--as-of",
        site.now.isoformat(),
        *SETTINGS,
        *extra,
        timeout=timeout,
    )
    return result, time.monotonic() - started


SITE = {"posts": 300, "sitemap_lastmod": False}


def with_one_unlisted(site: MediumSite) -> MediumSite:
    """The site with its oldest post left out of the listing (so that it is fetched by id)."""
    site.faults.unlisted = {site.posts[-1].id}
    return site


def faulty_site(make_medium_site) -> MediumSite:
    """300 posts, one of them left out of the listing."""
    return with_one_unlisted(make_medium_site(**SITE))


@pytest.fixture(scope="module")
def phase_starts(tmp_path_factory) -> dict[str, int]:
    """How many requests a healthy first walk sends before each phase (the same site for
    every test here, so it is probed once)."""
    with MediumSite(**SITE) as probe:
        crawl(with_one_unlisted(probe), tmp_path_factory.mktemp("probe") / "probe.db")
        return phase_starts_of(probe.requests)


@pytest.mark.parametrize("kind", ["503", "refused"])
@pytest.mark.parametrize("phase", PHASES)
def test_a_site_that_goes_down_ends_the_run_in_bounded_time(
    make_medium_site, tmp_path, phase_starts, phase, kind
):
    after = phase_starts[phase]
    site = faulty_site(make_medium_site)
    site.faults.down_after, site.faults.down = after, kind
    db = tmp_path / "down.db"
    result, seconds = crawl(site, db, "--quiet")
    assert result.returncode == 4, result.stderr
    (line,) = result.stderr.splitlines()
    assert "site unreachable since" in line or "cannot reach 127.0.0.1" in line, line
    assert seconds < TIMEOUT + CAP + 10, seconds  # + the time a local crawl takes
    sent_down = len(site.requests) - after
    assert sent_down <= AFTER + 3, site.requests[after:]
    expected = expected_posts(site)
    stored = stored_posts(db) if db.exists() else {}
    assert all(stored[i] == expected[i] for i in stored)
    if db.exists():
        assert query(db, "SELECT status, outage IS NOT NULL FROM crawls") == [("partial", 1)]

    # The site is back: a rerun completes the archive exactly.
    site.faults.down_after = None
    if kind == "refused":
        site.start()
    again, _ = crawl(site, db, "--quiet")
    assert again.returncode == 0, again.stderr
    assert stored_posts(db) == expected
    if phase != "homepage":
        status = run_cli("status", "--db", str(db))
        assert "last outage, site not answering since" in status.stdout, status.stdout


def test_a_host_that_does_not_resolve_fails_within_30_seconds(tmp_path):
    started = time.monotonic()
    result = run_cli(
        "crawl", "https://no-such-publication.invalid/", "--db", str(tmp_path / "x.db")
    )
    assert time.monotonic() - started < 30
    assert result.returncode == 4, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [errors[0]] and "cannot reach no-such-publication.invalid" in errors[0]


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_during_backoff_ends_the_run_within_5_seconds(
    make_medium_site, tmp_path, stop
):
    site = make_medium_site(posts=300)
    site.faults.down_after = 6  # down in the listing: every request now waits its backoff
    db = tmp_path / "stopped.db"
    # The default backoff (1 s, doubling): a stop arrives while requests wait.
    command = cli_command(*local_crawl_args(site, db, 50), "-s", "ARCHIVE_RETRY_BACKOFF_BASE=1")
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while len(site.requests) < 9 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # well inside a backoff of the default 1 s base
        sent = time.monotonic()
        process.send_signal(stop)
        _, stderr = process.communicate(timeout=30)
        assert time.monotonic() - sent < 5
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 4, stderr
    assert "stopped by a signal" in stderr
    assert query(db, "SELECT status FROM crawls") == [("interrupted",)]
    stored = stored_posts(db)
    assert stored and all(stored[i] == expected_posts(site)[i] for i in stored)
    # The lock is released: the next run starts at once and completes.
    site.faults.down_after = None
    again = run_cli(*local_crawl_args(site, db, 50))
    assert again.returncode == 0, again.stderr
    assert stored_posts(db) == expected_posts(site)


def test_max_time_ends_a_run_like_an_outage(make_medium_site, tmp_path):
    site = make_medium_site(posts=300)
    site.faults.slow = 0.4
    db = tmp_path / "capped.db"
    result, seconds = crawl(site, db, "--quiet", "--max-time", "2s", "-s", "ARCHIVE_PAGE_SIZE=20")
    assert result.returncode == 4, result.stderr
    assert result.stderr.strip() == "error: stopped at its --max-time; run again to resume"
    assert seconds < 2 + 3 + 5  # the cap, the grace, the start of a process
    assert query(db, "SELECT status FROM crawls") == [("interrupted",)]
    site.faults.slow = 0
    again, _ = crawl(site, db, "--quiet")
    assert again.returncode == 0, again.stderr
    assert stored_posts(db) == expected_posts(site)


def test_one_down_host_of_a_fleet_does_not_stop_the_others(tmp_path):
    with MediumFleet.synthetic(count=4, posts=30, seed=2) as fleet:
        down = next(site for site in fleet.sites if site.domain)
        down.faults.down_after = 0
        listed = tmp_path / "fleet.csv"
        fleet.write_publications_csv(listed)
        db = tmp_path / "fleet.db"
        result = run_cli(
            "crawl",
            "--publications",
            str(listed),
            "--db",
            str(db),
            "--as-of",
            fleet.sites[0].now.isoformat(),
            "--quiet",
            *SETTINGS,
            *("-s", "DNS_RESOLVER=archive_spider.testing.loopback.LoopbackResolver"),
        )
        assert result.returncode == 4, result.stderr
        (line,) = result.stderr.splitlines()
        assert line.startswith(f"error: {fleet.url(down)}") and "site unreachable" in line
        others = {p["id"] for p in fleet.expected_posts() if p["publication"] != down.collection_id}
        assert set(stored_posts(db)) == others
        assert (
            len([r for r in fleet.requests if r.host and r.host.startswith(down.domain)])
            <= AFTER + 3
        )
