"""Resource limits end to end: the real `archive-spider crawl` against hostile servers.

Each server is a few lines of stdlib on 127.0.0.1, in a thread of this process. The crawl
runs as a child process; its time is measured around it, and its peak memory is the
high-water mark of its resident set (`VmHWM` in /proc/PID/status), read until it exits.
(`ru_maxrss` from wait4 would not do: Linux folds the high-water mark of the process that
spawned the child, here pytest, into the child's.)
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from contextlib import closing
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from helpers import cli_command

MAXSIZE = 8 * 1024 * 1024
LIMITED = (
    "-s", f"DOWNLOAD_MAXSIZE={MAXSIZE}", "-s", "DOWNLOAD_TIMEOUT=3", "-s", "RETRY_TIMES=1",
    "-s", "ARCHIVE_RETRY_BACKOFF_BASE=0.01", "-s", "DOWNLOAD_DELAY=0",
    "-s", "AUTOTHROTTLE_ENABLED=0",
)  # fmt: skip
# Every crawl here must end well within this, and stay under this much memory.
TIME_LIMIT = 30.0
MEMORY_LIMIT_MB = 250
# The figures measured in this run (printed with `pytest -s`).
FIGURES: dict[str, str] = {}


# Hostile servers ------------------------------------------------------------------------


def _gzip_bomb(inflated: int = 256 * 1024 * 1024) -> bytes:
    """A few hundred KB of gzip that inflates to `inflated` bytes of HTML-ish text."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip container
    block = b"<div>" + b" " * (1024 * 1024 - 5)
    parts = [packer.compress(b"<!doctype html><html><body>")]
    parts += [packer.compress(block) for _ in range(inflated // len(block))]
    parts.append(packer.flush())
    return b"".join(parts)


@functools.cache
def bomb() -> bytes:
    return _gzip_bomb()


@functools.cache
def dense_homepage(size: int = MAXSIZE - 4096) -> bytes:
    """A homepage just under DOWNLOAD_MAXSIZE, packed with minimal but valid cards, whose
    Apollo state names the publication: ~94,000 posts in 8 MiB."""
    card = '<article data-testid="post-preview"><a href="/p-{:012x}"><h2>Post</h2></a></article>'
    key = "Collection:2615bd06b42e"
    state = {
        "ROOT_QUERY": {
            'collectionByDomainOrSlug({"domainOrSlug":"netflixtechblog.com"})': {"__ref": key}
        },
        key: {
            "id": "2615bd06b42e",
            "slug": "netflix-techblog",
            "customDomain": "netflixtechblog.com",
        },
    }
    tail = f"<script>window.__APOLLO_STATE__ = {json.dumps(state)}</script></body></html>"
    count = (size - len(tail) - 20) // len(card.format(0))
    cards = "".join(card.format(number) for number in range(count))
    return f"<html><body>{cards}{tail}".encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        """A crawler that hangs up on an endless or silent answer is what these tests want."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Hostile(BaseHTTPRequestHandler):
    """robots.txt is missing; the homepage is whatever the server's `mode` says."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        mode = self.server.mode
        with self.server.lock:
            self.server.requests.append(self.path)
        try:
            if mode == "silent":
                self.server.stopping.wait()  # accept, read the request, never answer
            elif self.path == "/robots.txt":
                self._send(404, b"", "text/plain")
            elif mode == "gzip_bomb":
                self._send(200, bomb(), "text/html; charset=utf-8", ("Content-Encoding", "gzip"))
            elif mode == "endless":
                self._endless(b"<div>" + b"x" * 65531)
            elif mode == "trickle":
                self._trickle()
            elif mode == "dense" and self.path == "/":
                self._send(200, dense_homepage(), "text/html; charset=utf-8")
            else:
                self._send(404, b"", "text/plain")
        except ConnectionError:
            self.close_connection = True

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._send(404, b"", "application/json")  # no GraphQL listing here

    def _send(self, status, body, content_type, *headers):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _endless(self, chunk: bytes):
        """A chunked answer that never ends (64 KiB chunks, as fast as the client reads)."""
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        while not self.server.stopping.is_set():
            self.wfile.write(framed)
            self.server.sent += len(chunk)
        self.close_connection = True

    def _trickle(self):
        """Headers at once, then one byte of body every half second, forever."""
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(MAXSIZE // 2))
        self.end_headers()
        while not self.server.stopping.wait(0.5):
            self.wfile.write(b"<")
            self.wfile.flush()
        self.close_connection = True


@pytest.fixture
def hostile_server():
    servers = []

    def start(mode: str) -> ThreadingHTTPServer:
        server = _Server(("127.0.0.1", 0), _Hostile)
        server.mode, server.requests, server.sent = mode, [], 0
        server.lock, server.stopping = threading.Lock(), threading.Event()
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.start()
        servers.append((server, thread))
        return server

    yield start
    for server, thread in servers:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


# Running the crawl, measured -------------------------------------------------------------


@dataclass
class Measured:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss_mb: float
    timed_out: bool


def run_measured(*args: str, timeout: float = TIME_LIMIT) -> Measured:
    """`archive-spider ARGS` in a child process; its wall time and peak RSS (wait4)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        child = subprocess.Popen(cli_command(*args), stdout=out, stderr=err)
        timed_out, peak_kb = False, 0
        while True:
            peak_kb = max(peak_kb, _high_water_kb(child.pid))
            pid, status, _ = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started > timeout:
                timed_out = True
                child.kill()
                pid, status, _ = os.wait4(child.pid, 0)
                break
            time.sleep(0.01)
        seconds = time.monotonic() - started
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        err.seek(0)
        return Measured(
            child.returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
            seconds,
            peak_kb / 1024,
            timed_out,
        )


def _high_water_kb(pid: int) -> int:
    """The peak resident set of a running process so far (0 once it has exited)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def crawl(server, db: Path, *extra: str) -> Measured:
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    return run_measured("crawl", url, "--db", str(db), "--quiet", *LIMITED, *extra)


def stored_posts(db: Path) -> int:
    if not db.exists():
        return 0
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute("SELECT count(*) FROM posts").fetchone()[0]


def assert_bounded_failure(result: Measured, db: Path, name: str, words: tuple[str, ...]):
    FIGURES[name] = f"{result.seconds:.1f} s, peak RSS {result.peak_rss_mb:.0f} MB"
    print(f"\n{name}: exit {result.returncode}, {FIGURES[name]}\n{result.stderr}")
    assert not result.timed_out, f"{name}: still running after {TIME_LIMIT} s"
    assert result.seconds < TIME_LIMIT, FIGURES[name]
    assert result.peak_rss_mb < MEMORY_LIMIT_MB, FIGURES[name]
    assert result.returncode != 0, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"{name}: stderr should be one error line: {result.stderr!r}"
    assert lines[0].startswith("error: "), lines
    why = " or ".join(repr(word) for word in words)
    assert any(word in lines[0].lower() for word in words), f"it should say why ({why}): {lines}"
    assert "Traceback" not in result.stderr
    assert stored_posts(db) == 0


# The tests --------------------------------------------------------------------------------


def test_the_gzip_bomb_really_is_one():
    assert len(bomb()) < 512 * 1024
    unpacker, inflated = zlib.decompressobj(31), 0
    for start in range(0, len(bomb()), 64 * 1024):
        inflated += len(unpacker.decompress(bomb()[start : start + 64 * 1024]))
    assert inflated > 64 * 1024 * 1024


def test_a_gzip_bomb_stops_at_download_maxsize(hostile_server, tmp_path):
    server = hostile_server("gzip_bomb")
    db = tmp_path / "bomb.db"
    result = crawl(server, db)
    assert_bounded_failure(result, db, "gzip bomb", ("maxsize",))


def test_an_endless_response_stops_at_download_maxsize(hostile_server, tmp_path):
    server = hostile_server("endless")
    db = tmp_path / "endless.db"
    result = crawl(server, db)
    assert_bounded_failure(result, db, "endless chunked response", ("maxsize",))
    # Each attempt stops soon after the cap: far less than the 10 GB the server would send.
    attempts = server.requests.count("/")
    assert server.sent < (attempts + 1) * (MAXSIZE + 16 * 1024 * 1024), server.sent


def test_a_server_that_never_answers_ends_at_the_timeout(hostile_server, tmp_path):
    server = hostile_server("silent")
    db = tmp_path / "silent.db"
    result = crawl(server, db)
    assert_bounded_failure(result, db, "silent server", ("timeout", "timed out", "took longer"))
    # robots.txt and the homepage, each tried twice (RETRY_TIMES=1), 3 s each at most.
    assert result.seconds < 4 * (3 + 1) + 5, FIGURES["silent server"]


def test_a_body_that_trickles_in_ends_at_the_timeout(hostile_server, tmp_path):
    server = hostile_server("trickle")
    db = tmp_path / "trickle.db"
    result = crawl(server, db)
    assert_bounded_failure(result, db, "trickling body", ("timeout", "timed out", "took longer"))


def test_a_page_packed_with_cards_stays_within_time_and_memory(hostile_server, tmp_path):
    """The worst page DOWNLOAD_MAXSIZE lets through: 8 MiB of minimal cards (~97,000)."""
    server = hostile_server("dense")
    db = tmp_path / "dense.db"
    result = crawl(server, db, "--as-of", "2025-12-29T12:00:00Z")
    FIGURES["dense page"] = f"{result.seconds:.1f} s, peak RSS {result.peak_rss_mb:.0f} MB"
    print(f"\ndense page: exit {result.returncode}, {FIGURES['dense page']}\n{result.stderr}")
    assert not result.timed_out, f"still running after {TIME_LIMIT} s: {FIGURES['dense page']}"
    assert result.peak_rss_mb < MEMORY_LIMIT_MB, FIGURES["dense page"]
    assert "Traceback" not in result.stderr
