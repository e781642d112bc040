"""The archive database: schema, migrations, reads and writes. The only module with SQL.

One writer at a time: every write happens inside `BEGIN IMMEDIATE`, so a read-then-write
never races another connection, and a page of posts is committed as one transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from pathlib import Path

import sqlite_utils
from dateutil.parser import isoparse

from .items import Post
from .merge import Change

# `PRAGMA application_id` marks a database as ours ("ArSp"); `user_version` is its schema.
APPLICATION_ID = 0x41725370
SCHEMA_VERSION = 3
BUSY_TIMEOUT_SECONDS = 30

_POST_COLUMNS = [f.name for f in fields(Post) if f.name != "seen_at"]
_UPSERT_POST = """
INSERT INTO posts ({cols}, first_seen, last_seen) VALUES ({marks}, :seen, :seen)
ON CONFLICT(id) DO UPDATE SET {updates}, last_seen = max(last_seen, excluded.last_seen)
""".format(
    cols=", ".join(_POST_COLUMNS),
    marks=", ".join(f":{c}" for c in _POST_COLUMNS),
    updates=", ".join(f"{c} = excluded.{c}" for c in _POST_COLUMNS if c != "id"),
)
_TOUCH_POST = "UPDATE posts SET last_seen = :seen WHERE id = :id AND last_seen < :seen"
_SELECT_POST = "SELECT {}, last_seen FROM posts WHERE id = ?".format(", ".join(_POST_COLUMNS))
_CRAWL_COUNTS = ("pages", "renderings", "posts_new", "posts_updated", "errors")


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


# MIGRATIONS[n] brings a database from schema version n to n + 1.
MIGRATIONS = [_create_v1, _v2_crawl_walks, _v3_browsing]
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
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    # Posts ------------------------------------------------------------------------------

    def get(self, post_id: str) -> Post | None:
        """The stored post (its `seen_at` is its `last_seen`), read inside the write transaction."""
        self.begin()
        row = self.conn.execute(_SELECT_POST, (post_id,)).fetchone()
        if row is None:
            return None
        values = dict(row)
        values["seen_at"] = values.pop("last_seen")
        values["authors"] = json.loads(values["authors"] or "[]")
        if values["member_only"] is not None:
            values["member_only"] = bool(values["member_only"])
        return Post(**values)

    def save(
        self, merged: Post, previous: Post | None, changes: Iterable[Change], crawl_id: int | None
    ) -> Saved:
        """Write a merged post; `previous` is what `get` returned before merging."""
        self.begin()
        changes = tuple(changes)
        seen = merged.seen_at or ""
        if previous is not None and _same_content(previous, merged):
            self.conn.execute(_TOUCH_POST, {"id": merged.id, "seen": seen})
            return Saved("unchanged")
        row = {name: getattr(merged, name) for name in _POST_COLUMNS}
        row["authors"] = json.dumps(merged.authors, ensure_ascii=False)
        row["seen"] = seen
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

    def begin_crawl(self, *, source: str, started: str, as_of: str | None) -> int:
        """Record a run as "running" and commit it, so even a killed run leaves its row."""
        self.begin()
        cursor = self.conn.execute(
            "INSERT INTO crawls (started, source, as_of, status) VALUES (?, ?, ?, 'running')",
            (started, source, as_of),
        )
        self.commit()
        return cursor.lastrowid

    def update_crawl(self, crawl_id: int, **values: object) -> None:
        """Set columns of a run row (inside the current transaction, if any)."""
        unknown = set(values) - {
            "finished",
            "status",
            "error",
            "publication",
            "walk_complete",
            *_CRAWL_COUNTS,
        }
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
        return self.last_walk_started(publication) is not None

    def last_walk_started(self, publication: str) -> datetime | None:
        """When the latest run that walked the publication's whole listing started."""
        row = self.conn.execute(
            "SELECT max(started) FROM crawls WHERE publication = ? AND walk_complete = 1",
            (publication,),
        ).fetchone()
        return isoparse(row[0]) if row[0] else None

    def crawls(self, limit: int = 10) -> list[dict]:
        rows = self.conn.execute("SELECT * FROM crawls ORDER BY id DESC LIMIT ?", (limit,))
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
        except sqlite3.OperationalError as error:
            raise StorageError(f"{path} is not an archive ({error})") from error
    age = (datetime.now(timezone.utc) - isoparse(last_ok)).total_seconds() if last_ok else None
    return {
        "posts": posts,
        "newest_published": newest,
        "last_ok_finished": last_ok,
        "hours_since_last_ok": age / 3600 if age is not None else None,
        "runs": recent,
    }


def stored_post_count(path: Path) -> int:
    """How many posts the archive at `path` holds (0 when there is no archive there)."""
    if not path.exists():
        return 0
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        try:
            return conn.execute("SELECT count(*) FROM posts").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


def _same_content(a: Post, b: Post) -> bool:
    return all(getattr(a, name) == getattr(b, name) for name in _POST_COLUMNS)


def _text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)
