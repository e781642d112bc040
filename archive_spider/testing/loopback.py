"""A Scrapy DNS resolver that sends the `.test` names of a `MediumFleet` to loopback.

`medium.test` resolves to 127.0.0.1, any other name ending in `.test` to 127.0.0.2, every
other name as Scrapy's default resolver (`CachingThreadedResolver`) resolves it. Set it with

    TWISTED_DNS_RESOLVER = "archive_spider.testing.loopback.LoopbackResolver"

or `DNS_RESOLVER`, the name older Scrapy releases read (newer ones still honour it, with a
deprecation warning). Scrapy installs it on the reactor, and Twisted's HostnameEndpoint,
through which the HTTP download handler connects, resolves names with it.
"""

from __future__ import annotations

from collections.abc import Sequence

from scrapy.resolver import CachingThreadedResolver
from twisted.internet import defer

from .medium_fleet import CUSTOM_ADDRESS, CUSTOM_SUFFIX, MEDIUM_ADDRESS, MEDIUM_HOST


def loopback_address(name: str) -> str | None:
    """The loopback address of a fleet's host name, None for a name outside `.test`."""
    host = name.lower().rstrip(".")
    if host == MEDIUM_HOST:
        return MEDIUM_ADDRESS
    if host.endswith(CUSTOM_SUFFIX):
        return CUSTOM_ADDRESS
    return None


class LoopbackResolver(CachingThreadedResolver):
    """Scrapy's caching resolver, with `.test` names answered from `loopback_address`."""

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> defer.Deferred[str]:
        address = loopback_address(name)
        if address is not None:
            return defer.succeed(address)
        return super().getHostByName(name, timeout)
