"""Archives and shards whose file names hold `#`, `?`, `%`, spaces or `file:`, through every
command: each reads and writes the file it is given, and leaves no other file behind."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from datasette.app import Datasette
from helpers import CAPTURE, FIXTURES, query, run_cli

from archive_spider.storage import archive_status

# Relative names, as a user types them in the archive's folder.
NAMES = ["x#1.db", "a?b.db", "100%.db", "my archive.db", "file:z.db"]


def files_of(name: str) -> set[str]:
    """The files an archive may have beside itself: its WAL, shared memory and lock."""
    return {name + suffix for suffix in ("", "-wal", "-shm", ".lock")}


def crawl(name: str, *args: str) -> None:
    result = run_cli("crawl", *args, "--db", name, "--quiet")
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module", params=NAMES)
def archived(request, tmp_path_factory) -> Path:
    """A folder holding the bundled snapshot crawled into an archive of an awkward name."""
    folder = tmp_path_factory.mktemp("awkward")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        crawl(request.param)
    return folder / request.param


@pytest.fixture
def in_folder(archived, monkeypatch) -> Iterator[str]:
    """The archive's name, run from its folder; afterwards the folder holds only its files."""
    monkeypatch.chdir(archived.parent)
    yield archived.name
    assert {path.name for path in archived.parent.iterdir()} <= files_of(archived.name)


def test_a_crawl_writes_the_archive_it_is_given(archived, in_folder):
    assert query(archived, "SELECT count(*) FROM posts") == [(269,)]
    assert query(archived, "SELECT status, posts_new FROM crawls") == [("ok", 269)]
    crawl(in_folder)  # a second run opens the existing archive: nothing is new
    assert query(archived, "SELECT count(*) FROM posts") == [(269,)]
    assert query(archived, "SELECT status, posts_new FROM crawls ORDER BY id") == [
        ("ok", 269),
        ("ok", 0),
    ]


def test_status_reads_the_archive(archived, in_folder):
    result = run_cli("status", "--db", in_folder, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["posts"], report["newest_published"]) == (269, "2025-11-04")
    assert {run["status"] for run in report["runs"]} == {"ok"}
    text = run_cli("status", "--db", in_folder)
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith("269 posts, newest published 2025-11-04; last good run")


def test_serve_checks_and_datasette_recognizes_the_archive(archived, in_folder):
    assert archive_status(Path(in_folder), 0)["posts"] == 269  # the check `serve` makes
    datasette = Datasette([str(archived)])
    name = archived.stem
    assert list(datasette.databases) == ["_internal", name]
    tables = datasette.metadata("tables", database=name)  # from the plugin's get_metadata
    assert {"posts", "crawls", "publications"} <= set(tables)
    assert tables["posts"]["description"].startswith("One row per post")


@pytest.mark.parametrize("name", ["other#1.db", "other?1.db"])
def test_a_foreign_database_is_named_by_its_own_tables(tmp_path, monkeypatch, name):
    shutil.copy(FIXTURES / "foreign.db", tmp_path / name)
    monkeypatch.chdir(tmp_path)
    result = run_cli("status", "--db", name)
    assert result.returncode == 2
    assert result.stderr == (
        f"error: {name} is a SQLite database of another application (tables: invoices); "
        "refusing to write into it\n"
    )
    assert [path.name for path in tmp_path.iterdir()] == [name]


def test_shards_merge_into_an_archive(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first, second, into = "node#1.db", "node?2 100%.db", "file:all of it#.db"
    crawl(first)
    crawl(second, str(CAPTURE), "--as-of", "2025-07-15")
    result = run_cli("merge", first, second, "--into", into, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [
        (shard["shard"], shard["status"], shard["runs_copied"], shard["posts_new"])
        for shard in report["shards"]
    ] == [(first, "ok", 1, 269), (second, "ok", 1, 0)]
    assert report["posts_unchanged"] == 269
    assert query(tmp_path / into, "SELECT shard, status FROM merges ORDER BY id") == [
        (first, "ok"),
        (second, "ok"),
    ]
    again = run_cli("merge", first, second, "--into", into)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith(f"ok: merged 2 of 2 shard(s) into {into}: runs 2, posts new 0")
    status = json.loads(run_cli("status", "--db", into, "--json").stdout)
    assert status["posts"] == 269
    assert sorted(run["shard"] for run in status["runs"]) == [first, second]
    assert {path.name for path in tmp_path.iterdir()} <= set().union(
        *(files_of(name) for name in (first, second, into))
    )


@pytest.mark.parametrize("archived", ["x#1.db", "a?b.db"], indirect=True)
def test_serve_refuses_a_path_datasette_cannot_open(archived, in_folder):
    # Datasette builds an unescaped file: URI of the path (tests/test_datasette.py serves one).
    result = run_cli("serve", "--db", in_folder)
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line == (
        f"error: Datasette cannot open {in_folder}: its path holds '#' or '?'; rename the archive"
    )
