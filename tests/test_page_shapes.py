"""Hand-made pages in each real shape (tests/fixtures/shapes, see its README), read the way the
spider reads a page: every post exact, each source on its own, bad input refused by name."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from functools import reduce
from pathlib import Path

import pytest

from archive_spider.merge import merge
from archive_spider.sources import LayoutChanged
from archive_spider.sources.challenge import is_challenge
from archive_spider.sources.page import read_page
from archive_spider.sources.post_nodes import BadPublication

SHAPES = Path(__file__).parent / "fixtures" / "shapes"
EXPECTED = json.loads((SHAPES / "EXPECTED.json").read_text(encoding="utf-8"))
REFERENCE = datetime(2025, 11, 6, 12, tzinfo=timezone.utc)
# Where each page was served from.
SERVED = {
    "publication-2021.html": "https://lanternquarterly.pub/",
    "profile-2021.html": "https://medium.com/@mqvance",
    "publication-2025.html": "https://engineering.quarrylane.dev/",
}


def read(name: str, url: str | None = None):
    html = (SHAPES / name).read_text(encoding="utf-8")
    return read_page(
        html, page_url=url or SERVED.get(name, "https://example.medium.com/"), reference=REFERENCE
    )


def merged_posts(page) -> dict:
    """One post per id, its renderings (cards, Apollo state) merged."""
    by_id: dict = {}
    for post in page.posts:
        by_id.setdefault(post.id, []).append(post)
    return {i: reduce(lambda a, b: merge(a, b)[0], renderings) for i, renderings in by_id.items()}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_post_of_each_shape_is_exact(name):
    posts = merged_posts(read(name))
    expected = EXPECTED[name]["posts"]
    assert list(posts) == [post["id"] for post in expected]
    for want in expected:
        got = posts[want["id"]]
        assert {key: getattr(got, key) for key in want} == want


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_page_names_its_own_publication(name):
    publication = read(name).publication
    want = EXPECTED[name]["publication"]
    got = publication and {k: getattr(publication, k) for k in ("id", "name", "slug", "domain")}
    assert got == want


def test_a_2021_page_has_no_cards_and_says_so():
    page = read("publication-2021.html")
    assert list(page.failed) == ["html"]
    assert "no post-preview cards" in page.failed["html"]
    assert page.skipped == {"stub": 1}


def test_a_2025_page_reads_its_cards_and_skips_its_stubs():
    page = read("publication-2025.html")
    assert page.failed == {}
    assert page.skipped == {"stub": 3}
    assert {post.source for post in page.posts} == {"html"}


def test_an_author_page_keeps_each_post_with_its_own_publication():
    page = read("profile-2021.html")
    assert page.is_author_page and page.publication is None
    named = {p.id: (p.slug, p.domain) for p in page.publications}
    assert named == {
        "1f8a3c6e9d25": ("driftwood-review", "driftwood.pub"),
        "6b0d4f2a8e17": ("tidewater-notes", None),
    }


def test_a_page_with_no_publication_names_none():
    page = read("no-publication.html")
    assert (page.publication, page.is_author_page) == (None, False)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("bad-domain.html", "has a domain that is not a host: 'not a host/name'"),
        ("two-collections.html", "the page names two publications"),
    ],
)
def test_a_publication_that_cannot_be_read_is_refused(name, message):
    with pytest.raises(BadPublication, match=message):
        read(name)


def test_posts_a_page_lists_but_does_not_hold_are_named():
    page = read("missing-posts.html")
    assert len(page.missing) == 2 and len(page.posts) == 1
    assert not set(page.missing) & {post.id for post in page.posts}


def test_the_served_host_stands_in_only_for_a_missing_domain():
    html = (SHAPES / "publication-2021.html").read_text(encoding="utf-8")
    state_start = html.index("window.__APOLLO_STATE__")
    bare = html[:state_start] + html[state_start:].replace(
        '"domain": "lanternquarterly.pub",', "", 1
    ).replace('"customDomainState"', '"description"', 1)
    assert bare != html
    for served, domain in [
        ("https://lanternquarterly.pub/", "lanternquarterly.pub"),
        ("https://medium.com/lantern-quarterly", None),
    ]:
        page = read_page(bare, page_url=served, reference=REFERENCE)
        assert page.publication.domain == domain


@pytest.mark.parametrize("name", ["challenge-200.html", "challenge-attention.html", "challenge.md"])
def test_cloudflare_pages_are_challenges_at_any_status(name):
    body = (SHAPES / name).read_bytes()
    assert is_challenge(body, 200) and is_challenge(body, 403)
    with pytest.raises(LayoutChanged):
        read(name)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_medium_pages_are_not_challenges(name):
    assert not is_challenge((SHAPES / name).read_bytes(), 200)
