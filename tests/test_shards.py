"""Merging shard archives: runs copied, posts merged per field, bad runs skipped, locks."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from contextlib import closing
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner
from helpers import dump, query, run_cli

from archive_spider.cli import main
from archive_spider.items import Post
from archive_spider.merge import merge
from archive_spider.outcome import EXIT_FAILED, EXIT_LOCKED, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE
from archive_spider.shards import ShardError, Skipped, merge_shards
from archive_spider.storage import (
    ABANDONED,
    APPLICATION_ID,
    MIGRATIONS,
    SCHEMA_VERSION,
    Archive,
)

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
NOW = "2025-12-01T00:00:00Z"
LATER_NOW = "2025-12-02T00:00:00Z"
DAY1 = "2025-11-01T08:00:00Z"
DAY2 = "2025-11-02T08:00:00Z"
DAY3 = "2025-11-03T08:00:00Z"

NETFLIX = ("https://netflixtechblog.com/", "2615bd06b42e", "Netflix TechBlog", "netflix-techblog")
AIRBNB = ("https://medium.com/airbnb-engineering", "53c7c27702d5", "The Airbnb Tech Blog", None)


def netflix_post(number: int, **values) -> Post:
    return Post(
        **{
            "id": f"{number:012x}",
            "url": f"https://netflixtechblog.com/post-{number}-{number:012x}",
            "title": f"Netflix post {number}",
            "subtitle": "By Ana Silva",
            "authors": ["Ana Silva"],
            "account": "Netflix Technology Blog",
            "published": "2025-09-26",
            "published_text": "Sep 26",
            "published_precision": "day",
            "read_minutes": 7,
            "member_only": False,
            "publication": NETFLIX[1],
            "source": "graphql",
            "seen_at": DAY1,
            **values,
        }
    )


def airbnb_post(number: int, **values) -> Post:
    return netflix_post(
        number,
        **{
            "url": f"https://medium.com/airbnb-engineering/post-{number}-{number:012x}",
            "title": f"Airbnb post {number}",
            "account": "Airbnb Engineering",
            "publication": AIRBNB[1],
            **values,
        },
    )


def crawl(
    db: Path,
    publication: tuple,
    posts: list[Post],
    *,
    status: str | None = "ok",
    started: str = DAY1,
    part: str | None = None,
) -> int:
    """Record a run of `publication` saving `posts` into `db`, as a crawl does; its id.

    `status=None` leaves the run "running", as a crawl still going (or killed) does.
    """
    url, collection_id, name, slug = publication
    with Archive(db) as archive:
        crawl_id = archive.begin_crawl(source=url, started=started, as_of=started, part=part)
        archive.update_crawl(crawl_id, publication=collection_id)
        archive.save_publication(
            id=collection_id, url=url, name=name, slug=slug, domain=None, seen=started
        )
        for post in posts:
            stored = archive.get(post.id)
            merged, changes = merge(stored, post)
            archive.save(merged, stored, changes, crawl_id)
        archive.commit()
        if status is not None:
            finish(archive, crawl_id, status, posts_new=len(posts), walk_complete=1)
    return crawl_id


def finish(archive: Archive, crawl_id: int, status: str, **values) -> None:
    archive.update_crawl(crawl_id, status=status, finished=DAY3, pages=1, **values)
    archive.commit()


def posts_of(db: Path) -> dict[str, dict]:
    with closing(sqlite3.connect(db)) as conn:
        conn.row_factory = sqlite3.Row
        return {row["id"]: dict(row) for row in conn.execute("SELECT * FROM posts")}


def runs_of(db: Path) -> list[dict]:
    with closing(sqlite3.connect(db)) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute("SELECT * FROM crawls ORDER BY id")]


def merges_of(db: Path) -> list[dict]:
    with closing(sqlite3.connect(db)) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute("SELECT * FROM merges ORDER BY id")]


@pytest.fixture
def two_shards(tmp_path):
    """Node 1 crawled Netflix (3 posts), node 2 Airbnb (2 posts)."""
    first, second = tmp_path / "node1.db", tmp_path / "node2.db"
    crawl(first, NETFLIX, [netflix_post(n) for n in (1, 2, 3)], part="1/2")
    crawl(second, AIRBNB, [airbnb_post(n) for n in (11, 12)], status="partial", part="2/2")
    return first, second


def test_two_shards_merge_into_one_archive(tmp_path, two_shards):
    first, second = two_shards
    before = [path.read_bytes() for path in two_shards]
    into = tmp_path / "archive.db"

    report = merge_shards(list(two_shards), into, now=NOW)

    assert report.exit_code == EXIT_OK
    assert [(r.shard, r.status, r.runs_copied, r.posts_new) for r in report.shards] == [
        ("node1.db", "ok", 1, 3),
        ("node2.db", "ok", 1, 2),
    ]
    assert report.summary() == (
        f"ok: merged 2 of 2 shard(s) into {into}: runs 2, posts new 5, updated 0, "
        "unchanged 0, refused 0, publications skipped 0"
    )
    posts = posts_of(into)
    assert {post_id: post["shard"] for post_id, post in posts.items()} == {
        f"{1:012x}": "node1.db",
        f"{2:012x}": "node1.db",
        f"{3:012x}": "node1.db",
        f"{11:012x}": "node2.db",
        f"{12:012x}": "node2.db",
    }
    assert posts[f"{11:012x}"]["title"] == "Airbnb post 11"
    assert posts[f"{11:012x}"]["publication"] == AIRBNB[1]
    assert query(into, "SELECT count(*) FROM post_authors") == [(5,)]
    assert query(into, "SELECT id, url, name FROM publications ORDER BY id") == [
        (NETFLIX[1], NETFLIX[0], NETFLIX[2]),
        (AIRBNB[1], AIRBNB[0], AIRBNB[2]),
    ]
    shard_runs = runs_of(first) + runs_of(second)
    copied = runs_of(into)
    assert [(run["shard"], run["shard_crawl_id"]) for run in copied] == [
        ("node1.db", 1),
        ("node2.db", 1),
    ]
    provenance = ("id", "shard", "shard_uid", "shard_crawl_id")
    for original, copy in zip(shard_runs, copied, strict=True):
        assert {k: v for k, v in copy.items() if k not in provenance} == {
            k: v for k, v in original.items() if k not in provenance
        }
    assert copied[1]["status"] == "partial" and copied[1]["part"] == "2/2"
    assert query(into, "SELECT crawl_id FROM post_changes") == []
    assert [(m["shard"], m["status"], m["posts_new"], m["skipped"]) for m in merges_of(into)] == [
        ("node1.db", "ok", 3, "[]"),
        ("node2.db", "ok", 2, "[]"),
    ]
    assert merges_of(into)[0]["path"] == str(first.resolve())
    assert merges_of(into)[0]["started"] == NOW
    assert [path.read_bytes() for path in two_shards] == before  # read, never written


def test_one_post_in_two_shards_is_merged_field_by_field(tmp_path):
    day_precise = tmp_path / "a" / "early.db"
    exact_later = tmp_path / "b" / "late.db"
    day_precise.parent.mkdir()
    exact_later.parent.mkdir()
    crawl(day_precise, NETFLIX, [netflix_post(1, read_minutes=7)])
    # Seen later through the sitemap: an exact date, but no title nor read time.
    crawl(
        exact_later,
        NETFLIX,
        [
            netflix_post(
                1,
                title=None,
                read_minutes=None,
                published="2025-09-26T14:03:00Z",
                published_text=None,
                published_precision="exact",
                source="sitemap",
                seen_at=DAY2,
            )
        ],
        started=DAY2,
    )
    merged = {}
    for order in ("forward", "backward"):
        into = tmp_path / f"{order}.db"
        shards = [day_precise, exact_later] if order == "forward" else [exact_later, day_precise]
        report = merge_shards(shards, into, now=NOW)
        assert (report.total("posts_new"), report.total("posts_updated")) == (1, 1)
        [merged[order]] = posts_of(into).values()
        assert query(into, "SELECT count(*) FROM post_changes") == [(0,)]  # no real change

    post = merged["forward"]
    assert (post["title"], post["read_minutes"]) == ("Netflix post 1", 7)
    assert (post["published"], post["published_precision"]) == ("2025-09-26T14:03:00Z", "exact")
    assert post["published_text"] == "Sep 26"
    assert post["source"] == "graphql,sitemap"
    assert (post["first_seen"], post["last_seen"]) == (DAY1, DAY2)
    assert post["shard"] == "late.db"
    keep = {k: v for k, v in post.items() if k != "shard"}
    assert {k: v for k, v in merged["backward"].items() if k != "shard"} == keep


def test_a_publication_keeps_its_first_and_last_sighting_across_shards(tmp_path):
    seen_once, seen_twice = tmp_path / "once.db", tmp_path / "twice.db"
    crawl(seen_once, NETFLIX, [netflix_post(1, seen_at=DAY2)], started=DAY2)
    crawl(seen_twice, NETFLIX, [netflix_post(1)], started=DAY1)
    crawl(seen_twice, NETFLIX, [netflix_post(1, seen_at=DAY3)], started=DAY3)
    for order in ("forward", "backward"):
        into = tmp_path / f"{order}.db"
        shards = [seen_once, seen_twice] if order == "forward" else [seen_twice, seen_once]
        merge_shards(shards, into, now=NOW)
        assert query(into, "SELECT first_seen, last_seen FROM publications") == [(DAY1, DAY3)]


def test_a_change_found_in_a_shard_is_logged_with_the_copied_run(tmp_path, two_shards):
    first, _ = two_shards
    into = tmp_path / "archive.db"
    merge_shards([first], into, now=NOW)
    crawl(first, NETFLIX, [netflix_post(1, title="Renamed", seen_at=DAY2)], started=DAY2)

    report = merge_shards([first], into, now=NOW)

    assert (report.total("posts_updated"), report.total("posts_unchanged")) == (1, 2)
    [(archive_id,)] = query(into, "SELECT id FROM crawls WHERE shard_crawl_id = 2")
    assert query(into, "SELECT post_id, field, old, new, crawl_id FROM post_changes") == [
        (f"{1:012x}", "title", "Netflix post 1", "Renamed", archive_id)
    ]


def test_merging_a_shard_again_changes_nothing(tmp_path, two_shards):
    into = tmp_path / "archive.db"
    merge_shards(list(two_shards), into, now=NOW)
    contents = dump(into, ("posts", "authors", "post_authors", "post_changes", "publications"))
    runs = runs_of(into)

    again = merge_shards(list(two_shards), into, now=LATER_NOW)

    assert again.exit_code == EXIT_OK
    assert [
        (r.runs_copied, r.posts_new, r.posts_updated, r.posts_unchanged) for r in again.shards
    ] == [
        (1, 0, 0, 3),
        (1, 0, 0, 2),
    ]
    assert runs_of(into) == runs
    assert (
        dump(into, ("posts", "authors", "post_authors", "post_changes", "publications")) == contents
    )
    assert [m["started"] for m in merges_of(into)] == [NOW, NOW, LATER_NOW, LATER_NOW]


def test_a_failed_latest_run_keeps_the_archive_posts_of_that_publication(tmp_path):
    shard = tmp_path / "node.db"
    crawl(shard, NETFLIX, [netflix_post(1), netflix_post(2)])
    crawl(shard, AIRBNB, [airbnb_post(11)])
    into = tmp_path / "archive.db"
    merge_shards([shard], into, now=NOW)
    # The next Netflix run stored a page with a bad rendering, then failed (a layout change).
    crawl(
        shard,
        NETFLIX,
        [netflix_post(1, title="Oops: garbled", seen_at=DAY2), netflix_post(3, seen_at=DAY2)],
        status="failed",
        started=DAY2,
    )
    crawl(shard, AIRBNB, [airbnb_post(12, seen_at=DAY2)], started=DAY2)

    report = merge_shards([shard], into, now=NOW)

    assert report.exit_code == EXIT_PARTIAL
    assert report.skipped == [Skipped(NETFLIX[0], "node.db", "failed")]
    assert report.shards[0].runs_copied == 4
    posts = posts_of(into)
    assert sorted(posts) == [f"{n:012x}" for n in (1, 2, 11, 12)]
    assert posts[f"{1:012x}"]["title"] == "Netflix post 1"
    assert query(
        into, "SELECT status FROM crawls WHERE source = ? ORDER BY started", NETFLIX[0]
    ) == [
        ("ok",),
        ("failed",),
    ]
    assert json.loads(merges_of(into)[-1]["skipped"]) == [{"url": NETFLIX[0], "status": "failed"}]
    assert "publications skipped 1" in report.summary()


def test_posts_of_no_publication_follow_the_latest_run_of_no_publication(tmp_path):
    shard = tmp_path / "captures.db"
    capture = Post(id="0000000000aa", url="https://netflixtechblog.com/a-0000000000aa", title="A")
    with Archive(shard) as archive:
        crawl_id = archive.begin_crawl(source="home.md", started=DAY1, as_of=DAY1)
        archive.save(capture, None, [], crawl_id)
        finish(archive, crawl_id, "ok")
        archive.begin_crawl(source="other.md", started=DAY2, as_of=DAY2)  # still "running"
    report = merge_shards([shard], tmp_path / "archive.db", now=NOW)
    assert report.skipped == [Skipped("other.md", "captures.db", "running")]
    assert posts_of(tmp_path / "archive.db") == {}


def test_posts_without_any_run_are_merged(tmp_path):
    shard = tmp_path / "bare.db"
    with Archive(shard) as archive:
        archive.save(netflix_post(1, publication=None), None, [], None)
        archive.commit()
    report = merge_shards([shard], tmp_path / "archive.db", now=NOW)
    assert (report.exit_code, report.total("posts_new")) == (EXIT_OK, 1)


def test_a_post_cannot_name_a_publication_the_archive_lacks(tmp_path):
    """posts.publication is a foreign key: Datasette shows it by the publication's name."""
    with Archive(tmp_path / "strict.db") as archive, pytest.raises(sqlite3.IntegrityError):
        archive.save(netflix_post(1), None, [], None)


