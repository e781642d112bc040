"""A Medium publication served over HTTP on 127.0.0.1, for end-to-end tests and by hand.

`MediumSite(posts=N, seed=S)` invents N posts (deterministic from the seed) and serves them
the way Medium served netflixtechblog.com in 2023-2025:

    GET  /robots.txt                 Medium-like rules and a Sitemap line
    GET  /                           homepage: 10 post-preview cards, Apollo and preloaded state
    POST /_/graphql                  PublicationContentDataQuery, PublicationHomepageQuery,
                                     PostByIdQuery (a JSON array of operations in and out)
    GET  /feed                       RSS 2.0 of the 10 newest posts
    GET  /sitemap/sitemap.xml        sitemap index: one child per publishing day, plus tags
    GET  /<uniqueSlug>               a minimal post page
    GET  /tagged/<tag>               a minimal tag page

Post URLs in the data are on the publication's domain (https://netflixtechblog.com/...),
never on the address the server listens on. `site.faults` switches failures on and off
while the server runs (`Faults`).

`MediumSite(domain=None)` is a publication hosted on medium.com under its slug: post URLs
are https://medium.com/<slug>/<uniqueSlug>, and it serves

    GET  /robots.txt                 as above
    GET  /<slug>                     the homepage (also /<slug>/)
    POST /_/graphql                  as above
    GET  /feed/<slug>                the RSS feed
    GET  /<slug>/<uniqueSlug>        a post page (and /<slug>/tagged/<tag>, a tag page)

and no sitemap. `site.answer(...)` answers one request without a server of its own, which
is how `medium_fleet.MediumFleet` serves many sites at once. From a shell:

    python -m archive_spider.testing.medium_site --posts 300 --port 8080 --fault-rate 0.2
"""

from __future__ import annotations

import argparse
import base64
import bisect
import hashlib
import html
import json
import logging
import math
import random
import re
import socket
import string
import struct
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

DEFAULT_NOW = datetime(2025, 11, 6, 12, tzinfo=timezone.utc)
NAME = "Netflix TechBlog"
COLLECTION_ID = "2615bd06b42e"
SLUG = "netflix-techblog"
DOMAIN = "netflixtechblog.com"
MEDIUM_DOMAIN = "medium.com"
DESCRIPTION = (
    "Learn about Netflix\u2019s world class engineering efforts, company culture, "
    "product developments and more."
)
ACCOUNT = "Netflix Technology Blog"
ACCOUNT_USERNAME = "netflixtechblog"
ACCOUNT_ID = "c3aeaf49d8a4"
AVATAR_IMAGE = "1*BJWRqfSMf9Da9vsXG9EBRQ.jpeg"
LOGO_IMAGE = "1*ty4NvNrGg4ReETxqU2N3Og.png"

GRAPHQL_PATH = "/_/graphql"
PUBLICATION_POSTS = "PublicationContentDataQuery"
HOMEPAGE_POSTS = "PublicationHomepageQuery"
POST_BY_ID = "PostByIdQuery"
MAX_FIRST = 100
MAX_OPERATIONS = 25
MAX_BODY = 1 << 20
HOMEPAGE_CARDS = 10
FEED_ITEMS = 10
FAULT_KINDS = ("503", "429", "reset", "timeout", "truncated")

_HOUR_MS = 3_600_000
_DAY_MS = 24 * _HOUR_MS
_SPAN_MS = 7 * 365 * _DAY_MS  # how far back the initial posts reach
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_IMAGE_CHARS = string.ascii_letters + string.digits + "-_"
_HOST = re.compile(r"[A-Za-z0-9.-]+(?::\d{1,5})?")
_DAY_SITEMAP = re.compile(r"/sitemap/posts/(\d{4})/posts-(\d{4}-\d{2}-\d{2})\.xml")
_TAG_SITEMAP = "/sitemap/tags.xml"
_TAG_PAGE = re.compile(r"/tagged/([a-z0-9-]+)/?")
_POST_PAGE = re.compile(r"/([^/]*-)?([0-9a-f]{8,12})/?")
_HOMEPAGE_FROM = re.compile(r"([PL])(\d{1,16})")
_CLASS = re.compile(r'class="([^"]*)"')

# Words the synthetic titles, subtitles and tags are made of.
_LEADS = ("Scaling", "Rebuilding", "Observing", "Testing", "Securing", "Migrating", "Simplifying")
_SUBJECTS = (
    "the Playback Session Service",
    "Media Encoding Workflows",
    "Title Launch Observability",
    "the Recommendation Pipeline",
    "Edge Routing with Zuul",
    "Spark Jobs at Scale",
    "the Studio Search Index",
    "Live Streaming Ingest",
)
_SYSTEMS = ("Data Gateway", "Cosmos", "Maestro", "Conductor", "Titus", "Atlas", "Mantis", "Hollow")
_CODAS = ("Part 1", "Part 2", "Lessons Learned", "A Retrospective", "Two Years In")
_SENTENCES = (
    "How we keep streaming jobs healthy when traffic bursts tenfold",
    "What broke, what we fixed and what we would do again",
    "A tour of the design, the trade-offs and the numbers",
    "From a prototype to every device in two quarters",
    "Virtual threads, structured concurrency and what went wrong",
)
_PEOPLE = (
    "Ana Silva",
    "Bo Chen",
    "Celina Amados",
    "Ravi Menon",
    "Tom Okafor",
    "Mei Tanaka",
    "Jonas Berg",
    "Priya Natarajan",
)
_TAGS = (
    "netflix",
    "data-engineering",
    "distributed-systems",
    "machine-learning",
    "video-encoding",
    "observability",
    "java",
    "security",
    "streaming",
    "netflix-api",
)


# Data -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyntheticPost:
    """One invented post. `number` counts from 1 (the oldest) and never changes."""

    number: int
    id: str
    title: str
    subtitle: str
    first_published_at: int
    latest_published_at: int
    reading_time: float
    image_id: str | None
    locked: bool
    tags: tuple[str, ...]
    claps: int
    responses: int
    pinned_at: int = 0

    @property
    def unique_slug(self) -> str:
        return f"{slugify(self.title)}-{self.id}"


def slugify(title: str) -> str:
    """Medium's slug of a title: lower case, apostrophes dropped, other runs of non-alphanumerics
    turned into one "-"."""
    text = title.lower().replace("\u2019", "").replace("'", "")
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def _invent_post(seed: int, number: int, first: int, now: int, taken: set[str]) -> SyntheticPost:
    """Post `number` of the publication made from `seed`, first published at `first` (ms)."""
    rng = random.Random(f"{seed}:post:{number}")
    post_id = f"{rng.getrandbits(48):012x}"
    while post_id in taken:
        post_id = f"{rng.getrandbits(48):012x}"
    taken.add(post_id)
    latest = first + rng.randrange(60_000, 30 * _DAY_MS) if rng.random() < 0.5 else first
    return SyntheticPost(
        number=number,
        id=post_id,
        title=f"Synthetic post {number}: {_title_phrase(rng)}",
        subtitle=_subtitle(rng),
        first_published_at=first,
        latest_published_at=latest if latest <= now else first,
        reading_time=rng.uniform(0.6, 22.0),
        image_id=_image_id(rng),
        locked=rng.random() < 0.2,
        tags=tuple(rng.sample(_TAGS, rng.randint(1, 4))),
        claps=min(int(rng.paretovariate(1.2) * 30) - 30, 25_000),
        responses=rng.choice((0, 0, 1, 2, 3, 7, 12, 21)),
    )


