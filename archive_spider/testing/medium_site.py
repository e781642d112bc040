"""A Medium publication served over HTTP on 127.0.0.1, for end-to-end tests and by hand.

`MediumSite(posts=N, seed=S)` invents N posts (deterministic from the seed) and serves them
the way Medium serves netflixtechblog.com:

    GET  /robots.txt                 Medium-like rules and a Sitemap line
    GET  /                           homepage: 10 posts in cards, Apollo and preloaded state
    POST /_/graphql                  PublicationContentDataQuery, PublicationHomepageQuery,
                                     PostByIdQuery (a JSON array of operations in and out)
    GET  /feed                       RSS 2.0 of the 10 newest posts
    GET  /sitemap/sitemap.xml        sitemap index: one child per publishing day, plus tags
                                     (each with a <lastmod>, unless sitemap_lastmod=False)
    GET  /<uniqueSlug>               a minimal post page
    GET  /tagged/<tag>               a minimal tag page

The homepage takes the shape of an era (`era`, shapes from shared/notes/medium-site.md and
medium-real-shapes.md):

    "2025"  `article[data-testid="post-preview"]` cards of the 10 newest posts; Apollo state
            with stub Post nodes ({__typename, id}) ordered by `PublicationPage:homepage`
            sections, `Collection.domain` (null without a custom domain) and, for a custom
            domain, `customDomainState.live`
    "2021"  plain blocks with `h3` title links, no post-preview cards; full Post nodes (no
            uniqueSlug: the URL is `mediumUrl`, on the custom domain for most posts, on
            medium.com for some), ordered by the collection's
            `homepagePostsConnection({"paging":{"limit":10}})`, pins first

GraphQL answers are the same in both eras. Post URLs in the data are on the publication's
domain (https://netflixtechblog.com/...), never on the address the server listens on.
`site.faults` switches failures on and off while the server runs (`Faults`).

`MediumSite(domain=None)` is a publication hosted on medium.com under its slug: post URLs
are https://medium.com/<slug>/<uniqueSlug>, and it serves

    GET  /robots.txt                 as above
    GET  /<slug>                     the homepage (also /<slug>/)
    POST /_/graphql                  as above
    GET  /feed/<slug>                the RSS feed
    GET  /<slug>/<uniqueSlug>        a post page (and /<slug>/tagged/<tag>, a tag page)

and no sitemap. `site.answer(...)` answers one request without a server of its own, which
is how `medium_fleet.MediumFleet` serves many sites at once (and authors' profile pages).
From a shell:

    python -m archive_spider.testing.medium_site --posts 300 --port 8080 --fault-rate 0.2
"""

from __future__ import annotations

import argparse
import logging
import random
import re
import signal
import threading
import time
from datetime import datetime, timezone
from urllib.parse import urlsplit

from . import feeds, pages
from .apollo_state import PAGE_POSTS, homepage_state_2021, homepage_state_2025, medium_url_2021
from .faults import FAULT_KINDS, Faults, LoggedRequest, error_reply, fault_kinds, fault_rate
from .graphql_answers import (
    GRAPHQL_PATH,
    MAX_FIRST,
    OperationAnswer,
    answer_operation,
    graphql_errors,
    graphql_reply,
    is_named_by,
    operation_name,
)
from .pages import card_date
from .server import Listener, Plan, Reply, html_reply, json_reply, redirect
from .synthetic import (
    ACCOUNT,
    COLLECTION_ID,
    DEFAULT_NOW,
    DOMAIN,
    NAME,
    SLUG,
    Catalog,
    Publication,
    SyntheticPost,
    expected_post,
    homepage_from,
    invent_posts,
    iso,
    newer_posts,
)

__all__ = ["DEFAULT_NOW", "ERAS", "FAULT_KINDS", "Faults", "MediumSite", "card_date"]

logger = logging.getLogger(__name__)