KILLED_CRAWL = textwrap.dedent(
    """
    import os, sys
    from archive_spider.items import Post
    from archive_spider.storage import Archive
    archive = Archive(sys.argv[1])
    crawl_id = archive.begin_crawl(source=sys.argv[2], started=sys.argv[3], as_of=None)
    archive.update_crawl(crawl_id, publication=sys.argv[4])
    archive.save_publication(id=sys.argv[4], url=sys.argv[2], name=None, slug=None,
                             domain=None, seen=sys.argv[3])
    post = Post(id="00000000000a", url="https://netflixtechblog.com/p-00000000000a",
                title="Committed before the kill", publication=sys.argv[4], seen_at=sys.argv[3])
    archive.save(post, None, [], crawl_id)
    archive.commit()
    os._exit(0)  # killed: the connection is never closed, the commits stay in the -wal file
    """
)


def test_a_running_run_left_by_a_killed_crawl_is_refreshed_once_it_ends(tmp_path):
    shard = tmp_path / "node.db"
    crawl(shard, AIRBNB, [airbnb_post(11)])
    subprocess.run(
        [sys.executable, "-c", KILLED_CRAWL, str(shard), NETFLIX[0], DAY2, NETFLIX[1]],
        check=True,
        cwd=PACKAGE_ROOT,
    )
    assert Path(f"{shard}-wal").stat().st_size > 0  # the shard is left in WAL mode
    into = tmp_path / "archive.db"

    first = merge_shards([shard], into, now=NOW)

    assert first.skipped == [Skipped(NETFLIX[0], "node.db", "running")]
    assert sorted(posts_of(into)) == [f"{11:012x}"]
    [(archive_id, status)] = query(
        into, "SELECT id, status FROM crawls WHERE source = ?", NETFLIX[0]
    )
    assert status == "running"

    # The next crawl of the shard marks the killed run interrupted...
    with Archive(shard) as archive:
        archive.close_abandoned_runs(DAY3)
    second = merge_shards([shard], into, now=NOW)
    assert second.skipped == [Skipped(NETFLIX[0], "node.db", "interrupted")]
    assert query(into, "SELECT id, status, error FROM crawls WHERE source = ?", NETFLIX[0]) == [
        (archive_id, "interrupted", ABANDONED)
    ]

    # ...and then crawls Netflix to the end.
    ok_run = crawl(shard, NETFLIX, [netflix_post(20, seen_at=DAY3)], started=DAY3)
    third = merge_shards([shard], into, now=NOW)
    assert (third.exit_code, third.total("posts_new")) == (EXIT_OK, 2)
    assert sorted(posts_of(into)) == [f"{n:012x}" for n in (10, 11, 20)]
    assert len(runs_of(into)) == 3
    assert query(into, "SELECT status FROM crawls WHERE shard_crawl_id = ?", ok_run) == [("ok",)]


