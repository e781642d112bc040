"""Many synthetic Medium publications served at once on loopback, the way Medium serves them.

A `MediumFleet` of `MediumSite`s (and `Author`s) runs two HTTP servers:

    medium_address (127.0.0.1), standing for medium.com under the name `medium.test`:
        GET  /robots.txt             one robots.txt for every publication
        GET  /<slug>, /<slug>/...    a medium.com-hosted site's homepage, posts and tag pages;
                                     for a custom-domain site, 301 to the same path on
                                     http://<domain>:<custom_port> (as medium.com/netflix-techblog
                                     answers with netflixtechblog.com), or off Medium and the
                                     publication to http://elsewhere.invalid/ for the slugs in
                                     `redirect_offsite`
        GET  /feed/<slug>            a medium.com-hosted site's RSS feed
        GET  /@<username>            an author's profile page (2021 shape)
        POST /_/graphql              each operation answered by the publication it names
        anything else                404
    custom_address (127.0.0.2), serving each custom-domain site (`<name>.test`) by the
        hostname of the Host header; an unknown Host answers 404.

GraphQL is Medium-wide on both servers: an operation is answered by the site it names (by
`ref.slug`, `ref.domain` or `ref.id`, by `domainOrSlug`, or by the post id it asks for), and
one naming no site the way a MediumSite answers about a publication it is not. A request
meets the faults of the site whose host or slug it was sent to, or on medium.test of the
first site its operations name; profile pages meet none. A crawler reaches the `.test` names
through `archive_spider.testing.loopback.LoopbackResolver`.

From a shell (both servers on port 8080 if 127.0.0.2:8080 is free, else the custom domains
on 8081):

    python -m archive_spider.testing.medium_fleet --publications 30 --posts 20 \\
        --port 8080 --csv publications.csv
"""

from __future__ import annotations

import argparse
import csv
import functools
import logging
import signal
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from .author import Author
from .faults import Faults
from .feeds import robots_txt
from .fleet_sites import (
    CUSTOM_ADDRESS,
    CUSTOM_SUFFIX,
    MEDIUM_ADDRESS,
    MEDIUM_HOST,
    check_distinct,
    invent_fleet,
)
from .graphql_answers import (
    GRAPHQL_PATH,
    answer_operation,
    graphql_errors,
    graphql_reply,
    operation_name,
    operations_of,
)
from .medium_site import ERAS, MediumSite
from .pages import not_found
from .rates import average_rate, highest_rate
from .server import Answer, Listener, Plan, Reply, html_reply, json_reply, redirect
from .synthetic import Catalog

__all__ = ["Author", "FleetRequest", "MediumFleet", "average_rate", "highest_rate"]

logger = logging.getLogger(__name__)

ELSEWHERE = "http://elsewhere.invalid/"
_NO_POSTS = Catalog.of([])


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


