"""Run rows, publications and merges: what each crawl and merge did, recorded in the archive."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from functools import cached_property

import sqlite_utils
from dateutil.parser import isoparse

from .schema import CRAWL_COUNTS

_UPSERT_PUBLICATION = """
INSERT INTO publications (id, url, name, slug, domain, first_seen, last_seen)
VALUES (:id, :url, :name, :slug, :domain, :first_seen, :seen)
ON CONFLICT(id) DO UPDATE SET url = CASE WHEN :crawled THEN excluded.url ELSE url END,
  name = CASE WHEN :crawled THEN coalesce(excluded.name, name) ELSE coalesce(name, excluded.name)
  END, slug = excluded.slug, domain = excluded.domain,
  first_seen = min(first_seen, excluded.first_seen),
  last_seen = max(last_seen, excluded.last_seen)
"""
_CRAWL_COLUMNS = {
    "finished",
    "status",
    "error",
    "publication",
    "walk_complete",
    "source_failures",
    "disagreements",
    "outage",
    "images",
    *CRAWL_COUNTS,
}
ABANDONED = "the run ended without finishing (killed or crashed)"
# Columns of a run row that say where a copied row came from, not what the run did.
_RUN_PROVENANCE = {"id", "shard", "shard_uid", "shard_crawl_id"}
_RECORD_MERGE = """
INSERT INTO merges (shard, shard_uid, path, started, finished, status, runs_copied, posts_new,
  posts_updated, posts_unchanged, skipped, error)
VALUES (:shard, :shard_uid, :path, :now, :now, :status, :runs_copied, :posts_new,
  :posts_updated, :posts_unchanged, :skipped, :error)
"""


class RunRecords:
    """The run, publication and merge rows of an Archive (which gives `conn`, `db`, `begin`
    and `commit`)."""

    conn: sqlite3.Connection
    db: sqlite_utils.Database

    def begin_crawl(
        self, *, source: str, started: str, as_of: str | None, part: str | None = None
    ) -> int:
        """Record a run as "running" and commit it, so even a killed run leaves its row."""
        self.begin()
        cursor = self.conn.execute(
            "INSERT INTO crawls (started, source, as_of, status, part) "
            "VALUES (?, ?, ?, 'running', ?)",
            (started, source, as_of, part),
        )
        self.commit()
        return cursor.lastrowid

    def close_abandoned_runs(self, finished: str) -> int:
        """Mark runs left "running" by a process that died as interrupted.

        Only call this while holding the archive's lock: then no live run can be "running".
        """
        self.begin()
        cursor = self.conn.execute(
            "UPDATE crawls SET status = 'interrupted', error = ?, finished = ? "
            "WHERE status = 'running' AND shard IS NULL",
            (ABANDONED, finished),
        )
        self.commit()
        return cursor.rowcount

    def update_crawl(self, crawl_id: int, **values: object) -> None:
        """Set columns of a run row (inside the current transaction, if any)."""
        unknown = set(values) - _CRAWL_COLUMNS
        if unknown:
            raise ValueError(f"unknown crawl columns: {sorted(unknown)}")
        assignments = ", ".join(f"{name} = :{name}" for name in values)
        self.begin()
        self.conn.execute(
            f"UPDATE crawls SET {assignments} WHERE id = :crawl_id",
            {**values, "crawl_id": crawl_id},
        )

    def walk_completed(self, publication: str) -> bool:
        """True once some run has walked the publication's whole listing."""
        row = self.conn.execute(
            "SELECT 1 FROM crawls WHERE publication = ? AND walk_complete = 1 LIMIT 1",
            (publication,),
        ).fetchone()
        return row is not None

    def last_walk_started(self, publication: str) -> datetime | None:
        """When the latest run that walked the publication's whole listing and ended
        (ok or partial) started: a killed run may not have read its sitemaps."""
        row = self.conn.execute(
            "SELECT max(started) FROM crawls WHERE publication = ? AND walk_complete = 1 "
            "AND status IN ('ok', 'partial')",
            (publication,),
        ).fetchone()
        return isoparse(row[0]) if row[0] else None

    def crawls(self, limit: int = 10) -> list[dict]:
        rows = self.conn.execute("SELECT * FROM crawls ORDER BY id DESC LIMIT ?", (limit,))
        return [dict(row) for row in rows]

    def save_publication(
        self,
        *,
        id: str,
        url: str,
        name,
        slug,
        domain,
        seen: str,
        first_seen: str | None = None,
        crawled: bool = True,
    ) -> None:
        """Record a publication (its Medium collection id) and the URL it is crawled from.

        A publication only seen on another page (`crawled=False`, for example on an author's
        page) keeps the URL and name its own walk gave it. A merge passes the publication's
        `first_seen` in the shard.
        """
        self.begin()
        self.conn.execute(
            _UPSERT_PUBLICATION,
            {
                "id": id,
                "url": url,
                "name": name,
                "slug": slug,
                "domain": domain,
                "seen": seen,
                "first_seen": min(first_seen or seen, seen),
                "crawled": crawled,
            },
        )

    @cached_property
    def _copy_run_sql(self) -> str:
        columns = [c.name for c in self.db["crawls"].columns if c.name not in _RUN_PROVENANCE]
        return (
            "INSERT INTO crawls ({cols}, shard, shard_uid, shard_crawl_id) "
            "VALUES ({marks}, :shard, :shard_uid, :id) "
            "ON CONFLICT (shard_uid, shard_crawl_id) DO UPDATE SET {updates}, shard = :shard "
            "RETURNING id"
        ).format(
            cols=", ".join(columns),
            marks=", ".join(f":{name}" for name in columns),
            updates=", ".join(f"{name} = excluded.{name}" for name in columns),
        )

    def copy_run(self, run: dict, shard: str, shard_uid: str) -> int:
        """Upsert a run row read from a shard (its file name and identity), keyed on the
        shard's identity and the row's `id` there: the row's id in this archive."""
        self.begin()
        values = {**run, "shard": shard, "shard_uid": shard_uid}
        return self.conn.execute(self._copy_run_sql, values).fetchone()[0]

    def record_merge(
        self,
        *,
        shard: str,
        shard_uid: str | None,
        path: str,
        status: str,
        now: str,
        runs_copied: int,
        posts_new: int,
        posts_updated: int,
        posts_unchanged: int,
        skipped: list[dict],
        error: str | None,
    ) -> None:
        """Add the `merges` row of a shard, started and finished `now`, to the transaction."""
        self.begin()
        self.conn.execute(
            _RECORD_MERGE,
            {
                "shard": shard,
                "shard_uid": shard_uid,
                "path": path,
                "status": status,
                "now": now,
                "runs_copied": runs_copied,
                "posts_new": posts_new,
                "posts_updated": posts_updated,
                "posts_unchanged": posts_unchanged,
                "skipped": json.dumps(skipped),
                "error": error,
            },
        )