HOLD_LOCK = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from archive_spider.lock import hold_lock
    with hold_lock(Path(sys.argv[1])):
        print("locked", flush=True)
        time.sleep(60)
    """
)


@pytest.fixture
def hold_lock_elsewhere():
    """A factory: `hold(db)` holds db's lock from another process until the test ends."""
    holders: list[subprocess.Popen] = []

    def hold(db: Path) -> int:
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_LOCK, str(db)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=PACKAGE_ROOT,
        )
        holders.append(holder)
        assert holder.stdout.readline() == "locked\n"
        return holder.pid

    yield hold
    for holder in holders:
        holder.kill()
        holder.wait()


def test_a_shard_a_crawl_is_writing_is_refused(tmp_path, two_shards, hold_lock_elsewhere):
    first, second = two_shards
    third = tmp_path / "node3.db"
    crawl(third, NETFLIX, [netflix_post(30)])
    pid = hold_lock_elsewhere(second)
    into = tmp_path / "archive.db"

    report = merge_shards([first, second, third], into, now=NOW)

    assert report.exit_code == EXIT_LOCKED
    assert [(r.shard, r.status) for r in report.shards] == [
        ("node1.db", "ok"),
        ("node2.db", "refused"),
        ("node3.db", "ok"),
    ]
    assert report.refused[0].error == (
        f"shard node2.db is being written by a crawl (pid {pid}); merge it later"
    )
    assert sorted(posts_of(into)) == [f"{n:012x}" for n in (1, 2, 3, 30)]
    assert query(into, "SELECT count(*) FROM crawls WHERE shard = 'node2.db'") == [(0,)]
    refused = merges_of(into)[1]
    assert (refused["status"], refused["runs_copied"], refused["posts_new"]) == ("refused", 0, 0)
    assert str(pid) in refused["error"]


