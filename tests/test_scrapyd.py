"""Deploy to a real Scrapyd on 127.0.0.1, schedule a crawl of the snapshot, check the archive.

The helpers (`running_scrapyd`, `build_egg`, `deploy`, `schedule`, `wait_finished`) are
shared with tests/test_scrapyd_partitions.py.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest
from helpers import CAPTURE, query

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PROJECT = "archive_spider"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(url: str, data: Mapping[str, str] | Iterable[tuple[str, str]] | None = None) -> dict:
    """GET `url`, or POST `data` (a mapping, or pairs to repeat a name such as `setting`)."""
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    with urllib.request.urlopen(url, body, timeout=10) as response:
        return json.load(response)


@contextmanager
def running_scrapyd(folder: Path, max_proc: int = 1) -> Iterator[str]:
    """A Scrapyd on 127.0.0.1 whose config, eggs, logs and dbs are under `folder`; yields its
    URL and stops it on exit."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    (folder / "scrapyd.conf").write_text(
        "[scrapyd]\n"
        f"bind_address = 127.0.0.1\nhttp_port = {port}\n"
        f"eggs_dir = {folder / 'eggs'}\nlogs_dir = {folder / 'logs'}\n"
        f"dbs_dir = {folder / 'dbs'}\nitems_dir =\nmax_proc = {max_proc}\npoll_interval = 0.5\n"
    )
    server = subprocess.Popen(
        [str(BIN / "scrapyd")], cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
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


@pytest.fixture
def scrapyd(tmp_path):
    with running_scrapyd(tmp_path) as url:
        yield url


def build_egg(dist: Path) -> Path:
    """The project built as an egg into `dist`, as for `scrapyd-deploy --egg`. Its build
    files go beside `dist`, not into the checkout, so that builds may run in parallel."""
    work = dist.parent / "egg-build"
    work.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from setuptools import setup; setup()",
            "-q",
            *("egg_info", "--egg-base", str(work)),
            *("build", "--build-base", str(work / "build")),
            *("bdist_egg", "--bdist-dir", str(work / "bdist"), "-d", str(dist)),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    [egg] = dist.glob("*.egg")
    return egg


def deploy(scrapyd: str, egg: Path, folder: Path, version: str = "1") -> None:
    """Deploy `egg` to the Scrapyd at `scrapyd` with scrapyd-deploy, from a scrapy.cfg
    written into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scrapy.cfg").write_text(
        "[settings]\ndefault = archive_spider.settings\n"
        f"[deploy:test]\nurl = {scrapyd}\nproject = {PROJECT}\n"
    )
    subprocess.run(
        [str(BIN / "scrapyd-deploy"), "test", "--egg", str(egg), "--version", version],
        cwd=folder,
        check=True,
        capture_output=True,
    )


def schedule(scrapyd: str, arguments: Iterable[tuple[str, str]]) -> str:
    """Schedule a `collection` job with `arguments` (pairs, as `curl -d NAME=VALUE`); its id."""
    job = call(
        scrapyd + "schedule.json", [("project", PROJECT), ("spider", "collection"), *arguments]
    )
    assert job["status"] == "ok", job
    return job["jobid"]


def wait_finished(scrapyd: str, jobids: Iterable[str], timeout: float = 120) -> dict[str, dict]:
    """Wait until Scrapyd lists every job of `jobids` as finished; their listjobs entries."""
    wanted = set(jobids)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = call(scrapyd + f"listjobs.json?project={PROJECT}")
        finished = {j["id"]: j for j in jobs["finished"] if j["id"] in wanted}
        if finished.keys() == wanted:
            return finished
        time.sleep(0.5)
    pytest.fail(f"the Scrapyd jobs {sorted(wanted)} did not finish: {jobs}")


def test_a_job_scheduled_through_scrapyd_fills_the_archive(scrapyd, tmp_path):
    egg = build_egg(tmp_path / "dist")
    deploy(scrapyd, egg, tmp_path / "deploy")
    db = tmp_path / "scrapyd.db"
    job = schedule(
        scrapyd,
        {"source": str(CAPTURE), "as_of": "2025-11-06", "setting": f"ARCHIVE_DB={db}"}.items(),
    )
    wait_finished(scrapyd, [job])
    assert query(db, "SELECT count(*), count(DISTINCT id) FROM posts") == [(269, 269)]
    assert query(db, "SELECT status, posts_new FROM crawls") == [("ok", 269)]