ERAS = ("2025", "2021")
_HOST = re.compile(r"[A-Za-z0-9.-]+(?::\d{1,5})?")
_TAG_PAGE = re.compile(r"/tagged/([a-z0-9-]+)/?")
_POST_PAGE = re.compile(r"/([^/]*-)?([0-9a-f]{8,12})/?")


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
        era: str = "2025",
        page_shortfall: int = 0,
        sitemap_lastmod: bool = True,
        faults: Faults | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """`domain`: the publication's custom domain, or None for one hosted on medium.com
        under `/<slug>`. `account`: the name of the account that publishes every post.
        `era`: the shape of the homepage, "2025" or "2021". `page_shortfall`: how many posts
        fewer than asked a page of `first: 100` holds (Medium was seen to answer 98).
        `sitemap_lastmod`: whether the sitemap index gives each child's `<lastmod>` (real
        indexes may not)."""
        if posts < 0:
            raise ValueError(f"posts must be >= 0, got {posts}")
        if not 0 <= page_shortfall < MAX_FIRST:
            raise ValueError(f"page_shortfall must be in 0..{MAX_FIRST - 1}")
        if era not in ERAS:
            raise ValueError(f"era must be one of {ERAS}, got {era!r}")
        self.publication = Publication(
            name, collection_id, slug, domain.lower() if domain is not None else None, account
        )
        self.name, self.collection_id, self.slug = name, collection_id, slug
        self.domain, self.account = self.publication.domain, account
        self.seed, self.era = seed, era
        self.now = now.astimezone(timezone.utc)
        self.page_shortfall = page_shortfall
        self.sitemap_lastmod = sitemap_lastmod
        self.faults = faults or Faults()
        self._host, self._port = host, port
        self._lock = threading.Lock()
        self._fault_rng = random.Random(seed)
        self._log: list[LoggedRequest] = []
        self._listener: Listener | None = None
        self._catalog = Catalog.of(invent_posts(seed, posts, self.now))

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
        return self.origin + (self.publication.prefix or "/")

    @property
    def home_url(self) -> str:
        """The public homepage: https://<domain>/ or https://medium.com/<slug>."""
        return self.publication.home_url

    @property
    def posts(self) -> list[SyntheticPost]:
        """All posts, newest first."""
        return list(self._catalog.posts)

    def add_posts(self, count: int) -> list[SyntheticPost]:
        """Publish `count` posts newer than all others (the clock moves on if it must)."""
        with self._lock:
            catalog = self._catalog
            added, self.now = newer_posts(self.seed, catalog.posts, count, self.now)
            self._catalog = Catalog.of(added + catalog.posts)
        return added

    def expected_posts(self) -> list[dict]:
        """What a crawler should store for each post, newest first."""
        return [
            expected_post(post, self.post_url(post), self.account) for post in self._catalog.posts
        ]

    def post_url(self, post: SyntheticPost) -> str:
        return self.publication.post_url(post)

    def day_sitemap_path(self, post: SyntheticPost) -> str:
        """The path of the day sitemap that names `post`."""
        return feeds.day_path(iso(post.first_published_at)[:10])

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
        instead: Reply | None = None,
    ) -> Plan:
        """The answer to one request, faults included, logged before it is sent.

        `host` is the request's Host header. `answer_operation` answers each GraphQL
        operation instead of `self.answer_operation` (a fleet answers for all its sites).
        `instead` is the reply to give, faults permitting, instead of routing `path`."""
        faults = self.faults
        operation = operation_name(body) if method == "POST" else None
        exempt = urlsplit(path).path == "/robots.txt" and not faults.robots
        mode = None if exempt else self._mode_reply(faults)
        fault = None
        with self._lock:
            down = faults.is_down(len(self._log))
        if down and faults.down == "refused":
            threading.Thread(target=self.stop, daemon=True).start()
            exempt, mode, fault = False, None, "reset"
        elif down:
            exempt, mode = False, error_reply(503)
        elif not exempt and mode is None:
            with self._lock:
                fault = faults.draw(self._fault_rng)
        if mode is not None:
            reply = mode
        elif fault in ("503", "429"):
            reply = error_reply(int(fault))
        elif urlsplit(path).path in faults.broken_paths or operation in faults.broken_operations:
            reply = error_reply(500)
        elif instead is not None:
            reply = instead
        else:
            reply = self._route(method, path, body, host, answer_operation or self.answer_operation)
        delay = 0.0 if exempt else faults.slow
        if fault == "timeout":
            delay += faults.timeout_seconds
        plan = Plan(reply, fault, delay)
        with self._lock:
            self._log.append(LoggedRequest(method, path, operation, plan.status, time.monotonic()))
        return plan

    def _mode_reply(self, faults: Faults) -> Reply | None:
        """The answer every request gets in the `gone` and `challenge` modes."""
        if faults.gone:
            return pages.not_found()
        if faults.challenge:
            return pages.challenge(self.publication.public_host, faults.challenge_status)
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
        prefix, catalog = self.publication.prefix, self._catalog
        if method == "POST":
            if route == GRAPHQL_PATH:
                return graphql_reply(
                    body, answer_operation, refuse_primary=self.faults.refuse_primary
                )
            return pages.not_found()
        if route == GRAPHQL_PATH:
            return json_reply(405, graphql_errors("GET is not supported, use POST"))
        if route == "/robots.txt":
            return feeds.robots_txt(origin)
        if route in (prefix or "/", prefix + "/"):
            if self.faults.offsite_redirect:
                return redirect(302, "http://example.invalid/")
            return html_reply(200, self._homepage(origin))
        if route == self.publication.feed_path:
            return feeds.feed(self.publication, catalog, self.now)
        if self.domain is not None:  # medium.com serves no sitemap of a publication
            if route == "/sitemap/sitemap.xml":
                return feeds.sitemap_index(catalog, origin, self.now, self.sitemap_lastmod)
            if route == feeds.TAG_SITEMAP:
                return feeds.tag_sitemap(self.publication, catalog)
            if match := feeds.DAY_SITEMAP.fullmatch(route):
                day = feeds.day_sitemap(self.publication, catalog, match[1], match[2])
                return day or pages.not_found()
        if not route.startswith(prefix + "/"):
            return pages.not_found()
        page = route[len(prefix) :]
        if match := _TAG_PAGE.fullmatch(page):
            return pages.tag_page(self.publication, catalog, match[1])
        if (match := _POST_PAGE.fullmatch(page)) and (post := catalog.by_id.get(match[2])):
            return pages.post_page(self.publication, post)
        return pages.not_found()

    def _homepage(self, origin: str) -> str:
        publication, catalog = self.publication, self._catalog
        if self.era == "2025":
            posts = catalog.posts[: pages.HOMEPAGE_CARDS]
            apollo = homepage_state_2025(publication, posts)
            return pages.homepage_2025(publication, posts, apollo, origin, self.now, self.seed)
        sequence = catalog.homepage_sequence(None, PAGE_POSTS + 1) or []
        shown = sequence[:PAGE_POSTS]
        following = None
        if len(sequence) > PAGE_POSTS:
            following = {"from": homepage_from(shown[-1]), "limit": PAGE_POSTS}
        listed = [(post, publication, medium_url_2021(publication, post)) for post in shown]
        apollo = homepage_state_2021(publication, listed, following)
        return pages.homepage_2021(publication, listed, apollo, origin, self.now, self.seed)

    def answer_operation(self, operation: dict) -> dict:
        """The answer to one GraphQL operation, as this site's GraphQL endpoint gives it."""
        return answer_operation(
            operation, self.publication, self._catalog, self.faults, self.page_shortfall
        )

    def is_named_by(self, operation: dict) -> bool:
        """Whether a GraphQL operation asks about this publication or one of its posts."""
        return is_named_by(operation, self.publication, self._catalog)


