"""When Medium stops answering: one backoff for the whole slot, a breaker for each host.

A down site must get a handful of requests, not hundreds. Every failed answer (a 5xx, a 429,
a timeout, a refused or reset connection, retries included) makes every request of the
Medium slot wait longer (`ARCHIVE_RETRY_BACKOFF_BASE` * 2**failures, at most
`ARCHIVE_RETRY_BACKOFF_MAX`, which also bounds what a `Retry-After` may ask); one success
lifts the wait.
After `ARCHIVE_OUTAGE_AFTER` failures in a row from one host, or `ARCHIVE_OUTAGE_TIMEOUT`
seconds without a success from it, the host's breaker trips: its queued and later requests
are dropped unsent (`SiteDown`), and its walks end partial, to be resumed by the next run.
Other hosts go on. A host that has not answered in this run and does not resolve or refuses
the connection is not retried: retrying cannot fix a typo, and the walk ends at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import scrapy.exceptions
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import defer, reactor
from twisted.internet.error import (
    ConnectError,
    ConnectionDone,
    ConnectionLost,
    ConnectionRefusedError,
    DNSLookupError,
    TCPTimedOutError,
    TimeoutError,
)
from twisted.internet.task import deferLater
from twisted.web.client import ResponseFailed

from .dates import format_instant
from .middlewares import IMAGE_SLOT


def _scrapy_errors(*names: str) -> tuple[type[Exception], ...]:
    """Scrapy's own download errors (2.19 wraps Twisted's in them; older releases do not)."""
    return tuple(
        getattr(scrapy.exceptions, name) for name in names if hasattr(scrapy.exceptions, name)
    )


# Answers that say the site is not answering (a 5xx, or "too many requests").
FAILING_STATUSES = frozenset({429, *range(500, 600)})
# Errors no retry fixes on a walk's first request: a host that does not resolve or refuses.
UNREACHABLE = (
    DNSLookupError,
    ConnectionRefusedError,
    *_scrapy_errors("CannotResolveHostError", "DownloadConnectionRefusedError"),
)
NETWORK_ERRORS = (
    ConnectError,
    ConnectionDone,
    ConnectionLost,
    TCPTimedOutError,
    TimeoutError,
    ResponseFailed,
    *UNREACHABLE,
    *_scrapy_errors("DownloadFailedError", "DownloadTimeoutError", "ResponseDataLossError"),
)
# Sent with `host` and `since` when a host's breaker trips, and when the slot starts or stops
# failing (`since` None once it answers again).
OUTAGE_CHANGED = object()


class SiteDown(IgnoreRequest):
    """A request dropped unsent: its host's breaker has tripped."""

    def __init__(self, host: str, message: str) -> None:
        self.host = host
        super().__init__(message)


@dataclass
class _Host:
    failures: int = 0
    failing_since: float | None = None  # time.time() of the first failure in a row
    tripped: str | None = None  # the one-line message, once tripped
    answered: bool = False  # has answered once in this run


class OutageBreakerMiddleware:
    """Downloader middleware: the shared backoff and the breakers (see the module)."""

    def __init__(self, crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.after = settings.getint("ARCHIVE_OUTAGE_AFTER")
        self.timeout = settings.getfloat("ARCHIVE_OUTAGE_TIMEOUT")
        self.base = settings.getfloat("ARCHIVE_RETRY_BACKOFF_BASE")
        self.cap = settings.getfloat("ARCHIVE_RETRY_BACKOFF_MAX")
        self.hosts: dict[str, _Host] = {}
        self.failures = 0  # failed answers in a row, whatever the host
        self.hold_until = 0.0  # reactor.seconds() before which no request is sent

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    async def process_request(self, request):
        host = _watched_host(request)
        if host is None:
            return None
        while (wait := self.hold_until - reactor.seconds()) > 0 and not self._closing():
            await maybe_deferred_to_future(_sleep(min(wait, 0.5)))
        state = self.hosts.get(host)
        if state is not None and state.tripped:
            raise SiteDown(host, state.tripped)
        return None

    def process_response(self, request, response):
        host = _watched_host(request)
        if host is not None:
            if response.status in FAILING_STATUSES:
                asked = retry_after(response.headers.get(b"Retry-After"))
                self._failed(host, f"answered {response.status}", asked)
            else:
                self._answered(host)
        return response

    def process_exception(self, request, exception):
        host = _watched_host(request)
        if host is None or not isinstance(exception, NETWORK_ERRORS):
            return None
        state = self.hosts.setdefault(host, _Host())
        if isinstance(exception, UNREACHABLE) and not state.answered:
            # A host that never answered this run and does not resolve or refuses: retrying
            # cannot fix that (robots.txt, then the walk's first request, fail at once).
            request.meta["dont_retry"] = True
        self._failed(host, str(exception) or type(exception).__name__, None)
        return None

    def _answered(self, host: str) -> None:
        state = self.hosts.setdefault(host, _Host())
        state.failures, state.failing_since, state.answered = 0, None, True
        if self.failures:
            self.failures, self.hold_until = 0, 0.0
            self.crawler.stats.set_value("archive/not_answering_since", None)
            self._changed(host, None)

    def _failed(self, host: str, what: str, asked: float | None) -> None:
        state = self.hosts.setdefault(host, _Host())
        now = time.time()
        state.failures += 1
        state.failing_since = state.failing_since or now
        self.failures += 1
        # Retry-After may ask for longer than the backoff, never longer than its cap.
        delay = min(self.cap, max(self.base * 2 ** (self.failures - 1), asked or 0.0))
        self.hold_until = max(self.hold_until, reactor.seconds() + delay)
        stats = self.crawler.stats
        stats.inc_value("archive/outage_failures")
        since = format_instant(_utc(state.failing_since))
        if self.failures == 1:
            stats.set_value("archive/not_answering_since", since)
            self._changed(host, since)
        if state.tripped or not (
            state.failures >= self.after or now - state.failing_since >= self.timeout
        ):
            return
        state.tripped = (
            f"site unreachable since {since}: {host} failed {state.failures} times in a row "
            f"(last: {what}); run again to resume"
        )
        stats.set_value(f"archive/outage/{host}", state.tripped)
        self._changed(host, since)

    def _changed(self, host: str, since: str | None) -> None:
        self.crawler.signals.send_catch_log(OUTAGE_CHANGED, host=host, since=since)

    def _closing(self) -> bool:
        """Whether the crawl is closing (a signal, --max-time): no more waiting then."""
        slot = getattr(self.crawler.engine, "_slot", None)
        return slot is None or getattr(slot, "closing", None) is not None


def _watched_host(request) -> str | None:
    """The host of a web request of the Medium slot; None for files and thumbnails (the image
    CDN is not Medium's site: its failures neither hold the crawl nor trip a breaker)."""
    parts = urlsplit(request.url)
    if parts.scheme not in ("http", "https") or request.meta.get("download_slot") == IMAGE_SLOT:
        return None
    return parts.hostname


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)


def _sleep(seconds: float) -> defer.Deferred:
    return deferLater(reactor, seconds, lambda: None)


def retry_after(value: bytes | None) -> float | None:
    """Seconds from a `Retry-After` header (delta seconds or an HTTP date), None if unusable."""
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        return max(0.0, parsedate_to_datetime(text).timestamp() - time.time())
    except (TypeError, ValueError):
        return None
