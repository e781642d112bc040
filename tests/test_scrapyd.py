"""Deploy to a real Scrapyd on 127.0.0.1, schedule a crawl of the snapshot, check the archive."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from helpers import CAPTURE, query

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(url: str, data: dict | None = None) -> dict:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    with urllib.request.urlopen(url, body, timeout=10) as response:
        return json.load(response)


@pytest.fixture
def scrapyd(tmp_path):
    port = free_port()
    (tmp_path / "scrapyd.conf").write_text(
        "[scrapyd]\n"
        f"bind_address = 127.0.0.1\nhttp_port = {port}\n"
        f"eggs_dir = {tmp_path / 'eggs'}\nlogs_dir = {tmp_path / 'logs'}\n"
        f"dbs_dir = {tmp_path / 'dbs'}\nitems_dir =\nmax_proc = 1\npoll_interval = 0.5\n"
    )
    server = subprocess.Popen(
        [str(BIN / "scrapyd")], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(100):
            try:
                call(url + "daemonstatus.json")
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("scrapyd did not start")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_a_job_scheduled_through_scrapyd_fills_the_archive(scrapyd, tmp_path):
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from setuptools import setup; setup()",
            "-q",
            "bdist_egg",
            "-d",
            str(dist),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    [egg] = dist.glob("*.egg")
    deploy_dir = tmp_path / "deploy"
    deploy_dir.mkdir()
    (deploy_dir / "scrapy.cfg").write_text(
        "[settings]\ndefault = archive_spider.settings\n"
        f"[deploy:test]\nurl = {scrapyd}\nproject = archive_spider\n"
    )
    subprocess.run(
        [str(BIN / "scrapyd-deploy"), "test", "--egg", str(egg), "--version", "1"],
        cwd=deploy_dir,
        check=True,
        capture_output=True,
    )
    db = tmp_path / "scrapyd.db"
    job = call(
        scrapyd + "schedule.json",
        {
            "project": "archive_spider",
            "spider": "collection",
            "source": str(CAPTURE),
            "as_of": "2025-11-06",
            "setting": f"ARCHIVE_DB={db}",
        },
    )
    assert job["status"] == "ok", job
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        jobs = call(scrapyd + "listjobs.json?project=archive_spider")
        if any(j["id"] == job["jobid"] for j in jobs["finished"]):
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"the Scrapyd job did not finish: {jobs}")
    assert query(db, "SELECT count(*), count(DISTINCT id) FROM posts") == [(269, 269)]
    assert query(db, "SELECT status, posts_new FROM crawls") == [("ok", 269)]
