"""The archive database: schema, migrations, reads and writes. The only module with SQL.

One writer at a time: every write happens inside `BEGIN IMMEDIATE`, so a read-then-write
never races another connection, and a page of posts is committed as one transaction.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, fields
from datetime import date, datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import NamedTuple

import sqlite_utils
from dateutil.parser import isoparse

from .dates import format_instant
from .items import Post
from .merge import Change

# `PRAGMA application_id` marks a database as ours ("ArSp"); `user_version` is its schema.
APPLICATION_ID = 0x41725370
SCHEMA_VERSION = 5
BUSY_TIMEOUT_SECONDS = 30

_POST_COLUMNS = [f.name for f in fields(Post) if f.name != "seen_at"]
# `first_seen` keeps the earliest sighting (a merged shard may know an older one); `shard`
# names the shard a merge last wrote the post from (NULL: written by a crawl of this file).
_UPSERT_POST = """
INSERT INTO posts ({cols}, first_seen, last_seen, shard)
VALUES ({marks}, :first_seen, :seen, :shard)
ON CONFLICT(id) DO UPDATE SET {updates}, shard = excluded.shard,
  first_seen = min(first_seen, excluded.first_seen),
  last_seen = max(last_seen, excluded.last_seen)
""".format(
    cols=", ".join(_POST_COLUMNS),
    marks=", ".join(f":{c}" for c in _POST_COLUMNS),
    updates=", ".join(f"{c} = excluded.{c}" for c in _POST_COLUMNS if c != "id"),
)
_TOUCH_POST = """
UPDATE posts SET last_seen = max(last_seen, :seen), first_seen = min(first_seen, :first_seen)
WHERE id = :id AND (last_seen < :seen OR first_seen > :first_seen)
"""
_SELECT_POSTS = "SELECT {}, first_seen, last_seen FROM posts".format(", ".join(_POST_COLUMNS))
_UPSERT_PUBLICATION = """
INSERT INTO publications (id, url, name, slug, domain, first_seen, last_seen)
VALUES (:id, :url, :name, :slug, :domain, :first_seen, :seen)
ON CONFLICT(id) DO UPDATE SET url = CASE WHEN :crawled THEN excluded.url ELSE url END,
  name = CASE WHEN :crawled THEN coalesce(excluded.name, name) ELSE coalesce(name, excluded.name)
  END, slug = excluded.slug, domain = excluded.domain,
  first_seen = min(first_seen, excluded.first_seen),
  last_seen = max(last_seen, excluded.last_seen)