def foreign(path: Path) -> None:
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")


def older_schema(path: Path) -> None:
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        for migration in MIGRATIONS[: SCHEMA_VERSION - 1]:
            migration(sqlite_utils.Database(conn))
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION - 1}")


@pytest.mark.parametrize(
    ("prepare", "message"),
    [
        (lambda path: None, "shard not found"),
        (lambda path: path.mkdir(), "is not a file"),
        (lambda path: path.write_bytes(b"not a database\n" * 100), "is not a SQLite database"),
        (foreign, r"another application \(tables: invoices\)"),
        (lambda path: path.touch(), "is not an archive"),
        (older_schema, f"schema version {SCHEMA_VERSION - 1}, not {SCHEMA_VERSION}: run a crawl"),
    ],
    ids=["missing", "folder", "not-sqlite", "foreign", "empty", "older-schema"],
)
def test_an_unusable_shard_is_refused_before_anything_is_written(
    tmp_path, two_shards, prepare, message
):
    bad = tmp_path / "bad.db"
    prepare(bad)
    into = tmp_path / "archive.db"
    with pytest.raises(ShardError, match=message):
        merge_shards([two_shards[0], bad], into, now=NOW)
    assert not into.exists()
    assert not Path(f"{into}.lock").exists()


def test_a_copied_shard_twice_or_the_archive_itself_is_refused(tmp_path, two_shards):
    into = tmp_path / "archive.db"
    merge_shards([two_shards[0]], into, now=NOW)
    before = into.read_bytes()
    copy = tmp_path / "copy-of-node1.db"
    shutil.copy(two_shards[0], copy)
    with pytest.raises(ShardError, match="are copies of one shard"):
        merge_shards([two_shards[0], copy], into, now=NOW)
    with pytest.raises(ShardError, match="is the archive merged into"):
        merge_shards([two_shards[1], tmp_path / "." / "archive.db"], into, now=NOW)
    archive_copy = tmp_path / "archive-copy.db"
    shutil.copy(into, archive_copy)
    with pytest.raises(ShardError, match=r"is a copy of .*archive\.db itself"):
        merge_shards([archive_copy], into, now=NOW)
    assert into.read_bytes() == before


