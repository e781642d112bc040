"""`crawl --images`: thumbnails kept in the archive, fetched once, from a local image CDN.

Every crawl here is the real command line against `ImageCDN`, a real HTTP server on
127.0.0.1 that serves a flat-colour JPEG per image id and the faults a CDN has.
"""

from __future__ import annotations

import hashlib
import signal
import sqlite3
import time
from io import BytesIO

import pytest
from helpers import CAPTURE, expected_posts, local_crawl_args, query, run_cli, start_cli
from PIL import Image as PillowImage
from scrapy.utils.test import get_crawler

from archive_spider import settings as project_settings
from archive_spider.items import Thumbnail
from archive_spider.pipelines.images import ArchiveImagesPipeline, ImageRefused, check_image
from archive_spider.spiders.collection import CollectionSpider
from archive_spider.testing.image_cdn import CHALLENGE, ImageCDN, bomb_png, render_image
from archive_spider.urls import is_medium_image_id

# The capture's 269 posts show 265 distinct images: a few posts share a generic picture.
CAPTURE_POSTS = 269
CAPTURE_IMAGES = 265
MIB = 1 << 20


def capture_args(db, cdn: ImageCDN) -> list[str]:
    """`crawl --images` of the capture into `db`, its images from `cdn` at no delay."""
    return [
        *("crawl", str(CAPTURE), "--db", str(db), "--as-of", "2025-11-06", "--images"),
        *("-s", f"ARCHIVE_IMAGE_URL={cdn.url_template}"),
        *("-s", "ARCHIVE_IMAGE_DELAY=0"),
    ]


def crawl_capture(db, cdn: ImageCDN):
    return run_cli(*capture_args(db, cdn))


def image_requests(cdn: ImageCDN) -> list[str]:
    return [image_id for image_id in cdn.requests if image_id != "robots.txt"]


def assert_rows_whole(db) -> None:
    """Every stored row is the CDN's image, byte for byte, with its own size and digest."""
    rows = query(db, "SELECT image_id, content, content_type, width, height, bytes, sha256 "
                 "FROM images WHERE status = 'stored'")
    for image_id, content, content_type, width, height, size, digest in rows:
        assert content == render_image(image_id)
        assert (content_type, width, height, size) == ("image/jpeg", 320, 213, len(content))
        assert digest == hashlib.sha256(content).hexdigest()


def test_the_snapshot_keeps_every_thumbnail_once_and_a_rerun_fetches_none(tmp_path):
    db = tmp_path / "archive.db"
    with ImageCDN() as cdn:
        first = crawl_capture(db, cdn)
        assert first.returncode == 0, first.stderr
        assert "images stored 265" in first.stdout
        assert sorted(image_requests(cdn)) == sorted(
            {image_id for (image_id,) in query(db, "SELECT image_id FROM posts")}
        )
        assert len(image_requests(cdn)) == CAPTURE_IMAGES
        cdn.requests.clear()
        second = crawl_capture(db, cdn)
        assert second.returncode == 0, second.stderr
        assert image_requests(cdn) == []
    assert query(db, "SELECT count(*) FROM images WHERE status = 'stored'") == [(CAPTURE_IMAGES,)]
    # Every post's thumbnail is kept.
    assert query(
        db, "SELECT count(*) FROM posts JOIN images USING (image_id) WHERE status = 'stored'"
    ) == [(CAPTURE_POSTS,)]
    assert_rows_whole(db)
    assert query(db, "SELECT images FROM crawls ORDER BY id") == [
        ('{"stored": 265}',),
        ('{"already_kept": 265}',),
    ]
    status = run_cli("status", "--db", str(db))
    assert "images kept 265 of 265 (" in status.stdout


def test_images_backfill_an_archive_crawled_without_them(tmp_path):
    db = tmp_path / "archive.db"
    plain = run_cli("crawl", str(CAPTURE), "--db", str(db), "--as-of", "2025-11-06", "--quiet")
    assert plain.returncode == 0, plain.stderr
    assert query(db, "SELECT count(*) FROM images") == [(0,)]
    status = run_cli("status", "--db", str(db))
    assert "images kept 0 of 265 (0.0 KiB), gone 0 (404/410), not fetched yet 265" in status.stdout
    with ImageCDN() as cdn:
        backfill = crawl_capture(db, cdn)
        assert backfill.returncode == 0, backfill.stderr
        assert len(image_requests(cdn)) == CAPTURE_IMAGES
    assert query(db, "SELECT count(*) FROM images WHERE status = 'stored'") == [(CAPTURE_IMAGES,)]
    assert query(db, "SELECT count(*) FROM posts") == [(CAPTURE_POSTS,)]
    assert_rows_whole(db)