# Command line -----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Serve a synthetic publication until Ctrl-C."""
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started ignoring it
    parser = argparse.ArgumentParser(
        prog="python -m archive_spider.testing.medium_site",
        description="Serve a synthetic Medium publication on 127.0.0.1 until Ctrl-C.",
    )
    parser.add_argument("--posts", type=int, default=30, help="number of posts (default 30)")
    parser.add_argument("--port", type=int, default=0, help="port (default: any free port)")
    parser.add_argument("--seed", type=int, default=0, help="seed of posts and faults")
    parser.add_argument("--era", choices=ERAS, default="2025", help="homepage shape")
    parser.add_argument(
        "--fault-rate", type=fault_rate, default=0.0, help="share of failed requests"
    )
    parser.add_argument(
        "--fault-kinds",
        type=fault_kinds,
        default=["503"],
        help=f"comma-separated: {','.join(FAULT_KINDS)}",
    )
    args = parser.parse_args(argv)
    faults = Faults(rate=args.fault_rate, kinds=args.fault_kinds)
    site = MediumSite(posts=args.posts, seed=args.seed, era=args.era, port=args.port, faults=faults)
    with site:
        try:  # a Ctrl-C right after the announcement is one too
            print(site.url, flush=True)
            threading.Event().wait()
        except KeyboardInterrupt:
            logger.info("interrupted: stopping %s", site.url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
