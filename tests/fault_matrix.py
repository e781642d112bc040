"""The fault matrix: crawl a faulty local Medium-like site with the real CLI until it is complete.

`run_cell(seed, rate, posts, db_dir)` starts a `MediumSite(posts=posts, seed=seed)` on
127.0.0.1 that fails `rate` of its requests (503, 429 with Retry-After, connection reset,
timeout, truncated body), crawls it with `python -m archive_spider crawl`, and while a run
exits 4 (partial) runs it again, faults still on, up to `max_runs` runs. After every run it
reads the archive back and compares it with `site.expected_posts()`: posts lost, posts
stored with a wrong field, posts that should not be there, duplicate rows.

Used by tests/test_fault_matrix.py (CI) and tests/benchmarks/reliability_report.py (the
report). Everything runs on 127.0.0.1 and every run is bounded in time.
"""

from __future__ import annotations

import sqlite3
import subprocess
import time
from contextlib import closing
from pathlib import Path

from helpers import POST_FIELDS, cli_command, expected_posts

from archive_spider.testing.medium_site import FAULT_KINDS, MediumSite

# Posts a cell's site publishes and the listing page size: 4 GraphQL pages, ~80 requests.
POSTS = 80
PAGE_SIZE = 20
# Scrapy retries per request: with a 50% fault rate, 1 request in 2**(RETRY_TIMES + 1)
# still fails for good, so most runs at 50% are partial and re-runs are exercised.
RETRY_TIMES = 4
MAX_RUNS = 6
# A "timeout" fault holds its answer TIMEOUT_SECONDS; the crawler gives up after
# DOWNLOAD_TIMEOUT seconds.
TIMEOUT_SECONDS = 2.0
DOWNLOAD_TIMEOUT = 1
# A run that takes longer than this is killed and counted as hung (exit code None).
RUN_TIMEOUT = 240.0

EXIT_OK = 0
EXIT_PARTIAL = 4


def crawl_command(site: MediumSite, db: Path, *, retry_times: int, page_size: int) -> list[str]:
    """The real command line, as cron would run it, made fast for a local site."""
    settings = {
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": 0,
        "ARCHIVE_RETRY_BACKOFF_BASE": 0.01,
        "ARCHIVE_RETRY_BACKOFF_MAX": 0.5,
        "DOWNLOAD_TIMEOUT": DOWNLOAD_TIMEOUT,
        "RETRY_TIMES": retry_times,
        "ARCHIVE_PAGE_SIZE": page_size,
        # A first walk audits every day sitemap, so that faults meet the cross-checks too.
        "ARCHIVE_AUDIT_REQUESTS": 1000,
    }
    command = cli_command("crawl", site.url, "--db", str(db))
    command += ["--as-of", site.now.isoformat(), "--quiet"]
    for name, value in settings.items():
        command += ["-s", f"{name}={value}"]
    return command


def read_archive(db: Path) -> tuple[dict[str, dict], int, int, int]:
    """(stored posts by id, rows in `posts`, distinct ids, distinct URLs); empty if the
    database is absent (a run that stored nothing removes the database it created)."""
    if not db.exists():
        return {}, 0, 0, 0
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute(f"SELECT {', '.join(POST_FIELDS)} FROM posts").fetchall()
        total, ids, urls = conn.execute(
            "SELECT count(*), count(DISTINCT id), count(DISTINCT url) FROM posts"
        ).fetchone()
    posts = {row[0]: dict(zip(POST_FIELDS, row, strict=True)) for row in rows}
    return posts, total, ids, urls


def check_archive(db: Path, expected: dict[str, dict]) -> dict:
    """Compare the archive with the expected posts, field by field."""
    stored, total, distinct, urls = read_archive(db)
    wrong = sorted(
        post_id
        for post_id, row in stored.items()
        if post_id in expected and row != expected[post_id]
    )
    return {
        "stored": total,
        "distinct": distinct,
        "lost": len(expected.keys() - stored.keys()),
        "unexpected": len(stored.keys() - expected.keys()),
        "wrong": len(wrong),
        "wrong_ids": wrong[:5],
        # `id` is the primary key, so the first is 0 unless the schema changes; the second
        # catches one post stored under two ids.
        "duplicates": total - distinct,
        "duplicate_urls": total - urls,
    }


def crawl_once(command: list[str], cwd: Path, timeout: float = RUN_TIMEOUT) -> dict:
    """One run of the CLI: exit code (None if it had to be killed), stderr, wall time."""
    started = time.monotonic()
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=cwd,
        )
        exit_code, stderr = result.returncode, result.stderr
    except subprocess.TimeoutExpired as error:
        exit_code = None
        stderr = error.stderr or ""
        if isinstance(stderr, bytes):
            stderr = stderr.decode(errors="replace")
        stderr += f"\n(killed after {timeout:.0f} s)"
    return {
        "exit_code": exit_code,
        "seconds": round(time.monotonic() - started, 2),
        "stderr": stderr.strip()[-2000:],
        "traceback": "Traceback (most recent call last)" in stderr,
    }


def faults_sent(site: MediumSite, since: int) -> dict[str, int]:
    """Failed answers in the request log after entry `since` (timeouts and truncated bodies
    are logged with the status the answer would have had, so they are not counted here)."""
    log = site.requests[since:]
    return {
        "requests": len(log),
        "resets": sum(r.status == 0 for r in log),
        "503": sum(r.status == 503 for r in log),
        "429": sum(r.status == 429 for r in log),
    }


