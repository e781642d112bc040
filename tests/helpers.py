"""Shared test helpers: run the real command line, read an archive back, browse it in Datasette."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

from datasette.app import Datasette

from archive_spider.datasette import METADATA
from archive_spider.merge import merge

FIXTURES = Path(__file__).parent / "fixtures"
CAPTURE = FIXTURES / "netflixtechblog-home.md"


def cli_command(*args: str) -> list[str]:
    """The command line of `archive-spider ARGS` with this interpreter."""
    return [sys.executable, "-m", "archive_spider", *args]


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `archive-spider ARGS` in a fresh process, as a user or cron would."""
    return subprocess.run(
        cli_command(*args),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start_cli(*args: str) -> subprocess.Popen:
    """Start `archive-spider ARGS` in the background; its stderr is kept for a failure."""
    return subprocess.Popen(
        cli_command(*args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )


def local_crawl_args(site, db: Path, page_size: int) -> list[str]:
    """`crawl` of a local site as of its own clock, fast, `page_size` posts a listing page."""
    return [
        "crawl",
        site.url,
        "--db",
        str(db),
        "--as-of",
        site.now.isoformat(),
        *("-s", "DOWNLOAD_DELAY=0"),
        *("-s", "AUTOTHROTTLE_ENABLED=0"),
        *("-s", "ARCHIVE_RETRY_BACKOFF_BASE=0.01"),
        *("-s", f"ARCHIVE_PAGE_SIZE={page_size}"),
        "--quiet",
    ]


def query(db: Path, sql: str, *params) -> list[tuple]:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute(sql, params).fetchall()


def save_post(archive, post, crawl_id: int | None = None) -> None:
    """Merge `post` into what `archive` holds of it and commit, as a crawl does."""
    previous = archive.get(post.id)
    merged, changes = merge(previous, post)
    archive.save(merged, previous, changes, crawl_id)
    archive.commit()


def datasette_get(dbs: list[Path], path: str, headers: dict | None = None, **settings):
    """GET `path` from a fresh in-process Datasette serving `dbs` with the archive metadata
    and `settings` (e.g. base_url); redirects are not followed."""

    async def get():
        metadata = json.loads(METADATA.read_text(encoding="utf-8"))
        ds = Datasette([str(db) for db in dbs], metadata=metadata, settings=settings)
        await ds.invoke_startup()
        return await ds.client.get(path, headers=headers)

    return asyncio.run(get())


def dump(db: Path, tables=("posts", "authors", "post_authors", "post_changes")) -> dict:
    """Every row of the content tables, to compare an archive before and after a run."""
    return {table: query(db, f"SELECT * FROM {table} ORDER BY 1, 2") for table in tables}


# The fields of a post that the local Medium-like site knows exactly (`expected_posts()`).
POST_FIELDS = (
    "id",
    "url",
    "title",
    "subtitle",
    "published",
    "read_minutes",
    "image_id",
    "member_only",
    "account",
)


# ... and a local fleet of publications, which also knows each post's publication.
FLEET_POST_FIELDS = (*POST_FIELDS, "publication")


def stored_posts(db: Path, fields: tuple[str, ...] = POST_FIELDS) -> dict[str, dict]:
    """The archive's posts by id, restricted to `fields` (the first is the id)."""
    rows = query(db, f"SELECT {', '.join(fields)} FROM posts")
    return {row[0]: dict(zip(fields, row, strict=True)) for row in rows}


def expected_posts(site) -> dict[str, dict]:
    """What a complete archive of the local `site` (or fleet) holds, as stored (booleans
    as 0/1)."""
    return {
        post["id"]: {**post, "member_only": int(post["member_only"])}
        for post in site.expected_posts()
    }