def test_gone_images_are_recorded_and_bad_bodies_refused_without_failing_the_run(
    tmp_path, capture_image_ids
):
    db = tmp_path / "archive.db"
    ids = capture_image_ids
    faults = dict(zip(ids, ["gone", "gone", "html", "challenge", "bomb", "huge"], strict=False))
    with ImageCDN(faults) as cdn:
        run = crawl_capture(db, cdn)
        assert run.returncode == 0, run.stderr
        assert "images failed" not in run.stdout
        assert "gone 2" in run.stdout and "refused 4" in run.stdout and "stored 259" in run.stdout
        kept = dict(query(db, "SELECT image_id, status FROM images"))
        assert len(kept) == CAPTURE_IMAGES - 4
        assert [kept.get(image_id) for image_id in ids[:6]] == ["gone", "gone", *[None] * 4]
        assert query(db, "SELECT count(*) FROM images WHERE status = 'gone' AND content IS NULL")
        assert_rows_whole(db)
        status = run_cli("status", "--db", str(db)).stdout
        assert "images kept 259 of 265" in status
        assert "gone 2 (404/410), not fetched yet 4" in status
        # The next run asks again for what was refused, never for what is gone or kept.
        cdn.requests.clear()
        again = crawl_capture(db, cdn)
        assert again.returncode == 0, again.stderr
        assert sorted(image_requests(cdn)) == ids[2:6]


@pytest.fixture(scope="module")
def capture_image_ids(tmp_path_factory) -> list[str]:
    """The image ids of the capture's posts, sorted, from a crawl without images."""
    db = tmp_path_factory.mktemp("ids") / "ids.db"
    run_cli("crawl", str(CAPTURE), "--db", str(db), "--as-of", "2025-11-06", "--quiet")
    return sorted(image_id for (image_id,) in query(db, "SELECT DISTINCT image_id FROM posts"))


def test_an_image_cdn_that_is_down_does_not_stop_or_fail_the_crawl(make_medium_site, tmp_path):
    site = make_medium_site(posts=60)
    db = tmp_path / "archive.db"
    with ImageCDN() as cdn:
        closed = cdn.url_template  # nothing listens there once the CDN stops
    run = run_cli(
        *local_crawl_args(site, db, 25),
        "--images",
        *("-s", f"ARCHIVE_IMAGE_URL={closed}"),
        *("-s", "ARCHIVE_IMAGE_DELAY=0"),
    )
    assert run.returncode == 0, run.stderr
    assert query(db, "SELECT count(*) FROM posts") == [(60,)]
    assert query(db, "SELECT count(*) FROM images") == [(0,)]
    assert query(db, "SELECT status, outage FROM crawls") == [("ok", None)]
    wanted = query(db, "SELECT count(DISTINCT image_id) FROM posts")[0][0]
    assert query(db, "SELECT images FROM crawls") == [(f'{{"failed": {wanted}}}',)]


def test_a_faulty_site_with_images_archives_every_post_and_every_image(make_medium_site, tmp_path):
    site = make_medium_site(posts=120, seed=7)
    site.faults.rate = 0.2
    db = tmp_path / "archive.db"
    with ImageCDN() as cdn:
        args = [*local_crawl_args(site, db, 25), "--images", "-s", "ARCHIVE_IMAGE_DELAY=0"]
        args += ["-s", f"ARCHIVE_IMAGE_URL={cdn.url_template}"]
        first = run_cli(*args)
        if first.returncode != 0:  # a fault may end a run partial: the next one resumes
            assert first.returncode == 4, first.stderr
            assert run_cli(*args).returncode == 0
    assert len(expected_posts(site)) == 120
    stored = query(db, "SELECT count(*) FROM posts")[0][0]
    assert stored == 120
    wanted = {post.image_id for post in site.posts if post.image_id}
    assert dict(query(db, "SELECT image_id, status FROM images")) == dict.fromkeys(
        wanted, "stored"
    )
    assert_rows_whole(db)


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM])
def test_a_crawl_stopped_while_fetching_images_leaves_no_half_row(tmp_path, stop):
    db = tmp_path / "archive.db"
    with ImageCDN(slow_after=100, slow_seconds=30) as cdn:
        process = start_cli(*capture_args(db, cdn))
        try:
            deadline = time.monotonic() + 60
            while stored_images(db) < 100 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert stored_images(db) == 100
            sent = time.monotonic()
            process.send_signal(stop)
            process.wait(timeout=30)
            stopped_after = time.monotonic() - sent
        finally:
            process.kill()
            process.wait()
        if stop == signal.SIGTERM:
            assert stopped_after < 5
        assert query(db, "PRAGMA integrity_check") == [("ok",)]
        assert stored_images(db) == 100
        assert_rows_whole(db)
        cdn.slow_after = None
        rerun = crawl_capture(db, cdn)
        assert rerun.returncode == 0, rerun.stderr
    assert stored_images(db) == CAPTURE_IMAGES
    assert_rows_whole(db)


