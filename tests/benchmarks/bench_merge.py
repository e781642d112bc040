"""Print the speed of merging shards: a first merge into an empty archive, then a second one.

    .venv/bin/python tests/benchmarks/bench_merge.py [--posts 100000] [--shards 3]

Each shard holds one publication's share of the posts. Target: thousands of posts/s.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench_archive import synthetic_post

from archive_spider.shards import merge_shards
from archive_spider.storage import Archive

SEEN = "2025-11-06T00:00:00Z"
FINISHED = "2025-11-06T01:00:00Z"


def build_shard(path: Path, number: int, posts: range) -> None:
    """A shard of one publication: one finished run and its posts."""
    publication = f"{number:012x}"
    home = f"https://medium.com/publication-{number}"
    with Archive(path) as archive:
        crawl_id = archive.begin_crawl(source=home, started=SEEN, as_of=SEEN)
        archive.save_publication(
            id=publication,
            url=home,
            name=f"Publication {number}",
            slug=None,
            domain=None,
            seen=SEEN,
        )
        for index in posts:
            post = synthetic_post(index, SEEN, home, publication)
            archive.save(post, None, [], crawl_id)
        archive.update_crawl(
            crawl_id, status="ok", finished=FINISHED, publication=publication, posts_new=len(posts)
        )
        archive.commit()


def timed_merge(shards: list[Path], into: Path, now: str) -> tuple[float, str]:
    start = time.perf_counter()
    report = merge_shards(shards, into, now=now)
    return time.perf_counter() - start, report.summary()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--shards", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        shards = [Path(folder) / f"node{number}.db" for number in range(1, args.shards + 1)]
        start = time.perf_counter()
        for number, path in enumerate(shards, start=1):
            build_shard(path, number, range(number - 1, args.posts, args.shards))
        built = time.perf_counter() - start
        print(f"built {args.shards} shards of {args.posts:,} posts in {built:.1f} s")

        into = Path(folder) / "archive.db"
        for label, now in (
            ("first merge", "2025-11-07T00:00:00Z"),
            ("second merge", "2025-11-08T00:00:00Z"),
        ):
            seconds, summary = timed_merge(shards, into, now)
            print(f"{label}: {seconds:.1f} s, {args.posts / seconds:,.0f} posts/s ({summary})")


if __name__ == "__main__":
    main()
