"""Many publications, end to end: a one-process crawl, three partitions in parallel, a merge.

Thirty synthetic publications are served by a `MediumFleet` on two loopback addresses:
127.0.0.1 stands for medium.com (publications under `/<slug>`), 127.0.0.2 for custom
domains (`<slug>.test`, told apart by the Host header). Every run goes through the real
command line, as cron would run it.
"""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from helpers import FLEET_POST_FIELDS, cli_command, expected_posts, query, run_cli, stored_posts

from archive_spider.publications import read_publications, select_part
from archive_spider.testing.medium_fleet import MediumFleet

BUDGET = 0.04  # DOWNLOAD_DELAY: seconds between two requests to Medium, for the whole fleet
PARTS = 3
SETTINGS = (
    *("-s", f"DOWNLOAD_DELAY={BUDGET}"),
    *("-s", "AUTOTHROTTLE_ENABLED=0"),
    *("-s", "ARCHIVE_RETRY_BACKOFF_BASE=0.01"),
    *("-s", "DOWNLOAD_TIMEOUT=5"),
    *("-s", "DNS_RESOLVER=archive_spider.testing.loopback.LoopbackResolver"),
)
# Content columns: what two archives of the same publications must agree on.
CONTENT = (*FLEET_POST_FIELDS, "authors", "published_text", "published_precision")


def crawl_args(fleet, listed: Path, db: Path, *extra: str) -> list[str]:
    as_of = fleet.sites[0].now.isoformat()
    return [
        "crawl",
        "--publications",
        str(listed),
        "--db",
        str(db),
        "--as-of",
        as_of,
        *SETTINGS,
        *extra,
    ]


