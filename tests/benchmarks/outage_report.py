"""Print how a crawl meets a site that goes down in each phase of a first walk.

    .venv/bin/python tests/benchmarks/outage_report.py [--timeout 5] [--cap 1] [--phases ...]

A local publication of 300 posts (one left out of the listing, so that it is fetched by id)
goes down when a phase starts: answering 503 to everything, or refusing connections. For each
phase and kind: the exit code, the seconds until the run gave up, the requests the down site
received, the posts kept (all exact or not), and whether a rerun once the site is back
completes the archive. `--timeout` and `--cap` are ARCHIVE_OUTAGE_TIMEOUT and
ARCHIVE_RETRY_BACKOFF_MAX; the defaults of a real run are 300 and 60 (and a backoff base of
1 s): give them to measure a real outage, which takes minutes a cell.
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

from archive_spider.testing.faults import phase_starts as phase_starts_of
from archive_spider.testing.medium_site import MediumSite

PHASES = ("homepage", "listing", "crosschecks", "by_id")
FIELDS = ("id", "url", "title", "subtitle", "published", "read_minutes", "image_id")


def site() -> MediumSite:
    made = MediumSite(posts=300, sitemap_lastmod=False)
    made.faults.unlisted = {made.posts[-1].id}
    return made.start()


def crawl(target: MediumSite, db: Path, settings: list[str]) -> tuple[int, float]:
    command = [sys.executable, "-m", "archive_spider", "crawl", target.url, "--db", str(db)]
    command += ["--as-of", target.now.isoformat(), "--quiet", *settings]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    return done.returncode, time.monotonic() - started


def stored(db: Path) -> dict[str, tuple]:
    if not db.exists():
        return {}
    with closing(sqlite3.connect(db)) as conn:
        return {row[0]: row for row in conn.execute(f"SELECT {', '.join(FIELDS)} FROM posts")}


def phase_starts(folder: Path, settings: list[str]) -> dict[str, int]:
    probe = site()
    crawl(probe, folder / "probe.db", settings)
    probe.stop()
    return phase_starts_of(probe.requests)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=5.0, help="ARCHIVE_OUTAGE_TIMEOUT")
    parser.add_argument("--cap", type=float, default=1.0, help="ARCHIVE_RETRY_BACKOFF_MAX")
    parser.add_argument("--base", type=float, default=0.05, help="ARCHIVE_RETRY_BACKOFF_BASE")
    parser.add_argument("--phases", nargs="+", choices=PHASES, default=list(PHASES))
    args = parser.parse_args()
    settings = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0"]
    settings += ["-s", "ARCHIVE_PAGE_SIZE=50", "-s", f"ARCHIVE_OUTAGE_TIMEOUT={args.timeout}"]
    settings += ["-s", f"ARCHIVE_RETRY_BACKOFF_MAX={args.cap}"]
    settings += ["-s", f"ARCHIVE_RETRY_BACKOFF_BASE={args.base}"]
    print(f"ARCHIVE_OUTAGE_TIMEOUT {args.timeout:g} s, backoff {args.base:g} s to {args.cap:g} s")
    print(
        "| phase | down as | exit | gave up after | requests to the down site | posts kept"
        " | rerun |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        starts = phase_starts(folder, settings)
        reference = stored(folder / "probe.db")
        for phase in args.phases:
            for kind in ("503", "refused"):
                target = site()
                target.faults.down_after, target.faults.down = starts[phase], kind
                db = folder / f"{phase}-{kind}.db"
                code, seconds = crawl(target, db, settings)
                kept = stored(db)
                exact = all(reference[i] == row for i, row in kept.items())
                down_requests = len(target.requests) - starts[phase]
                target.faults.down_after = None
                if kind == "refused":
                    target.start()
                again, _ = crawl(target, db, settings)
                complete = again == 0 and stored(db) == reference
                target.stop()
                print(
                    f"| {phase} | {kind} | {code} | {seconds:.1f} s | {down_requests} "
                    f"| {len(kept)}{'' if exact else ' (NOT exact)'} "
                    f"| {'complete' if complete else 'INCOMPLETE'} |"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
