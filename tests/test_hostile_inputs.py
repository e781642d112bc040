"""Hostile input for every parser: never an exception out of the crawl, never a garbage post.

Each hand-made case of `hostile.py` runs in a forked child with a time limit, so that a
parser that hangs fails its case instead of the test run. Generated cases run in-process
(Hypothesis, derandomized: every run tries the same inputs). The end-to-end tests run the
real crawl against a GraphQL server whose listing never ends.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import threading
from contextlib import closing
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import hostile
import pytest
from helpers import FIXTURES, run_cli
from hostile import (
    BAD_IDS,
    BAD_JSON_IDS,
    HOSTILE_HREFS,
    JSON_EPOCHS,
    PARSERS,
    READ_TEXTS,
    REFERENCE,
    classify_bounded,
    url_defect,
)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

# A case that runs longer than this (wall clock) hangs: it is killed and fails.
CASE_LIMIT = 5.0
# "A 10 MB title does not crash and finishes within a few seconds" (CPU seconds, so that a
# busy machine does not fail it).
HUGE_LIMIT = 3.0
TEXT_FORMATS = ("capture", "cards")
JSON_FORMATS = ("apollo", "graphql", "graphql_homepage", "graphql_by_id")

CASES = {parser: dict(hostile.CASES[parser]()) for parser in PARSERS}
CASE_IDS = [(parser, name) for parser in PARSERS for name in CASES[parser]]


# Hand-made cases ----------------------------------------------------------------------------


@pytest.mark.parametrize(("parser", "name"), CASE_IDS, ids=[f"{p}-{n}" for p, n in CASE_IDS])
def test_hand_made_case(parser, name):
    result = classify_bounded(parser, CASES[parser][name], seconds=CASE_LIMIT)
    summary = f"{parser}/{name}: {result.outcome} in {result.seconds:.2f} s, posts {result.posts}"
    assert not result.outcome.startswith("crash:"), summary
    assert not result.outcome.startswith("garbage:"), summary
    if result.outcome != "post":
        result.posts = []  # nothing of it would be stored
    for check in _expectations(parser, name):
        check(result, summary)


def _expectations(parser, name):
    """The specific promises a case is about, on top of "no crash, no garbage"."""
    if name.removesuffix("_in_link") in HOSTILE_HREFS or name.startswith(("offsite_", "image_")):
        yield _only_clean_urls
    if name.startswith("bad_id_"):
        yield _never_id(name.removeprefix("bad_id_"))
    if name.startswith("read_"):
        yield _read_minutes_kept_or_dropped(parser, name)
    if name.startswith("date_"):
        yield _date_dropped_or_sane(parser, name)
    if name.startswith("huge_"):
        yield _fast
    if name.startswith("deep_nesting") and parser in JSON_FORMATS:
        yield _documented_error(parser)
    if parser == "apollo" and name.startswith(("not_json_", "not_object_")):
        yield _documented_error(parser)
    if name in ("xxe", "billion_laughs"):
        yield _no_expanded_entities


def _only_clean_urls(result, summary):
    for post in result.posts:
        assert url_defect(post["url"]) is None, summary
        assert urlsplit(post["url"]).scheme in ("http", "https"), summary


def _never_id(kind):
    bad = {**BAD_IDS, **BAD_JSON_IDS}[kind]

    def check(result, summary):
        assert all(post["id"] != bad for post in result.posts), summary
        if not isinstance(bad, str) or not bad.strip():
            assert result.outcome != "post", summary

    return check


def _read_minutes_kept_or_dropped(parser, name):
    """A read time outside 0..1000 whole minutes is never stored: None, or the post rejected."""
    if parser in TEXT_FORMATS:
        shown = READ_TEXTS.get(name)
        expected = int(shown) if shown in ("0", "1000") else None
    else:
        expected = {"read_zero": 0, "read_max": 1000, "read_tiny": 1}.get(name)

    def check(result, summary):
        for post in result.posts:
            assert post["read_minutes"] == expected, summary

    return check


# Card date texts that name no real day: they must give no date at all.
_NO_DAY = {
    "date_feb30",
    "date_jun31",
    "date_oct32",
    "date_sep31_2023",
    "date_ago_negative",
    "date_ago_30_digits",
    "date_year_3000",
    "date_year_99999",
    "date_year_0000",
    "date_year_1900",
    "date_year_1000",
    "date_year_1999",
    "date_ago_99999d",
    # RSS dates
    "date_garbage",
    "date_empty_parts",
    "date_year_9999",
    "date_huge_year",
    "date_huge_offset",
}


def _date_dropped_or_sane(parser, name):
    if parser not in TEXT_FORMATS and parser != "rss":
        ms = JSON_EPOCHS.get(name)
        low, high = hostile.EARLIEST.timestamp() * 1000, REFERENCE.timestamp() * 1000
        in_range = isinstance(ms, int) and not isinstance(ms, bool) and low <= ms <= high
        expected_none = not in_range
    else:
        expected_none = name in _NO_DAY

    def check(result, summary):
        for post in result.posts:
            if expected_none:
                assert post["published"] is None, summary
            elif name == "date_ago_99d":
                day = (REFERENCE - timedelta(days=99)).date().isoformat()
                assert post["published"] == day, summary
                assert post["published_precision"] == "day_approx", summary

    return check


def _fast(result, summary):
    assert result.seconds < HUGE_LIMIT, summary


def _documented_error(parser):
    expected = {"apollo": "error:ApolloStateError"}.get(parser, "rejected:invalid_json")

    def check(result, summary):
        assert result.outcome == expected, summary

    return check


def _no_expanded_entities(result, summary):
    for post in result.posts:
        assert "root:" not in (post["title"] or ""), summary
        assert (post["title_length"] or 0) < 1000, summary


# Generated cases ----------------------------------------------------------------------------

# Derandomized: every run tries the same inputs. No shrinking: a failure shows the input as
# generated, and a failing run stays as quick as a passing one.
GENERATED = settings(
    max_examples=40,
    deadline=None,
    database=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("parser", PARSERS)
@GENERATED
@given(data=st.data())
def test_generated_inputs_never_crash(parser, data):
    document = data.draw(hostile.STRATEGIES[parser](), label="document")
    outcome = hostile.classify(parser, document)
    assert not outcome.startswith("crash:"), outcome


@pytest.mark.parametrize("parser", PARSERS)
@GENERATED
@given(data=st.data())
def test_generated_inputs_never_give_garbage_posts(parser, data):
    document = data.draw(hostile.STRATEGIES[parser](), label="document")
    outcome = hostile.classify(parser, document)
    assert not outcome.startswith(("crash:", "garbage:")), outcome


def test_every_parser_has_the_cases_the_issue_asks_for():
    """Truncated and invalid UTF-8 documents, bad ids, hostile URLs, absurd values, 10 MB
    titles; deep nesting and not-JSON state for the JSON formats."""
    for parser in PARSERS:
        names = set(CASES[parser])
        assert any(n.startswith("truncated") for n in names), parser
        assert any(n.startswith(("utf8_", "truncated_mid")) for n in names), parser
        assert {"js_url", "offsite_host"} <= names, parser
        assert any(n.startswith("bad_id_") for n in names), parser
        # The other GraphQL operations build their posts with the listing's code.
        assert any(n.startswith("huge_") for n in names) or parser != "graphql", parser
    for parser in ("capture", "cards"):
        assert {"date_feb30", "date_ago_99d", "date_year_1900", "date_year_3000"} <= set(
            CASES[parser]
        )
        assert {"read_neg", "read_huge"} <= set(CASES[parser])
    for parser in JSON_FORMATS:
        assert {"deep_nesting_array", "read_neg", "read_huge"} <= set(CASES[parser]), parser
    assert {"not_json_undefined", "not_json_truncated"} <= set(CASES["apollo"])
    assert {"date_year_1900", "date_year_3000", "date_feb30"} <= set(CASES["rss"])


# End to end: a GraphQL listing that never ends ----------------------------------------------

HOMEPAGE = (FIXTURES / "medium_home.html").read_bytes()
LISTING = json.loads((FIXTURES / "graphql_page1.json").read_text(encoding="utf-8"))
# How long a crawl may take to notice that the listing repeats itself.
LOOP_LIMIT = 10


class _EndlessListing(BaseHTTPRequestHandler):
    """The fixture homepage; every GraphQL POST answers the same posts and hasNextPage.

    The server's `cursors` says which endCursor each answer carries: "same" (always one cursor),
    "cycle" (A, B, A, B...) or "fresh" (a new one every time, the posts still the same).
    """

    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        if self.path == "/":
            self._send(200, HOMEPAGE, "text/html; charset=utf-8")
        else:
            self._send(404, b"not found", "text/plain")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        operation = json.loads(body)[0]
        after = operation["variables"].get("after") or ""
        server = self.server
        with server.lock:
            server.answers += 1
            number = server.answers
        cursor = {
            "same": "LOOP",
            "cycle": "B" if after == "A" else "A",
            "fresh": f"cursor-{number}",
        }[server.cursors]
        payload = json.loads(json.dumps(LISTING))
        info = payload[0]["data"]["publication"]["publicationPostsConnection"]["pageInfo"]
        info.update(endCursor=cursor, hasNextPage=True)
        self._send(200, json.dumps(payload).encode(), "application/json")

    def _send(self, status, body, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def endless_listing():
    servers = []

    def start(cursors):
        server = ThreadingHTTPServer(("127.0.0.1", 0), _EndlessListing)
        server.daemon_threads = True
        server.cursors, server.answers, server.lock = cursors, 0, threading.Lock()
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("cursors", ["same", "cycle", "fresh"])
def test_a_listing_that_repeats_itself_ends_the_crawl(endless_listing, tmp_path, cursors):
    server = endless_listing(cursors)
    db = tmp_path / "loop.db"
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        result = run_cli(
            "crawl", url, "--db", str(db), "--quiet", "--as-of", "2025-12-29T12:00:00Z",
            "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0",
            "-s", "ARCHIVE_RETRY_BACKOFF_BASE=0.01", "-s", "DOWNLOAD_TIMEOUT=5",
            timeout=LOOP_LIMIT,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail(
            f"the crawl was still paging after {LOOP_LIMIT} s ({server.answers} listing "
            f"requests, cursors {cursors!r}): a paging loop that never ends"
        )
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0, result.stdout + result.stderr
    assert len(errors) == 1 and errors[0].startswith("error: "), result.stderr
    assert "paging loop" in errors[0], errors[0]
    assert server.answers <= 5, f"{server.answers} listing requests before the loop was seen"
    _assert_no_half_filled_posts(db)


def _assert_no_half_filled_posts(db: Path) -> None:
    if not db.exists():
        return
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute("SELECT id, url, title FROM posts").fetchall()
    for post_id, url, title in rows:
        assert hostile.HEX_ID.fullmatch(post_id or ""), rows
        assert url_defect(url) is None, rows
        assert (title or "").strip(), rows
