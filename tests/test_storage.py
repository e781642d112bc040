"""The archive database: schema, round trips, change log, refusal of unusable files."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest
import sqlite_utils

from archive_spider.items import Post
from archive_spider.merge import Change, merge
from archive_spider.storage import (
    APPLICATION_ID,
    MIGRATIONS,
    SCHEMA_VERSION,
    Archive,
    StorageError,
    check_database,
    stored_post_count,
)

SEEN = "2025-11-06T00:00:00Z"
LATER = "2025-11-07T00:00:00Z"


def make_post(**values) -> Post:
    return Post(
        **{
            "id": "127b6712359a",
            "url": "https://netflixtechblog.com/building-a-resilient-data-platform-with-write-ahead-log-at-netflix-127b6712359a",
            "title": "Building a Resilient Data Platform with Write-Ahead Log at Netflix",
            "subtitle": "By Prudhviraj Karumanchi, Samuel Fu",
            "authors": ["Prudhviraj Karumanchi", "Samuel Fu"],
            "account": "Netflix Technology Blog",
            "published": "2025-09-26",
            "published_text": "Sep 26",
            "published_precision": "day",
            "read_minutes": 13,
            "image_id": "1*tfnrbP7oD_r9iEesLhACpA.png",
            "image_url": "https://miro.medium.com/v2/resize:fit:1400/1*tfnrbP7oD_r9iEesLhACpA.png",
            "member_only": False,
            "source": "capture",
            "seen_at": SEEN,
            **values,
        }
    )


def save(archive: Archive, incoming: Post, crawl_id=None):
    previous = archive.get(incoming.id)
    merged, changes = merge(previous, incoming)
    saved = archive.save(merged, previous, changes, crawl_id)
    archive.commit()
    return saved


@pytest.fixture
def archive(tmp_path):
    with Archive(tmp_path / "a.db") as opened:
        yield opened


def test_a_new_archive_has_the_schema(archive):
    conn = archive.conn
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    tables = set(archive.db.table_names())
    assert {"posts", "authors", "post_authors", "crawls", "post_changes", "posts_fts"} <= tables


def test_a_post_round_trips(archive):
    post = make_post()
    assert save(archive, post).status == "new"
    assert archive.get(post.id) == post
    row = archive.db["posts"].get(post.id)
    assert row["first_seen"] == row["last_seen"] == SEEN
    assert row["authors"] == '["Prudhviraj Karumanchi", "Samuel Fu"]'


def test_authors_are_linked_in_order(archive):
    save(archive, make_post())
    rows = archive.conn.execute(
        "SELECT a.name FROM post_authors pa JOIN authors a ON a.id = pa.author_id "
        "WHERE pa.post_id = ? ORDER BY pa.position",
        ("127b6712359a",),
    ).fetchall()
    assert [r[0] for r in rows] == ["Prudhviraj Karumanchi", "Samuel Fu"]


def test_seeing_a_post_again_only_moves_last_seen(archive):
    save(archive, make_post())
    before = archive.db["posts"].get("127b6712359a")
    assert save(archive, make_post(seen_at=LATER)).status == "unchanged"
    after = archive.db["posts"].get("127b6712359a")
    assert after == {**before, "last_seen": LATER}
    assert archive.db["post_changes"].count == 0


def test_a_change_is_logged_with_its_crawl(archive):
    save(archive, make_post())
    crawl_id = archive.begin_crawl(source="test", started=LATER, as_of=LATER)
    saved = save(archive, make_post(title="A new title", seen_at=LATER), crawl_id)
    assert saved.status == "updated"
    assert saved.changes == (Change("title", make_post().title, "A new title"),)
    [logged] = archive.db["post_changes"].rows
    assert (logged["field"], logged["new"], logged["crawl_id"]) == (
        "title",
        "A new title",
        crawl_id,
    )


def test_full_text_search_finds_titles_and_subtitles(archive):
    save(archive, make_post())
    hits = archive.conn.execute(
        "SELECT rowid FROM posts_fts WHERE posts_fts MATCH 'Karumanchi'"
    ).fetchall()
    assert len(hits) == 1
    save(archive, make_post(title="Something else entirely", seen_at=LATER))
    assert (
        archive.conn.execute(
            "SELECT count(*) FROM posts_fts WHERE posts_fts MATCH 'resilient'"
        ).fetchone()[0]
        == 0
    )


def test_a_crawl_row_records_the_run(archive):
    crawl_id = archive.begin_crawl(source="x.md", started=SEEN, as_of=SEEN)
    archive.update_crawl(crawl_id, status="ok", finished=LATER, pages=3, posts_new=2)
    archive.commit()
    [row] = archive.crawls()
    assert (row["status"], row["pages"], row["posts_new"], row["errors"]) == ("ok", 3, 2, 0)


def test_reopening_keeps_data_and_schema(tmp_path):
    with Archive(tmp_path / "a.db") as archive:
        save(archive, make_post())
    with Archive(tmp_path / "a.db") as archive:
        assert archive.schema_version == SCHEMA_VERSION
        assert archive.count_posts() == 1
    assert stored_post_count(tmp_path / "a.db") == 1


def test_an_uncommitted_page_is_not_kept(tmp_path):
    archive = Archive(tmp_path / "a.db")
    previous = archive.get("127b6712359a")
    archive.save(make_post(), previous, [], None)
    archive.close()
    assert stored_post_count(tmp_path / "a.db") == 0


def test_a_rolled_back_page_forgets_the_authors_it_added(archive):
    archive.save(make_post(id="00000000000a", authors=["Ana Silva"]), None, [], None)
    archive.rollback()
    save(archive, make_post(id="00000000000b", authors=["Bo Chen", "Ana Silva"]))
    rows = archive.conn.execute(
        "SELECT a.name FROM post_authors pa JOIN authors a ON a.id = pa.author_id "
        "WHERE pa.post_id = '00000000000b' ORDER BY pa.position"
    ).fetchall()
    assert [r[0] for r in rows] == ["Bo Chen", "Ana Silva"]


def write_text(path):
    path.write_bytes(b"this is not a database, just text\n" * 100)


def sqlite_with(*statements):
    def prepare(path):
        with closing(sqlite3.connect(path)) as conn:
            for statement in statements:
                conn.execute(statement)
            conn.commit()

    return prepare


@pytest.mark.parametrize(
    ("prepare", "message"),
    [
        (write_text, "is not a SQLite database"),
        (
            sqlite_with("CREATE TABLE invoices (id INTEGER)"),
            r"another application \(tables: invoices\)",
        ),
        (
            sqlite_with(f"PRAGMA application_id = {APPLICATION_ID}", "PRAGMA user_version = 99"),
            "newer than this archive_spider",
        ),
        (lambda path: path.mkdir(), "is a directory"),
    ],
    ids=["not-sqlite", "foreign-schema", "newer-schema", "directory"],
)
def test_unusable_databases_are_refused_untouched(tmp_path, prepare, message):
    path = tmp_path / "x.db"
    prepare(path)
    before = path.read_bytes() if path.is_file() else None
    with pytest.raises(StorageError, match=message):
        Archive(path)
    assert (path.read_bytes() if path.is_file() else None) == before


def test_a_database_in_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(StorageError, match="does not exist"):
        check_database(tmp_path / "nowhere" / "x.db")


def test_an_older_schema_is_migrated_in_place(tmp_path):
    path = tmp_path / "v1.db"
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        MIGRATIONS[0](sqlite_utils.Database(conn))
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute("PRAGMA user_version = 1")
        conn.execute("INSERT INTO crawls (started, status) VALUES ('2025-01-01', 'ok')")
    with Archive(path) as archive:
        assert archive.schema_version == SCHEMA_VERSION
        [row] = archive.crawls()
        assert (row["status"], row["walk_complete"], row["publication"]) == ("ok", 0, None)
        assert not archive.walk_completed("2615bd06b42e")