def _title_phrase(rng: random.Random) -> str:
    """A title; some carry hair-spaced em dashes or curly quotes, as Medium's titles do."""
    shape = rng.random()
    if shape < 0.15:
        return f"{rng.choice(_LEADS)} {rng.choice(_SUBJECTS)}\u200a—\u200a{rng.choice(_CODAS)}"
    if shape < 0.3:
        return f"Netflix\u2019s {rng.choice(_SYSTEMS)}: {rng.choice(_CODAS)}"
    if shape < 0.4:
        return f"Why We Said \u201cNo\u201d to {rng.choice(_SYSTEMS)}"
    return f"{rng.choice(_LEADS)} {rng.choice(_SUBJECTS)}"


def _subtitle(rng: random.Random) -> str:
    """Empty, a byline ("By Ana Silva and Bo Chen") or a sentence."""
    shape = rng.random()
    if shape < 0.25:
        return ""
    if shape < 0.55:
        names = rng.sample(_PEOPLE, rng.randint(1, 3))
        if len(names) == 1:
            return f"By {names[0]}"
        return f"By {', '.join(names[:-1])} and {names[-1]}"
    return rng.choice(_SENTENCES)


def _image_id(rng: random.Random) -> str | None:
    """`1*<22 chars>.png`-like ids mostly, some `0*<16 chars>` without extension, a few none."""
    shape = rng.random()
    if shape < 0.04:
        return None
    if shape < 0.3:
        return "0*" + "".join(rng.choices(_IMAGE_CHARS, k=16))
    extension = rng.choice((".png", ".png", ".jpeg", ".jpg", ".gif"))
    return "1*" + "".join(rng.choices(_IMAGE_CHARS, k=22)) + extension


class _Catalog(NamedTuple):
    """The posts at one moment, replaced whole (never mutated) when posts are added."""

    posts: list[SyntheticPost]  # newest first
    keys: list[int]  # -first_published_at of `posts`: ascending, for bisect
    by_id: dict[str, SyntheticPost]
    pins: list[SyntheticPost]  # pinned posts, most recently pinned first
    days: dict[str, list[SyntheticPost]]  # by UTC publishing day (YYYY-MM-DD), newest first

    @classmethod
    def of(cls, posts: list[SyntheticPost]) -> _Catalog:
        pins = sorted((p for p in posts if p.pinned_at), key=lambda p: -p.pinned_at)
        days: dict[str, list[SyntheticPost]] = {}
        for post in posts:
            days.setdefault(_iso(post.first_published_at)[:10], []).append(post)
        keys = [-p.first_published_at for p in posts]
        return cls(posts, keys, {p.id: p for p in posts}, pins, days)


# Faults and the request log ---------------------------------------------------------------


@dataclass
class Faults:
    """Failures to inject, changeable while the server runs. robots.txt is exempt unless
    `robots` is set.

    rate, kinds      each request fails with probability `rate` (drawn from
                     random.Random(seed)), in one of `kinds`: "503", "429" (Retry-After: 1),
                     "reset" (connection closed without an answer), "timeout" (the answer
                     waits `timeout_seconds`), "truncated" (half the body, full
                     Content-Length, then the connection closes)
    challenge        every request gets Cloudflare's 403 "Just a moment..." page
    schema_drift     both listing operations answer "Cannot query field ..." errors
    refuse_primary   a body with PublicationContentDataQuery answers 400 with errors
    offsite_redirect GET / answers 302 to http://example.invalid/
    slow             seconds every answer waits
    gone             every request answers 404
    unlisted         post ids both listing operations leave out (sitemaps and RSS still name
                     them, and PostByIdQuery answers them), as when Medium's listing misses
                     posts
    broken_paths     paths (without query) that always answer 500, e.g. one day sitemap
    broken_operations GraphQL operations (operationName) whose requests answer 500
    """

    rate: float = 0.0
    kinds: list[str] = field(default_factory=lambda: ["503"])
    timeout_seconds: float = 10.0
    robots: bool = False
    challenge: bool = False
    schema_drift: bool = False
    refuse_primary: bool = False
    offsite_redirect: bool = False
    slow: float = 0.0
    gone: bool = False
    unlisted: set[str] = field(default_factory=set)
    broken_paths: set[str] = field(default_factory=set)
    broken_operations: set[str] = field(default_factory=set)


class LoggedRequest(NamedTuple):
    """One request: `status` is the status sent (0 for a reset connection), `at` the
    `time.monotonic()` when it was answered (before any delay of its answer)."""

    method: str
    path: str
    operation: str | None
    status: int
    at: float


@dataclass(frozen=True)
class Reply:
    """An HTTP answer: status, body, Content-Type and extra headers."""

    status: int
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Plan:
    """How to answer one request: the reply, an injected fault kind, seconds to wait first."""

    reply: Reply
    fault: str | None = None
    delay: float = 0.0

    @property
    def status(self) -> int:
        """The status the client gets: 0 for a connection reset without an answer."""
        return 0 if self.fault == "reset" else self.reply.status


# Answers one request: (method, path with query, body, Host header or None) -> Plan.
Answer = Callable[[str, str, bytes, str | None], Plan]
# Answers one GraphQL operation of a request's JSON array.
OperationAnswer = Callable[[dict], dict]


def _html(status: int, text: str, *headers: tuple[str, str]) -> Reply:
    return Reply(status, text.encode(), "text/html; charset=utf-8", headers)


def _json(status: int, value: Any) -> Reply:
    body = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    return Reply(status, body, "application/json; charset=utf-8")


def _xml(text: str, content_type: str = "application/xml; charset=utf-8") -> Reply:
    return Reply(200, text.encode(), content_type)


def _errors(message: str, **extensions: str) -> dict:
    error: dict[str, Any] = {"message": message}
    if extensions:
        error["extensions"] = extensions
    return {"errors": [error]}


# The site ---------------------------------------------------------------------------------