class MediumFleet:
    """`sites` served together: those with `domain=None` on medium.test, the others on their
    custom domains (hostnames ending in `.test`), and `authors`' profile pages on medium.test.
    Slugs, custom domains, collection ids, usernames and post ids must be distinct across the
    fleet. `redirect_offsite`: slugs of custom-domain sites whose medium.test path redirects
    to http://elsewhere.invalid/ (changeable while the fleet runs)."""

    def __init__(
        self,
        sites: Sequence[MediumSite],
        *,
        authors: Sequence[Author] = (),
        redirect_offsite: Iterable[str] = (),
        medium_address: str = MEDIUM_ADDRESS,
        custom_address: str = CUSTOM_ADDRESS,
        port: int = 0,
    ) -> None:
        """`port`: of both servers (0: any free port); the custom domains take `port + 1`
        when `custom_address:port` is taken."""
        check_distinct(sites, authors)
        self.sites, self.authors = list(sites), list(authors)
        self.redirect_offsite = set(redirect_offsite)
        self._on_medium = {site.slug: site for site in sites if site.domain is None}
        self._elsewhere = {site.slug: site for site in sites if site.domain is not None}
        self._by_domain = {site.domain: site for site in sites if site.domain is not None}
        self._by_path = {author.path: author for author in authors}
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
        *,
        era: str = "2025",
        authors: int = 0,
        **options: Any,
    ) -> MediumFleet:
        """`count` invented publications, deterministic from `seed`: a `custom_share` of them
        on custom domains (`<slug>.test`), spread evenly, the rest on medium.test, their
        homepages of `era`. Each has `posts` posts, or a number drawn from the inclusive
        range `(least, most)`. Author k (k < `authors`) publishes sites 2k and 2k+1 and has
        personal posts. `options` go to the constructor."""
        sites, people = invent_fleet(count, posts, seed, custom_share, era=era, authors=authors)
        return cls(sites, authors=people, **options)

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

    def medium_url(self, site: MediumSite) -> str:
        """`site` under its slug on medium.test, which a custom-domain site answers with a 301."""
        return f"http://{MEDIUM_HOST}:{self.medium_port}/{site.slug}"

    def author_url(self, author: Author) -> str:
        """The profile page of `author`: http://medium.test:<port>/@<username>."""
        return f"http://{MEDIUM_HOST}:{self.medium_port}{author.path}"

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
        segments = route.split("/")
        first = segments[1] if len(segments) > 1 else ""
        origin = f"http://{MEDIUM_HOST}:{self.medium_port}"
        if route == "/robots.txt":
            return Plan(robots_txt(origin))
        if route == GRAPHQL_PATH:
            site = self._graphql_lead(body)
            if site is None:
                return Plan(self._graphql_of_nobody(method, body))
        elif author := self._by_path.get(route.rstrip("/")):
            return Plan(html_reply(200, author.page(origin)))
        elif site := self._elsewhere.get(first):
            return site.answer(method, path, body, host, instead=self._redirect(site, path))
        else:
            feed = first == "feed" and len(segments) > 2  # /feed/<slug>
            site = self._on_medium.get(segments[2] if feed else first)
        if site is None:
            return Plan(not_found())
        return site.answer(method, path, body, host, answer_operation=self._answer_operation)

    def _answer_on_custom(self, method: str, path: str, body: bytes, host: str | None) -> Plan:
        site = self._by_domain.get(urlsplit(f"//{host}").hostname if host else None)
        if site is None:
            return Plan(not_found())
        return site.answer(method, path, body, host, answer_operation=self._answer_operation)

    def _redirect(self, site: MediumSite, path: str) -> Reply:
        """medium.test/<slug>/<rest> of a custom-domain site: 301 to <domain>/<rest>."""
        if site.slug in self.redirect_offsite:
            return redirect(301, ELSEWHERE)
        rest = path[len(site.slug) + 1 :].lstrip("/")
        return redirect(301, f"http://{site.domain}:{self.custom_port}/{rest}")

    def _graphql_lead(self, body: bytes) -> MediumSite | None:
        """The site whose faults a GraphQL request meets: the first one its operations name."""
        named = (self._site_named_by(operation) for operation in operations_of(body))
        return next((site for site in named if site is not None), None)

    def _graphql_of_nobody(self, method: str, body: bytes) -> Reply:
        """The answer to a GraphQL request that names no site of the fleet."""
        if method != "POST":
            return json_reply(405, graphql_errors("GET is not supported, use POST"))
        return graphql_reply(body, self._answer_operation)

    def _answer_operation(self, operation: dict) -> dict:
        site = self._site_named_by(operation)
        if site is None:
            return answer_operation(operation, None, _NO_POSTS, Faults())
        return site.answer_operation(operation)

    def _site_named_by(self, operation: dict) -> MediumSite | None:
        return next((site for site in self.sites if site.is_named_by(operation)), None)


def _started(listener: Listener | None) -> Listener:
    if listener is None:
        raise RuntimeError("the fleet is not started")
    return listener


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
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started ignoring it
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
    parser.add_argument("--era", choices=ERAS, default="2025", help="homepage shape")
    parser.add_argument(
        "--authors", type=int, default=0, help="authors with profile pages (default 0)"
    )
    parser.add_argument(
        "--csv", type=Path, required=True, help="write the publication list (url,name,part) here"
    )
    args = parser.parse_args(argv)
    fleet = MediumFleet.synthetic(
        args.publications, args.posts, args.seed, args.custom_share,
        era=args.era, authors=args.authors, port=args.port,
    )  # fmt: skip
    with fleet:
        fleet.write_publications_csv(args.csv)
        try:  # a Ctrl-C right after the announcement is one too
            print(
                f"{len(fleet.sites)} publications listed in {args.csv}: {MEDIUM_HOST} on "
                f"{fleet.medium_address}:{fleet.medium_port}, *{CUSTOM_SUFFIX} on "
                f"{fleet.custom_address}:{fleet.custom_port}",
                flush=True,
            )
            for author in fleet.authors:
                print(f"profile of {author.name}: {fleet.author_url(author)}", flush=True)
            threading.Event().wait()
        except KeyboardInterrupt:
            logger.info("interrupted: stopping the fleet")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
