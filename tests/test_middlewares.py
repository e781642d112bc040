"""Downloader middlewares, one at a time, on real Scrapy requests and responses."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from scrapy.core.downloader import Downloader
from scrapy.exceptions import CloseSpider, IgnoreRequest
from scrapy.http import HtmlResponse, Request
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler
from twisted.internet import reactor

from archive_spider import settings as project_settings
from archive_spider.middlewares import (
    IMAGE_SLOT,
    MEDIUM_SLOT,
    ChallengeMiddleware,
    MediumSlotMiddleware,
    OffsiteGuardMiddleware,
    TrackingParamsMiddleware,
    is_challenge,
)
from archive_spider.outage import OutageBreakerMiddleware, retry_after
from archive_spider.pipelines.images import configure_image_slot
from archive_spider.spiders.collection import CollectionSpider

CHALLENGE = b"<html><head><title>Just a moment...</title></head><body>cf-chl</body></html>"


def crawler_with_spider():
    crawler = get_crawler(CollectionSpider)
    crawler.spider = CollectionSpider.from_crawler(crawler, source="https://netflixtechblog.com/")
    return crawler


def test_tracking_parameters_are_stripped_from_requests():
    middleware = TrackingParamsMiddleware()
    request = Request("https://netflixtechblog.com/a-b2d5b95c63eb?source=collection_home---4&x=1")
    cleaned = middleware.process_request(request)
    assert cleaned.url == "https://netflixtechblog.com/a-b2d5b95c63eb?x=1"
    assert middleware.process_request(cleaned) is None


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://netflixtechblog.com/feed", True),
        ("https://medium.com/_/graphql", True),
        ("https://miro.medium.com/v2/1*a.png", True),
        ("https://netflixtechblog.medium.com/", True),
        ("http://example.invalid/", False),
        ("https://medium.com.evil.example/", False),
    ],
)
def test_requests_stay_on_the_publication_and_medium(url, allowed):
    crawler = crawler_with_spider()
    middleware = OffsiteGuardMiddleware(crawler)
    if allowed:
        assert middleware.process_request(Request(url)) is None
    else:
        with pytest.raises(IgnoreRequest):
            middleware.process_request(Request(url))
        assert crawler.stats.get_value("archive/offsite_refused") == 1


def test_an_offsite_redirect_is_a_fatal_error():
    crawler = crawler_with_spider()
    redirected = Request(
        "http://example.invalid/", meta={"redirect_urls": ["https://netflixtechblog.com/"]}
    )
    with pytest.raises(IgnoreRequest):
        OffsiteGuardMiddleware(crawler).process_request(redirected)
    assert crawler.stats.get_value("archive/errors/offsite_redirect") == 1


@pytest.mark.parametrize(
    ("status", "headers", "body", "challenge"),
    [
        (403, {}, CHALLENGE, True),
        (503, {}, b"<title>Attention Required! | Cloudflare</title>", True),
        (200, {"cf-mitigated": "challenge"}, b"<html></html>", True),
        (403, {}, b"<html>Forbidden</html>", False),
        (503, {}, b"Service Unavailable", False),
        # Cloudflare may challenge with status 200: the content decides.
        (200, {}, CHALLENGE, True),
        (200, {}, b"<html><title>Just a moment... on waiting</title>cf-chl</html>", False),
        (403, {}, b"<p>Just a moment...</p><script>window.__APOLLO_STATE__ = {}</script>", False),
    ],
)
def test_challenge_pages_are_recognised(status, headers, body, challenge):
    response = HtmlResponse(
        "https://netflixtechblog.com/", status=status, headers=headers, body=body
    )
    assert is_challenge(response) is challenge


def test_a_challenge_stops_the_crawl_and_is_recorded():
    crawler = crawler_with_spider()
    response = HtmlResponse("https://netflixtechblog.com/", status=403, body=CHALLENGE)
    with pytest.raises(CloseSpider):
        ChallengeMiddleware(crawler).process_response(Request(response.url), response)
    assert crawler.stats.get_value("archive/errors/blocked") == 1
    assert "blocked the crawler" in crawler.stats.get_value("archive/error_message/blocked")


def test_retry_after_in_seconds_or_as_a_date():
    assert retry_after(b"7") == 7.0
    assert retry_after(None) is None
    assert retry_after(b"soon") is None
    later = datetime.now(timezone.utc) + timedelta(seconds=30)
    assert 25 <= retry_after(format_datetime(later, usegmt=True).encode()) <= 31


def test_every_web_request_shares_the_medium_slot_without_jitter():
    """Thirty custom domains must not get thirty slots, nor bursts at twice the budget."""
    middleware = MediumSlotMiddleware(get_crawler())
    slots = set()
    for url in ("https://netflixtechblog.com/", "https://medium.com/_/graphql", "http://a.test/"):
        request = Request(url)
        assert middleware.process_request(request) is None
        slots.add(request.meta["download_slot"])
    assert slots == {MEDIUM_SLOT}
    slots_settings = {"DOWNLOAD_SLOTS": project_settings.DOWNLOAD_SLOTS, "DOWNLOAD_DELAY": 0.5}
    crawler = get_crawler(settings_dict=slots_settings)
    _, slot = Downloader(crawler)._get_slot(request)
    assert {slot.download_delay() for _ in range(100)} == {0.5}


def test_the_image_cdn_has_its_own_slot_with_its_own_delay():
    """`--images`: the CDN's requests, robots.txt included, are not in the Medium budget."""
    settings = {
        "ARCHIVE_IMAGES": True,
        "ARCHIVE_IMAGE_URL": "https://miro.medium.com/v2/resize:fit:320/{image_id}",
        "ARCHIVE_IMAGE_DELAY": 0.1,
        "ARCHIVE_IMAGE_CONCURRENCY": 3,
        "DOWNLOAD_SLOTS": project_settings.DOWNLOAD_SLOTS,
        "DOWNLOAD_DELAY": 2.0,
    }
    configured = Settings(settings)
    configure_image_slot(configured)
    slots = configured.getdict("DOWNLOAD_SLOTS")
    crawler = get_crawler(settings_dict={**settings, "DOWNLOAD_SLOTS": slots})
    middleware = MediumSlotMiddleware(crawler)
    urls = ("https://miro.medium.com/robots.txt", "https://miro.medium.com/v2/resize:fit:320/0*a")
    for url in (*urls, "https://netflixtechblog.com/"):
        middleware.process_request(request := Request(url))
        expected = IMAGE_SLOT if url in urls else MEDIUM_SLOT
        assert request.meta["download_slot"] == expected
    downloader = Downloader(crawler)
    _, images = downloader._get_slot(Request(urls[1], meta={"download_slot": IMAGE_SLOT}))
    medium_request = Request("https://a.test/", meta={"download_slot": MEDIUM_SLOT})
    _, medium = downloader._get_slot(medium_request)
    assert (images.concurrency, {images.download_delay() for _ in range(50)}) == (3, {0.1})
    assert {medium.download_delay() for _ in range(50)} == {2.0}


def test_a_failed_answer_holds_the_slot_for_its_backoff_and_retry_after_is_capped():
    names = ("ARCHIVE_RETRY_BACKOFF_BASE", "ARCHIVE_RETRY_BACKOFF_MAX", "ARCHIVE_OUTAGE_AFTER")
    names += ("ARCHIVE_OUTAGE_TIMEOUT",)
    crawler = get_crawler(
        CollectionSpider, {name: getattr(project_settings, name) for name in names}
    )
    breaker = OutageBreakerMiddleware(crawler)
    request = Request("https://netflixtechblog.com/feed")
    answer = HtmlResponse(request.url, status=503, headers={"Retry-After": "86400"}, body=b"")
    breaker.process_response(request, answer)
    cap = project_settings.ARCHIVE_RETRY_BACKOFF_MAX
    assert cap - 1 <= breaker.hold_until - reactor.seconds() <= cap
    breaker.process_response(request, HtmlResponse(request.url, status=200, body=b"ok"))
    assert breaker.hold_until == 0.0
