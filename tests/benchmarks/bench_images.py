"""Print what `crawl --images` costs per 1,000 posts: requests, time and database size.

    .venv/bin/python tests/benchmarks/bench_images.py [--posts 1000] [--delay 0.25]

A local publication of N posts is crawled without images (at DOWNLOAD_DELAY 0), then
`--images` backfills its thumbnails from a local CDN that serves photo-like 320 px JPEGs
(about 16 KB, as Medium's `resize:fit:320` renditions) at the default image slot
(ARCHIVE_IMAGE_DELAY, ARCHIVE_IMAGE_CONCURRENCY), then `--images` runs again.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

from archive_spider import settings
from archive_spider.testing.image_cdn import ImageCDN
from archive_spider.testing.medium_site import MediumSite

FAST = ("-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0")


def crawl(site: MediumSite, db: Path, *extra: str) -> float:
    command = [sys.executable, "-m", "archive_spider", "crawl", site.url, "--db", str(db)]
    command += ["--as-of", site.now.isoformat(), "--quiet", *FAST, *extra]
    started = time.monotonic()
    subprocess.run(command, check=True)
    return time.monotonic() - started


def size_on_disk(db: Path) -> int:
    """The archive's bytes once its WAL is folded in."""
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("VACUUM")
    return os.path.getsize(db)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--delay", type=float, default=settings.ARCHIVE_IMAGE_DELAY)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, MediumSite(posts=arguments.posts) as site:
        db = Path(folder) / "archive.db"
        crawl(site, db)
        before = size_on_disk(db)
        with ImageCDN(photo=True) as cdn:
            images = ("--images", "-s", f"ARCHIVE_IMAGE_URL={cdn.url_template}")
            images += ("-s", f"ARCHIVE_IMAGE_DELAY={arguments.delay}")
            backfill = crawl(site, db, *images)
            fetched = len(cdn.requests)
            cdn.requests.clear()
            rerun = crawl(site, db, *images)
            refetched = len(cdn.requests)
        after = size_on_disk(db)
        with closing(sqlite3.connect(db)) as conn:
            kept, content = conn.execute("SELECT count(*), sum(bytes) FROM images").fetchone()
    per_thousand = 1000 / arguments.posts
    print(f"posts {arguments.posts}, images kept {kept} ({content / kept / 1024:.1f} KiB each)")
    print(
        f"backfill: {fetched} image requests, {backfill:.1f} s at ARCHIVE_IMAGE_DELAY "
        f"{arguments.delay:g} (concurrency {settings.ARCHIVE_IMAGE_CONCURRENCY}); "
        f"rerun: {refetched} requests, {rerun:.1f} s"
    )
    print(
        f"archive {before / 1024:.0f} KiB without images, {after / 1024:.0f} KiB with them: "
        f"+{(after - before) * per_thousand / 1024 / 1024:.1f} MiB per 1,000 posts, "
        f"{fetched * per_thousand:.0f} requests and {backfill * per_thousand:.0f} s per 1,000 posts"
    )


if __name__ == "__main__":
    main()
