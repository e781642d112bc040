"""Tests for reading `window.__APOLLO_STATE__` and turning its Post nodes into posts."""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from pathlib import Path

import pytest

from archive_spider.bylines import post_authors
from archive_spider.items import Post
from archive_spider.sources.apollo import (
    ApolloStateError,
    Publication,
    parse_apollo,
    read_apollo_state,
)

FIXTURES = Path(__file__).parent / "fixtures"
HOME = (FIXTURES / "medium_home.html").read_text(encoding="utf-8")
REFERENCE = datetime(2025, 12, 29, 12, 0, tzinfo=timezone.utc)
LOCAL = "http://127.0.0.1:8123/"
FULL = "Post:3f1c0a9d5b2e"
STUBS = ("Post:a94e7c2d10f8", "Post:5be2093f7c41", "Post:7d0e4b21a9c6")
SUBTITLE = "How we keep streaming jobs healthy when traffic bursts tenfold"
NETFLIX = Publication(
    id="2615bd06b42e",
    slug="netflix-techblog",
    domain="netflixtechblog.com",
    name="Netflix TechBlog",
)
FULL_POST = Post(
    id="3f1c0a9d5b2e",
    url="https://netflixtechblog.com/adaptive-backpressure-for-event-pipelines-3f1c0a9d5b2e",
    title="Adaptive Backpressure for Event Pipelines",
    subtitle=SUBTITLE,
    authors=post_authors(SUBTITLE, "Netflix Technology Blog"),
    account="Netflix Technology Blog",
    published="2025-12-27T09:30:41Z",
    published_text=None,
    published_precision="exact",
    read_minutes=10,
    image_id="1*Qm7hT2cVbN4pL8sXk3dR9w.png",
    image_url="https://miro.medium.com/v2/resize:fit:1400/1*Qm7hT2cVbN4pL8sXk3dR9w.png",
    member_only=False,
    publication="2615bd06b42e",
    source="apollo",
    seen_at="2025-12-29T12:00:00Z",
)


def state() -> dict:
    result = read_apollo_state(HOME)
    assert result is not None
    return copy.deepcopy(result)


def parse(data: dict, origin: str = LOCAL) -> tuple[Publication | None, list[Post]]:
    page = parse_apollo(data, reference=REFERENCE, origin=origin)
    return page.publication, page.posts


def only_post(data: dict, origin: str = LOCAL) -> Post:
    (post,) = parse(data, origin)[1]
    return post


def test_reads_the_state_after_the_other_scripts():
    data = state()
    assert "ROOT_QUERY" in data and FULL in data
    # Braces and an escaped </script> inside strings do not cut the JSON short.
    description = data["Collection:2615bd06b42e"]["description"]
    assert "{and}" in description and "</script>" in description


def test_full_node_and_publication_from_the_state_not_the_origin():
    assert parse(state()) == (NETFLIX, [FULL_POST])


def test_stub_nodes_yield_nothing():
    data = state()
    del data[FULL]
    assert parse(data) == (NETFLIX, [])
    assert all(set(data[key]) == {"__typename", "id"} for key in STUBS)


def fill_stubs(data: dict) -> dict:
    """`data` with its stub Post nodes made full (a title and a uniqueSlug)."""
    for key in STUBS:
        post_id = key.partition(":")[2]
        data[key].update(title=f"Post {post_id}", uniqueSlug=f"post-{post_id}")
    return data


def test_order_follows_the_homepage_sections():
    data = fill_stubs(state())
    section = data["PublicationPostsSection:2615bd06b42e-homepage-0"]
    section["posts"].reverse()
    ids = [post.id for post in parse(data)[1]]
    assert ids == ["7d0e4b21a9c6", "5be2093f7c41", "a94e7c2d10f8", "3f1c0a9d5b2e"]


def test_order_is_key_order_without_sections():
    data = fill_stubs(state())
    del data["PublicationPage:homepage"]
    ids = [post.id for post in parse(data)[1]]
    assert ids == ["a94e7c2d10f8", "5be2093f7c41", "7d0e4b21a9c6", "3f1c0a9d5b2e"]


def test_url_under_the_medium_slug_without_custom_domain():
    data = state()
    data["Collection:2615bd06b42e"]["domain"] = None
    publication, (post,) = parse(data)
    assert publication == Publication("2615bd06b42e", "netflix-techblog", None, "Netflix TechBlog")
    assert post.url == (
        "https://medium.com/netflix-techblog/adaptive-backpressure-for-event-pipelines-3f1c0a9d5b2e"
    )


