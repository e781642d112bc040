"""Many synthetic Medium publications served at once on loopback, the way Medium serves them.

A `MediumFleet` of `MediumSite`s runs two HTTP servers:

    medium_address (127.0.0.1), standing for medium.com under the name `medium.test`:
        GET  /robots.txt             one robots.txt for every publication
        GET  /<slug>, /<slug>/...    a medium.com-hosted site's homepage, posts and tag pages
        GET  /feed/<slug>            its RSS feed
        POST /_/graphql              each operation answered by the publication it names
        anything else                404
    custom_address (127.0.0.2), serving each custom-domain site (`<name>.test`) by the
        hostname of the Host header; an unknown Host answers 404.

GraphQL is Medium-wide on both servers: an operation is answered by the site it names (by
`ref.slug`, `ref.domain` or `ref.id`, by `domainOrSlug`, or by the post id it asks for), and
one naming no site the way a MediumSite answers about a publication it is not. A request
meets the faults of the site whose host it was sent to, or on medium.test of the first site
its operations name. A crawler reaches the `.test` names through
`archive_spider.testing.loopback.LoopbackResolver`.

From a shell (both servers on port 8080 if 127.0.0.2:8080 is free, else the custom domains
on 8081):

    python -m archive_spider.testing.medium_fleet --publications 30 --posts 20 \\
        --port 8080 --csv publications.csv
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import logging
import math
import random
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from .medium_site import (
    GRAPHQL_PATH,
    Answer,
    Listener,
    MediumSite,
    Plan,
    not_found,
    operation_name,
    robots_txt,
)

logger = logging.getLogger(__name__)

MEDIUM_HOST = "medium.test"
MEDIUM_ADDRESS = "127.0.0.1"
CUSTOM_ADDRESS = "127.0.0.2"
CUSTOM_SUFFIX = ".test"
# First path segments of medium.test that are not publications.
_RESERVED_SLUGS = frozenset({"", "feed", "_", "robots.txt"})

# Words the synthetic publications are named with.
_TOPICS = (
    "engineering",
    "design",
    "data",
    "product",
    "security",
    "mobile",
    "platform",
    "research",
    "infrastructure",
    "culture",
)
_KINDS = ("Blog", "Journal", "Notes", "Review", "Digest")


class FleetRequest(NamedTuple):
    """One request to either server: `at` is its `time.monotonic()`, `server` the address it
    reached, `host` its Host header, `status` the status sent (0 for a reset connection)."""

    at: float
    server: str
    host: str | None
    method: str
    path: str
    operation: str | None
    status: int


class _UnknownPublication(MediumSite):
    """Answers GraphQL as Medium does about a publication or post it does not have."""

    def _is_this_publication(self, slug: Any, domain: Any, collection_id: Any = None) -> bool:
        return False


class MediumFleet:
    """`sites` served together: those with `domain=None` on medium.test, the others on their
    custom domains (hostnames ending in `.test`). Slugs, custom domains, collection ids and
    post ids must be distinct across the fleet."""

    def __init__(
        self,
        sites: Sequence[MediumSite],
        *,
        medium_address: str = MEDIUM_ADDRESS,
        custom_address: str = CUSTOM_ADDRESS,
        port: int = 0,
    ) -> None:
        """`port`: of both servers (0: any free port); the custom domains take `port + 1`
        when `custom_address:port` is taken."""
        _check_distinct(sites)
        self.sites = list(sites)
        self._on_medium = {site.slug: site for site in sites if site.domain is None}
        self._by_domain = {site.domain: site for site in sites if site.domain is not None}
        self._unknown = _UnknownPublication(posts=0, name="", collection_id="", domain=None)
        self.medium_address, self.custom_address = medium_address, custom_address
        self._port = port
        self._lock = threading.Lock()
        self._log: list[FleetRequest] = []
        self._medium: Listener | None = None
        self._custom: Listener | None = None

    @classmethod
    def synthetic(
        cls,
        count: int = 30,
        posts: int | tuple[int, int] = (5, 40),
        seed: int = 0,
        custom_share: float = 0.5,
        **options: Any,
    ) -> MediumFleet:
        """`count` invented publications, deterministic from `seed`: a `custom_share` of them
        on custom domains (`<slug>.test`), spread evenly, the rest on medium.test. Each has
        `posts` posts, or a number drawn from the inclusive range `(least, most)`. `options`
        go to the constructor."""
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        if not 0 <= custom_share <= 1:
            raise ValueError(f"custom_share must be between 0 and 1, got {custom_share}")
        least, most = (posts, posts) if isinstance(posts, int) else posts
        if not 0 <= least <= most:
            raise ValueError(f"posts must be N or (least, most) with 0 <= least <= most: {posts}")
        rng = random.Random(f"{seed}:fleet")
        sites = []
        for number in range(count):
            topic = _TOPICS[number % len(_TOPICS)]
            slug = f"{topic}-{number:02d}"
            custom = math.floor((number + 1) * custom_share) > math.floor(number * custom_share)
            sites.append(
                MediumSite(
                    posts=rng.randint(least, most),
                    seed=seed * count + number,
                    name=f"{topic.title()} {_KINDS[number % len(_KINDS)]} {number:02d}",
                    collection_id=f"{rng.getrandbits(48):012x}",
                    slug=slug,
                    domain=slug + CUSTOM_SUFFIX if custom else None,
                    account=f"{topic.title()} Team {number:02d}",
                )
            )
        return cls(sites, **options)

    # Control ------------------------------------------------------------------------------

    def start(self) -> MediumFleet:
        if self._medium is not None:
            raise RuntimeError("the fleet is already started")
        self._medium = Listener(
            (self.medium_address, self._port),
            self._logging(self.medium_address, self._answer_on_medium),
            "medium-fleet",
        )
        answer_custom = self._logging(self.custom_address, self._answer_on_custom)
        try:
            self._custom = Listener(
                (self.custom_address, self._medium.port), answer_custom, "medium-fleet-custom"
            )
        except OSError as error:
            fallback = self._port + 1 if self._port else 0
            logger.info("%s: %s; trying port %d", self.custom_address, error, fallback)
            try:
                self._custom = Listener(
                    (self.custom_address, fallback), answer_custom, "medium-fleet-custom"
                )
            except OSError:
                self.stop()
                raise
        return self

    def stop(self) -> None:
        for listener in (self._medium, self._custom):
            if listener is not None:
                listener.stop()
        self._medium = self._custom = None

    def __enter__(self) -> MediumFleet:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def medium_port(self) -> int:
        return _started(self._medium).port

    @property
    def custom_port(self) -> int:
        return _started(self._custom).port

    def url(self, site: MediumSite) -> str:
        """The URL a crawler is given for `site`: http://medium.test:<port>/<slug> or
        http://<domain>:<port>/."""
        if site.domain is None:
            return f"http://{MEDIUM_HOST}:{self.medium_port}/{site.slug}"
        return f"http://{site.domain}:{self.custom_port}/"

    def write_publications_csv(
        self, path: Path | str, parts: Mapping[str, int] | None = None
    ) -> None:
        """A publication list for `--publications`: columns url, name, part; `parts` pins
        sites (by collection id) to a part, the others have an empty part."""
        parts = parts or {}
        with Path(path).open("w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(("url", "name", "part"))
            for site in self.sites:
                writer.writerow((self.url(site), site.name, parts.get(site.collection_id, "")))

    def expected_posts(self) -> list[dict]:
        """Every site's `expected_posts()`, each with `publication`: its collection id."""
        return [
            {**post, "publication": site.collection_id}
            for site in self.sites
            for post in site.expected_posts()
        ]

    # The request log ----------------------------------------------------------------------

    @property
    def requests(self) -> list[FleetRequest]:
        """Every request to either server so far, in the order they were answered."""
        with self._lock:
            return list(self._log)

    def reset_log(self) -> None:
        with self._lock:
            self._log.clear()

    def max_rate(
        self, window_seconds: float, requests: Iterable[FleetRequest] | None = None
    ) -> float:
        """The highest rate (requests per second) in any window of `window_seconds`, over
        `requests` (default: all of them)."""
        logged = self.requests if requests is None else requests
        return highest_rate([request.at for request in logged], window_seconds)

    def mean_rate(self, requests: Iterable[FleetRequest] | None = None) -> float:
        """The average rate (requests per second) from the first request to the last."""
        logged = self.requests if requests is None else requests
        return average_rate([request.at for request in logged])

    # Answering ----------------------------------------------------------------------------

    def _logging(self, server: str, answer: Answer) -> Answer:
        """`answer`, each request logged with the server address it reached."""
        return functools.partial(self._answer_logged, server, answer)

    def _answer_logged(
        self, server: str, answer: Answer, method: str, path: str, body: bytes, host: str | None
    ) -> Plan:
        plan = answer(method, path, body, host)
        operation = operation_name(body) if method == "POST" else None
        entry = FleetRequest(time.monotonic(), server, host, method, path, operation, plan.status)
        with self._lock:
            self._log.append(entry)
        return plan

    def _answer_on_medium(self, method: str, path: str, body: bytes, host: str | None) -> Plan:
        route = urlsplit(path).path
        if route == "/robots.txt":
            return Plan(robots_txt(f"http://{MEDIUM_HOST}:{self.medium_port}"))
        if route == GRAPHQL_PATH:
            site = self._graphql_lead(body)
        else:
            site = self._on_medium.get(_slug_of(route))
        if site is None:
            return Plan(not_found())
        return site.answer(method, path, body, host, answer_operation=self._answer_operation)

    def _answer_on_custom(self, method: str, path: str, body: bytes, host: str | None) -> Plan:
        site = self._by_domain.get(urlsplit(f"//{host}").hostname if host else None)
        if site is None:
            return Plan(not_found())
        return site.answer(method, path, body, host, answer_operation=self._answer_operation)

    def _graphql_lead(self, body: bytes) -> MediumSite:
        """The site whose faults a GraphQL request meets: the first one its operations name."""
        named = (self._site_named_by(operation) for operation in _operations(body))
        return next((site for site in named if site is not None), self._unknown)

    def _answer_operation(self, operation: dict) -> dict:
        return (self._site_named_by(operation) or self._unknown).answer_operation(operation)

    def _site_named_by(self, operation: dict) -> MediumSite | None:
        return next((site for site in self.sites if site.is_named_by(operation)), None)


# Helpers ----------------------------------------------------------------------------------


def highest_rate(times: Sequence[float], window_seconds: float) -> float:
    """The most of `times` inside one window [t, t + window_seconds), per second."""
    if window_seconds <= 0:
        raise ValueError(f"window_seconds must be > 0, got {window_seconds}")
    ordered = sorted(times)
    most = start = 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= window_seconds:
            start += 1
        most = max(most, end - start + 1)
    return most / window_seconds


def average_rate(times: Sequence[float]) -> float:
    """Intervals between `times` per second of their span: 0.0 for fewer than two times,
    infinite for several at one instant."""
    if len(times) < 2:
        return 0.0
    span = max(times) - min(times)
    return (len(times) - 1) / span if span > 0 else math.inf


def _started(listener: Listener | None) -> Listener:
    if listener is None:
        raise RuntimeError("the fleet is not started")
    return listener


def _operations(body: bytes) -> list[dict]:
    """The operations of a GraphQL body (a JSON array, or one object); none if malformed."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return []
    operations = payload if isinstance(payload, list) else [payload]
    return [operation for operation in operations if isinstance(operation, dict)]


def _slug_of(route: str) -> str:
    """The publication a medium.test path is about: /<slug>/... or /feed/<slug>."""
    segments = route.split("/")
    if len(segments) > 2 and segments[1] == "feed":
        return segments[2]
    return segments[1] if len(segments) > 1 else ""


def _check_distinct(sites: Sequence[MediumSite]) -> None:
    """Raise ValueError unless the sites can be told apart the way the fleet routes."""
    for site in sites:
        if site.domain is None and site.slug in _RESERVED_SLUGS:
            raise ValueError(f"slug {site.slug!r} is a path of medium.test itself")
        if site.domain is not None and (
            not site.domain.endswith(CUSTOM_SUFFIX) or site.domain == MEDIUM_HOST
        ):
            raise ValueError(f"custom domain {site.domain!r} must end in {CUSTOM_SUFFIX}")
    kinds = {
        "slug": [site.slug for site in sites],
        "custom domain": [site.domain for site in sites if site.domain is not None],
        "collection id": [site.collection_id for site in sites],
        "post id": [post.id for site in sites for post in site.posts],
    }
    for kind, values in kinds.items():
        seen: set[str] = set()
        for value in values:
            if value in seen:
                raise ValueError(f"{kind} {value!r} appears twice in the fleet")
            seen.add(value)


# Command line -----------------------------------------------------------------------------


def _posts(text: str) -> int | tuple[int, int]:
    """Posts of each publication: N ("20") or MIN-MAX ("5-40")."""
    least, _, most = text.partition("-")
    try:
        return (int(least), int(most)) if most else int(least)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected N or MIN-MAX, got {text!r}") from error


def main(argv: list[str] | None = None) -> int:
    """Serve a synthetic fleet of publications until Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m archive_spider.testing.medium_fleet",
        description=(
            "Serve synthetic Medium publications until Ctrl-C: medium.com-hosted ones on "
            f"{MEDIUM_ADDRESS} ({MEDIUM_HOST}), custom-domain ones (*{CUSTOM_SUFFIX}) on "
            f"{CUSTOM_ADDRESS}, both on --port if they can be, else the custom domains on "
            "--port + 1. Crawlers resolve the names with "
            "archive_spider.testing.loopback.LoopbackResolver."
        ),
    )
    parser.add_argument("--publications", type=int, default=30, help="how many (default 30)")
    parser.add_argument(
        "--posts", type=_posts, default=(5, 40), help="posts of each: N or MIN-MAX (default 5-40)"
    )
    parser.add_argument("--port", type=int, default=0, help="port (default: any free port)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the publications")
    parser.add_argument(
        "--custom-share", type=float, default=0.5, help="share on custom domains (default 0.5)"
    )
    parser.add_argument(
        "--csv", type=Path, required=True, help="write the publication list (url,name,part) here"
    )
    args = parser.parse_args(argv)
    fleet = MediumFleet.synthetic(
        args.publications, args.posts, args.seed, args.custom_share, port=args.port
    )
    with fleet:
        fleet.write_publications_csv(args.csv)
        print(
            f"{len(fleet.sites)} publications listed in {args.csv}: {MEDIUM_HOST} on "
            f"{fleet.medium_address}:{fleet.medium_port}, *{CUSTOM_SUFFIX} on "
            f"{fleet.custom_address}:{fleet.custom_port}",
            flush=True,
        )
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            logger.info("interrupted: stopping the fleet")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