"""
_CRAWL_COUNTS = ("pages", "renderings", "posts_new", "posts_updated", "errors")
_CRAWL_COLUMNS = {
    "finished",
    "status",
    "error",
    "publication",
    "walk_complete",
    "source_failures",
    "disagreements",
    "outage",
    *_CRAWL_COUNTS,
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


class StorageError(Exception):
    """The database cannot be used: a one-line reason for the user."""


@dataclass(frozen=True)
class Saved:
    """What saving one rendering did: "new", "updated" (any stored value differs) or "unchanged".

    `changes` lists only real changes (a value replaced by a different one), not values
    filled in where there was none or dates made more precise.
    """

    status: str
    changes: tuple[Change, ...] = ()


def _create_v1(db: sqlite_utils.Database) -> None:
    db["posts"].create(
        {
            "id": str,
            "url": str,
            "title": str,
            "subtitle": str,
            "authors": str,
            "account": str,
            "published": str,
            "published_text": str,
            "published_precision": str,
            "read_minutes": int,
            "image_id": str,
            "image_url": str,
            "member_only": int,
            "source": str,
            "first_seen": str,
            "last_seen": str,
        },
        pk="id",
        not_null={"url", "first_seen", "last_seen"},
    )
    db["posts"].create_index(["published"])
    db["authors"].create({"id": int, "name": str}, pk="id", not_null={"name"})
    db["authors"].create_index(["name"], unique=True)
    db["post_authors"].create(
        {"post_id": str, "position": int, "author_id": int},
        pk=("post_id", "position"),
        foreign_keys=[("post_id", "posts", "id"), ("author_id", "authors", "id")],
    )
    db["post_authors"].create_index(["author_id"])
    db["crawls"].create(
        {
            "id": int,
            "started": str,
            "finished": str,
            "source": str,
            "as_of": str,
            "status": str,
            **{name: int for name in _CRAWL_COUNTS},
            "error": str,
        },
        pk="id",
        not_null={"started", "status"},
        defaults={name: 0 for name in _CRAWL_COUNTS},
    )
    db["post_changes"].create(
        {
            "id": int,
            "post_id": str,
            "field": str,
            "old": str,
            "new": str,
            "crawl_id": int,
            "changed_at": str,
        },
        pk="id",
        foreign_keys=[("post_id", "posts", "id"), ("crawl_id", "crawls", "id")],
        not_null={"post_id", "field"},
    )
    db["post_changes"].create_index(["post_id"])
    db["posts"].enable_fts(["title", "subtitle"], create_triggers=True, tokenize="porter")
    # Reindex only when an indexed column changes, not on every `last_seen` touch.
    db.execute("DROP TRIGGER posts_au")
    db.execute(
        """CREATE TRIGGER posts_au AFTER UPDATE OF title, subtitle ON posts BEGIN
          INSERT INTO posts_fts (posts_fts, rowid, title, subtitle)
            VALUES ('delete', old.rowid, old.title, old.subtitle);
          INSERT INTO posts_fts (rowid, title, subtitle)
            VALUES (new.rowid, new.title, new.subtitle);
        END"""
    )


def _v2_crawl_walks(db: sqlite_utils.Database) -> None:
    """Which publication a run crawled, and whether it walked the whole listing."""
    db["crawls"].add_column("publication", str)
    db["crawls"].add_column("walk_complete", int, not_null_default=0)


def _v3_browsing(db: sqlite_utils.Database) -> None:
    """A `year` column to facet on, and one row per post and author for browsing."""
    db.execute(
        "ALTER TABLE posts ADD COLUMN year INTEGER "
        "GENERATED ALWAYS AS (CAST(substr(published, 1, 4) AS INTEGER)) VIRTUAL"
    )
    db["posts"].create_index(["year"])
    db.create_view(
        "posts_by_author",
        """SELECT authors.name AS author, post_authors.position + 1 AS byline_position,
             posts.id AS post_id, posts.title, posts.url, posts.published, posts.year,
             posts.read_minutes
           FROM post_authors
           JOIN authors ON authors.id = post_authors.author_id
           JOIN posts ON posts.id = post_authors.post_id""",
    )


def _v4_publications(db: sqlite_utils.Database) -> None:
    """Many publications in one archive, crawled in partitions and merged from shards."""
    db["publications"].create(
        {
            "id": str,
            "url": str,
            "name": str,
            "slug": str,
            "domain": str,
            "first_seen": str,
            "last_seen": str,
        },
        pk="id",
        not_null={"url"},
    )
    db["publications"].create_index(["url"])
    # A foreign key: Datasette then shows and facets a post's publication by its name.
    db.execute("ALTER TABLE posts ADD COLUMN publication TEXT REFERENCES publications(id)")
    db["posts"].add_column("shard", str)
    db["posts"].create_index(["publication"])
    # Every archive gets its own identity: a merge knows a shard by it, not by a file name
    # that a new shard on a replacement node could reuse.
    db["archive_identity"].create({"uid": str, "created": str}, pk="uid")
    db["archive_identity"].insert(
        {"uid": uuid.uuid4().hex, "created": format_instant(datetime.now(timezone.utc))}
    )
    # What a cross-check could not read, read again by the next run (not only newer days).
    db["crosscheck_pending"].create(
        {"publication": str, "kind": str, "key": str, "failed_at": str},
        pk=("publication", "kind", "key"),
    )
    db["crawls"].add_column("part", str)
    db["crawls"].add_column("shard", str)
    db["crawls"].add_column("shard_uid", str)
    db["crawls"].add_column("shard_crawl_id", int)
    db["crawls"].create_index(["shard_uid", "shard_crawl_id"], unique=True)
    db["crawls"].create_index(["source", "status"])
    db["merges"].create(
        {
            "id": int,
            "shard": str,
            "shard_uid": str,
            "path": str,
            "started": str,
            "finished": str,
            "status": str,
            "runs_copied": int,
            "posts_new": int,
            "posts_updated": int,
            "posts_unchanged": int,
            "skipped": str,
            "error": str,
        },
        pk="id",
        not_null={"shard", "started", "status"},
    )


def _v5_source_checks(db: sqlite_utils.Database) -> None:
    """What each run saw of its sources: those that failed, where two disagreed, since when
    its site did not answer, and when each day sitemap was last read (the cross-check reads
    a few a run, in rotation)."""
    db["crawls"].add_column("source_failures", str)
    db["crawls"].add_column("disagreements", str)
    db["crawls"].add_column("outage", str)
    db["sitemap_days"].create(
        {"publication": str, "key": str, "day": str, "lastmod": str, "read_at": str},
        pk=("publication", "key"),
    )


# MIGRATIONS[n] brings a database from schema version n to n + 1.
MIGRATIONS = [_create_v1, _v2_crawl_walks, _v3_browsing, _v4_publications, _v5_source_checks]
assert len(MIGRATIONS) == SCHEMA_VERSION


def check_database(path: Path) -> None:
    """Raise StorageError unless `path` can hold (or already holds) an archive."""
    if path.is_dir():
        raise StorageError(f"{path} is a directory, not a database file")
    if not path.exists():
        parent = path.parent
        if not parent.is_dir():
            raise StorageError(f"cannot create {path}: folder {parent} does not exist")
        probe = parent / f".{path.name}.probe"
        try:
            probe.touch()
            probe.unlink()
        except OSError as error:
            raise StorageError(f"cannot create {path}: {error.strerror}") from error
        return
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise StorageError(f"cannot open {path}: {error}") from error
    try:
        _check_schema(conn, path)
    finally:
        conn.close()


def _check_schema(conn: sqlite3.Connection, path: Path) -> None:
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    except sqlite3.DatabaseError as error:
        raise StorageError(f"{path} is not a SQLite database ({error})") from error
    if app_id != APPLICATION_ID and tables:
        shown = ", ".join(sorted(tables)[:5])
        raise StorageError(
            f"{path} is a SQLite database of another application (tables: {shown}); "
            "refusing to write into it"
        )
    if version > SCHEMA_VERSION:
        raise StorageError(
            f"{path} has archive schema version {version}, newer than this archive_spider "
            f"understands ({SCHEMA_VERSION}); upgrade archive_spider"
        )


class Archive:
    """An open archive database. Use as a context manager or call `close()`."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        check_database(self.path)
        self.conn = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_SECONDS)
        self.conn.row_factory = sqlite3.Row
        self.db = sqlite_utils.Database(self.conn)
        self.conn.execute("PRAGMA foreign_keys = ON")
        self.conn.execute("PRAGMA journal_mode = WAL")
        # In WAL mode NORMAL survives a killed process; only an OS crash may lose the last commit.
        self.conn.execute("PRAGMA synchronous = NORMAL")
        self.conn.execute("PRAGMA cache_size = -65536")
        self.conn.execute("PRAGMA temp_store = MEMORY")
        self._author_ids: dict[str, int] = {}
        self._migrate()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self.conn.in_transaction:
            self.conn.rollback()
        self.conn.close()

    @property
    def schema_version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    @property
    def uid(self) -> str:
        """This archive's identity, made once when its schema is created."""
        return archive_uid(self.conn)

    def _migrate(self) -> None:
        version = self.schema_version
        for number in range(version, SCHEMA_VERSION):
            self.begin()
            MIGRATIONS[number](self.db)
            self.conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            self.conn.execute(f"PRAGMA user_version = {number + 1}")
            self.commit()

    # Transactions -----------------------------------------------------------------------

    def begin(self) -> None:
        """Start the write transaction of a page, unless one is open."""
        if not self.conn.in_transaction:
            self.conn.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("COMMIT")

    def rollback(self) -> None:
        """Drop the open transaction, and the author ids it may have added."""
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")
        self._author_ids.clear()

    # Posts ------------------------------------------------------------------------------

    def get(self, post_id: str) -> Post | None:
        """The stored post (its `seen_at` is its `last_seen`), read inside the write transaction."""
        self.begin()
        row = self.conn.execute(f"{_SELECT_POSTS} WHERE id = ?", (post_id,)).fetchone()
        return None if row is None else _post_from_row(row)

    def save(
        self,
        merged: Post,
        previous: Post | None,
        changes: Iterable[Change],
        crawl_id: int | None,
        *,
        shard: str | None = None,
        first_seen: str | None = None,
    ) -> Saved:
        """Write a merged post; `previous` is what `get` returned before merging.

        A merge passes the `shard` it reads and the post's `first_seen` there.
        """
        self.begin()
        changes = tuple(changes)
        seen = merged.seen_at or ""
        if previous is not None and _same_content(previous, merged):
            first = min(first_seen or seen, seen)
            self.conn.execute(_TOUCH_POST, {"id": merged.id, "seen": seen, "first_seen": first})
            return Saved("unchanged")
        row = {name: getattr(merged, name) for name in _POST_COLUMNS}
        row["authors"] = json.dumps(merged.authors, ensure_ascii=False)
        row.update(seen=seen, first_seen=min(first_seen or seen, seen), shard=shard)
        self.conn.execute(_UPSERT_POST, row)
        if previous is None:
            self._link_authors(merged.id, merged.authors)
        elif previous.authors != merged.authors:
            self.conn.execute("DELETE FROM post_authors WHERE post_id = ?", (merged.id,))
            self._link_authors(merged.id, merged.authors)
        if changes:
            self.conn.executemany(
                "INSERT INTO post_changes (post_id, field, old, new, crawl_id, changed_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(merged.id, c.field, _text(c.old), _text(c.new), crawl_id, seen) for c in changes],
            )
        return Saved("new" if previous is None else "updated", changes)

    def _link_authors(self, post_id: str, names: list[str]) -> None:
        self.conn.executemany(
            "INSERT INTO post_authors (post_id, position, author_id) VALUES (?, ?, ?)",
            [(post_id, position, self._author_id(name)) for position, name in enumerate(names)],
        )

    def _author_id(self, name: str) -> int:
        if name not in self._author_ids:
            self.conn.execute("INSERT OR IGNORE INTO authors (name) VALUES (?)", (name,))
            row = self.conn.execute("SELECT id FROM authors WHERE name = ?", (name,)).fetchone()
            self._author_ids[name] = row[0]
        return self._author_ids[name]

    def has_post(self, post_id: str) -> bool:
        return (
            self.conn.execute("SELECT 1 FROM posts WHERE id = ?", (post_id,)).fetchone() is not None
        )

    def count_posts(self) -> int:
        return self.conn.execute("SELECT count(*) FROM posts").fetchone()[0]

    # Crawl runs -------------------------------------------------------------------------

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

    # Merges -----------------------------------------------------------------------------

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

    def pending(self, publication: str, kind: str) -> set[str]:
        """The sitemap paths (kind "sitemap") or post ids ("post") a cross-check missed."""
        rows = self.conn.execute(
            "SELECT key FROM crosscheck_pending WHERE publication = ? AND kind = ?",
            (publication, kind),
        )
        return {key for (key,) in rows}

    def add_pending(self, publication: str, kind: str, keys, failed_at: str) -> None:
        """Remember what a cross-check could not read (in the current transaction)."""
        self.begin()
        self.conn.executemany(
            "INSERT OR REPLACE INTO crosscheck_pending VALUES (?, ?, ?, ?)",
            [(publication, kind, key, failed_at) for key in keys],
        )

    def drop_pending(self, publication: str, kind: str, keys) -> None:
        """Forget what a cross-check has now read (in the current transaction)."""
        self.begin()
        self.conn.executemany(
            "DELETE FROM crosscheck_pending WHERE publication = ? AND kind = ? AND key = ?",
            [(publication, kind, key) for key in keys],
        )

    def note_sitemaps(self, publication: str, children) -> None:
        """Remember the children a sitemap index lists: (key, day, lastmod) each."""
        self.begin()
        self.conn.executemany(
            "INSERT INTO sitemap_days (publication, key, day, lastmod) VALUES (?, ?, ?, ?) "
            "ON CONFLICT DO UPDATE SET day = excluded.day, lastmod = excluded.lastmod",
            [(publication, key, day, lastmod) for key, day, lastmod in children],
        )

    def mark_sitemaps_read(self, publication: str, keys, at: str) -> None:
        self.begin()
        self.conn.executemany(
            "INSERT INTO sitemap_days (publication, key, read_at) VALUES (?, ?, ?) "
            "ON CONFLICT DO UPDATE SET read_at = excluded.read_at",
            [(publication, key, at) for key in keys],
        )

    def sitemaps_read(self, publication: str) -> dict[str, datetime]:
        """When each child of the publication's sitemap index was last read."""
        rows = self.conn.execute(
            "SELECT key, read_at FROM sitemap_days WHERE publication = ? AND read_at IS NOT NULL",
            (publication,),
        )
        return {key: isoparse(read_at) for key, read_at in rows}

    def post_days(self, publication: str) -> set[date]:
        """The days the publication's archived posts were published on (exact dates only)."""
        rows = self.conn.execute(
            "SELECT DISTINCT substr(published, 1, 10) FROM posts "
            "WHERE publication = ? AND published_precision = 'exact'",
            (publication,),
        )
        return {date.fromisoformat(day) for (day,) in rows}

    def crawls(self, limit: int = 10) -> list[dict]:
        rows = self.conn.execute("SELECT * FROM crawls ORDER BY id DESC LIMIT ?", (limit,))
        return [dict(row) for row in rows]


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
        self.conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro",
            uri=True,
            isolation_level=None,
            timeout=BUSY_TIMEOUT_SECONDS,
        )
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
        for row in self.conn.execute(_SELECT_POSTS):
            yield ShardPost(_post_from_row(row), row["first_seen"])

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
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
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
    }


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
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sitemap_days'").fetchone():
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
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
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
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        try:
            return conn.execute("SELECT count(*) FROM posts").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


def _post_from_row(row: sqlite3.Row) -> Post:
    """A stored post; its `seen_at` is its `last_seen`."""
    values = {name: row[name] for name in _POST_COLUMNS}
    values["authors"] = json.loads(values["authors"] or "[]")
    if values["member_only"] is not None:
        values["member_only"] = bool(values["member_only"])
    return Post(**values, seen_at=row["last_seen"])


def _same_content(a: Post, b: Post) -> bool:
    return all(getattr(a, name) == getattr(b, name) for name in _POST_COLUMNS)


def _text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)
