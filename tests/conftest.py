"""Fixtures: a local Medium-like site served on 127.0.0.1."""

from __future__ import annotations

import pytest

from archive_spider.testing.medium_site import MediumSite


@pytest.fixture
def make_medium_site():
    """A factory: `make_medium_site(**kwargs)` starts a MediumSite, stopped after the test."""
    sites: list[MediumSite] = []

    def make(**kwargs) -> MediumSite:
        site = MediumSite(**kwargs).start()
        sites.append(site)
        return site

    yield make
    for site in sites:
        site.stop()


@pytest.fixture
def medium_site(make_medium_site) -> MediumSite:
    """A started site of 30 posts."""
    return make_medium_site(posts=30)