def test_a_new_shard_under_an_old_name_keeps_the_old_shards_runs(tmp_path, two_shards):
    """A replacement node starts a fresh node1.db: its run ids start at 1 again."""
    into = tmp_path / "archive.db"
    merge_shards([two_shards[0]], into, now=NOW)
    old_runs = runs_of(into)
    fresh = tmp_path / "replacement" / "node1.db"
    fresh.parent.mkdir()
    crawl(fresh, AIRBNB, [airbnb_post(40)], started=DAY2)
    report = merge_shards([fresh], into, now=LATER_NOW)
    assert report.exit_code == EXIT_OK
    runs = runs_of(into)
    assert runs[: len(old_runs)] == old_runs  # not overwritten by the new shard's id 1
    assert [(r["shard"], r["shard_crawl_id"], r["source"]) for r in runs[len(old_runs) :]] == [
        ("node1.db", 1, AIRBNB[0])
    ]
    assert len({r["shard_uid"] for r in runs}) == 2


def test_a_shard_failing_half_way_is_rolled_back_and_the_merge_stops(tmp_path, two_shards):
    first, second = two_shards
    broken = tmp_path / "broken.db"
    crawl(broken, NETFLIX, [netflix_post(n) for n in (50, 51, 52)])
    with closing(sqlite3.connect(broken)) as conn:
        conn.execute("UPDATE posts SET authors = '[not json' WHERE id = ?", (f"{52:012x}",))
        conn.commit()
    into = tmp_path / "archive.db"

    report = merge_shards([first, broken, second], into, now=NOW)

    assert report.exit_code == EXIT_FAILED
    assert [(r.shard, r.status) for r in report.shards] == [
        ("node1.db", "ok"),
        ("broken.db", "failed"),
    ]
    assert report.unmerged == ["node2.db"]
    assert report.failed.error.startswith("shard broken.db failed, nothing merged from it: ")
    assert report.summary().endswith("; broken.db failed and was rolled back; not merged: node2.db")
    assert sorted(posts_of(into)) == [f"{n:012x}" for n in (1, 2, 3)]
    assert query(into, "SELECT shard FROM crawls") == [("node1.db",)]
    assert [(m["shard"], m["status"]) for m in merges_of(into)] == [
        ("node1.db", "ok"),
        ("broken.db", "failed"),
    ]


