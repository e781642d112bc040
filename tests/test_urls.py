"""Post ids, canonical URLs and image ids: the shapes every source shares."""

from __future__ import annotations

import pytest

from archive_spider.sources.post_nodes import preview_image_id
from archive_spider.urls import canonical_url, image_id, post_id

IMAGE = "1*0I8DAvXCQEN1RpTTC0ZyaQ.jpeg"


@pytest.mark.parametrize(
    "url",
    [
        f"https://miro.medium.com/v2/resize:fill:80:53/{IMAGE}",
        f"https://miro.medium.com/v2/resize:fit:679/format:webp/{IMAGE}",
        f"https://miro.medium.com/v2/da:true/resize:fit:660/{IMAGE}",
        f"https://miro.medium.com/max/1400/{IMAGE}",
        f"https://miro.medium.com/fit/c/160/107/{IMAGE}",
        f"https://cdn-images-1.medium.com/max/1024/{IMAGE}",
        f"https://cdn-images-2.medium.com/fit/c/80/53/{IMAGE}",
        f"https://cdn-images-1.medium.com/proxy/{IMAGE}",
    ],
)
def test_every_medium_image_url_form_gives_the_image_id(url):
    assert image_id(url) == IMAGE


@pytest.mark.parametrize(
    "url",
    [
        f"https://evil.example/max/1400/{IMAGE}",
        f"https://miro.medium.com.evil.example/{IMAGE}",
        "https://miro.medium.com/v2/resize:fit:660/",
        "https://miro.medium.com/max/1400",
        "https://cdn-images-1.medium.com/fit/c/80/53",
    ],
)
def test_urls_that_name_no_medium_image_give_none(url):
    assert image_id(url) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"__ref": f"ImageMetadata:{IMAGE}"}, IMAGE),
        ({"__typename": "ImageMetadata", "id": IMAGE}, IMAGE),
        ({"__ref": "ImageMetadata:"}, None),  # the empty ref: a post without an image
        ({"__ref": "User:c3aeaf49d8a4"}, None),
        (None, None),
    ],
)
def test_preview_image_refs(value, expected):
    assert preview_image_id(value) == expected


def test_post_ids_and_canonical_urls():
    url = canonical_url("/slug-3f1c0a9d5b2e?source=collection_home", "https://netflixtechblog.com/")
    assert url == "https://netflixtechblog.com/slug-3f1c0a9d5b2e"
    assert post_id(url) == "3f1c0a9d5b2e"
    assert post_id("https://medium.com/p/c35b40c499e") is None
    assert post_id("https://medium.com/@a/eleven-hex-c35b40c499e/") == "c35b40c499e"
