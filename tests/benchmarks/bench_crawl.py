"""Print crawl speed and memory figures: a live crawl of a local MediumSite beside `scrapy bench`.

    .venv/bin/python tests/benchmarks/bench_crawl.py [--posts 10000] [--big-posts 100000]
        [--skip-big] [--skip-bench] [--profile] [--crawl-setting NAME=VALUE ...]

1. A first, full crawl of a `--posts` MediumSite with throttling off, through the CLI in a
   subprocess. Pages are the HTTP responses the site sent (its request log): robots.txt,
   the homepage, the GraphQL listing pages, the sitemap index and its children (one per
   publishing day, fetched on a first walk) and the RSS feed. Also the crawl's own figures
   (its `crawls` row: pages it stored, posts, start and finish to the second).
2. `scrapy bench` (10 s) on this machine, with Scrapy's default reactor (asyncio) and with
   the one this project uses (TWISTED_REACTOR = None: Twisted's epoll reactor), run outside
   the project folder so the project's polite settings (1 s delay) do not apply to it.
   The fair comparison is the epoll one: same reactor, so the ratio measures our per-page
   cost against bare Scrapy's (bench follows 16 links at a time, we fetch one at a time;
   both are CPU-bound here). Our rate is over wall time, process start included.
3. The peak RSS of a `--big-posts` crawl; the site runs in a process of its own
   (`python -m archive_spider.testing.medium_site`), so its memory is not counted.

Targets: pages/s at least 0.7 x scrapy bench's; peak RSS of a 100,000-post crawl < 300 MB.
"""

from __future__ import annotations

import argparse
import os
import pstats
import re
import resource
import select
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from scrapy.settings import default_settings

from archive_spider.sources import graphql
from archive_spider.testing.medium_site import DEFAULT_NOW, MediumSite

ROOT = Path(__file__).resolve().parents[2]
SCRAPY = Path(sys.executable).with_name("scrapy")
FAST = ("-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0")
BENCH_SECONDS = 10
SITE_STARTUP_LIMIT = 30.0  # seconds a 100,000-post site may take to listen
RATIO_TARGET = 0.7
RSS_TARGET_MB = 300


@dataclass
class Run:
    """A finished subprocess: exit code, wall and CPU seconds, peak RSS (MB), its output."""

    returncode: int
    seconds: float
    cpu: float
    max_rss_mb: float
    stdout: str
    stderr: str


def run_measured(command: list[str], *, cwd=None, env=None) -> Run:
    """Run `command`, timing it and reading the peak RSS of that one process (os.wait4), so
    neither this script nor other children (a site, scrapy bench) are counted."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, cwd=cwd, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        cpu = usage.ru_utime + usage.ru_stime
        return Run(process.returncode, seconds, cpu, usage.ru_maxrss / 1024, out.read(), err.read())


def crawl_command(url: str, db: Path, as_of: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "archive_spider",
        "crawl",
        url,
        "--db",
        str(db),
        "--as-of",
        as_of,
        *FAST,
        "--quiet",
        *extra,
    ]


def checked(run: Run, what: str) -> Run:
    if run.returncode != 0:
        sys.exit(f"{what} exited {run.returncode}:\n{run.stderr[-3000:]}")
    return run


def crawl_row(db: Path) -> dict:
    """The run's own record: its `crawls` row (started and finished are whole seconds)."""
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        row = dict(conn.execute("SELECT * FROM crawls ORDER BY id DESC LIMIT 1").fetchone())
        row["posts"] = conn.execute("SELECT count(*) FROM posts").fetchone()[0]
    finally:
        conn.close()
    started, finished = (
        datetime.fromisoformat(row[k].replace("Z", "+00:00")) for k in ("started", "finished")
    )
    row["seconds"] = (finished - started).total_seconds()
    return row


def request_kind(method: str, path: str, operation: str | None) -> str:
    if method == "POST":
        if operation in (graphql.PUBLICATION_POSTS, graphql.HOMEPAGE_POSTS):
            return "listing pages"
        return "posts by id" if operation == graphql.POST_BY_ID else "other"
    path = urlsplit(path).path
    if path == "/sitemap/sitemap.xml":
        return "sitemap index"
    if path.startswith("/sitemap/"):
        return "sitemap children"
    return {"/robots.txt": "robots.txt", "/": "homepage", "/feed": "feed"}.get(path, "other")


