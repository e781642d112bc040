"""A crawl whose archive's file system fills up: one line, exit 1, honest counts, nothing lost.

The archive lives on a tmpfs of 600 KiB that the test mounts, which needs root (as CI runs);
elsewhere the test is skipped and says why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import query, run_cli

SIZE = "600k"


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root and mount(8)")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_stops_the_run_with_one_line_and_keeps_what_was_committed(
    small_disk: Path, tmp_path: Path
):
    db = small_disk / "archive.db"
    first = run_cli("crawl", "--db", str(db), "--quiet")
    assert first.returncode == 1, first.stderr
    (line,) = first.stderr.splitlines()
    assert line.startswith("error: cannot write archive.db: database or disk is full; ")
    kept = int(line.rsplit("; ", 1)[1].split()[0])
    assert 0 < kept < 269
    assert query(db, "SELECT count(*) FROM posts") == [(kept,)]
    assert query(db, "SELECT status, posts_new, error FROM crawls") == [
        ("failed", kept, line.removeprefix("error: "))
    ]
    assert query(db, "PRAGMA integrity_check") == [("ok",)]

    # Again on the full disk: the same one line, no traceback, nothing lost.
    second = run_cli("crawl", "--db", str(db), "--quiet")
    assert second.returncode == 1, second.stderr
    assert len(second.stderr.splitlines()) == 1 and "database or disk is full" in second.stderr
    assert query(db, "SELECT count(*) FROM posts") == [(kept,)]

    # With room, the next run completes.
    roomy = tmp_path / "archive.db"
    for suffix in ("", "-wal"):  # committed pages may still sit in the write-ahead log
        if Path(f"{db}{suffix}").exists():
            shutil.copy(f"{db}{suffix}", f"{roomy}{suffix}")
    third = run_cli("crawl", "--db", str(roomy), "--quiet")
    assert third.returncode == 0, third.stderr
    assert query(roomy, "SELECT count(*) FROM posts") == [(269,)]
    assert query(roomy, "SELECT status FROM crawls ORDER BY id DESC LIMIT 1") == [("ok",)]
