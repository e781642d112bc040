"""Print what a complete archive costs in requests to Medium, the only speed that counts.

    .venv/bin/python tests/benchmarks/bench_requests.py [--sizes 269 1000 10000] [--delay 1.0]

For each size N, a local publication of N posts whose sitemap index gives no `<lastmod>` (the
harder case) is crawled through the real command line at DOWNLOAD_DELAY 0: a first walk,
then a rerun with nothing new. For each: requests after robots.txt, the wall time at the
default delay (requests x delay + the time measured at delay 0), the posts found, and the
limits `ceil(N/100) + 4` (+ ARCHIVE_AUDIT_REQUESTS on a first walk). Beside them, what a walk
of 25 posts a page that reads every day sitemap would send, as other Medium scrapers do.

Then completeness over runs: posts left out of the listing on days with no listed post
(found by the first run), and posts hidden on days that also hold listed posts (found by the
rotating audit, `--audit 10` a run, within ceil(days / 10) runs).
"""

from __future__ import annotations

import argparse
import math
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

from archive_spider.testing.medium_site import MediumSite

AUDIT = 10  # ARCHIVE_AUDIT_REQUESTS
FAST = ("-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0")


def crawl(site: MediumSite, db: Path, *extra: str) -> tuple[int, int, float]:
    """(exit code, requests after robots.txt, seconds) of one crawl of `site`."""
    site.reset_log()
    command = [sys.executable, "-m", "archive_spider", "crawl", site.url, "--db", str(db)]
    command += ["--as-of", site.now.isoformat(), "--quiet", *FAST, *extra]
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    requests = [r for r in site.requests if r.path != "/robots.txt"]
    return result.returncode, len(requests), seconds


def stored(db: Path) -> set[str]:
    with closing(sqlite3.connect(db)) as conn:
        return {row[0] for row in conn.execute("SELECT id FROM posts")}


def sizes_table(sizes: list[int], delay: float, folder: Path) -> None:
    print(
        "| posts | run | requests | wall at delay "
        f"{delay:g} s | posts found | limit | 25 a page, every day sitemap |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for size in sizes:
        with MediumSite(posts=size, sitemap_lastmod=False) as site:
            db = folder / f"size-{size}.db"
            days = len({site.day_sitemap_path(post) for post in site.posts})
            others = math.ceil(size / 25) + 1 + days + 1  # homepage, pages, index, days
            for run, limit in (("first", math.ceil(size / 100) + 4 + AUDIT), ("rerun", 3)):
                code, requests, seconds = crawl(site, db)
                wall = requests * delay + seconds
                print(
                    f"| {size:,} | {run} (exit {code}) | {requests} | {wall:,.1f} s "
                    f"({seconds:.1f} s measured) | {len(stored(db)):,} | {limit} "
                    f"| {others:,} |"
                )


def runs_to_find(site: MediumSite, hidden: set[str], db: Path, *extra: str) -> int:
    """Runs (the first, then reruns with `extra`) until every hidden post is stored."""
    site.faults.unlisted = hidden
    crawl(site, db)
    runs = 1
    while not hidden <= stored(db) and runs < 200:
        crawl(site, db, *extra)
        runs += 1
    return runs


def completeness(folder: Path) -> None:
    with MediumSite(posts=1000, sitemap_lastmod=False) as site:
        hidden = {post.id for post in site.posts[20:1000:50]}
        runs = runs_to_find(site, hidden, folder / "gaps.db")
        print(f"- {len(hidden)} posts hidden on days with no listed post: all found in {runs} run")
    with MediumSite(posts=1000, sitemap_lastmod=False) as site:
        site.add_posts(120)  # several posts a day
        by_day: dict[str, list] = {}
        for post in site.posts:
            by_day.setdefault(site.day_sitemap_path(post), []).append(post)
        shared = [posts for posts in by_day.values() if len(posts) > 1]
        hidden = {posts[-1].id for posts in shared[3:]}  # not among the feed's 10 newest
        runs = runs_to_find(site, hidden, folder / "shared.db", "--audit", str(AUDIT))
        bound = 1 + math.ceil(len(by_day) / AUDIT)
        print(
            f"- {len(hidden)} posts hidden on days that also hold listed posts ({len(by_day)} "
            f"days): all found in {runs} runs with --audit {AUDIT} (bound: 1 + "
            f"ceil({len(by_day)} / {AUDIT}) = {bound})"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[269, 1000, 10000])
    parser.add_argument("--delay", type=float, default=1.0, help="the default DOWNLOAD_DELAY")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sizes_table(args.sizes, args.delay, Path(tmp))
        print()
        completeness(Path(tmp))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