def stored_images(db) -> int:
    try:
        return query(db, "SELECT count(*) FROM images WHERE status = 'stored'")[0][0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def _encoded(fmt: str, size=(40, 30)) -> bytes:
    buffer = BytesIO()
    PillowImage.new("RGB", size, (200, 30, 30)).save(buffer, fmt)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp"), ("GIF", "image/gif")],
)
def test_an_image_is_named_by_its_content(fmt, content_type):
    assert check_image(_encoded(fmt), 200, MIB, 10_000) == (content_type, (40, 30))


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (CHALLENGE.encode(), "bot challenge"),
        (b"<!doctype html><html><body>Error</body></html>", "not an image"),
        (bomb_png(), "900000000 pixels"),
        (_encoded("PNG", (200, 200)), "200x200 pixels, over the cap of 10000"),
        (_encoded("BMP"), "not an image"),  # a format that is never kept
        (b"\xff\xd8\xff" + b"\0" * (MIB + 1), "bytes, over the cap"),
    ],
)
def test_what_is_not_an_image_to_keep_is_refused(body, reason):
    with pytest.raises(ImageRefused, match=reason.replace("(", r"\(")):
        check_image(body, 200, MIB, 10_000)


@pytest.mark.parametrize(
    "image_id",
    ["1*4Wot55i6LffPgtWsZbZdJw.png", "0*rJtWiPQzTlz1_NGQ", "7280ed8cf2fe1568aa4891c4276068a9"],
)
def test_medium_image_ids_are_fetched_from_the_image_url(image_id):
    pipeline = images_pipeline()
    (request,) = pipeline.get_media_requests(Thumbnail(image_id), pipeline.spiderinfo)
    assert request.url == f"https://miro.medium.com/v2/resize:fit:320/{image_id}"
    assert request.meta["download_maxsize"] == 2 * MIB


@pytest.mark.parametrize(
    "image_id", ["../../etc/passwd", "1*abc/../x", "https://evil.test/x.png", "", "1*ab cd.png"]
)
def test_an_id_that_is_not_a_medium_image_id_is_never_fetched(image_id):
    assert not is_medium_image_id(image_id)
    pipeline = images_pipeline()
    assert pipeline.get_media_requests(Thumbnail(image_id), pipeline.spiderinfo) == []


def images_pipeline() -> ArchiveImagesPipeline:
    """The images pipeline of a crawl with the project's settings and `--images`."""
    settings = {name: getattr(project_settings, name) for name in dir(project_settings)}
    settings = {name: value for name, value in settings.items() if name.isupper()}
    crawler = get_crawler(CollectionSpider, {**settings, "ARCHIVE_IMAGES": True})
    crawler.spider = CollectionSpider(source=str(CAPTURE))
    pipeline = ArchiveImagesPipeline.from_crawler(crawler)
    pipeline.spiderinfo = pipeline.SpiderInfo(crawler.spider)
    return pipeline


def test_a_merge_brings_a_shards_images_and_keeps_a_stored_copy_over_a_gone_one(
    tmp_path, capture_image_ids
):
    shard, archive = tmp_path / "node1.db", tmp_path / "archive.db"
    with ImageCDN({capture_image_ids[0]: "gone"}) as cdn:
        assert crawl_capture(archive, cdn).returncode == 0
    with ImageCDN() as cdn:
        assert crawl_capture(shard, cdn).returncode == 0
    merged = run_cli("merge", str(shard), "--into", str(archive))
    assert merged.returncode == 0, merged.stderr
    assert query(archive, "SELECT count(*) FROM images WHERE status = 'stored'") == [
        (CAPTURE_IMAGES,)
    ]
    assert_rows_whole(archive)