def personal(data: dict) -> dict:
    """`data` with its full post made a personal one (no publication), on medium.com."""
    node = data[FULL]
    node["collection"] = None
    del node["uniqueSlug"]
    node["mediumUrl"] = (
        "https://medium.com/@jdoe/a-post-3f1c0a9d5b2e?source=rss----2615bd06b42e---4"
    )
    return data


def as_author_page(data: dict) -> dict:
    """`data` as an author's page: a `user(...)` root instead of the publication roots."""
    data["ROOT_QUERY"] = {
        "__typename": "Query",
        'user({"username":"jdoe"})': {"__ref": "User:c3aeaf49d8a1"},
    }
    return data


def test_a_personal_post_keeps_its_medium_url_and_no_publication():
    (post,) = parse(as_author_page(personal(state())))[1]
    assert (post.url, post.publication) == ("https://medium.com/@jdoe/a-post-3f1c0a9d5b2e", None)


def test_a_publication_page_archives_only_its_own_posts():
    page = parse_apollo(personal(state()), reference=REFERENCE, origin=LOCAL)
    assert (page.posts, page.skipped) == ([], {"other_publication": 1, "stub": 3})


def test_origin_only_resolves_a_relative_medium_url():
    data = state()
    del data["Collection:2615bd06b42e"]
    node = data[FULL]
    node["mediumUrl"] = "/adaptive-backpressure-for-event-pipelines-3f1c0a9d5b2e?source=x"
    publication, (post,) = parse(data)
    assert publication is None
    assert post.url == LOCAL + "adaptive-backpressure-for-event-pipelines-3f1c0a9d5b2e"


@pytest.mark.parametrize(
    ("changes", "member_only"),
    [
        ({"isLocked": True}, True),
        ({"isLocked": None, "visibility": "LOCKED"}, True),
        ({"isLocked": None, "visibility": None}, None),
    ],
)
def test_member_only(changes, member_only):
    data = state()
    data[FULL].update(changes)
    assert only_post(data).member_only is member_only


def test_inline_preview_image_and_missing_creator():
    data = state()
    node = data[FULL]
    node["previewImage"] = {"__typename": "ImageMetadata", "id": "0*Xr4kPz9LmQ2vTc8B"}
    node["creator"] = {"__ref": "User:000000000000"}
    post = only_post(data)
    assert (post.image_id, post.account, post.authors) == (
        "0*Xr4kPz9LmQ2vTc8B",
        None,
        post_authors(SUBTITLE, None),
    )


def test_missing_typed_fields_stay_empty():
    data = state()
    node = data[FULL]
    for key in ("firstPublishedAt", "readingTime", "previewImage", "title"):
        del node[key]
    post = only_post(data)
    assert (post.title, post.published, post.read_minutes, post.image_id) == (None,) * 4


def test_node_without_usable_url_or_id_is_skipped():
    data = state()
    for key in ("uniqueSlug", "mediumUrl"):
        del data[FULL][key]
    assert parse(data)[1] == []
    data = state()
    data[FULL]["id"] = "not-an-id"
    assert parse(data)[1] == []


def test_truncated_state_is_an_error():
    start = HOME.index("window.__APOLLO_STATE__ = ")
    with pytest.raises(ApolloStateError, match="not valid JSON"):
        read_apollo_state(HOME[: start + 2000])


@pytest.mark.parametrize(
    "script",
    [
        "window.__APOLLO_STATE__ = {'ROOT_QUERY': {}}",
        'window.__APOLLO_STATE__ = {"readingTime": NaN}',
        "window.__APOLLO_STATE__ = [1, 2]",
    ],
)
def test_state_that_is_not_a_strict_json_object_is_an_error(script):
    with pytest.raises(ApolloStateError):
        read_apollo_state(f"<html><script>{script}</script></html>")


@pytest.mark.parametrize(
    "html",
    [
        "",
        "<html><head><title>Just a moment...</title></head><body>Verify you are human</body>",
        HOME.replace("window.__APOLLO_STATE__", "window.__OTHER_STATE__"),
    ],
)
def test_no_state_is_none(html):
    assert read_apollo_state(html) is None
