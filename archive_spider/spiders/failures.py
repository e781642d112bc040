"""How a walk meets failure: broken answers asked again, requests lost after their retries,
errors that make a run partial, and fatal ones that stop the walk."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import urlsplit

from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import CloseSpider, DownloadCancelledError
from scrapy.spidermiddlewares.httperror import HttpError

from ..dates import format_instant
from ..outage import UNREACHABLE, SiteDown
from ..outcome import record_fatal
from .crosschecks import sitemap_key
from .walk import WalkStopped, walk_step

if TYPE_CHECKING:
    from collections.abc import Iterator

    import scrapy
    from scrapy.http import Response
    from twisted.python.failure import Failure

    from ..items import CrossCheck, Page
    from .walk import Walk


def host_of(url: str) -> str | None:
    return urlsplit(url).hostname


class Failures:
    """Part of `CollectionSpider`: retries, errbacks, partial and fatal errors."""

    @staticmethod
    def decode_json(response: Response) -> Any:
        """The decoded JSON body, or None for a truncated or garbled answer."""
        try:
            return json.loads(response.body)
        except (ValueError, RecursionError):  # RecursionError: JSON nested too deep
            return None

    def decode(self, response: Response, walk: Walk) -> str:
        try:
            return response.body.decode(getattr(response, "encoding", None) or "utf-8")
        except UnicodeDecodeError as error:
            self.fail(walk, "unreadable", f"{response.url} is not UTF-8 text ({error.reason})")

    def retry(
        self,
        response: Response,
        walk: Walk,
        reason: str,
        unread: tuple[str, list[str]] | None = None,
    ) -> Iterator[scrapy.Request | CrossCheck | Page]:
        """Ask again for a response that arrived broken (counted like Scrapy's retries);
        once retries are spent, remember `unread` (kind, keys) for the next run."""
        request = get_retry_request(response.request, spider=self, reason=reason)
        if request is None:
            walk.inc_value("archive/failed_requests")
            walk.set_value("archive/last_failure", f"{response.url}: {reason}")
            if unread is not None:
                kind, keys = unread
                yield from self.crosscheck(walk, kind, keys, read=False)
            return
        walk.in_flight += 1
        yield request

    def count_rejected(self, reasons: list[str]) -> None:
        stats = self.crawler.stats
        for reason in reasons:
            stats.inc_value("archive/rejected")
            self.logger.warning("rejected a post: %s", reason)

    def failed(self, failure: Failure) -> Iterator[CrossCheck | Page]:
        """The errback of every request: see `request_failed`."""
        yield from self.request_failed(failure, failure.request.cb_kwargs["walk"])

    @walk_step
    def request_failed(self, failure: Failure, walk: Walk) -> Iterator[CrossCheck | Page]:
        """A request that failed for good: a missing publication or file is fatal; a page
        that failed after its retries makes the run partial (run again to complete)."""
        request = failure.request
        if failure.check(CloseSpider):  # a bot challenge: the middleware stopped the run
            kind = failure.value.reason
            message = self.crawler.stats.get_value(f"archive/error_message/{kind}", kind)
            record_fatal(walk, kind, message)
            walk.stopped = True
            return
        reason = self.reason(failure)
        if failure.check(SiteDown):  # the host's breaker tripped: the next run resumes
            self.site_down(walk, failure.value.host, str(failure.value))
        if request.callback in (self.parse_sitemap_index, self.parse_day_sitemap):
            yield from self.crosscheck(walk, "sitemap", [sitemap_key(request.url)], read=False)
        elif request.callback == self.parse_posts:
            yield from self.crosscheck(walk, "post", request.cb_kwargs["ids"], read=False)
        for stats in (self.crawler.stats, walk):
            stats.set_value("archive/last_failure", f"{request.url}: {reason}")
            stats.inc_value("archive/failed_requests")
        if failure.check(SiteDown):
            return
        host = host_of(request.url)
        moved_from = request.meta.get("redirect_urls", [request.url])[0]
        if request.callback == self.parse and host_of(moved_from) != host:
            self.fail(
                walk,
                "offsite_redirect",
                f"{moved_from} redirected to {request.url}, which failed ({reason}): "
                "not the publication's own domain",
            )
        if request.callback == self.parse and failure.check(*UNREACHABLE):
            self.site_down(walk, host, f"cannot reach {host}: {reason}")
            return
        if failure.check(HttpError):
            status = failure.value.response.status
            if status in (404, 410) and request.callback == self.parse:
                self.fail(
                    walk, "not_found", f"{request.url} answered {status}: no such publication"
                )
            self.log_error(walk, f"{request.url} answered {status}")
        elif request.callback == self.parse and urlsplit(request.url).scheme == "file":
            self.fail(walk, "unreadable", f"cannot read {request.url}: {reason}")
        else:
            self.log_error(walk, f"{request.url} failed: {reason}")

    def site_down(self, walk: Walk, host: str | None, message: str) -> None:
        """The walk's host does not answer: the walk ends partial, naming the outage once."""
        if walk.get_value("archive/outage") is None:
            for stats in (self.crawler.stats, walk):
                stats.set_value("archive/outage", message)
            walk.set_value(
                "archive/outage_since",
                self.crawler.stats.get_value("archive/not_answering_since")
                or format_instant(self.clock()),
            )
            self.logger.error(message)

    def reason(self, failure: Failure) -> str:
        """What went wrong, in words (some of Scrapy's errors have an empty message)."""
        if failure.check(DownloadCancelledError):  # Scrapy's cancel at DOWNLOAD_MAXSIZE
            maxsize = self.settings.getint("DOWNLOAD_MAXSIZE")
            return f"the answer was larger than DOWNLOAD_MAXSIZE ({maxsize} bytes)"
        return str(failure.value) or type(failure.value).__name__

    def log_error(self, walk: Walk, message: str) -> None:
        """Log an error of `walk` (it makes the walk's run partial)."""
        walk.inc_value("log_count/ERROR")
        for stats in (self.crawler.stats, walk):
            stats.set_value("archive/last_error", message)
        self.logger.error(message)

    def fail(self, walk: Walk, kind: str, message: str) -> NoReturn:
        """Record a fatal error of `walk` for its run row and the exit status, and stop it.

        Other walks go on: a missing or changed publication does not stop the rest.
        """
        record_fatal(self.crawler.stats, kind, message)
        record_fatal(walk, kind, message)
        walk.stopped = True
        self.log_error(walk, message)
        raise WalkStopped(kind)