def invoke(*args: str):
    return CliRunner().invoke(main, ["merge", *map(str, args)])


def test_cli_merges_and_reports(tmp_path, two_shards):
    into = tmp_path / "archive.db"
    result = invoke(*two_shards, "--into", into)
    assert result.exit_code == EXIT_OK, result.output
    assert result.stdout.startswith("ok: merged 2 of 2 shard(s)")
    assert result.stderr == ""
    again = invoke(*two_shards, "--into", into, "--json")
    report = json.loads(again.stdout)
    assert (report["status"], report["posts_unchanged"], report["runs_copied"]) == ("ok", 5, 2)
    assert [shard["shard"] for shard in report["shards"]] == ["node1.db", "node2.db"]


def test_cli_warns_of_skipped_publications_and_exits_4(tmp_path):
    shard = tmp_path / "node.db"
    crawl(shard, NETFLIX, [netflix_post(1)], status="blocked")
    result = invoke(shard, "--into", tmp_path / "archive.db")
    assert result.exit_code == EXIT_PARTIAL
    assert result.stderr == (
        f"warning: node.db: kept the archive's posts of {NETFLIX[0]}, "
        "whose latest run there is blocked\n"
    )


def test_cli_reports_a_refused_shard_and_exits_5(tmp_path, two_shards, hold_lock_elsewhere):
    pid = hold_lock_elsewhere(two_shards[1])
    result = invoke(*two_shards, "--into", tmp_path / "archive.db")
    assert result.exit_code == EXIT_LOCKED
    assert result.stderr == (
        f"error: shard node2.db is being written by a crawl (pid {pid}); merge it later\n"
    )


