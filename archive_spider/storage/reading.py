"""Read-only access: the status of an archive, its runs per publication, and shards to merge."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

from dateutil.parser import isoparse

from ..items import Post
from .connect import BUSY_TIMEOUT_SECONDS, check_database, open_read_only
from .images import Image, image_counts, read_images
from .post_rows import SELECT_POSTS, post_from_row
from .schema import StorageError


class ShardPost(NamedTuple):
    """A post read from a shard (its `seen_at` is its `last_seen` there) and its `first_seen`."""

    post: Post
    first_seen: str


def archive_uid(conn: sqlite3.Connection) -> str:
    return conn.execute("SELECT uid FROM archive_identity").fetchone()[0]


class ShardReader:
    """A shard archive opened read-only, every read in one snapshot. Use as a context manager.

    A shard in WAL mode needs its folder writable (for the -shm file) even to be read.
    """

    def __init__(self, path: Path):
        self.conn = open_read_only(path, isolation_level=None, timeout=BUSY_TIMEOUT_SECONDS)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("BEGIN")

    def __enter__(self) -> ShardReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.conn.close()

    def schema_version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    def uid(self) -> str:
        """The shard's identity (see `archive_identity`)."""
        return archive_uid(self.conn)

    def runs(self) -> list[dict]:
        """The run rows, oldest first."""
        return [dict(row) for row in self.conn.execute("SELECT * FROM crawls ORDER BY started, id")]

    def posts(self) -> Iterator[ShardPost]:
        for row in self.conn.execute(SELECT_POSTS):
            yield ShardPost(post_from_row(row), row["first_seen"])

    def images(self) -> Iterator[Image]:
        """The shard's image rows (none before schema 6)."""
        if _has_table(self.conn, "images"):
            yield from read_images(self.conn)

    def publications(self) -> list[dict]:
        rows = self.conn.execute(
            "SELECT id, url, name, slug, domain, first_seen, last_seen FROM publications"
        )
        return [dict(row) for row in rows]


def archive_status(path: Path, runs: int = 10) -> dict:
    """What the archive holds and its recent runs, read without writing anything."""
    if not path.is_file():
        raise StorageError(f"no archive at {path}")
    check_database(path)
    with closing(open_read_only(path)) as conn:
        conn.row_factory = sqlite3.Row
        try:
            posts, newest = conn.execute("SELECT count(*), max(published) FROM posts").fetchone()
            last_ok = conn.execute(
                "SELECT max(finished) FROM crawls WHERE status = 'ok'"
            ).fetchone()[0]
            recent = conn.execute("SELECT * FROM crawls ORDER BY id DESC LIMIT ?", (runs,))
            recent = [dict(row) for row in recent]
            sitemaps = _sitemap_coverage(conn)
            outages = _last_outages(conn)
            images = image_counts(conn) if _has_table(conn, "images") else None
        except sqlite3.OperationalError as error:
            raise StorageError(f"{path} is not an archive ({error})") from error
    age = (datetime.now(timezone.utc) - isoparse(last_ok)).total_seconds() if last_ok else None
    return {
        "posts": posts,
        "newest_published": newest,
        "last_ok_finished": last_ok,
        "hours_since_last_ok": age / 3600 if age is not None else None,
        "runs": recent,
        "sitemap_days": sitemaps,
        "outages": outages,
        "images": images,
    }


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    """Whether the archive has table `name` (an archive of an older schema may not)."""
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
    return found.fetchone() is not None


def _last_outages(conn: sqlite3.Connection) -> list[dict]:
    """Per crawled source: since when the site was down in its latest run that met an outage."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(crawls)")}
    if "outage" not in columns:
        return []
    rows = conn.execute(
        "SELECT source, max(outage) AS since FROM crawls WHERE outage IS NOT NULL "
        "GROUP BY source ORDER BY source"
    )
    return [dict(row) for row in rows]


def _sitemap_coverage(conn: sqlite3.Connection) -> list[dict]:
    """Per publication: the day sitemaps its index lists, how many were ever read, the
    oldest last read (an archive from before schema 5 has none)."""
    if not _has_table(conn, "sitemap_days"):
        return []
    rows = conn.execute(
        "SELECT s.publication, p.name, count(*) AS days, count(s.read_at) AS read, "
        "min(s.read_at) AS oldest_read FROM sitemap_days s "
        "LEFT JOIN publications p ON p.id = s.publication "
        "WHERE s.day IS NOT NULL GROUP BY s.publication ORDER BY p.name, s.publication"
    )
    return [dict(row) for row in rows]


@dataclass(frozen=True)
class PublicationRuns:
    """A listed publication's runs in an archive: the last good one and the latest one."""

    url: str
    last_ok_finished: str | None
    latest_status: str | None
    latest_error: str | None


def publication_runs(path: Path, urls: list[str]) -> list[PublicationRuns]:
    """For each publication URL (normalized), its last successful run and its latest run."""
    if not path.is_file():
        raise StorageError(f"no archive at {path}")
    check_database(path)
    with closing(open_read_only(path)) as conn:
        try:
            return [_runs_of(conn, url) for url in urls]
        except sqlite3.OperationalError as error:
            raise StorageError(f"{path} is not an archive ({error})") from error


def _runs_of(conn: sqlite3.Connection, url: str) -> PublicationRuns:
    last_ok = conn.execute(
        "SELECT max(finished) FROM crawls WHERE source = ? AND status = 'ok'", (url,)
    ).fetchone()[0]
    latest = conn.execute(
        "SELECT status, error FROM crawls WHERE source = ? ORDER BY started DESC, id DESC LIMIT 1",
        (url,),
    ).fetchone()
    status, error = latest if latest else (None, None)
    return PublicationRuns(url, last_ok, status, error)


def stored_post_count(path: Path) -> int:
    """How many posts the archive at `path` holds (0 when there is no archive there)."""
    if not path.exists():
        return 0
    with closing(open_read_only(path)) as conn:
        try:
            return conn.execute("SELECT count(*) FROM posts").fetchone()[0]
        except sqlite3.OperationalError:
            return 0
