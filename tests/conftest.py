"""Fixtures: a local Medium-like site on 127.0.0.1, a fleet of thirty publications, and the
bundled capture archived."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from helpers import cli_command

from archive_spider.testing.medium_fleet import MediumFleet
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


@pytest.fixture(scope="module")
def fleet():
    """Thirty publications, half on medium.test paths, half on custom `.test` domains."""
    with MediumFleet.synthetic(30, posts=(3, 12), seed=7) as fleet:
        yield fleet


@pytest.fixture(scope="module")
def listed(fleet, tmp_path_factory) -> Path:
    """The fleet's publication list (CSV)."""
    path = tmp_path_factory.mktemp("list") / "publications.csv"
    fleet.write_publications_csv(path)
    return path


@pytest.fixture(scope="module")
def real_db(tmp_path_factory) -> Path:
    """The bundled real capture (269 Netflix TechBlog posts), archived by the CLI."""
    db = tmp_path_factory.mktemp("real") / "x.db"
    subprocess.run(cli_command("crawl", "--db", str(db), "--quiet"), check=True)
    return db
