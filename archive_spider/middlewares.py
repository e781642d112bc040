"""Downloader middlewares: strip tracking, stay on Medium, one slot, spot challenges.

Backing off and giving up on a site that does not answer are in `outage.py`.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit
from urllib.request import url2pathname

from scrapy.exceptions import CloseSpider, IgnoreRequest
from w3lib.url import url_query_cleaner

from .outcome import record_fatal
from .sources import challenge

logger = logging.getLogger(__name__)

TRACKING_PARAMS = ("source", "sk", "gi")
MEDIUM_HOSTS = ("medium.com", "miro.medium.com")
MEDIUM_SLOT = "medium.com"  # configured in settings.DOWNLOAD_SLOTS


class TrackingParamsMiddleware:
    """Never request a URL carrying Medium's `?source=` tracking (robots.txt disallows them)."""

    def process_request(self, request):
        clean = url_query_cleaner(request.url, TRACKING_PARAMS, remove=True, keep_fragments=True)
        if clean != request.url:
            return request.replace(url=clean)
        return None


# Request meta of a publication's homepage: `medium.com/<slug>` may redirect to the root of
# the publication's own domain (the spider then checks that the page is that publication's).
MOVE_ALLOWED = "archive_move_allowed"


class OffsiteGuardMiddleware:
    """Refuse every request, redirects included, to a host other than the sources' and Medium's.

    One redirect is let through: a publication's homepage at `<host>/<slug>` moving to the
    root of another host, as `medium.com/<slug>` moves to the publication's own domain.
    """

    def __init__(self, crawler):
        self.crawler = crawler
        self.moved_to: set[str] = set()  # hosts a homepage moved to: their robots.txt is read

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def allowed(self, host: str) -> bool:
        hosts = {*MEDIUM_HOSTS, *getattr(self.crawler.spider, "allowed_hosts", ())}
        return host in hosts or host.endswith(".medium.com")

    def process_request(self, request):
        parts = urlsplit(request.url)
        if parts.scheme == "file" or self.allowed(parts.hostname or ""):
            return None
        origin = request.meta.get("redirect_urls", [None])[0]
        if request.meta.get(MOVE_ALLOWED) and _moves_home(origin, parts):
            self.moved_to.add(parts.hostname or "")
            return None
        if parts.path == "/robots.txt" and parts.hostname in self.moved_to:
            return None
        self.crawler.stats.inc_value("archive/offsite_refused")
        where = f" (redirected from {origin})" if origin else ""
        message = f"refused to leave the publication: {request.url}{where}"
        if origin:
            record_fatal(self.crawler.stats, "offsite_redirect", message)
            logger.error(message)
        else:
            logger.warning(message)
        raise IgnoreRequest(message)


def _moves_home(origin: str | None, target) -> bool:
    """A redirect from a publication's homepage at `<host>/<slug>` to another host's root."""
    if origin is None or len(origin) > 2048:
        return False
    source = urlsplit(origin)
    slug = [segment for segment in source.path.split("/") if segment]
    return len(slug) == 1 and target.path in ("", "/") and not target.query


class MediumSlotMiddleware:
    """Put every web request in one download slot: whatever the host, Medium serves it.

    Scrapy keys slots by host name, so thirty publications on thirty custom domains would
    get thirty times the rate. One slot keeps DOWNLOAD_DELAY and the concurrency per domain
    (1) for Medium as a whole; robots.txt requests pass here too.
    """

    def process_request(self, request):
        if urlsplit(request.url).scheme in ("http", "https"):
            request.meta.setdefault("download_slot", MEDIUM_SLOT)
        return None


class ChallengeMiddleware:
    """A bot challenge is an outcome, not data: stop asking and say the site blocked us."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_response(self, request, response):
        if not is_challenge(response):
            return response
        parts = urlsplit(response.url)
        if parts.scheme == "file":
            message = (
                f"{url2pathname(parts.path)} is a saved Cloudflare challenge page, not a Medium "
                "page: nothing was stored from it. Save the page again from a browser."
            )
        else:
            message = (
                f"{parts.hostname} answered {response.status} with a bot challenge (Cloudflare): "
                "the site blocked the crawler. Nothing was stored from it. Try again later, from "
                "another network, or with a browser-like download handler (scrapy-impersonate)."
            )
        record_fatal(self.crawler.stats, "blocked", message)
        logger.error(message)
        raise CloseSpider("blocked")


def is_challenge(response) -> bool:
    """A Cloudflare challenge, recognised by its content at any status (see `challenge`)."""
    mitigated = bool(response.headers.get(b"cf-mitigated"))
    return challenge.is_challenge(response.body, response.status, mitigated)
