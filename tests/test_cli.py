"""End to end through the real `archive-spider crawl` command, Scrapy and SQLite."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import CAPTURE, FIXTURES, dump, query, run_cli

from archive_spider.dates import parse_reference
from archive_spider.lock import hold_lock
from archive_spider.merge import merge
from archive_spider.snapshot import CAPTURE_AS_OF
from archive_spider.sources.capture import parse_capture

ROOT = Path(__file__).resolve().parent.parent
TITLE_LAUNCH = "Title Launch Observability at Netflix Scale"


@pytest.fixture(scope="module")
def snapshot_db(tmp_path_factory):
    """The bundled snapshot archived with no SOURCE, as the README's first command does."""
    db = tmp_path_factory.mktemp("snapshot") / "netflix.db"
    result = run_cli("crawl", "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "ok: pages 14, renderings 538, unique posts 269, new 269, updated 0, rejected 0, errors 0"
    )
    return db


def expected_posts(as_of: str) -> dict:
    """The capture's posts, merged independently of the crawl, keyed by id."""
    posts = {}
    for block in parse_capture(CAPTURE.read_text(), reference=parse_reference(as_of)):
        for post in block:
            posts[post.id] = merge(posts.get(post.id), post)[0]
    return posts


def test_the_snapshot_gives_269_distinct_posts(snapshot_db):
    assert query(snapshot_db, "SELECT count(*), count(DISTINCT id) FROM posts") == [(269, 269)]
    assert query(snapshot_db, "PRAGMA integrity_check") == [("ok",)]
    assert query(snapshot_db, "PRAGMA foreign_key_check") == []


def test_every_post_has_the_values_of_the_capture(snapshot_db):
    expected = expected_posts(CAPTURE_AS_OF)
    rows = query(
        snapshot_db,
        "SELECT id, url, title, subtitle, published_text, published, read_minutes, image_id "
        "FROM posts",
    )
    assert len(rows) == len(expected) == 269
    for row in rows:
        post = expected[row[0]]
        assert row[1:] == (
            post.url,
            post.title,
            post.subtitle,
            post.published_text,
            post.published,
            post.read_minutes,
            post.image_id,
        )
        assert "?" not in row[1]


def test_known_posts_are_stored_exactly(snapshot_db):
    rows = query(
        snapshot_db,
        "SELECT id, title, published_text, published, published_precision, read_minutes, "
        "image_id, account, authors FROM posts WHERE id IN (?, ?, ?) ORDER BY published DESC",
        "b2d5b95c63eb",
        "61a538d717a9",
        "7dd933974f5e",
    )
    assert rows == [
        (
            "b2d5b95c63eb",
            "Supercharging the ML and AI Development Experience at Netflix",
            "2d ago",
            "2025-11-04",
            "day_approx",
            9,
            "1*0I8DAvXCQEN1RpTTC0ZyaQ.jpeg",
            "Netflix Technology Blog",
            '["Netflix Technology Blog"]',
        ),
        (
            "61a538d717a9",
            "Post-Training Generative Recommenders with Advantage-Weighted Supervised Finetuning",
            "Oct 24",
            "2025-10-24",
            "day",
            10,
            "1*N9QNNLspEJJCxQjtNl9HZw.png",
            "Netflix Technology Blog",
            '["Keertana Chidambaram", "Qiuling Xu", "Ko-Jen Hsiao", "Moumita Bhattacharya"]',
        ),
        (
            "7dd933974f5e",
            "Engineering to Improve Marketing Effectiveness (Part 2)\u200a—\u200aScaling Ad "
            "Creation and Management",
            "Sep 4, 2018",
            "2018-09-04",
            "day",
            10,
            "1*6_BrSaP_JSBsJPZP0RPGzA.png",
            "Netflix Technology Blog",
            '["Ravi Srinivas Ranganathan", "Gopal Krishnan"]',
        ),
    ]


def test_posts_sharing_a_title_stay_apart(snapshot_db):
    rows = query(snapshot_db, "SELECT id, subtitle FROM posts WHERE title = ?", TITLE_LAUNCH)
    assert len(rows) == 3
    assert len({subtitle for _, subtitle in rows}) == 3


def test_authors_are_linked_in_byline_order(snapshot_db):
    rows = query(
        snapshot_db,
        "SELECT a.name FROM post_authors pa JOIN authors a ON a.id = pa.author_id "
        "WHERE pa.post_id = ? ORDER BY pa.position",
        "127b6712359a",
    )
    assert [name for (name,) in rows] == [
        "Prudhviraj Karumanchi",
        "Samuel Fu",
        "Sriram Rangarajan",
        "Vidhya Arvind",
        "Yun Wang",
        "John Lu",
    ]


def test_the_run_is_recorded(snapshot_db):
    [row] = query(
        snapshot_db,
        "SELECT status, pages, renderings, posts_new, posts_updated, errors, as_of, error "
        "FROM crawls",
    )
    assert row == ("ok", 14, 538, 269, 0, 0, "2025-11-06T00:00:00Z", None)


