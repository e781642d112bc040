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
# The slot of thumbnail requests (`crawl --images`): the image CDN has its own budget.
IMAGE_SLOT = "images"


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
    """Refuse every request, redirects included, to a host other than the sources', Medium's
    and (with `--images`) the image CDN's of ARCHIVE_IMAGE_URL.

    One redirect is let through: a publication's homepage at `<host>/<slug>` moving to the
    root of another host, as `medium.com/<slug>` moves to the publication's own domain.
    """

    def __init__(self, crawler):
        self.crawler = crawler
        self.moved_to: set[str] = set()  # hosts a homepage moved to: their robots.txt is read
        settings = crawler.settings
        self.image_host = (
            urlsplit(settings["ARCHIVE_IMAGE_URL"]).hostname
            if settings.getbool("ARCHIVE_IMAGES")
            else None
        )

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def allowed(self, host: str) -> bool:
        hosts = {*MEDIUM_HOSTS, *getattr(self.crawler.spider, "allowed_hosts", ()), self.image_host}
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
    (1) for Medium as a whole; robots.txt requests pass here too. The image CDN of
    `--images` (ARCHIVE_IMAGE_URL's host and port) has its own slot, its robots.txt included.
    """

    def __init__(self, crawler):
        settings = crawler.settings
        images = settings.getbool("ARCHIVE_IMAGES")
        self.image_netloc = urlsplit(settings["ARCHIVE_IMAGE_URL"]).netloc if images else None

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_request(self, request):
        parts = urlsplit(request.url)
        if parts.scheme not in ("http", "https"):
            return None
        if parts.netloc == self.image_netloc:
            request.meta.setdefault("download_slot", IMAGE_SLOT)
            # The image slot keeps its own delay: AutoThrottle would start it at 1 s a request.
            request.meta.setdefault("autothrottle_dont_adjust_delay", True)
            # Not retried: an image not kept is asked again by the next run, and a retry given
            # up would count as a page lost (outcome.judge).
            request.meta.setdefault("dont_retry", True)
            # A thumbnail is what a browser loads with the page that shows it, not a page to
            # crawl: the CDN's robots.txt is not read (an unreachable one would log an error).
            request.meta.setdefault("dont_obey_robotstxt", True)
        else:
            request.meta.setdefault("download_slot", MEDIUM_SLOT)
        return None


class ChallengeMiddleware:
    """A bot challenge is an outcome, not data: stop asking and say the site blocked us.

    Thumbnails are left to the images pipeline, which refuses a challenge as a body that is
    not an image without stopping the crawl."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_response(self, request, response):
        if request.meta.get("download_slot") == IMAGE_SLOT or not is_challenge(response):
            return response  # an image that is a challenge page is refused by the images pipeline
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
