"""Thumbnails in Datasette: stored copies served from the archive and cached for good, Medium's
CDN only without one, and a real browser drawing them offline."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from contextlib import closing
from pathlib import Path

import pytest
from datasette.app import Datasette
from helpers import cli_command, datasette_get, save_post
from parsel import Selector
from PIL import Image as Picture

from archive_spider.datasette import METADATA
from archive_spider.datasette.plugin import THUMBNAIL
from archive_spider.items import Post
from archive_spider.storage import Archive, Image

AT = "2025-01-02T00:00:00Z"
SIZE = (160, 107)
RED, GREEN = (255, 0, 0), (0, 255, 0)
JPEG_ID, PNG_ID = "1*storedRedJpeg.jpeg", "1*storedGreenPng.png"
GONE_ID, UNFETCHED_ID = "1*goneFromTheCdn.jpeg", "1*neverFetched.jpeg"
# Stored copies whose type is not one the route serves: never sent as they are.
NOT_IMAGES = {
    "1*storedHtml.jpeg": (b"<script>alert(1)</script>", "text/html"),
    "1*storedSvg.svg": (b'<svg onload="alert(1)"/>', "image/svg+xml"),
    "1*storedBlob.jpeg": (b"\x00\x01", "application/octet-stream"),
}


def picture(colour: tuple[int, int, int], kind: str) -> bytes:
    """A thumbnail-sized picture of one colour, as JPEG or PNG bytes."""
    out = io.BytesIO()
    Picture.new("RGB", SIZE, colour).save(out, kind)
    return out.getvalue()


PICTURES = {
    JPEG_ID: (picture(RED, "JPEG"), "image/jpeg"),
    PNG_ID: (picture(GREEN, "PNG"), "image/png"),
}


@pytest.fixture(scope="module")
def images_db(tmp_path_factory) -> Path:
    """One post per case: stored JPEG, stored PNG, gone, never fetched, stored non-images."""
    db = tmp_path_factory.mktemp("images") / "images.db"
    ids = [*PICTURES, GONE_ID, UNFETCHED_ID, *NOT_IMAGES]
    with Archive(db) as archive:
        for number, image_id in enumerate(ids):
            post_id = f"{number:012x}"
            url = f"https://example.com/post-{post_id}"
            save_post(
                archive, Post(id=post_id, url=url, title=image_id, image_id=image_id, seen_at=AT)
            )
        for image_id, (content, content_type) in {**PICTURES, **NOT_IMAGES}.items():
            archive.save_image(Image.stored(image_id, content, content_type, SIZE, AT))
        archive.save_image(Image.gone(GONE_ID, AT))
    return db


def get_image(dbs: list[Path], image_id: str, headers: dict | None = None, **settings):
    return datasette_get(dbs, f"/-/images/{image_id}", headers, **settings)


@pytest.mark.parametrize("image_id", list(PICTURES))
def test_a_stored_thumbnail_is_served_from_the_archive_and_cached_for_good(images_db, image_id):
    content, content_type = PICTURES[image_id]
    response = get_image([images_db], image_id)
    assert response.status_code == 200
    assert response.content == content
    assert response.headers["content-type"] == content_type
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["etag"] == f'"{hashlib.sha256(content).hexdigest()}"'
    assert response.headers["x-content-type-options"] == "nosniff"
    assert Picture.open(io.BytesIO(response.content)).size == SIZE
    escaped = get_image([images_db], image_id.replace("*", "%2A"))  # as some clients send it
    assert escaped.content == content


@pytest.mark.parametrize("if_none_match", ["{etag}", "W/{etag}", '"old", {etag}', "*"])
def test_a_client_holding_the_copy_gets_304(images_db, if_none_match):
    etag = get_image([images_db], JPEG_ID).headers["etag"]
    response = get_image([images_db], JPEG_ID, {"if-none-match": if_none_match.format(etag=etag)})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"


def test_a_client_holding_another_version_gets_the_copy(images_db):
    response = get_image([images_db], JPEG_ID, {"if-none-match": '"0123abcd"'})
    assert response.status_code == 200
    assert response.content == PICTURES[JPEG_ID][0]


@pytest.mark.parametrize("image_id", [UNFETCHED_ID, GONE_ID])
def test_without_a_stored_copy_the_route_redirects_to_the_cdn(images_db, image_id):
    response = get_image([images_db], image_id)
    assert response.status_code == 302
    assert response.headers["location"] == (
        f"https://miro.medium.com/v2/resize:fill:160:107/{image_id}"
    )
    assert "immutable" not in response.headers.get("cache-control", "")


@pytest.mark.parametrize("image_id", list(NOT_IMAGES))
def test_a_stored_copy_that_is_not_an_image_is_never_served_as_such(images_db, image_id):
    content, content_type = NOT_IMAGES[image_id]
    response = get_image([images_db], image_id)
    assert response.status_code == 302
    assert response.headers["location"] == THUMBNAIL.format(image_id)
    assert content not in response.content
    assert not response.headers["content-type"].startswith(content_type)


@pytest.mark.parametrize(
    "escaped_id",
    [
        "a%2Fb",
        "x%22%20onerror%3D%22alert(1)",
        "%3Cscript%3E",
        "..%2F..%2Fetc",
        "a%3Fb",
        "a%20b",
        "caf%C3%A9.jpeg",
    ],
)
def test_an_id_that_is_no_medium_image_id_is_404_and_never_redirected(images_db, escaped_id):
    response = get_image([images_db], escaped_id)
    assert response.status_code == 404
    assert "location" not in response.headers


def test_every_open_archive_is_searched_and_no_other_database(images_db, tmp_path):
    with Archive(tmp_path / "empty.db"):
        pass
    lookalike = tmp_path / "lookalike.db"
    with closing(sqlite3.connect(lookalike)) as conn:  # an images table, but not an archive
        conn.execute("CREATE TABLE images (image_id, content, content_type, sha256, status)")
        row = (UNFETCHED_ID, picture(RED, "PNG"), "image/png", "0" * 64, "stored")
        conn.execute("INSERT INTO images VALUES (?, ?, ?, ?, ?)", row)
        conn.commit()
    dbs = [tmp_path / "empty.db", lookalike, images_db]
    assert get_image(dbs, PNG_ID).content == PICTURES[PNG_ID][0]
    assert get_image(dbs, UNFETCHED_ID).status_code == 302


def test_a_private_archive_serves_its_copies_only_to_those_who_may_see_it(images_db):
    """Anyone else is sent to the CDN, like a client of an archive without the copy."""

    async def get(actor: dict | None):
        metadata = {**json.loads(METADATA.read_text(encoding="utf-8")), "allow": {"id": "root"}}
        ds = Datasette([str(images_db)], metadata=metadata)
        await ds.invoke_startup()
        cookies = {"ds_actor": ds.sign({"a": actor}, "actor")} if actor else {}
        return await ds.client.get(f"/-/images/{JPEG_ID}", cookies=cookies)

    assert asyncio.run(get(None)).status_code == 302
    served = asyncio.run(get({"id": "root"}))
    assert served.content == PICTURES[JPEG_ID][0]
    assert served.headers["cache-control"] == "private, no-store"  # Datasette's, for an actor


def test_thumbnails_point_at_the_route_under_the_base_url(images_db):
    html = datasette_get([images_db], "/images/posts", base_url="/archive/").text
    sources = Selector(text=html).css("td.col-title img::attr(src)").getall()
    assert f"/archive/-/images/{JPEG_ID}" in sources
    assert all(src.startswith("/archive/-/images/1*") for src in sources)
    assert len(sources) == 4 + len(NOT_IMAGES)
    served = get_image([images_db], JPEG_ID, base_url="/archive/")  # the client adds the base
    assert served.content == PICTURES[JPEG_ID][0]


# One strong colour per stored thumbnail of the posts page, so a screenshot shows each drawn.
COLOURS = [
    (255, 0, 0),
    (0, 255, 0),
    (0, 0, 255),
    (255, 255, 0),
    (255, 0, 255),
    (0, 255, 255),
    (255, 128, 0),
    (128, 0, 255),
]


@pytest.fixture
def pictured_db(tmp_path) -> Path:
    """The bundled capture archived, with a stored thumbnail of its own colour for each of the
    first posts the posts page lists (JPEG and PNG in turn)."""
    db = tmp_path / "x.db"
    subprocess.run(cli_command("crawl", "--db", str(db), "--quiet"), check=True)
    first = datasette_get([db], f"/x/posts.json?_shape=array&_size={len(COLOURS)}").json()
    with Archive(db) as archive:
        for number, (post, colour) in enumerate(zip(first, COLOURS, strict=True)):
            kind, content_type = ("JPEG", "image/jpeg") if number % 2 else ("PNG", "image/png")
            content = picture(colour, kind)
            archive.save_image(Image.stored(post["image_id"], content, content_type, SIZE, AT))
    return db


def _free_port() -> int:
    with closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_up(url: str, server: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while server.poll() is None and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"datasette did not start serving {url}")


def _pixels_near(screenshot: Picture.Image, colour: tuple[int, int, int]) -> int:
    """How many pixels of the screenshot are within a few levels of `colour`."""
    counts = screenshot.convert("RGB").getcolors(maxcolors=1 << 24)
    return sum(
        count
        for count, pixel in counts
        if all(abs(level - wanted) <= 24 for level, wanted in zip(pixel, colour, strict=True))
    )


def test_a_browser_renders_the_posts_page(pictured_db, tmp_path):
    chromium = shutil.which("chromium")
    if chromium is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run installs Debian's package")
        pytest.skip("chromium is not installed")
    port = _free_port()
    url = f"http://127.0.0.1:{port}/x/posts"
    serve = [sys.executable, "-m", "datasette", str(pictured_db), "-m", str(METADATA)]
    server = subprocess.Popen(
        [*serve, "-h", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_up(url, server)
        screenshot = tmp_path / "posts.png"
        subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                f"--user-data-dir={tmp_path / 'profile'}",
                "--window-size=1600,4000",
                f"--screenshot={screenshot}",
                url,
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert screenshot.read_bytes().startswith(b"\x89PNG")
    with Picture.open(screenshot) as shot:
        drawn = {colour: _pixels_near(shot, colour) for colour in COLOURS}
    # Each thumbnail is 160x107 = 17,120 pixels; 2,000 of its colour means it was drawn.
    assert [colour for colour, pixels in drawn.items() if pixels > 2_000] == COLOURS, drawn