def test_a_second_run_changes_nothing_but_the_run_log(snapshot_db, tmp_path):
    db = tmp_path / "again.db"
    shutil.copy(snapshot_db, db)
    before = dump(db)
    result = run_cli("crawl", "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert "unique posts 269, new 0, updated 0" in result.stdout
    assert dump(db) == before
    assert query(db, "SELECT count(*) FROM crawls") == [(2,)]
    assert query(db, "PRAGMA integrity_check") == [("ok",)]


def test_a_july_reference_puts_yearless_dates_in_the_year_before(tmp_path):
    db = tmp_path / "july.db"
    result = run_cli("crawl", str(CAPTURE), "--db", str(db), "--as-of", "2025-07-15")
    assert result.returncode == 0, result.stderr
    rows = dict(
        query(
            db,
            "SELECT id, published FROM posts WHERE id IN (?, ?, ?)",
            "61a538d717a9",
            "b2d5b95c63eb",
            "7dd933974f5e",
        )
    )
    assert rows == {
        "61a538d717a9": "2024-10-24",
        "b2d5b95c63eb": "2025-07-13",
        "7dd933974f5e": "2018-09-04",
    }


def test_quiet_prints_nothing(tmp_path):
    result = run_cli("crawl", "--db", str(tmp_path / "q.db"), "--quiet")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


# Bad input: a clear one-line message, a non-zero exit, the database untouched -------------


def one_line_error(result) -> str:
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.fixture
def existing_db(snapshot_db, tmp_path):
    db = tmp_path / "existing.db"
    shutil.copy(snapshot_db, db)
    return db


def test_a_missing_source(existing_db):
    before = existing_db.read_bytes()
    result = run_cli("crawl", "no/such/capture.md", "--db", str(existing_db))
    assert result.returncode == 2
    assert one_line_error(result) == "error: source not found: no/such/capture.md"
    assert existing_db.read_bytes() == before


def test_a_folder_as_source(tmp_path):
    result = run_cli("crawl", str(tmp_path), "--db", str(tmp_path / "x.db"))
    assert result.returncode == 2
    assert "source is not a file" in one_line_error(result)
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x89PNG\r\n\x1a\n\x00\x00garbage",
        b"<html><body><p>Just a page</p></body></html>",
        CAPTURE.read_bytes()[:1500],
    ],
    ids=["empty", "binary", "html-without-cards", "capture-header-only"],
)
def test_corrupt_input_fails_and_leaves_the_archive_alone(existing_db, tmp_path, content):
    source = tmp_path / "input.md"
    source.write_bytes(content)
    before = dump(existing_db)
    result = run_cli("crawl", str(source), "--db", str(existing_db))
    assert result.returncode == 1
    message = one_line_error(result)
    assert "layout changed" in message or "not UTF-8" in message, message
    assert dump(existing_db) == before
    assert query(existing_db, "SELECT status FROM crawls ORDER BY id DESC LIMIT 1") == [("failed",)]


def test_corrupt_input_creates_no_database(tmp_path):
    source = tmp_path / "input.md"
    source.write_text("nothing to see here\n")
    result = run_cli("crawl", str(source), "--db", str(tmp_path / "new.db"))
    assert result.returncode == 1
    one_line_error(result)
    assert list(tmp_path.iterdir()) == [source]


@pytest.mark.parametrize(
    ("db_name", "prepare", "message"),
    [
        ("missing/x.db", None, "folder"),
        ("text.db", lambda p: p.write_text("hello\n" * 50), "is not a SQLite database"),
        ("foreign.db", lambda p: shutil.copy(FIXTURES / "foreign.db", p), "another application"),
    ],
    ids=["unwritable-path", "not-sqlite", "foreign-schema"],
)
def test_unusable_databases_are_refused(tmp_path, db_name, prepare, message):
    db = tmp_path / db_name
    if prepare:
        prepare(db)
    before = db.read_bytes() if db.exists() else None
    result = run_cli("crawl", "--db", str(db))
    assert result.returncode == 2
    assert message in one_line_error(result)
    assert (db.read_bytes() if db.exists() else None) == before


def test_a_bad_as_of_is_a_usage_error(tmp_path):
    result = run_cli("crawl", "--db", str(tmp_path / "x.db"), "--as-of", "last tuesday")
    assert result.returncode == 2
    assert one_line_error(result).startswith("error: --as-of:")


def test_help_lists_the_exit_codes():
    result = run_cli("crawl", "--help")
    assert result.returncode == 0
    codes = re.findall(r"^ +(\d)  [a-z]", result.stdout, re.MULTILINE)
    assert codes == ["0", "1", "2", "3", "4", "5"]


def test_a_second_crawl_on_a_locked_archive_exits_at_once(tmp_path):
    db = tmp_path / "locked.db"
    with hold_lock(db):
        result = run_cli("crawl", "--db", str(db))
    assert result.returncode == 5
    assert "being written by another crawl" in one_line_error(result)
    assert not db.exists()


