"""The archive schema: its version, and the migrations that build it one version at a time."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import sqlite_utils

from ..dates import format_instant

# `PRAGMA application_id` marks a database as ours ("ArSp"); `user_version` is its schema.
APPLICATION_ID = 0x41725370
SCHEMA_VERSION = 6
# The counters of a run row.
CRAWL_COUNTS = ("pages", "renderings", "posts_new", "posts_updated", "errors")


class StorageError(Exception):
    """The database cannot be used: a one-line reason for the user."""


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
            **{name: int for name in CRAWL_COUNTS},
            "error": str,
        },
        pk="id",
        not_null={"started", "status"},
        defaults={name: 0 for name in CRAWL_COUNTS},
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


def _v6_images(db: sqlite_utils.Database) -> None:
    """Thumbnails kept in the archive itself (`crawl --images`), and what each run fetched."""
    db.execute(
        """CREATE TABLE images (
          image_id TEXT PRIMARY KEY,
          content BLOB,
          content_type TEXT,
          width INTEGER,
          height INTEGER,
          bytes INTEGER,
          sha256 TEXT,
          fetched_at TEXT NOT NULL,
          status TEXT NOT NULL CHECK (status IN ('stored', 'gone'))
        )"""
    )
    db["posts"].create_index(["image_id"])
    db["crawls"].add_column("images", str)


# MIGRATIONS[n] brings a database from schema version n to n + 1.
MIGRATIONS = [
    _create_v1,
    _v2_crawl_walks,
    _v3_browsing,
    _v4_publications,
    _v5_source_checks,
    _v6_images,
]
assert len(MIGRATIONS) == SCHEMA_VERSION