def test_cli_exits_5_at_once_when_the_archive_is_locked(tmp_path, two_shards, hold_lock_elsewhere):
    into = tmp_path / "archive.db"
    merge_shards([two_shards[0]], into, now=NOW)
    before = into.read_bytes()
    pid = hold_lock_elsewhere(into)
    result = invoke(*two_shards, "--into", into)
    assert result.exit_code == EXIT_LOCKED
    assert result.stderr.startswith(f"error: {into} is being written by another crawl (pid {pid})")
    assert into.read_bytes() == before


def test_cli_usage_errors_are_one_line_and_write_nothing(tmp_path, two_shards):
    into = tmp_path / "archive.db"
    result = run_cli("merge", str(two_shards[0]), str(tmp_path / "nope.db"), "--into", str(into))
    assert result.returncode == EXIT_USAGE
    assert result.stderr == f"error: shard not found: {tmp_path / 'nope.db'}\n"
    assert result.stdout == ""
    assert not into.exists()


def test_a_run_killed_before_it_named_its_publication_still_skips_it(tmp_path):
    """The killed run's row has no publication id yet; its source URL ties it to Netflix."""
    shard = tmp_path / "part1.db"
    crawl(shard, NETFLIX, [netflix_post(1)], started=DAY1)
    crawl(shard, AIRBNB, [airbnb_post(2)], started=DAY1)
    with Archive(shard) as archive:  # killed before its homepage: 'running', no publication
        archive.begin_crawl(source=NETFLIX[0], started=DAY2, as_of=DAY2)
    crawl(shard, NETFLIX, [netflix_post(3)], status="ok", started=DAY1)  # an older good run
    report = merge_shards([shard], tmp_path / "archive.db", now=NOW)
    assert report.skipped == [Skipped(NETFLIX[0], "part1.db", "running")]
    assert set(posts_of(tmp_path / "archive.db")) == {f"{2:012x}"}