def test_scrapy_crawl_takes_the_lock_too(tmp_path):
    """A Scrapyd job (scrapy crawl) is a single writer as well: it stores nothing then."""
    db = tmp_path / "job.db"
    command = [sys.executable, "-m", "scrapy", "crawl", "collection", "-a", f"source={CAPTURE}"]
    command += ["-a", f"db={db}", "-a", f"as_of={CAPTURE_AS_OF}"]
    with hold_lock(db):
        job = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert "is being written by another crawl" in job.stderr
    assert "'archive/errors/locked': 1" in job.stderr
    assert not db.exists()
    job = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert query(db, "SELECT count(*), status FROM posts, crawls") == [(269, "ok")]


def test_a_lock_left_by_a_killed_crawl_is_taken_over(tmp_path):
    db = tmp_path / "stale.db"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path;"
            "from archive_spider.lock import hold_lock\n"
            "with hold_lock(Path(sys.argv[1])):\n print('held', flush=True); time.sleep(60)",
            str(db),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    holder.kill()
    holder.wait()
    result = run_cli("crawl", "--db", str(db))
    assert result.returncode == 0, result.stderr


def test_json_summary_and_progress_lines(snapshot_db, tmp_path):
    db = tmp_path / "j.db"
    result = run_cli("crawl", "--db", str(db), "--json")
    assert result.returncode == 0
    summary = json.loads(result.stdout)
    assert {k: summary[k] for k in ("status", "exit_code", "unique_posts", "new", "pages")} == {
        "status": "ok",
        "exit_code": 0,
        "unique_posts": 269,
        "new": 269,
        "pages": 14,
    }
    assert result.stderr == ""
    logged = run_cli("crawl", "--db", str(db))
    lines = logged.stderr.splitlines()
    assert len(lines) == 14
    assert lines[-1].startswith("pages 14 (") and lines[-1].endswith(
        "posts new 0, updated 0, errors 0"
    )


def test_status_shows_the_archive_and_its_runs(snapshot_db):
    result = run_cli("status", "--db", str(snapshot_db), "--json")
    assert result.returncode == 0
    report = json.loads(result.stdout)
    assert (report["posts"], report["newest_published"]) == (269, "2025-11-04")
    assert [run["status"] for run in report["runs"]] == ["ok"]
    assert report["hours_since_last_ok"] >= 0
    text = run_cli("status", "--db", str(snapshot_db)).stdout
    assert text.startswith("269 posts, newest published 2025-11-04; last good run finished")


def test_status_of_a_missing_archive_is_a_usage_error(tmp_path):
    result = run_cli("status", "--db", str(tmp_path / "none.db"))
    assert result.returncode == 2
    assert "no archive at" in one_line_error(result)


@pytest.mark.parametrize(
    ("rows", "part", "message"),
    [
        (None, "1/3", "--part needs --publications"),
        ("url\nhttps://medium.com/a\n", "4/3", "--part: part 4 is not between 1 and 3"),
        ("url\nhttps://medium.com/a\n", "x", "--part: expected PART/PARTS such as 2/3"),
        ("url,part\nhttps://medium.com/a,5\n", "1/3", "is pinned to part 5"),
        ("url\nftp://medium.com/a\n", None, "line 2: 'ftp://medium.com/a' is not an http(s)"),
        ("url\nhttps://medium.com/a\nhttps://medium.com/a/\n", None, "already listed on line 2"),
        ("name\nA\n", None, "no 'url' column"),
    ],
)
def test_a_bad_publication_list_or_part_is_refused_before_anything_runs(
    tmp_path, rows, part, message
):
    args = ["crawl", "--db", str(tmp_path / "many.db")]
    if rows is not None:
        (tmp_path / "list.csv").write_text(rows)
        args += ["--publications", str(tmp_path / "list.csv")]
    if part is not None:
        args += ["--part", part]
    result = run_cli(*args)
    assert result.returncode == 2, result.stderr
    assert message in one_line_error(result)
    assert not (tmp_path / "many.db").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("crawl", "--db", "{dir}"), "Invalid value for '--db': File '{dir}' is a directory"),
        (("crawl", "--wait", "-1", "--db", "{dir}/a.db"), "Invalid value for '--wait'"),
        (("crawl", "--audit", "x", "--db", "{dir}/a.db"), "Invalid value for '--audit'"),
        (("status",), "Missing option '--db'"),
        (("merge", "--into", "{dir}/a.db"), "Missing argument 'SHARDS...'"),
        (("nosuch",), "No such command 'nosuch'"),
    ],
)
def test_usage_errors_are_one_line_with_exit_2(tmp_path, args, message):
    result = run_cli(*(arg.format(dir=tmp_path) for arg in args))
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: {message.format(dir=tmp_path)}") and line.endswith("--help)")
    assert result.stdout == ""
