"""Print what a crawl of each real Medium page shape stores, warns about and disagrees on.

    .venv/bin/python tests/benchmarks/shapes_report.py [--posts 469]

Each shape is crawled twice through the real command line into an empty archive: a local
publication with today's homepage (post-preview cards, stub Apollo nodes), one with a 2021
homepage (no cards, full Apollo nodes), a custom-domain publication first reached at
medium.com/<slug> (the 301), an author page with personal posts, and the hand-made saved
pages of tests/fixtures/shapes. For each: the exit codes, posts stored against posts
expected (and whether every stored field is exact), the source-failed warnings, the
disagreement counts, and the rows the second run changed (none, if a rerun changes nothing).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
from contextlib import closing
from pathlib import Path

from archive_spider.testing.medium_fleet import MediumFleet
from archive_spider.testing.medium_site import MediumSite

SHAPES = Path(__file__).resolve().parent.parent / "fixtures" / "shapes"
FIELDS = ("id", "url", "title", "subtitle", "published", "read_minutes", "image_id")
FIELDS += ("member_only", "account", "publication")
SETTINGS = (
    *("-s", "DOWNLOAD_DELAY=0"),
    *("-s", "AUTOTHROTTLE_ENABLED=0"),
    *("-s", "DNS_RESOLVER=archive_spider.testing.loopback.LoopbackResolver"),
)


def crawl(url: str, db: Path, as_of: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "archive_spider", "crawl", url, "--db", str(db)]
    command += ["--as-of", as_of, *SETTINGS]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def rows(db: Path, sql: str) -> list[tuple]:
    if not db.exists():
        return []
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute(sql).fetchall()


def report(name: str, url: str, db: Path, as_of: str, expected: list[dict] | None) -> None:
    first = crawl(url, db, as_of)
    before = rows(db, "SELECT * FROM posts ORDER BY id") + rows(db, "SELECT * FROM post_changes")
    second = crawl(url, db, as_of)
    after = rows(db, "SELECT * FROM posts ORDER BY id") + rows(db, "SELECT * FROM post_changes")
    stored = {
        r[0]: dict(zip(FIELDS, r, strict=True))
        for r in rows(db, f"SELECT {', '.join(FIELDS)} FROM posts")
    }
    exact = "-"
    if expected is not None:
        want = {p["id"]: {**p, "member_only": int(p["member_only"])} for p in expected}
        exact = "yes" if stored == want else "NO"
    warnings = sum(line.startswith("warning:") for line in first.stderr.splitlines())
    checks = rows(db, "SELECT source_failures, disagreements FROM crawls ORDER BY id LIMIT 1")
    failures, disagreed = checks[0] if checks else (None, None)
    print(
        f"| {name} | {first.returncode}/{second.returncode} | {len(stored)}"
        f" | {len(expected) if expected is not None else '-'} | {exact} | {warnings}"
        f" | {failures or '-'} | {disagreed or '-'} | {len(set(after) ^ set(before))} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=469)
    args = parser.parse_args()
    print(
        "| shape | exit 1st/2nd | stored | expected | exact | warnings | sources failed"
        " | disagreements | rows the rerun changed |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for era in ("2025", "2021"):
            with MediumSite(posts=args.posts, era=era) as site:
                expected = [{**p, "publication": site.collection_id} for p in site.expected_posts()]
                report(
                    f"{era} homepage",
                    site.url,
                    folder / f"{era}.db",
                    site.now.isoformat(),
                    expected,
                )
        with MediumFleet.synthetic(count=2, posts=args.posts, seed=3, authors=1) as fleet:
            as_of = fleet.sites[0].now.isoformat()
            site = next(s for s in fleet.sites if s.domain)
            expected = [p for p in fleet.expected_posts() if p["publication"] == site.collection_id]
            report(
                "medium.com/<slug> -> 301",
                fleet.medium_url(site),
                folder / "moved.db",
                as_of,
                expected,
            )
            (author,) = fleet.authors
            report(
                "author page",
                fleet.author_url(author),
                folder / "author.db",
                as_of,
                author.expected_posts(),
            )
        saved = json.loads((SHAPES / "EXPECTED.json").read_text(encoding="utf-8"))
        for path in sorted(SHAPES.glob("*.*")):
            if path.suffix not in (".html", ".md") or path.name == "README.md":
                continue
            expected = saved.get(path.name, {}).get("posts")
            if expected and "published_text" in expected[0]:
                expected = None  # dates from card text: compared in tests/test_page_shapes.py
            report(
                f"saved {path.name}",
                str(path),
                folder / f"{path.stem}.db",
                "2025-11-06T12:00:00Z",
                expected,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
