"""Many publications through Scrapyd: three partitions on two nodes, a merge, a crashed job.

Two real Scrapyd instances on 127.0.0.1 (two ports, each with its own eggs, logs and dbs)
stand for two machines; the project egg is deployed to both. A `MediumFleet` of thirty
synthetic publications is served from this process, and each job reaches its `.test` names
through the loopback resolver. Parts 1 and 3 run on node A, part 2 on node B, each into its
own shard; `archive-spider merge` folds the shards into one archive and
`archive-spider status --expect` is the alert: Scrapyd reports a crashed job as "finished".
"""

from __future__ import annotations

import re
import urllib.request
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path

import pytest
from helpers import FLEET_POST_FIELDS, expected_posts, query, run_cli, stored_posts
from test_scrapyd import build_egg, deploy, running_scrapyd, schedule, wait_finished

from archive_spider.publications import read_publications, select_part

PARTS = 3
# Scrapy settings of every job (`-d setting=NAME=VALUE`); DOWNLOAD_DELAY is the budget of the
# whole fleet, which each part multiplies by PARTS.
BUDGET = 0.04  # DOWNLOAD_DELAY: seconds between two requests to Medium, for the whole fleet
SETTINGS = (
    f"DOWNLOAD_DELAY={BUDGET}",
    "AUTOTHROTTLE_ENABLED=0",
    "DNS_RESOLVER=archive_spider.testing.loopback.LoopbackResolver",
    "DOWNLOAD_TIMEOUT=5",
    "ARCHIVE_RETRY_BACKOFF_BASE=0.01",
)
JOB_TIMEOUT = 60  # seconds for a round of jobs to finish


@pytest.fixture(scope="module")
def nodes(tmp_path_factory) -> dict[str, str]:
    """Two Scrapyd nodes, "A" and "B" (their URLs), the project egg deployed to both."""
    folder = tmp_path_factory.mktemp("scrapyd")
    egg = build_egg(folder / "dist")
    with ExitStack() as stack:
        urls = {}
        for name in ("A", "B"):
            urls[name] = stack.enter_context(running_scrapyd(folder / name, max_proc=2))
            deploy(urls[name], egg, folder / name / "deploy")
        yield urls


@pytest.fixture(scope="module")
def shards(fleet, listed, nodes, tmp_path_factory) -> dict[int, Path]:
    """The three parts crawled at once, 1 and 3 on node A, 2 on node B: shard by part."""
    folder = tmp_path_factory.mktemp("shards")
    paths = {part: folder / f"shard-{part}.db" for part in range(1, PARTS + 1)}
    fleet.reset_log()
    jobs = {
        part: (node, schedule(nodes[node], job_arguments(fleet, listed, part, paths[part])))
        for part, node in ((1, "A"), (2, "B"), (3, "A"))
    }
    finished = {}
    for node in ("A", "B"):
        mine = [job for n, job in jobs.values() if n == node]
        finished.update(wait_finished(nodes[node], mine, JOB_TIMEOUT))
    # The three jobs ran at the same time (max_proc 2 on node A)...
    spans = [(moment(j["start_time"]), moment(j["end_time"])) for j in finished.values()]
    assert max(start for start, _ in spans) < min(end for _, end in spans), spans
    # ... and together kept to the fleet's budget (+10%) over every 2-second window: each
    # job multiplied the DOWNLOAD_DELAY it was given as a setting by PARTS.
    requests = fleet.requests
    assert fleet.max_rate(2.0, requests) <= 1.1 / BUDGET, len(requests)
    return paths


def job_arguments(fleet, listed: Path, part: int, db: Path) -> list[tuple[str, str]]:
    """The `-d NAME=VALUE` pairs of part `part`'s job."""
    return [
        ("publications", str(listed)),
        ("part", str(part)),
        ("parts", str(PARTS)),
        ("db", str(db)),
        ("as_of", fleet.sites[0].now.isoformat()),
        *(("setting", setting) for setting in SETTINGS),
    ]


def moment(text: str) -> datetime:
    """A time as Scrapyd's listjobs gives it ("2025-11-26 02:04:18.123456")."""
    return datetime.fromisoformat(text)