def run_cell(
    seed: int,
    rate: float,
    posts: int = POSTS,
    db_dir: Path | str = ".",
    *,
    retry_times: int = RETRY_TIMES,
    page_size: int = PAGE_SIZE,
    max_runs: int = MAX_RUNS,
    timeout_seconds: float = TIMEOUT_SECONDS,
    run_timeout: float = RUN_TIMEOUT,
) -> dict:
    """Crawl a site failing `rate` of its requests until a run exits other than 4 (partial).

    Returns the cell: its inputs, one entry per run (exit code, posts stored, distinct ids,
    posts lost, wrong, unexpected, duplicates, wall seconds, stderr) and the verdict:
    `complete` (the last run exited 0 and the archive equals the expected posts exactly),
    `completed_on` (1-based run number that exited 0, else None).
    """
    db_dir = Path(db_dir)
    db_dir.mkdir(parents=True, exist_ok=True)
    db = db_dir / f"seed{seed}-rate{round(rate * 100)}.db"
    site = MediumSite(posts=posts, seed=seed)
    site.faults.rate = rate
    site.faults.kinds = list(FAULT_KINDS)
    site.faults.timeout_seconds = timeout_seconds
    runs: list[dict] = []
    started = time.monotonic()
    with site:
        expected = expected_posts(site)
        command = crawl_command(site, db, retry_times=retry_times, page_size=page_size)
        while len(runs) < max_runs:
            logged = len(site.requests)
            run = crawl_once(command, db_dir, run_timeout)
            run.update(check_archive(db, expected))
            run.update(faults_sent(site, logged))
            runs.append(run)
            if run["exit_code"] != EXIT_PARTIAL:
                break
    final = runs[-1]
    complete = (
        final["exit_code"] == EXIT_OK
        and final["lost"] == final["wrong"] == final["unexpected"] == 0
        and final["duplicates"] == final["duplicate_urls"] == 0
        and final["stored"] == len(expected)
    )
    return {
        "seed": seed,
        "rate": rate,
        "posts": posts,
        "expected": len(expected),
        "retry_times": retry_times,
        "page_size": page_size,
        "runs": runs,
        "exit_codes": [run["exit_code"] for run in runs],
        "complete": complete,
        "completed_on": len(runs) if final["exit_code"] == EXIT_OK else None,
        "lost": final["lost"],
        "wrong": final["wrong"],
        "unexpected": final["unexpected"],
        "duplicates": max(run["duplicates"] for run in runs),
        "duplicate_urls": max(run["duplicate_urls"] for run in runs),
        "tracebacks": sum(run["traceback"] for run in runs),
        "seconds": round(time.monotonic() - started, 2),
    }


def problems(cell: dict) -> list[str]:
    """Everything wrong with a cell, in words; empty when the cell is as it must be."""
    where = f"seed {cell['seed']}, rate {cell['rate']:.0%}"
    found = []
    codes = cell["exit_codes"]
    if any(code != EXIT_PARTIAL for code in codes[:-1]):
        found.append(f"{where}: a non-final run exited other than 4: {codes}")
    if codes[-1] != EXIT_OK:
        found.append(f"{where}: the last run exited {codes[-1]}, not 0: {codes}")
    for number, run in enumerate(cell["runs"], 1):
        if run["traceback"]:
            found.append(f"{where}: run {number} printed a traceback:\n{run['stderr']}")
        if run["duplicates"] or run["duplicate_urls"]:
            found.append(
                f"{where}: run {number} left {run['duplicates']} duplicate ids and "
                f"{run['duplicate_urls']} duplicate URLs"
            )
        if run["unexpected"]:
            found.append(f"{where}: run {number} stored {run['unexpected']} unexpected post(s)")
        if run["exit_code"] not in (EXIT_OK, EXIT_PARTIAL):
            found.append(f"{where}: run {number} exited {run['exit_code']}: {run['stderr']}")
    final = cell["runs"][-1]
    # A partial run may hold a vaguer value (a card's "2d ago"); the final one must be exact.
    if final["wrong"]:
        found.append(
            f"{where}: {final['wrong']} post(s) stored with a wrong field, e.g. "
            f"{final['wrong_ids']}"
        )
    if final["lost"] or final["stored"] != cell["expected"]:
        found.append(
            f"{where}: {final['lost']} of {cell['expected']} posts lost after {len(codes)} "
            f"run(s), {final['stored']} stored"
        )
    return found


if __name__ == "__main__":
    import argparse
    import json
    import tempfile

    parser = argparse.ArgumentParser(description="Run one cell of the fault matrix.")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rate", type=float, default=0.3)
    parser.add_argument("--posts", type=int, default=POSTS)
    parser.add_argument("--retry-times", type=int, default=RETRY_TIMES)
    parser.add_argument("--page-size", type=int, default=PAGE_SIZE)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        cell = run_cell(
            args.seed,
            args.rate,
            args.posts,
            folder,
            retry_times=args.retry_times,
            page_size=args.page_size,
        )
    print(json.dumps(cell, indent=2))
    print("\n".join(problems(cell)) or "ok")