class MediumSite:
    """A synthetic Medium publication of `posts` posts, served on `host:port` once started."""

    def __init__(
        self,
        posts: int = 30,
        seed: int = 0,
        now: datetime = DEFAULT_NOW,
        *,
        name: str = NAME,
        collection_id: str = COLLECTION_ID,
        slug: str = SLUG,
        domain: str | None = DOMAIN,
        account: str = ACCOUNT,
        page_shortfall: int = 0,
        faults: Faults | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """`domain`: the publication's custom domain, or None for one hosted on medium.com
        under `/<slug>`. `account`: the name of the account that publishes every post.
        `page_shortfall`: how many posts fewer than asked a page of `first: 100` holds
        (Medium was seen to answer 98)."""
        if posts < 0:
            raise ValueError(f"posts must be >= 0, got {posts}")
        if not 0 <= page_shortfall < MAX_FIRST:
            raise ValueError(f"page_shortfall must be in 0..{MAX_FIRST - 1}")
        self.seed = seed
        self.now = now.astimezone(timezone.utc)
        self.name, self.collection_id, self.slug = name, collection_id, slug
        self.domain = domain.lower() if domain is not None else None
        self.account = account
        self._account_id, self._account_username = _account_handle(account)
        self.page_shortfall = page_shortfall
        self.faults = faults or Faults()
        self._host, self._port = host, port
        # Where the site lives: its public host, and the path its pages and feed sit under.
        self._public_host = self.domain or MEDIUM_DOMAIN
        self._prefix = "" if self.domain else f"/{slug}"
        self._feed_path = "/feed" if self.domain else f"/feed/{slug}"
        self._lock = threading.Lock()
        self._fault_rng = random.Random(seed)
        self._log: list[LoggedRequest] = []
        self._listener: Listener | None = None
        self._catalog = _Catalog.of(self._invent(posts))

    def _invent(self, count: int) -> list[SyntheticPost]:
        """The initial posts, newest first: about 2 days old back to about 7 years old."""
        timeline = random.Random(f"{self.seed}:timeline")
        now = _ms(self.now)
        at = now - 2 * _DAY_MS - 3 * _HOUR_MS - timeline.randrange(_HOUR_MS)
        taken: set[str] = set()
        posts = []
        for number in range(count, 0, -1):
            posts.append(_invent_post(self.seed, number, at, now, taken))
            at -= max(1000, round(_SPAN_MS / count * timeline.uniform(0.3, 1.7)))
        return self._pin(posts, now)

    def _pin(self, posts: list[SyntheticPost], now: int) -> list[SyntheticPost]:
        """Pin one or two older posts, as a publication's editors do."""
        rng = random.Random(f"{self.seed}:pins")
        candidates = list(range(3, min(len(posts), 30))) or list(range(len(posts)))[-1:]
        chosen = rng.sample(candidates, min(len(candidates), rng.choice((1, 2))))
        for rank, index in enumerate(chosen):
            post = posts[index]
            pinned = post.first_published_at + rng.randrange(_DAY_MS, 60 * _DAY_MS)
            posts[index] = replace(post, pinned_at=min(pinned, now - _HOUR_MS - rank))
        return posts

    # Control ------------------------------------------------------------------------------

    def start(self) -> MediumSite:
        if self._listener is not None:
            raise RuntimeError("the site is already started")
        self._listener = Listener((self._host, self._port), self.answer, "medium-site")
        return self

    def stop(self) -> None:
        if self._listener is None:
            return
        self._listener.stop()
        self._listener = None

    def __enter__(self) -> MediumSite:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._listener is None:
            raise RuntimeError("the site is not started")
        return self._listener.port

    @property
    def origin(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def url(self) -> str:
        """The homepage on the address the site listens on."""
        return self.origin + (self._prefix or "/")

    @property
    def home_url(self) -> str:
        """The public homepage: https://<domain>/ or https://medium.com/<slug>."""
        return f"https://{self._public_host}{self._prefix or '/'}"

    @property
    def posts(self) -> list[SyntheticPost]:
        """All posts, newest first."""
        return list(self._catalog.posts)

    def add_posts(self, count: int) -> list[SyntheticPost]:
        """Publish `count` posts newer than all others (the clock moves on if it must)."""
        with self._lock:
            catalog = self._catalog
            rng = random.Random(f"{self.seed}:added:{len(catalog.posts)}")
            at = catalog.posts[0].first_published_at if catalog.posts else _ms(self.now) - _DAY_MS
            times = []
            for _ in range(count):
                at += rng.randrange(30 * 60_000, 6 * _HOUR_MS)
                times.append(at)
            now = max(_ms(self.now), at + 60_000)
            self.now = _datetime(now)
            taken = set(catalog.by_id)
            added = [
                _invent_post(self.seed, len(catalog.posts) + 1 + i, first, now, taken)
                for i, first in enumerate(times)
            ]
            added.reverse()
            self._catalog = _Catalog.of(added + catalog.posts)
        return added

    def expected_posts(self) -> list[dict]:
        """What a crawler should store for each post, newest first."""
        return [
            {
                "id": post.id,
                "url": self.post_url(post),
                "title": post.title,
                "subtitle": post.subtitle or None,
                "published": _iso(post.first_published_at, millis=False),
                "read_minutes": math.ceil(post.reading_time),
                "image_id": post.image_id,
                "member_only": post.locked,
                "account": self.account,
            }
            for post in self._catalog.posts
        ]

    def post_url(self, post: SyntheticPost) -> str:
        return f"https://{self._public_host}{self._prefix}/{post.unique_slug}"

    @property
    def requests(self) -> list[LoggedRequest]:
        """Every request so far: (method, path with query, operationName or None, status,
        monotonic time)."""
        with self._lock:
            return list(self._log)

    def reset_log(self) -> None:
        with self._lock:
            self._log.clear()

    # Answering ----------------------------------------------------------------------------

    def answer(
        self,
        method: str,
        path: str,
        body: bytes,
        host: str | None,
        *,
        answer_operation: OperationAnswer | None = None,
    ) -> Plan:
        """The answer to one request, faults included, logged before it is sent.

        `host` is the request's Host header. `answer_operation` answers each GraphQL
        operation instead of `self.answer_operation` (a fleet answers for all its sites)."""
        faults = self.faults
        operation = operation_name(body) if method == "POST" else None
        exempt = urlsplit(path).path == "/robots.txt" and not faults.robots
        mode = None if exempt else self._mode_reply(faults)
        fault = None if exempt or mode else self._draw_fault(faults)
        if mode is not None:
            reply = mode
        elif fault == "503":
            reply = _html(503, _page("Service Unavailable", "<h1>503 Service Unavailable</h1>"))
        elif fault == "429":
            reply = _html(429, _page("Too Many Requests", "<h1>429</h1>"), ("Retry-After", "1"))
        elif urlsplit(path).path in faults.broken_paths or operation in faults.broken_operations:
            reply = _html(500, _page("Internal Server Error", "<h1>500</h1>"))
        else:
            reply = self._route(method, path, body, host, answer_operation or self.answer_operation)
        delay = 0.0 if exempt else faults.slow
        if fault == "timeout":
            delay += faults.timeout_seconds
        plan = Plan(reply, fault, delay)
        with self._lock:
            self._log.append(LoggedRequest(method, path, operation, plan.status, time.monotonic()))
        return plan

    def _draw_fault(self, faults: Faults) -> str | None:
        if faults.rate <= 0:
            return None
        unknown = set(faults.kinds) - set(FAULT_KINDS)
        if unknown or not faults.kinds:
            raise ValueError(f"fault kinds must be some of {FAULT_KINDS}, got {faults.kinds}")
        with self._lock:
            if self._fault_rng.random() >= faults.rate:
                return None
            return self._fault_rng.choice(faults.kinds)

    def _mode_reply(self, faults: Faults) -> Reply | None:
        """The answer every request gets in the `gone` and `challenge` modes."""
        if faults.gone:
            return not_found()
        if faults.challenge:
            return _challenge(self._public_host)
        return None

    def _route(
        self,
        method: str,
        path: str,
        body: bytes,
        host: str | None,
        answer_operation: OperationAnswer,
    ) -> Reply:
        route = urlsplit(path).path
        origin = f"http://{host}" if host and _HOST.fullmatch(host) else self.origin
        if method == "POST":
            if route == GRAPHQL_PATH:
                return self._graphql(body, answer_operation)
            return not_found()
        if route == GRAPHQL_PATH:
            return _json(405, _errors("GET is not supported, use POST"))
        if route == "/robots.txt":
            return robots_txt(origin)
        if route in (self._prefix or "/", self._prefix + "/"):
            if self.faults.offsite_redirect:
                return Reply(302, headers=(("Location", "http://example.invalid/"),))
            return _html(200, self._homepage(origin))
        if route == self._feed_path:
            return _xml(self._feed(), "text/xml; charset=UTF-8")
        if self.domain is not None:  # medium.com serves no sitemap of a publication
            if route == "/sitemap/sitemap.xml":
                return _xml(self._sitemap_index(origin))
            if route == _TAG_SITEMAP:
                return _xml(self._tag_sitemap())
            if match := _DAY_SITEMAP.fullmatch(route):
                return self._day_sitemap(match[1], match[2])
        if not route.startswith(self._prefix + "/"):
            return not_found()
        page = route[len(self._prefix) :]
        if match := _TAG_PAGE.fullmatch(page):
            return self._tag_page(match[1])
        if match := _POST_PAGE.fullmatch(page):
            return self._post_page(match[2])
        return not_found()

    # GraphQL ------------------------------------------------------------------------------

    def _graphql(self, body: bytes, answer_operation: OperationAnswer) -> Reply:
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return _json(400, _errors("POST body missing, invalid Content-Type, or JSON malformed"))
        single = isinstance(payload, dict)
        operations = [payload] if single else payload
        if not isinstance(operations, list) or not all(isinstance(o, dict) for o in operations):
            return _json(400, _errors("expected a JSON array of operations"))
        if not 1 <= len(operations) <= MAX_OPERATIONS:
            return _json(400, _errors(f"a request holds 1 to {MAX_OPERATIONS} operations"))
        if self.faults.refuse_primary and any(
            o.get("operationName") == PUBLICATION_POSTS for o in operations
        ):
            refused = _errors(
                'Unknown argument "after" on field "Publication.publicationPostsConnection".',
                code="GRAPHQL_VALIDATION_FAILED",
            )
            return _json(400, refused if single else [refused] * len(operations))
        results = [answer_operation(operation) for operation in operations]
        return _json(200, results[0] if single else results)

    def answer_operation(self, operation: dict) -> dict:
        """The answer to one GraphQL operation, as this site's GraphQL endpoint gives it."""
        name = operation.get("operationName")
        variables = operation.get("variables") or {}
        answer = {
            PUBLICATION_POSTS: self._publication_posts,
            HOMEPAGE_POSTS: self._homepage_posts,
            POST_BY_ID: self._post_by_id,
        }.get(name)
        if answer is None:
            return _errors("unknown operation")
        if not isinstance(variables, dict):
            return _errors("variables must be an object", code="BAD_USER_INPUT")
        if self.faults.schema_drift and name in (PUBLICATION_POSTS, HOMEPAGE_POSTS):
            field_name, type_name = (
                ("publicationPostsConnection", "Publication")
                if name == PUBLICATION_POSTS
                else ("homepagePostsConnection", "Collection")
            )
            return _errors(
                f'Cannot query field "{field_name}" on type "{type_name}".',
                code="GRAPHQL_VALIDATION_FAILED",
            )
        return answer(variables)

    def is_named_by(self, operation: dict) -> bool:
        """Whether a GraphQL operation asks about this publication or one of its posts."""
        name = operation.get("operationName")
        variables = operation.get("variables")
        if not isinstance(variables, dict):
            return False
        if name == POST_BY_ID:
            post_id = variables.get("id")
            return isinstance(post_id, str) and post_id in self._catalog.by_id
        if name == PUBLICATION_POSTS:
            ref = variables.get("ref")
            return isinstance(ref, dict) and self._is_referred_to(ref)
        if name == HOMEPAGE_POSTS:
            domain_or_slug = variables.get("domainOrSlug")
            return self._is_this_publication(domain_or_slug, domain_or_slug, domain_or_slug)
        return False

    def _is_referred_to(self, ref: dict) -> bool:
        """Whether a PublicationRef ({id, slug, domain}) names this publication."""
        return self._is_this_publication(ref.get("slug"), ref.get("domain"), ref.get("id"))

    def _is_this_publication(self, slug: Any, domain: Any, collection_id: Any = None) -> bool:
        """A slug, a custom domain or a collection id of this publication."""
        return (
            (isinstance(slug, str) and slug == self.slug)
            or (isinstance(domain, str) and domain.lower() == self.domain)
            or (isinstance(collection_id, str) and collection_id == self.collection_id)
        )

    def _publication_posts(self, variables: dict) -> dict:
        ref, first, after = variables.get("ref"), variables.get("first"), variables.get("after")
        if not isinstance(ref, dict):
            return _errors('Variable "$ref" of required type "PublicationRef!" was not provided.')
        if not _is_count(first):
            return _errors('Variable "$first" of required type "Int!" must be a positive Int.')
        if not isinstance(after, str):
            return _errors('Variable "$after" of required type "String!" was not provided.')
        if not self._is_referred_to(ref):
            return {"data": {"publication": None}}
        catalog = self._catalog
        start = 0 if after == "" else self._cursor_position(after, catalog)
        if start is None:
            return _errors("invalid cursor")
        size = min(first, MAX_FIRST)
        if size == MAX_FIRST:
            size -= self.page_shortfall
        page = catalog.posts[start : start + size]
        connection = {
            "edges": [
                {"listedAt": p.first_published_at, "node": self._node(p)}
                for p in page
                if p.id not in self.faults.unlisted
            ],
            "pageInfo": {
                "endCursor": self._cursor(page[-1]) if page else None,
                "hasNextPage": start + len(page) < len(catalog.posts),
            },
        }
        publication = {
            "__typename": "Publication",
            "id": self.collection_id,
            "publicationPostsConnection": connection,
        }
        return {"data": {"publication": publication}}

    def _cursor(self, post: SyntheticPost) -> str:
        """An opaque cursor: base64 of the JSON Medium puts in its cursors."""
        position = {
            "feed_sort_listed_at##listed_at": post.first_published_at,
            "post_id": post.id,
            "publication_id": self.collection_id,
        }
        return base64.urlsafe_b64encode(json.dumps(position).encode()).decode()

    def _cursor_position(self, cursor: str, catalog: _Catalog) -> int | None:
        """The index of the post after the one `cursor` names, None if it names none."""
        try:
            position = json.loads(base64.b64decode(cursor, altchars=b"-_", validate=True))
        except ValueError:
            return None
        if not isinstance(position, dict) or position.get("publication_id") != self.collection_id:
            return None
        listed_at = position.get("feed_sort_listed_at##listed_at")
        if not isinstance(listed_at, int) or isinstance(listed_at, bool):
            return None
        index = bisect.bisect_left(catalog.keys, -listed_at)
        if index < len(catalog.posts) and catalog.posts[index].id == position.get("post_id"):
            return index + 1
        return None

    def _homepage_posts(self, variables: dict) -> dict:
        domain_or_slug = variables.get("domainOrSlug")
        paging = variables.get("paging") or {}
        if not isinstance(paging, dict):
            return _errors('Variable "$paging" must be an object.')
        limit, start = paging.get("limit", 10), paging.get("from")
        if not _is_count(limit):
            return _errors('Variable "$paging.limit" must be a positive Int.')
        if not self._is_this_publication(domain_or_slug, domain_or_slug, domain_or_slug):
            return {"data": {"collection": None}}
        limit = min(limit, MAX_FIRST)
        sequence = self._homepage_sequence(start, limit + 1)
        if sequence is None:
            return _errors("invalid paging: from must be P<ms> or L<ms>")
        page = sequence[:limit]
        following = None
        if len(sequence) > limit:
            last = page[-1]
            token = f"P{last.pinned_at}" if last.pinned_at else f"L{last.first_published_at}"
            following = {"__typename": "PageParams", "from": token, "limit": limit}
        connection = {
            "__typename": "PostConnection",
            "posts": [self._node(p) for p in page if p.id not in self.faults.unlisted],
            "pagingInfo": {"__typename": "Paging", "next": following},
        }
        collection = {
            "__typename": "Collection",
            "id": self.collection_id,
            "homepagePostsConnection": connection,
        }
        return {"data": {"collection": collection}}

    def _homepage_sequence(self, start: Any, count: int) -> list[SyntheticPost] | None:
        """Up to `count` posts from `start`: pinned posts first ("P<pinnedAt>" continues
        among them), then the unpinned ones newest first ("L<firstPublishedAt>")."""
        catalog = self._catalog
        if start in (None, ""):
            pins, index = catalog.pins, 0
        elif isinstance(start, str) and (match := _HOMEPAGE_FROM.fullmatch(start)):
            moment = int(match[2])
            if match[1] == "P":
                pins, index = [p for p in catalog.pins if p.pinned_at < moment], 0
            else:
                pins, index = [], bisect.bisect_right(catalog.keys, -moment)
        else:
            return None
        sequence = list(pins[:count])
        while len(sequence) < count and index < len(catalog.posts):
            if not catalog.posts[index].pinned_at:
                sequence.append(catalog.posts[index])
            index += 1
        return sequence

    def _post_by_id(self, variables: dict) -> dict:
        post_id = variables.get("id")
        if not isinstance(post_id, str):
            return _errors('Variable "$id" of required type "ID!" was not provided.')
        post = self._catalog.by_id.get(post_id)
        return {"data": {"post": self._node(post) if post else None}}

    def _node(self, post: SyntheticPost) -> dict:
        image = post.image_id
        return {
            "__typename": "Post",
            "id": post.id,
            "title": post.title,
            "uniqueSlug": post.unique_slug,
            "mediumUrl": f"https://medium.com/{self.slug}/{post.unique_slug}",
            "firstPublishedAt": post.first_published_at,
            "latestPublishedAt": post.latest_published_at,
            "readingTime": post.reading_time,
            "isLocked": post.locked,
            "visibility": "LOCKED" if post.locked else "PUBLIC",
            "pinnedAt": post.pinned_at,
            "previewImage": {"__typename": "ImageMetadata", "id": image} if image else None,
            "extendedPreviewContent": {"__typename": "PreviewContent", "subtitle": post.subtitle},
            "creator": {
                "__typename": "User",
                "id": self._account_id,
                "name": self.account,
                "username": self._account_username,
            },
            "collection": {
                "__typename": "Collection",
                "id": self.collection_id,
                "slug": self.slug,
                "domain": self.domain,
            },
            "tags": [
                {"__typename": "Tag", "id": t, "displayTitle": _tag_title(t)} for t in post.tags
            ],
        }

    # Pages --------------------------------------------------------------------------------

    def _homepage(self, origin: str) -> str:
        """The publication homepage, built like tests/fixtures/medium_home.html."""
        posts = self._catalog.posts[:HOMEPAGE_CARDS]
        cards = "\n".join(self._card(post, index) for index, post in enumerate(posts))
        collection_key = f"Collection:{self.collection_id}"
        user_key = f"User:{self._account_id}"
        section_key = f"PublicationPostsSection:{self.collection_id}-homepage-0"
        domain_or_slug = self.domain or self.slug
        by_domain = json.dumps({"domainOrSlug": domain_or_slug}, separators=(",", ":"))
        apollo = {
            "ROOT_QUERY": {
                "__typename": "Query",
                "viewer": None,
                f"collectionByDomainOrSlug({by_domain})": {"__ref": collection_key},
            },
            f"ImageMetadata:{LOGO_IMAGE}": {
                "__typename": "ImageMetadata",
                "id": LOGO_IMAGE,
                "originalWidth": 2072,
                "originalHeight": 320,
            },
            user_key: {
                "__typename": "User",
                "id": self._account_id,
                "name": self.account,
                "username": self._account_username,
                "imageId": AVATAR_IMAGE,
                "mediumMemberAt": 0,
            },
            collection_key: {
                "__typename": "Collection",
                "id": self.collection_id,
                "name": self.name,
                "slug": self.slug,
                **({} if self.domain else {"domain": None}),
                "domainOrSlug": domain_or_slug,
                "customDomain": self.domain,
                "description": DESCRIPTION,
                "logo": {"__ref": f"ImageMetadata:{LOGO_IMAGE}"},
                "creator": {"__ref": user_key},
            },
            "PublicationPage:homepage": {
                "__typename": "PublicationPage",
                "id": "homepage",
                "sections": [{"__ref": section_key}],
            },
            section_key: {
                "__typename": "PublicationPostsSection",
                "id": f"{self.collection_id}-homepage-0",
                "title": "Latest",
                "layout": "LIST",
                "posts": [{"__ref": f"Post:{p.id}"} for p in posts],
            },
            **{f"Post:{p.id}": {"__typename": "Post", "id": p.id} for p in posts},
        }
        preloaded = {
            "client": {
                "isBot": False,
                "routingEntity": {"type": "COLLECTION", "id": self.collection_id, "explicit": True},
                "supportsWebp": True,
            },
            "config": {"nodeEnv": "production", "version": self._build, "authDomain": "medium.com"},
            "session": {"xsrf": ""},
        }
        name = html.escape(self.name)
        page = (
            '<!doctype html><html lang="en"><head>'
            f"<title>{name}</title>\n"
            '<meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">\n'
            f'<link rel="canonical" href="{self.home_url}">\n'
            '<style data-fela-type="RULE">.a{font-family:medium-content-sans-serif-font}'
            ".b{font-weight:400}.c{background-color:rgba(255,255,255,1)}.l{display:block}</style>\n"
            '</head><body><a href="/sitemap/sitemap.xml" class="d">Sitemap</a>\n'
            '<div id="root"><div class="a b c"><div class="e f g h i">\n'
            f'<nav class="j k"><a href="{self.home_url}?source=post_page---publication_nav-'
            f'{self.collection_id}" class="m n"><img alt="{name}" src="https://miro.medium.com/v2/'
            f'resize:fit:1036/{LOGO_IMAGE}" width="259" height="40"></a></nav>\n'
            f'<div class="o q"><h2 class="bf ip">Latest</h2>\n\n{cards}\n\n'
            "</div></div></div></div>\n"
            f'<script>window.__GRAPHQL_URI__ = "{origin}{GRAPHQL_PATH}"</script>\n'
            f"<script>window.__PRELOADED_STATE__ = {_script_json(preloaded)}</script>\n"
            f"<script>window.__APOLLO_STATE__ = {_script_json(apollo)}</script>\n"
            f'<script>window.__BUILD_ID__ = "{self._build}"</script>\n'
            "</body></html>\n"
        )
        return _rename_classes(page, offset=self.seed % 500)

    @property
    def _build(self) -> str:
        return f"main-20251218-183004-{self.seed:010x}"

    def _card(self, post: SyntheticPost, index: int) -> str:
        """One post-preview card; its footer and image come twice, one per breakpoint."""
        title = html.escape(post.title)
        source = f"?source=collection_home_page----{self.collection_id}-----{index}" + "-" * 35
        href = html.escape(f"{self._prefix}/{post.unique_slug}{source}")
        author = html.escape(f"https://{self._account_username}.medium.com/{source}")
        account = html.escape(self.account)
        subtitle = (
            f'<div class="gu l"><h3 class="bf b gv gw">{html.escape(post.subtitle)}</h3></div>'
            if post.subtitle
            else ""
        )
        footer = self._card_footer(post, href)
        images = ""
        if post.image_id:
            images = (
                f'<div aria-label="{title}" class="hs ht">'
                + "".join(
                    f'<div class="{classes}"><img alt="{title}" class="bx hu" '
                    f'src="https://miro.medium.com/v2/resize:fill:{w}:{h}/{post.image_id}" '
                    f'width="{w}" height="{h}" loading="lazy"></div>'
                    for classes, w, h in (("k j e", 80, 53), ("i l", 160, 107))
                )
                + "</div>"
            )
        return (
            '<article data-testid="post-preview" class="fe ff fg fh fi fj"><div class="fm fn l">'
            f'<div role="link" tabindex="0" data-href="{html.escape(self.post_url(post))}" '
            'class="fo fp fq fr"><div class="ft l"><div class="fu l"><div class="fv fw fx">\n'
            f'<div class="fz ga l"><a href="{author}" rel="noopener follow"><div class="gb gc">'
            f'<img alt="{account}" class="l gd ge" src="https://miro.medium.com/v2/'
            f'resize:fill:20:20/{AVATAR_IMAGE}" width="20" height="20" loading="lazy"></div></a>'
            "</div>\n"
            f'<div class="gg gh"><a class="ae af" href="{author}" rel="noopener follow">'
            f'<p class="bf b gi gj">{account}</p></a></div>\n'
            "</div></div>\n"
            '<div class="gl gm l"><div class="gn go l">\n'
            f'<a href="{href}" rel="noopener follow"><h2 class="bf hr gq gr">{title}</h2>'
            f"{subtitle}</a>\n"
            f'<span class="gy gz l">{footer}</span>\n'
            f"</div>\n{images}\n</div>\n"
            f'<span class="hv hw l">{footer}</span>\n'
            "</div></div></div></article>\n"
        )

    def _card_footer(self, post: SyntheticPost, href: str) -> str:
        star = (
            '<div class="hx hy"><button aria-label="Member-only story" class="hz ia">'
            '<svg width="16" height="16"></svg></button></div>'
            if post.locked
            else ""
        )
        counts = ""
        if post.claps:
            counts += (
                f'<a href="{href}&amp;responsesOpen=true" rel="noopener follow">'
                '<svg width="16" height="16"></svg>'
                f'<span class="bf b">{_count(post.claps)}</span></a>'
            )
        if post.responses:
            counts += (
                f'<a href="{self._prefix}/{post.unique_slug}?responsesOpen=true" '
                'rel="noopener follow">'
                f'<svg width="16" height="16"></svg><span class="bf b">{post.responses}</span></a>'
            )
        date = card_date(post.first_published_at, self.now)
        return (
            f'<div class="ha hb hc"><div class="he hf">{star}<div class="hh hi">{date}</div>'
            '<div class="hk hl"><span aria-hidden="true">·</span></div><div class="hh hi">'
            f"<span>{math.ceil(post.reading_time)} min read</span></div></div>"
            f'<div class="hm hn">{counts}</div><div class="ho hp">'
            '<button aria-label="Add to list bookmark button" class="hq hr">'
            '<svg width="25" height="25"></svg></button>'
            '<button aria-label="More options" class="hq hr"><svg width="25" height="25"></svg>'
            "</button></div></div>"
        )

    def _post_page(self, post_id: str) -> Reply:
        post = self._catalog.by_id.get(post_id)
        if post is None:
            return not_found()
        title = html.escape(post.title)
        body = (
            f'<article><h1 data-testid="storyTitle">{title}</h1>'
            f"<p>{html.escape(post.subtitle)}</p>"
            f'<span data-testid="storyReadTime">{math.ceil(post.reading_time)} min read</span>'
            "</article>"
        )
        return _html(200, _page(f"{post.title} | by {self.account} | {self.name}", body))

    def _tag_page(self, tag: str) -> Reply:
        tagged = [p for p in self._catalog.posts if tag in p.tags][:HOMEPAGE_CARDS]
        if not tagged:
            return not_found()
        links = "".join(
            f'<li><a href="{html.escape(self.post_url(p))}">{html.escape(p.title)}</a></li>'
            for p in tagged
        )
        return _html(200, _page(f"{_tag_title(tag)} - {self.name}", f"<ul>{links}</ul>"))

    # Feeds --------------------------------------------------------------------------------

    def _feed(self) -> str:
        """RSS 2.0 of the newest posts, Medium style."""
        home = f"https://{self._public_host}{self._prefix}"
        rss_source = f"?source=rss----{self.collection_id}---4"
        items = "".join(self._feed_item(p, rss_source) for p in self._catalog.posts[:FEED_ITEMS])
        return (
            '<?xml version="1.0" encoding="UTF-8"?><rss xmlns:dc="http://purl.org/dc/elements/1.1/"'
            ' xmlns:content="http://purl.org/rss/1.0/modules/content/"'
            ' xmlns:atom="http://www.w3.org/2005/Atom" version="2.0"'
            ' xmlns:cc="http://cyber.law.harvard.edu/rss/creativeCommonsRssModule.html">\n'
            "    <channel>\n"
            f"        <title>{_cdata(self.name + ' - Medium')}</title>\n"
            f"        <description>{_cdata(DESCRIPTION + ' - Medium')}</description>\n"
            f"        <link>{home}{rss_source}</link>\n"
            "        <image>\n"
            f"            <url>https://cdn-images-1.medium.com/proxy/{LOGO_IMAGE}</url>\n"
            f"            <title>{html.escape(self.name)} - Medium</title>\n"
            f"            <link>{home}{rss_source}</link>\n"
            "        </image>\n"
            "        <generator>Medium</generator>\n"
            f"        <lastBuildDate>{format_datetime(self.now, usegmt=True)}</lastBuildDate>\n"
            f'        <atom:link href="https://{self._public_host}{self._feed_path}" rel="self"'
            ' type="application/rss+xml"/>\n'
            "        <webMaster><![CDATA[yourfriends@medium.com]]></webMaster>\n"
            '        <atom:link href="http://medium.superfeedr.com" rel="hub"/>\n'
            f"{items}"
            "    </channel>\n"
            "</rss>\n"
        )

    def _feed_item(self, post: SyntheticPost, rss_source: str) -> str:
        url = self.post_url(post)
        content = f"<p>{html.escape(post.subtitle)}</p>" if post.subtitle.startswith("By ") else ""
        if post.image_id:
            content += (
                '<figure><img alt="" src="https://cdn-images-1.medium.com/max/1024/'
                f'{post.image_id}" /></figure>'
            )
        content += f"<p>{html.escape(post.title)}: the synthetic body of post {post.number}.</p>"
        if post.locked:
            content += f'<p><a href="{url}">Continue reading on {html.escape(self.name)} »</a></p>'
        categories = "".join(f"            <category>{_cdata(t)}</category>\n" for t in post.tags)
        return (
            "        <item>\n"
            f"            <title>{_cdata(post.title)}</title>\n"
            f"            <link>{url}{rss_source}</link>\n"
            f'            <guid isPermaLink="false">https://medium.com/p/{post.id}</guid>\n'
            f"{categories}"
            f"            <dc:creator>{_cdata(self.account)}</dc:creator>\n"
            f"            <pubDate>{_rfc822(post.first_published_at)}</pubDate>\n"
            f"            <atom:updated>{_iso(post.latest_published_at)}</atom:updated>\n"
            f"            <content:encoded>{_cdata(content)}</content:encoded>\n"
            "        </item>\n"
        )

    def _sitemap_index(self, origin: str) -> str:
        children = [
            (
                origin + _day_path(day),
                _iso(max(p.latest_published_at for p in posts)),
            )
            for day, posts in self._catalog.days.items()
        ]
        children.append((origin + _TAG_SITEMAP, _iso(_ms(self.now))))
        entries = "".join(
            f"  <sitemap>\n    <loc>{loc}</loc>\n    <lastmod>{lastmod}</lastmod>\n  </sitemap>\n"
            for loc, lastmod in children
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            f"{entries}</sitemapindex>\n"
        )

    def day_sitemap_path(self, post: SyntheticPost) -> str:
        """The path of the day sitemap that names `post`."""
        return _day_path(_iso(post.first_published_at)[:10])

    def _day_sitemap(self, year: str, day: str) -> Reply:
        posts = self._catalog.days.get(day) if day.startswith(year) else None
        if not posts:
            return not_found()
        return _xml(
            _urlset(
                (self.post_url(p), _iso(p.latest_published_at), "monthly", "0.7") for p in posts
            )
        )

    def _tag_sitemap(self) -> str:
        tags = sorted({tag for post in self._catalog.posts for tag in post.tags})
        home = f"https://{self._public_host}{self._prefix}"
        return _urlset((f"{home}/tagged/{t}", None, "weekly", "0.5") for t in tags)


# Rendering helpers ------------------------------------------------------------------------


def card_date(ms: int, now: datetime) -> str:
    """The date text of a card: "5h ago", "2d ago", "Oct 17" (this year), "Nov 26, 2018"."""
    moment = _datetime(ms)
    age = now - moment
    if age < timedelta(minutes=1):
        return "Just now"
    if age < timedelta(hours=1):
        return f"{age // timedelta(minutes=1)}m ago"
    if age < timedelta(days=1):
        return f"{age // timedelta(hours=1)}h ago"
    if age < timedelta(days=7):
        return f"{age.days}d ago"
    day = f"{_MONTHS[moment.month - 1]} {moment.day}"
    return day if moment.year == now.year else f"{day}, {moment.year}"


def _count(number: int) -> str:
    """Clap counts as Medium shows them: 204, 1.2K, 35K."""
    if number < 1000:
        return str(number)
    return f"{number / 1000:.1f}".removesuffix(".0") + "K"


def _tag_title(tag: str) -> str:
    return tag.replace("-", " ").title()


def _script_json(value: Any) -> str:
    """Strict JSON that cannot end the <script> it sits in."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003C").replace(">", "\\u003E").replace("&", "\\u0026")


def _rename_classes(page: str, offset: int) -> str:
    """Give every class name a fela-like generated name that depends on the build."""
    names: dict[str, str] = {}

    def rename(match: re.Match) -> str:
        tokens = [names.setdefault(t, _fela_name(offset + len(names))) for t in match[1].split()]
        return f'class="{" ".join(tokens)}"'

    return _CLASS.sub(rename, page)


def _fela_name(number: int) -> str:
    """a, b, ..., z, ab, ac, ...: the short names fela gives atomic CSS rules."""
    name = ""
    while True:
        number, digit = divmod(number, 26)
        name = string.ascii_lowercase[digit] + name
        if not number:
            return name


def _day_path(day: str) -> str:
    """The path of the sitemap of a publishing day (YYYY-MM-DD)."""
    return f"/sitemap/posts/{day[:4]}/posts-{day}.xml"


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _urlset(urls: Any) -> str:
    """A sitemap <urlset> of (loc, lastmod or None, changefreq, priority)."""
    entries = ""
    for loc, lastmod, changefreq, priority in urls:
        modified = f"    <lastmod>{lastmod}</lastmod>\n" if lastmod else ""
        entries += (
            f"  <url>\n    <loc>{html.escape(loc)}</loc>\n{modified}"
            f"    <changefreq>{changefreq}</changefreq>\n    <priority>{priority}</priority>\n"
            "  </url>\n"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{entries}</urlset>\n'
    )


def robots_txt(origin: str) -> Reply:
    """Medium's robots.txt, its Sitemap line on `origin`."""
    disallowed = (
        "/m/",
        "/me/",
        "/@me$",
        "/@me/",
        "/*/edit$",
        "/*/*/edit$",
        "/media/",
        "/p/*/share",
        "/r/",
        "/trending",
        "/search?q=",
        "/*/search?q=",
        "/*/*source=",
    )
    rules = "".join(f"Disallow: {path}\n" for path in disallowed)
    text = f"User-Agent: *\n{rules}Allow: /_/\n\nSitemap: {origin}/sitemap/sitemap.xml\n"
    return Reply(200, text.encode(), "text/plain; charset=utf-8")


def _page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body>{body}</body></html>\n"
    )


def not_found() -> Reply:
    """Medium's 404 page."""
    body = (
        '<div id="root"><main><h1>404</h1><h2>Out of nothing, something.</h2>'
        "<p>You can find (just about) anything on Medium — apparently even a page that "
        'doesn\u2019t exist.</p><a href="/">Home</a></main></div>'
    )
    return _html(404, _page("Page not found | Medium", body))


def _challenge(domain: str) -> Reply:
    """Cloudflare's managed challenge, as non-browser clients of Medium get it."""
    ray = f"{random.getrandbits(64):016x}-AMS"
    body = (
        '<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>'
        '<meta http-equiv="Content-Type" content="text/html; charset=UTF-8">'
        '<meta name="robots" content="noindex,nofollow"></head><body>'
        '<div class="main-wrapper" role="main"><div class="main-content">'
        f'<h1 class="zone-name-title h1">{html.escape(domain)}</h1>'
        '<h2 id="challenge-running" class="h2">Verify you are human by completing the action '
        'below.</h2><noscript><div class="h2"><span id="challenge-error-text">Enable JavaScript '
        "and cookies to continue</span></div></noscript></div></div>"
        f"<script>(function(){{window._cf_chl_opt={{cvId: '3',cZone: \"{domain}\","
        f"cType: 'managed',cRay: '{ray}'}};}}());</script>"
        f'<div class="footer">Ray ID: <code>{ray}</code> Performance &amp; security by '
        "Cloudflare</div></body></html>"
    )
    return _html(
        403,
        body,
        ("cf-mitigated", "challenge"),
        ("cf-ray", ray),
        ("Cache-Control", "private, max-age=0, no-store, no-cache, must-revalidate"),
    )


def operation_name(body: bytes) -> str | None:
    """The operationName of the first operation of a GraphQL body, if it has one."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    first = payload[0] if isinstance(payload, list) and payload else payload
    name = first.get("operationName") if isinstance(first, dict) else None
    return name if isinstance(name, str) else None


def _account_handle(account: str) -> tuple[str, str]:
    """(user id, username) of the account named `account`: Netflix's for the default one,
    else made from the name."""
    if account == ACCOUNT:
        return ACCOUNT_ID, ACCOUNT_USERNAME
    user_id = hashlib.sha256(account.encode()).hexdigest()[:12]
    return user_id, re.sub(r"[^a-z0-9]+", "", account.lower()) or user_id


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _ms(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def _datetime(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


def _rfc822(ms: int) -> str:
    return format_datetime(_datetime(ms), usegmt=True)


def _iso(ms: int, *, millis: bool = True) -> str:
    """`2024-10-26T16:41:52.345Z`, or to the second (`...:52Z`) without `millis`."""
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000))
    return f"{text}.{ms % 1000:03d}Z" if millis else text + "Z"


# HTTP -------------------------------------------------------------------------------------


class Listener:
    """An HTTP server on its own thread that answers each request as `answer` plans it.
    Binds `address` at once (OSError if it cannot), serves until `stop()`."""

    def __init__(self, address: tuple[str, int], answer: Answer, name: str) -> None:
        self._server = _Server(address, answer)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{name}-{self.port}",
            daemon=True,
        )
        self._thread.start()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def stop(self) -> None:
        """Stop serving; answers waiting out a delay are dropped."""
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], answer: Answer) -> None:
        self.answer = answer
        self.stopping = threading.Event()
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up (as tests of timeouts do) are not errors of the site."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            logger.debug("connection from %s ended: %s", client_address, error)
        else:
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # seconds an idle keep-alive connection stays open
    disable_nagle_algorithm = True  # else each keep-alive answer waits 40 ms for an ACK
    server: _Server

    def version_string(self) -> str:
        return "cloudflare"

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        length = self.headers.get("Content-Length", "0").strip() or "0"
        if not length.isdigit():
            self.send_error(400, "Bad Content-Length")
            return
        if int(length) > MAX_BODY:
            self.send_error(413)
            return
        body = self.rfile.read(int(length))
        plan = self.server.answer(method, self.path, body, self.headers.get("Host"))
        if plan.delay and self.server.stopping.wait(plan.delay):
            self.close_connection = True
            return
        if plan.fault == "reset":
            self._reset()
            return
        reply = plan.reply
        payload = reply.body
        if plan.fault == "truncated":
            payload = payload[: len(payload) // 2]
            self.close_connection = True
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError) as error:
            logger.debug("%s %s: the client left before the answer: %s", method, self.path, error)
            self.close_connection = True

    def _reset(self) -> None:
        """Drop the connection with a TCP reset, without a byte of answer."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()


# Command line -----------------------------------------------------------------------------


def _rate(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _kinds(text: str) -> list[str]:
    kinds = [kind.strip() for kind in text.split(",") if kind.strip()]
    unknown = sorted(set(kinds) - set(FAULT_KINDS))
    if unknown or not kinds:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(FAULT_KINDS)}")
    return kinds


def main(argv: list[str] | None = None) -> int:
    """Serve a synthetic publication until Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m archive_spider.testing.medium_site",
        description="Serve a synthetic Medium publication on 127.0.0.1 until Ctrl-C.",
    )
    parser.add_argument("--posts", type=int, default=30, help="number of posts (default 30)")
    parser.add_argument("--port", type=int, default=0, help="port (default: any free port)")
    parser.add_argument("--seed", type=int, default=0, help="seed of posts and faults")
    parser.add_argument("--fault-rate", type=_rate, default=0.0, help="share of failed requests")
    parser.add_argument(
        "--fault-kinds",
        type=_kinds,
        default=["503"],
        help=f"comma-separated: {','.join(FAULT_KINDS)}",
    )
    args = parser.parse_args(argv)
    faults = Faults(rate=args.fault_rate, kinds=args.fault_kinds)
    with MediumSite(posts=args.posts, seed=args.seed, port=args.port, faults=faults) as site:
        print(site.url, flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            logger.info("interrupted: stopping %s", site.url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
