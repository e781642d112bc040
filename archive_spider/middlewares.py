"""Downloader middlewares: strip tracking, stay on Medium, spot challenges, back off."""

from __future__ import annotations

import logging
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import CloseSpider, IgnoreRequest
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import reactor
from twisted.internet.task import deferLater
from w3lib.url import url_query_cleaner

from .outcome import record_fatal

logger = logging.getLogger(__name__)

TRACKING_PARAMS = ("source", "sk", "gi")
MEDIUM_HOSTS = ("medium.com", "miro.medium.com")
MEDIUM_SLOT = "medium.com"  # configured in settings.DOWNLOAD_SLOTS
CHALLENGE_STATUSES = (403, 429, 503)
CHALLENGE_MARKERS = (b"Just a moment...", b"Attention Required! | Cloudflare", b"cf-chl", b"cf_chl")


class TrackingParamsMiddleware:
    """Never request a URL carrying Medium's `?source=` tracking (robots.txt disallows them)."""

    def process_request(self, request):
        clean = url_query_cleaner(request.url, TRACKING_PARAMS, remove=True, keep_fragments=True)
        if clean != request.url:
            return request.replace(url=clean)
        return None


class OffsiteGuardMiddleware:
    """Refuse every request, redirects included, to a host other than the sources' and Medium's."""

    def __init__(self, crawler):
        self.crawler = crawler

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
        self.crawler.stats.inc_value("archive/offsite_refused")
        origin = request.meta.get("redirect_urls", [None])[0]
        where = f" (redirected from {origin})" if origin else ""
        message = f"refused to leave the publication: {request.url}{where}"
        if origin:
            record_fatal(self.crawler.stats, "offsite_redirect", message)
            logger.error(message)
        else:
            logger.warning(message)
        raise IgnoreRequest(message)


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
        host = urlsplit(response.url).hostname
        message = (
            f"{host} answered {response.status} with a bot challenge (Cloudflare): the site "
            "blocked the crawler. Nothing was stored from it. Try again later, from another "
            "network, or with a browser-like download handler (scrapy-impersonate)."
        )
        record_fatal(self.crawler.stats, "blocked", message)
        logger.error(message)
        raise CloseSpider("blocked")


def is_challenge(response) -> bool:
    if response.headers.get(b"cf-mitigated"):
        return True
    if response.status not in CHALLENGE_STATUSES:
        return False
    head = response.body[:20000]
    return any(marker in head for marker in CHALLENGE_MARKERS)


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retries, but waiting first: exponential backoff that honours `Retry-After`."""

    def __init__(self, settings):
        super().__init__(settings)
        self.base = settings.getfloat("ARCHIVE_RETRY_BACKOFF_BASE")
        self.cap = settings.getfloat("ARCHIVE_RETRY_BACKOFF_MAX")

    async def process_response(self, request, response):
        result = super().process_response(request, response)
        if result is not response:
            await self.wait(request, retry_after(response.headers.get(b"Retry-After")))
        return result

    async def process_exception(self, request, exception):
        result = super().process_exception(request, exception)
        if result is not None:
            await self.wait(request, None)
        return result

    async def wait(self, request, asked: float | None) -> None:
        attempt = request.meta.get("retry_times", 0)
        delay = min(self.cap, max(asked or 0.0, self.base * 2**attempt))
        self.crawler.stats.inc_value("archive/retry_wait_seconds", delay)
        await maybe_deferred_to_future(deferLater(reactor, delay, lambda: None))


def retry_after(value: bytes | None) -> float | None:
    """Seconds from a `Retry-After` header (delta seconds or an HTTP date), None if unusable."""
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        return max(0.0, parsedate_to_datetime(text).timestamp() - reactor.seconds())
    except (TypeError, ValueError):
        return None