def per_second(count: float, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("nan")


# 1. A full crawl of a MediumSite --------------------------------------------------------------


def bench_live(posts: int, seed: int, folder: Path, extra: list[str]) -> dict:
    start = time.perf_counter()
    site = MediumSite(posts=posts, seed=seed).start()
    startup = time.perf_counter() - start
    try:
        db = folder / "live.db"
        before = resource.getrusage(resource.RUSAGE_SELF)
        command = crawl_command(site.url, db, site.now.isoformat(), *extra)
        run = checked(run_measured(command), "crawl")
        after = resource.getrusage(resource.RUSAGE_SELF)
        log = site.requests
    finally:
        site.stop()
    kinds = Counter(request_kind(r.method, r.path, r.operation) for r in log)
    statuses = Counter(r.status for r in log)
    own = crawl_row(db)
    print(f"\n1. full first crawl of a {posts:,}-post MediumSite (site ready in {startup:.2f} s)")
    print(
        f"   wall {run.seconds:.2f} s (process start to exit), crawl's own {own['seconds']:.0f} s "
        f"(its crawls row, whole seconds), peak RSS {run.max_rss_mb:.0f} MB"
    )
    site_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    print(
        f"   CPU: crawl process {run.cpu:.1f} s ({run.cpu / run.seconds:.0%} of wall), "
        f"site (this process) {site_cpu:.1f} s, on {os.cpu_count()} CPUs"
    )
    breakdown = ", ".join(f"{kind} {count:,}" for kind, count in kinds.most_common())
    print(f"   requests answered: {len(log):,} ({breakdown}); statuses {dict(statuses)}")
    print(
        f"   crawl's own figures: pages {own['pages']:,} (homepage + listing pages), "
        f"renderings {own['renderings']:,}, posts new {own['posts_new']:,}, "
        f"stored {own['posts']:,}, status {own['status']}"
    )
    result = {
        "posts": posts,
        "wall": run.seconds,
        "own_seconds": own["seconds"],
        "requests": len(log),
        "listing": kinds["listing pages"],
        "sitemap_children": kinds["sitemap children"],
        "own_pages": own["pages"],
        "stored": own["posts"],
        "rss": run.max_rss_mb,
        "cpu": run.cpu,
    }
    result["pages_per_s"] = per_second(len(log), run.seconds)
    result["listing_per_s"] = per_second(kinds["listing pages"], run.seconds)
    result["posts_per_s"] = per_second(own["posts"], run.seconds)
    print(
        f"   all requests {result['pages_per_s']:.1f}/s, listing pages "
        f"{result['listing_per_s']:.1f}/s, posts {result['posts_per_s']:,.0f}/s (wall); "
        f"requests {per_second(len(log), own['seconds']):.1f}/s, "
        f"posts {per_second(own['posts'], own['seconds']):,.0f}/s (crawl's own time)"
    )
    return result


# 2. scrapy bench --------------------------------------------------------------------------


def scrapy_bench(reactor: str | None, folder: Path) -> dict:
    """`scrapy bench` outside any Scrapy project; `reactor` None keeps Scrapy's default."""
    command = [
        str(SCRAPY),
        "bench",
        "-s",
        f"CLOSESPIDER_TIMEOUT={BENCH_SECONDS}",
        "-s",
        "LOG_LEVEL=INFO",
    ]
    if reactor is not None:
        command += ["-s", f"TWISTED_REACTOR={reactor}"]
    env = {
        k: v for k, v in os.environ.items() if k not in ("SCRAPY_SETTINGS_MODULE", "SCRAPY_PROJECT")
    }
    run = checked(run_measured(command, cwd=folder, env=env), "scrapy bench")
    responses = re.search(r"'downloader/response_count': (\d+)", run.stderr)
    elapsed = re.search(r"'elapsed_time_seconds': ([\d.]+)", run.stderr)
    crawled = re.findall(r"Crawled (\d+) pages \(at (\d+) pages/min\)", run.stderr)
    if not (responses and elapsed and crawled):
        sys.exit(f"cannot read scrapy bench's stats:\n{run.stderr[-3000:]}")
    count, seconds = int(responses[1]), float(elapsed[1])
    name = reactor or default_settings.TWISTED_REACTOR
    result = {
        "reactor": "epoll (TWISTED_REACTOR=)" if reactor == "" else name.rsplit(".", 1)[-1],
        "responses": count,
        "seconds": seconds,
        "pages_per_s": count / seconds,
        "last_line": f"Crawled {crawled[-1][0]} pages (at {crawled[-1][1]} pages/min)",
    }
    print(
        f"   {result['reactor']}: {count:,} responses in {seconds:.2f} s = "
        f"{result['pages_per_s']:.1f} pages/s; last line: {result['last_line']}"
    )
    return result


# 3. Peak memory of a big crawl -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_site_process(posts: int, seed: int) -> tuple[subprocess.Popen, str, float]:
    """A MediumSite in its own process: the process, its URL, seconds until it listened."""
    command = [
        sys.executable,
        "-m",
        "archive_spider.testing.medium_site",
        "--posts",
        str(posts),
        "--seed",
        str(seed),
        "--port",
        str(free_port()),
    ]
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    ready, _, _ = select.select([process.stdout], [], [], SITE_STARTUP_LIMIT)
    url = process.stdout.readline().strip() if ready else ""
    if not url.startswith("http"):
        process.kill()
        process.wait()
        sys.exit(f"the {posts:,}-post site did not start within {SITE_STARTUP_LIMIT:.0f} s")
    return process, url, time.perf_counter() - start


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bench_big(posts: int, seed: int, folder: Path, extra: list[str]) -> dict:
    site, url, startup = start_site_process(posts, seed)
    try:
        site_rss = rss_mb(site.pid)
        db = folder / "big.db"
        # --log-level INFO: the site's request log is in its own process, so the response
        # count comes from Scrapy's stats dump instead.
        command = crawl_command(url, db, DEFAULT_NOW.isoformat(), "--log-level", "INFO", *extra)
        run = checked(run_measured(command), "big crawl")
    finally:
        site.terminate()
        site.wait()
    own = crawl_row(db)
    responses = re.search(r"'downloader/response_count': (\d+)", run.stderr)
    elapsed = re.search(r"'elapsed_time_seconds': ([\d.]+)", run.stderr)
    count = int(responses[1]) if responses else 0
    result = {
        "posts": posts,
        "startup": startup,
        "site_rss": site_rss,
        "wall": run.seconds,
        "rss": run.max_rss_mb,
        "stored": own["posts"],
        "responses": count,
        "posts_per_s": per_second(own["posts"], run.seconds),
        "pages_per_s": per_second(count, run.seconds),
    }
    print(
        f"\n3. full first crawl of a {posts:,}-post MediumSite in its own process "
        f"(ready in {startup:.2f} s, site RSS {site_rss:.0f} MB, not counted)"
    )
    print(
        f"   crawl process peak RSS {run.max_rss_mb:.0f} MB; wall {run.seconds:.1f} s, "
        f"Scrapy's elapsed {float(elapsed[1]) if elapsed else float('nan'):.1f} s; "
        f"{count:,} responses ({result['pages_per_s']:.1f}/s), crawl's own pages "
        f"{own['pages']:,}, stored {own['posts']:,} posts ({result['posts_per_s']:,.0f}/s), "
        f"status {own['status']}"
    )
    return result


# Profile ----------------------------------------------------------------------------------


# Scrapy functions that cost per response rather than per byte: (path suffix, function).
SCRAPY_HOT_SPOTS = {
    "is_generator_with_return_value: a callback's source re-parsed for every response "
    "(WARN_ON_GENERATOR_RETURN_VALUE)": ("scrapy/utils/misc.py", "is_generator_with_return_value"),
    "Cooperator.coiterate: CONCURRENT_ITEMS item workers started for every response "
    "(setup only; running them costs more)": ("twisted/internet/task.py", "coiterate"),
}


def profile_crawl(posts: int, seed: int, folder: Path, extra: list[str], top: int = 5) -> None:
    """cProfile a full crawl; print archive_spider's costliest functions and Scrapy's
    per-response overheads. Entry points (cumulative > half the run) and module imports
    are left out."""
    profile = folder / "crawl.prof"
    with MediumSite(posts=posts, seed=seed) as site:
        command = crawl_command(site.url, folder / "profiled.db", site.now.isoformat(), *extra)
        command[1:3] = ["-m", "cProfile", "-o", str(profile), "-m", "archive_spider"]
        run = checked(run_measured(command), "profiled crawl")
    stats = pstats.Stats(str(profile)).stats  # type: ignore[attr-defined]
    total = max(value[3] for value in stats.values())
    ours = [
        (key, value)
        for key, value in stats.items()
        if key[0].startswith(str(ROOT / "archive_spider"))
        and "/testing/" not in key[0]
        and key[2] != "<module>"  # imports: mostly Scrapy's, once per run
        and value[3] < total / 2
    ]
    print(
        f"\nprofile of a {posts:,}-post crawl: {run.seconds:.1f} s under cProfile, "
        f"{total:.1f} s profiled"
    )
    for title, index in (("own time", 2), ("cumulative time", 3)):
        print(f"   top {top} of archive_spider by {title}:")
        for (path, line, name), value in sorted(ours, key=lambda kv: -kv[1][index])[:top]:
            where = f"{Path(path).relative_to(ROOT)}:{line}"
            print(
                f"     {value[index]:6.2f} s {value[index] / total:6.1%} "
                f"{value[1]:>10,} calls  {name} ({where})"
            )
    print("   Scrapy's per-response overheads (cumulative):")
    for label, (suffix, function) in SCRAPY_HOT_SPOTS.items():
        found = [v for k, v in stats.items() if k[0].endswith(suffix) and k[2] == function]
        seconds = sum(v[3] for v in found)
        calls = sum(v[1] for v in found)
        print(f"     {seconds:6.2f} s {seconds / total:6.1%} {calls:>10,} calls  {label}")


# Summary ----------------------------------------------------------------------------------


def table(rows: list[tuple[str, str, str]]) -> str:
    header = ("figure", "value", "target")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
    lines = [
        f"{row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:<{widths[2]}}".rstrip()
        for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=10_000, help="posts of the speed crawl")
    parser.add_argument("--big-posts", type=int, default=100_000, help="posts of the RSS crawl")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-big", action="store_true", help="no big crawl")
    parser.add_argument("--skip-bench", action="store_true", help="no scrapy bench")
    parser.add_argument("--profile", action="store_true", help="also cProfile a --posts crawl")
    parser.add_argument(
        "--crawl-setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an extra Scrapy setting for our crawls (repeatable), e.g. CONCURRENT_ITEMS=1",
    )
    args = parser.parse_args()
    extra = [part for setting in args.crawl_setting for part in ("-s", setting)]

    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the start")
    rows = []
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        live = bench_live(args.posts, args.seed, folder, extra)
        rows += [
            (f"{args.posts:,}-post crawl: wall time", f"{live['wall']:.2f} s", ""),
            ("  crawl's own time (whole seconds)", f"{live['own_seconds']:.0f} s", ""),
            (
                "  requests answered (sitemap children)",
                f"{live['requests']:,} ({live['sitemap_children']:,})",
                "",
            ),
            ("  pages/s, all requests (wall)", f"{live['pages_per_s']:.1f}", ""),
            ("  listing pages/s (wall)", f"{live['listing_per_s']:.1f}", ""),
            ("  posts/s (wall)", f"{live['posts_per_s']:,.0f}", ""),
            ("  crawl process CPU", f"{live['cpu']:.1f} s", ""),
            ("  peak RSS", f"{live['rss']:.0f} MB", ""),
        ]

        if not args.skip_bench:
            print(f"\n2. scrapy bench ({BENCH_SECONDS} s each, outside the project folder)")
            for reactor in (None, ""):
                bench = scrapy_bench(reactor, folder)
                ratio = live["pages_per_s"] / bench["pages_per_s"]
                fair = ", fair: same reactor" if reactor == "" else ""
                rows += [
                    (
                        f"scrapy bench, {bench['reactor']}: pages/s",
                        f"{bench['pages_per_s']:.1f}",
                        "",
                    ),
                    (
                        f"  ratio ours (wall) / bench{fair}",
                        f"{ratio:.2f}",
                        f">= {RATIO_TARGET} {verdict(ratio >= RATIO_TARGET)}",
                    ),
                ]

        if not args.skip_big:
            big = bench_big(args.big_posts, args.seed, folder, extra)
            rows += [
                (
                    f"{args.big_posts:,}-post site startup",
                    f"{big['startup']:.1f} s",
                    f"< {SITE_STARTUP_LIMIT:.0f} s",
                ),
                (
                    f"{args.big_posts:,}-post crawl: peak RSS",
                    f"{big['rss']:.0f} MB",
                    f"< {RSS_TARGET_MB} MB {verdict(big['rss'] < RSS_TARGET_MB)}",
                ),
                ("  wall time", f"{big['wall']:.1f} s", ""),
                ("  posts/s (wall)", f"{big['posts_per_s']:,.0f}", ""),
                ("  pages/s, all responses (wall)", f"{big['pages_per_s']:.1f}", ""),
            ]

        if args.profile:
            profile_crawl(args.posts, args.seed, folder, extra)

    print(f"\nload average {os.getloadavg()[0]:.2f} at the end (other work skews every figure)")
    print(table(rows))


if __name__ == "__main__":
    main()
