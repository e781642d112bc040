"""Print speed figures of the core archive: parse, full CLI run, upsert rate.

    .venv/bin/python tests/benchmarks/bench_archive.py [--posts 100000]

Targets: capture parse under 50 ms, a full CLI run under 2 s, upserts over 20,000 posts/s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from archive_spider.dates import parse_reference
from archive_spider.items import Post
from archive_spider.merge import merge
from archive_spider.snapshot import CAPTURE_AS_OF, capture_path
from archive_spider.sources.capture import parse_capture
from archive_spider.storage import Archive

PAGE = 100


def best_of(runs: int, work) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def synthetic_post(
    index: int, seen_at: str, home: str = "https://netflixtechblog.com", publication=None
) -> Post:
    """Post number `index` of a synthetic publication at `home`, as a GraphQL node gives it."""
    return Post(
        id=f"{index:012x}",
        url=f"{home}/synthetic-post-{index}-{index:012x}",
        title=f"Synthetic post {index}",
        subtitle=f"By Ana Silva and Bo Chen, part {index}",
        authors=["Ana Silva", "Bo Chen"],
        account="Netflix Technology Blog",
        published="2024-05-01T12:00:00Z",
        published_precision="exact",
        read_minutes=index % 30,
        image_id=f"1*{index:022d}.png",
        image_url=f"https://miro.medium.com/v2/resize:fit:1400/1*{index:022d}.png",
        member_only=index % 5 == 0,
        publication=publication,
        source="graphql",
        seen_at=seen_at,
    )


def synthetic_posts(count: int, seen_at: str) -> list[Post]:
    return [synthetic_post(index, seen_at) for index in range(count)]


def upsert_rate(archive: Archive, posts: list[Post]) -> float:
    start = time.perf_counter()
    for offset in range(0, len(posts), PAGE):
        for post in posts[offset : offset + PAGE]:
            stored = archive.get(post.id)
            merged, changes = merge(stored, post)
            archive.save(merged, stored, changes, None)
        archive.commit()
    return len(posts) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000)
    args = parser.parse_args()

    text = capture_path().read_text()
    reference = parse_reference(CAPTURE_AS_OF)
    best, median = best_of(20, lambda: parse_capture(text, reference=reference))
    print(
        f"capture parse: best {best * 1000:.1f} ms, median {median * 1000:.1f} ms (target < 50 ms)"
    )

    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "bench.db"

        def cli_run():
            subprocess.run(
                [sys.executable, "-m", "archive_spider", "crawl", "--db", str(db), "--quiet"],
                check=True,
            )
            db.unlink()

        best, median = best_of(5, cli_run)
        print(
            f"full CLI run on the capture: best {best:.2f} s, median {median:.2f} s (target < 2 s)"
        )

        with Archive(Path(folder) / "upsert.db") as archive:
            empty = upsert_rate(archive, synthetic_posts(args.posts, "2025-11-06T00:00:00Z"))
            full = upsert_rate(archive, synthetic_posts(args.posts, "2025-11-07T00:00:00Z"))
        print(
            f"upsert {args.posts:,} posts: into an empty DB {empty:,.0f} posts/s, "
            f"into a full DB {full:,.0f} posts/s (target > 20,000 posts/s)"
        )


if __name__ == "__main__":
    main()