def part_urls(listed: Path, part: int) -> set[str]:
    return {entry.url for entry in select_part(read_publications(listed), part, PARTS)}


def ok_sources(db: Path) -> set[str]:
    return {row[0] for row in query(db, "SELECT source FROM crawls WHERE status = 'ok'")}


def stale_urls(stderr: str) -> set[str]:
    return set(re.findall(r"^error: (\S+)", stderr, re.MULTILINE))


def merge(shards, into: Path):
    return run_cli("merge", *map(str, shards), "--into", str(into))


def status(db: Path, listed: Path):
    return run_cli("status", "--db", str(db), "--expect", str(listed), "--max-age", "26h")


def assert_complete(fleet, listed: Path, merged: Path) -> None:
    """Every post exactly once, with the fleet's content; every publication fresh."""
    everything = expected_posts(fleet)
    assert query(merged, "SELECT count(*), count(DISTINCT id), count(DISTINCT url) FROM posts") == [
        (len(everything),) * 3
    ]
    assert stored_posts(merged, FLEET_POST_FIELDS) == everything
    # Each publication's good run came from exactly one shard.
    owners = query(
        merged,
        "SELECT source, count(*), count(DISTINCT shard) FROM crawls WHERE status = 'ok' "
        "GROUP BY source",
    )
    assert len(owners) == 30 and {(n, s) for _, n, s in owners} == {(1, 1)}, owners
    fresh = status(merged, listed)
    assert fresh.returncode == 0, fresh.stderr
    assert "30 of 30 expected publications fresh" in fresh.stdout


def test_three_partitions_on_two_scrapyd_nodes_merge_into_the_whole_archive(
    fleet, listed, shards, tmp_path
):
    # Each shard holds the publications of its part, each with an ok run, and nothing else.
    for part, shard in shards.items():
        assert ok_sources(shard) == part_urls(listed, part)
        assert query(shard, "SELECT DISTINCT status, part FROM crawls") == [("ok", f"{part}/3")]
    assert set().union(*(part_urls(listed, part) for part in shards)) == {
        entry.url for entry in read_publications(listed)
    }

    merged = tmp_path / "archive.db"
    result = merge(shards.values(), merged)
    assert result.returncode == 0, result.stderr
    assert query(merged, "SELECT count(DISTINCT shard) FROM posts") == [(PARTS,)]
    assert_complete(fleet, listed, merged)


def test_a_crashed_job_finishes_for_scrapyd_and_status_names_its_publications(
    fleet, listed, nodes, shards, tmp_path
):
    # Part 3 again, into a folder that does not exist: the job dies before it writes anything.
    missing = tmp_path / "no-such-folder" / "shard-3.db"
    job = schedule(nodes["A"], job_arguments(fleet, listed, 3, missing))
    entry = wait_finished(nodes["A"], [job], JOB_TIMEOUT)[job]
    assert not missing.parent.exists()
    with urllib.request.urlopen(nodes["A"] + entry["log_url"].lstrip("/"), timeout=10) as log:
        text = log.read().decode()
    assert "No such file or directory" in text and str(missing) in text, text[-3000:]

    # The merge of the shards that exist succeeds; the alert names part 3's publications.
    merged = tmp_path / "archive.db"
    result = merge([shards[1], shards[2]], merged)
    assert result.returncode == 0, result.stderr
    stale = status(merged, listed)
    assert stale.returncode == 1, stale.stdout
    assert stale_urls(stale.stderr) == part_urls(listed, 3), stale.stderr
    assert f"{30 - len(part_urls(listed, 3))} of 30 expected publications fresh" in stale.stdout

    # Scheduled again, correctly: merged in, nothing is stale.
    rerun = tmp_path / "shard-3-rerun.db"
    job = schedule(nodes["A"], job_arguments(fleet, listed, 3, rerun))
    wait_finished(nodes["A"], [job], JOB_TIMEOUT)
    assert ok_sources(rerun) == part_urls(listed, 3)
    result = merge([shards[1], shards[2], rerun], merged)
    assert result.returncode == 0, result.stderr
    assert_complete(fleet, listed, merged)