def start_part(fleet, listed: Path, db: Path, part: int) -> subprocess.Popen:
    command = cli_command(*crawl_args(fleet, listed, db))
    return subprocess.Popen(
        [*command, "--part", f"{part}/{PARTS}", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen) -> tuple[int, str]:
    _, stderr = process.communicate(timeout=300)
    return process.returncode, stderr


def content(db: Path) -> list[tuple]:
    return query(db, f"SELECT {', '.join(CONTENT)} FROM posts ORDER BY id")


def ok_runs(db: Path) -> int:
    """How many publications a crawl writing `db` has finished well (0 before its schema)."""
    if not db.exists():  # never let sqlite3.connect create it
        return 0
    try:
        return query(db, "SELECT count(*) FROM crawls WHERE status = 'ok'")[0][0]
    except sqlite3.OperationalError:  # the crawl has not created its tables yet
        return 0


def stale_urls(stderr: str) -> set[str]:
    return set(re.findall(r"^error: (\S+)", stderr, re.MULTILINE))


def test_three_partitions_merge_into_the_archive_one_process_makes(fleet, listed, tmp_path):
    everything = expected_posts(fleet)
    assert len(everything) == sum(len(site.posts) for site in fleet.sites)

    # One process, the whole list.
    fleet.reset_log()
    single = tmp_path / "single.db"
    result = run_cli(*crawl_args(fleet, listed, single), timeout=300)
    assert result.returncode == 0, result.stderr
    assert "publications 30 ok" in result.stdout
    single_rate = fleet.max_rate(2.0)
    assert stored_posts(single, FLEET_POST_FIELDS) == everything

    # Three partitions at once, each into its own shard, at a third of the budget each.
    fleet.reset_log()
    shards = [tmp_path / f"part{part}.db" for part in range(1, PARTS + 1)]
    started = time.monotonic()
    runs = [start_part(fleet, listed, shard, part) for part, shard in enumerate(shards, 1)]
    for process in runs:
        code, stderr = finish(process)
        assert code == 0, stderr
    partitions_took = time.monotonic() - started
    requests = fleet.requests
    # The budget holds for all three together (+10%), over every 2-second window.
    assert fleet.max_rate(2.0, requests) <= 1.1 / BUDGET, (single_rate, len(requests))
    assert single_rate <= 1.1 / BUDGET
    # ... and was used: not slower than a third of it.
    assert fleet.mean_rate(requests) >= 0.33 / BUDGET

    # Every publication in exactly one shard, as its part says.
    owners: dict[str, list[int]] = {}
    for part, shard in enumerate(shards, 1):
        urls = {row[0] for row in query(shard, "SELECT source FROM crawls WHERE status = 'ok'")}
        assert urls == {e.url for e in select_part(read_publications(listed), part, PARTS)}
        for url in urls:
            owners.setdefault(url, []).append(part)
    assert len(owners) == 30 and all(len(parts) == 1 for parts in owners.values())

    merged = tmp_path / "merged.db"
    result = run_cli("merge", *map(str, shards), "--into", str(merged))
    assert result.returncode == 0, result.stderr
    assert query(merged, "SELECT count(*), count(DISTINCT id), count(DISTINCT url) FROM posts") == [
        (len(everything),) * 3
    ]
    assert stored_posts(merged, FLEET_POST_FIELDS) == everything
    assert content(merged) == content(single)
    assert query(merged, "SELECT count(*) FROM publications") == [(30,)]
    assert query(merged, "SELECT count(*) FROM crawls WHERE status = 'ok'") == [(30,)]
    assert query(merged, "SELECT count(DISTINCT shard) FROM posts") == [(PARTS,)]
    print(
        f"30 publications, {len(everything)} posts: partitions took {partitions_took:.1f} s "
        f"for {len(requests)} requests, peak {fleet.max_rate(2.0, requests):.1f} req/s "
        f"(budget {1 / BUDGET:.0f})"
    )

    # Nothing stale in the merged archive; a publication never crawled is named.
    fresh = run_cli("status", "--db", str(merged), "--expect", str(listed), "--max-age", "1h")
    assert fresh.returncode == 0, fresh.stderr
    assert "30 of 30 expected publications fresh" in fresh.stdout


def test_a_killed_partition_is_named_by_status_until_rerun(fleet, listed, tmp_path):
    shards = [tmp_path / f"part{part}.db" for part in range(1, PARTS + 1)]
    runs = [start_part(fleet, listed, shard, part) for part, shard in enumerate(shards, 1)]
    victim = runs[1]
    deadline = time.monotonic() + 120
    while ok_runs(shards[1]) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    for process in (runs[0], runs[2]):
        code, stderr = finish(process)
        assert code == 0, stderr
    finished = {row[0] for row in query(shards[1], "SELECT source FROM crawls WHERE status = 'ok'")}
    mine = {e.url for e in select_part(read_publications(listed), 2, PARTS)}
    unfinished = mine - finished
    assert finished and unfinished, "the kill came too late or too early to test anything"

    merged = tmp_path / "merged.db"
    merge = run_cli("merge", *map(str, shards), "--into", str(merged))
    assert merge.returncode == 4, merge.stderr  # the killed publications were skipped
    status = run_cli("status", "--db", str(merged), "--expect", str(listed))
    assert status.returncode == 1
    assert stale_urls(status.stderr) == unfinished
    assert f"{30 - len(unfinished)} of 30 expected publications fresh" in status.stdout

    # Rerun the killed part (it marks the killed runs interrupted), merge again: all fresh.
    rerun = run_cli(*crawl_args(fleet, listed, shards[1]), "--part", f"2/{PARTS}", timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert query(shards[1], "SELECT count(*) FROM crawls WHERE status = 'running'") == [(0,)]
    merge = run_cli("merge", *map(str, shards), "--into", str(merged))
    assert merge.returncode == 0, merge.stderr
    status = run_cli("status", "--db", str(merged), "--expect", str(listed))
    assert status.returncode == 0, status.stderr
    assert stored_posts(merged, FLEET_POST_FIELDS) == expected_posts(fleet)


def test_a_missing_publication_fails_alone_and_a_challenge_stops_all(tmp_path):
    with MediumFleet.synthetic(4, posts=5, seed=3) as small:
        listed = tmp_path / "small.csv"
        small.write_publications_csv(listed)
        gone = next(site for site in small.sites if site.domain is not None)
        gone.faults.gone = True
        db = tmp_path / "small.db"
        result = run_cli(*crawl_args(small, listed, db))
        assert result.returncode == 1, result.stderr
        assert "publications 3 ok, 1 failed" in result.stdout
        assert f"error: {small.url(gone)}: {small.url(gone)} answered 404" in result.stderr
        rows = dict(query(db, "SELECT source, status FROM crawls"))
        assert rows.pop(small.url(gone)) == "failed"
        assert set(rows.values()) == {"ok"} and len(rows) == 3
        assert query(db, "SELECT count(DISTINCT publication) FROM posts") == [(3,)]

        # A bot challenge means Medium blocks the crawler: every publication stops.
        gone.faults.gone = False
        gone.faults.challenge = True
        blocked = run_cli(*crawl_args(small, listed, tmp_path / "blocked.db"))
        assert blocked.returncode == 3, blocked.stderr
        statuses = [s for (s,) in query(tmp_path / "blocked.db", "SELECT status FROM crawls")]
        assert "blocked" in statuses and "running" not in statuses
