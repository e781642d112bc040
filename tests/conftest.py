"""Fixtures: a local Medium-like site on 127.0.0.1, a fleet of thirty publications, and the
bundled capture archived."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import cli_command
from xdist.scheduler import LoadScopeScheduling

from archive_spider.testing.medium_fleet import MediumFleet
from archive_spider.testing.medium_site import MediumSite

# The tests start Python hundreds of times (the CLI, Scrapyd, servers): where the environment
# says not to write bytecode, each start would compile this project again (about 0.1 s).
# Normal caching (`__pycache__`, ignored by git) for this process, its workers and children.
if os.environ.pop("PYTHONDONTWRITEBYTECODE", None) is not None:
    sys.dont_write_bytecode = False


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


# Parallel runs (pytest-xdist, `-n 4 --dist loadgroup` in pyproject.toml) ------------------

# Tests that run on one worker, one after another, by node id prefix (a file, or a test).
# The `xdist_group` mark would say this per test, but pytest 9.2 ignores it
# (pytest-xdist#1386), so the groups are listed here.
XDIST_GROUPS = {
    # A module-scoped fixture worth building once:
    "tests/test_fault_matrix.py": "fault-matrix",  # the 15 cells of the matrix
    "tests/test_scrapyd_partitions.py": "scrapyd-partitions",  # two nodes and three jobs
    "tests/test_awkward_names.py": "awkward-names",  # the snapshot archived under 5 names
    "tests/test_cli.py": "cli",  # the snapshot archived
    "tests/test_partitions.py": "partitions",  # the fleet of thirty publications
    # Bounds on wall-clock time (a stop within 5 s, an outage or a timeout within its
    # bound): not against each other.
    "tests/test_outages.py": "timing",
    "tests/test_resource_limits.py": "timing",
    "tests/test_images.py::test_a_crawl_stopped_while_fetching_images": "timing",
}


class GroupScheduling(LoadScopeScheduling):
    """`--dist loadgroup`: each group is one unit of work, every other test its own unit.
    Units of more tests are handed out first (xdist's --loadscope-reorder): the groups, the
    longest runs, start before the single tests."""

    def _split_scope(self, nodeid: str) -> str:
        for prefix, group in XDIST_GROUPS.items():
            if nodeid.startswith(prefix):
                return group
        return nodeid


def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") == "loadgroup":
        return GroupScheduling(config, log)
    return None
