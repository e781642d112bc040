"""The archive writer: opening and migrating the database, its transactions, saving posts."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from ..items import Post
from ..merge import Change
from .connect import BUSY_TIMEOUT_SECONDS, check_database, open_read_write
from .crosschecks import CrossCheckRecords
from .images import ImageRecords
from .post_rows import POST_COLUMNS, SELECT_POSTS, post_from_row
from .reading import archive_uid
from .runs import RunRecords
from .schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION

# `first_seen` keeps the earliest sighting (a merged shard may know an older one); `shard`
# names the shard a merge last wrote the post from (NULL: written by a crawl of this file).
_UPSERT_POST = """
INSERT INTO posts ({cols}, first_seen, last_seen, shard)
VALUES ({marks}, :first_seen, :seen, :shard)
ON CONFLICT(id) DO UPDATE SET {updates}, shard = excluded.shard,
  first_seen = min(first_seen, excluded.first_seen),
  last_seen = max(last_seen, excluded.last_seen)
""".format(
    cols=", ".join(POST_COLUMNS),
    marks=", ".join(f":{c}" for c in POST_COLUMNS),
    updates=", ".join(f"{c} = excluded.{c}" for c in POST_COLUMNS if c != "id"),
)
_TOUCH_POST = """
UPDATE posts SET last_seen = max(last_seen, :seen), first_seen = min(first_seen, :first_seen)
WHERE id = :id AND (last_seen < :seen OR first_seen > :first_seen)
"""


@dataclass(frozen=True)
class Saved:
    """What saving one rendering did: "new", "updated" (any stored value differs) or "unchanged".

    `changes` lists only real changes (a value replaced by a different one), not values
    filled in where there was none or dates made more precise.
    """

    status: str
    changes: tuple[Change, ...] = ()


class Archive(RunRecords, CrossCheckRecords, ImageRecords):
    """An open archive database. Use as a context manager or call `close()`.

    One writer at a time: every write happens inside `BEGIN IMMEDIATE`, so a read-then-write
    never races another connection, and a page of posts is committed as one transaction.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        check_database(self.path)
        self.conn = open_read_write(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_SECONDS)
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
        row = self.conn.execute(f"{SELECT_POSTS} WHERE id = ?", (post_id,)).fetchone()
        return None if row is None else post_from_row(row)

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
        row = {name: getattr(merged, name) for name in POST_COLUMNS}
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


def _same_content(a: Post, b: Post) -> bool:
    return all(getattr(a, name) == getattr(b, name) for name in POST_COLUMNS)


def _text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)
