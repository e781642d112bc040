"""Opening archive files, whatever their names hold, and checking what a file is."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from .schema import APPLICATION_ID, SCHEMA_VERSION, StorageError

BUSY_TIMEOUT_SECONDS = 30


def _uri(path: str | Path) -> str:
    """The file URI of `path`: `#`, `?`, `%` or a leading `file:` stay part of the name."""
    return Path(path).resolve().as_uri()


def open_read_only(path: str | Path, **kwargs) -> sqlite3.Connection:
    """Open the database at `path` read-only (it must exist); `kwargs` go to sqlite3.connect."""
    return sqlite3.connect(_uri(path) + "?mode=ro", uri=True, **kwargs)


def open_read_write(path: str | Path, **kwargs) -> sqlite3.Connection:
    """Open the database at `path` for writing, created if missing."""
    return sqlite3.connect(_uri(path), uri=True, **kwargs)


def is_archive(path: str | Path) -> bool:
    """True when `path` is a SQLite database marked as an archive."""
    try:
        with closing(open_read_only(path)) as conn:
            return conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    except sqlite3.Error:
        return False


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
        conn = open_read_only(path)
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
