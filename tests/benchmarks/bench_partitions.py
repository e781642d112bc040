"""Print the speed of a partitioned crawl: one process over a list against N parts at once.

    .venv/bin/python tests/benchmarks/bench_partitions.py [--publications 30]
        [--posts 20 60] [--delay 0.02] [--parts 3] [--seed 0]

A `MediumFleet` of `--publications` synthetic publications (half on medium.test, half on
custom domains) is served from this process. Both runs are first, full crawls into empty
archives, through the real command line, at the SAME politeness budget: `--delay` is the
DOWNLOAD_DELAY of the whole fleet (1/delay requests per second to "Medium").

(a) one `archive-spider crawl --publications` process over the whole list;
(b) `--parts` processes at once, `--part i/N` each into its own shard, every one given the
    same `-s DOWNLOAD_DELAY` (each multiplies it by N itself, taking 1/N of the budget);
then `archive-spider merge` of the shards into one archive, timed twice (into an empty
archive, then again into the full one).

For each run: wall time (first start to last exit), publications and posts per minute, the
requests the fleet answered, the peak rate over 1 s and 2 s windows and the mean rate, set
against the budget. No figure is asserted: the machine's load skews them (printed). The
parts' sizes vary from one run to the next: the fleet's port is in every URL, and so in the
hash that assigns each publication its part.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, closing
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from archive_spider.testing.medium_fleet import MediumFleet

SETTINGS = (
    *("-s", "AUTOTHROTTLE_ENABLED=0"),
    *("-s", "DNS_RESOLVER=archive_spider.testing.loopback.LoopbackResolver"),
    *("-s", "DOWNLOAD_TIMEOUT=10"),
    *("-s", "ARCHIVE_RETRY_BACKOFF_BASE=0.01"),
)


@dataclass
class Process:
    """One finished crawl or merge process: exit code, wall and CPU seconds, stdout/stderr."""

    label: str
    returncode: int
    seconds: float
    cpu: float
    stdout: str
    stderr: str


def run_together(commands: dict[str, list[str]]) -> tuple[float, list[Process]]:
    """Start `commands` at once and wait for all: the wall time from the first start to the
    last exit, and each process (its own wall time and CPU, from os.wait4)."""
    with ExitStack() as files:
        running: dict[int, tuple[str, subprocess.Popen, IO[str], IO[str]]] = {}
        start = time.perf_counter()
        for label, command in commands.items():
            out = files.enter_context(tempfile.TemporaryFile("w+"))
            err = files.enter_context(tempfile.TemporaryFile("w+"))
            process = subprocess.Popen(command, stdout=out, stderr=err)
            running[process.pid] = (label, process, out, err)
        done = []
        while running:
            pid, status, usage = os.wait4(-1, 0)
            if pid not in running:
                continue
            label, process, out, err = running.pop(pid)
            process.returncode = os.waitstatus_to_exitcode(status)
            seconds = time.perf_counter() - start
            out.seek(0)
            err.seek(0)
            cpu = usage.ru_utime + usage.ru_stime
            done.append(Process(label, process.returncode, seconds, cpu, out.read(), err.read()))
        return time.perf_counter() - start, done


def checked(processes: list[Process]) -> None:
    for process in processes:
        if process.returncode != 0:
            sys.exit(f"{process.label} exited {process.returncode}:\n{process.stderr[-3000:]}")


def crawl_command(listed: Path, db: Path, as_of: str, delay: float, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "archive_spider",
        "crawl",
        "--publications",
        str(listed),
        "--db",
        str(db),
        "--as-of",
        as_of,
        "--quiet",
        *("-s", f"DOWNLOAD_DELAY={delay}"),
        *SETTINGS,
        *extra,
    ]


def count(db: Path, sql: str) -> int:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute(sql).fetchone()[0]


def report(
    label: str,
    fleet: MediumFleet,
    wall: float,
    processes: list[Process],
    shards: dict[str, Path],
    delay: float,
) -> dict:
    """Print and return the figures of one run (the fleet's log holds only its requests);
    `shards` are the archives the processes wrote, by process label."""
    requests = fleet.requests
    budget = 1 / delay
    ok = {
        label: count(db, "SELECT count(DISTINCT source) FROM crawls WHERE status = 'ok'")
        for label, db in shards.items()
    }
    stored = {label: count(db, "SELECT count(*) FROM posts") for label, db in shards.items()}
    publications, posts = sum(ok.values()), sum(stored.values())
    figures = {
        "wall": wall,
        "publications": publications,
        "posts": posts,
        "publications_per_min": publications / wall * 60,
        "posts_per_min": posts / wall * 60,
        "requests": len(requests),
        "peak_1s": fleet.max_rate(1.0, requests),
        "peak_2s": fleet.max_rate(2.0, requests),
        "mean": fleet.mean_rate(requests),
        "cpu": sum(process.cpu for process in processes),
    }
    print(f"\n{label}")
    for process in sorted(processes, key=lambda p: p.label):
        print(
            f"   {process.label}: {ok[process.label]} publications, "
            f"{stored[process.label]:,} posts in {process.seconds:.1f} s "
            f"(CPU {process.cpu:.1f} s)"
        )
    print(
        f"   wall {wall:.1f} s; {publications} publications ok "
        f"({figures['publications_per_min']:.1f}/min), {posts:,} posts "
        f"({figures['posts_per_min']:,.0f}/min)"
    )
    print(
        f"   {len(requests):,} requests; rate peak {figures['peak_1s']:.1f}/s (1 s window), "
        f"{figures['peak_2s']:.1f}/s (2 s), mean {figures['mean']:.1f}/s, against a budget of "
        f"{budget:.1f}/s (mean at {figures['mean'] / budget:.0%} of it)"
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--publications", type=int, default=30)
    parser.add_argument("--posts", type=int, nargs=2, default=(20, 60), metavar=("LEAST", "MOST"))
    parser.add_argument(
        "--delay", type=float, default=0.02, help="DOWNLOAD_DELAY: the budget of the fleet"
    )
    parser.add_argument("--parts", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the start")
    fleet = MediumFleet.synthetic(args.publications, posts=tuple(args.posts), seed=args.seed)
    with fleet, tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        listed = folder / "publications.csv"
        fleet.write_publications_csv(listed)
        expected = len(fleet.expected_posts())
        as_of = fleet.sites[0].now.isoformat()
        print(
            f"fleet: {args.publications} publications, {expected:,} posts "
            f"({args.posts[0]}-{args.posts[1]} each); budget DOWNLOAD_DELAY={args.delay} "
            f"= {1 / args.delay:.0f} requests/s for the whole fleet"
        )

        # (a) One process over the whole list.
        fleet.reset_log()
        single = folder / "single.db"
        command = crawl_command(listed, single, as_of, args.delay)
        wall, processes = run_together({"single": command})
        checked(processes)
        one = report(
            "(a) one process, the whole list",
            fleet,
            wall,
            processes,
            {"single": single},
            args.delay,
        )

        # (b) N partitions at once, each at 1/N of the budget (they multiply the delay).
        fleet.reset_log()
        shards = {
            f"part {part}/{args.parts}": folder / f"shard-{part}.db"
            for part in range(1, args.parts + 1)
        }
        commands = {
            label: crawl_command(listed, shard, as_of, args.delay, "--part", label.split()[1])
            for label, shard in shards.items()
        }
        wall, processes = run_together(commands)
        checked(processes)
        many = report(
            f"(b) {args.parts} partitions at once, the same budget",
            fleet,
            wall,
            processes,
            shards,
            args.delay,
        )

        # The merge of the shards, into an empty archive, then again into the full one.
        merged = folder / "archive.db"
        command = [sys.executable, "-m", "archive_spider", "merge", *map(str, shards.values())]
        merges = []
        for label in ("first merge (empty archive)", "second merge (same shards again)"):
            wall, processes = run_together({label: [*command, "--into", str(merged)]})
            checked(processes)
            merges.append(wall)
            summary = processes[0].stdout.strip().splitlines()[-1:] or [""]
            print(f"\n{label}: {wall:.2f} s wall (process start included): {summary[0]}")
        stored = count(merged, "SELECT count(*) FROM posts")
        print(
            f"   merged archive: {stored:,} posts (fleet: {expected:,}; single run: "
            f"{one['posts']:,}; shards: {many['posts']:,})"
        )

    print(f"\nload average {os.getloadavg()[0]:.2f} at the end (other work skews every figure)")
    rows = [
        ("wall time", f"{one['wall']:.1f} s", f"{many['wall']:.1f} s"),
        (
            "publications/min",
            f"{one['publications_per_min']:.1f}",
            f"{many['publications_per_min']:.1f}",
        ),
        ("posts/min", f"{one['posts_per_min']:,.0f}", f"{many['posts_per_min']:,.0f}"),
        ("requests", f"{one['requests']:,}", f"{many['requests']:,}"),
        ("peak rate, 1 s window", f"{one['peak_1s']:.1f}/s", f"{many['peak_1s']:.1f}/s"),
        ("peak rate, 2 s window", f"{one['peak_2s']:.1f}/s", f"{many['peak_2s']:.1f}/s"),
        ("mean rate", f"{one['mean']:.1f}/s", f"{many['mean']:.1f}/s"),
        ("budget", f"{1 / args.delay:.1f}/s", f"{1 / args.delay:.1f}/s"),
        ("crawl CPU (all processes)", f"{one['cpu']:.1f} s", f"{many['cpu']:.1f} s"),
        ("merge of the shards", "", f"{merges[0]:.2f} s, again {merges[1]:.2f} s"),
    ]
    header = ("figure", "one process", f"{args.parts} partitions")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
    for index, row in enumerate([header, *rows]):
        print(f"{row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:>{widths[2]}}".rstrip())
        if index == 0:
            print("  ".join("-" * width for width in widths))


if __name__ == "__main__":
    main()
