"""Keep each post's thumbnail in the archive itself (`crawl --images`, setting ARCHIVE_IMAGES).

Scrapy's `ImagesPipeline` does the fetching: its requests go beside the crawl's, an image id
named by many renderings is fetched once, and its store is asked first whether an image is
already kept. It is subclassed because it writes image files, converted to JPEG:
- the store (`ArchiveImageStore`) is the archive's `images` table, written through the store
  pipeline's connection: one file keeps the archive whole (shards merge it, a backup copies
  it, WAL keeps it crash-safe), and every row is written whole or not at all;
- an image is kept as the CDN served it; Pillow only checks that it is one (its format, and
  its pixel count before it is decoded, against decompression bombs) and names its type;
- a 404 or 410 is recorded as "gone" and never asked again; it does not fail the run;
- a body that is not an image (an HTML page, a bot challenge) or is over the size cap is
  refused, nothing is stored, and the next run asks again.

Requests use their own download slot (IMAGE_SLOT, ARCHIVE_IMAGE_DELAY and
ARCHIVE_IMAGE_CONCURRENCY): the CDN is not the Medium budget. Only Medium image ids are
fetched, at ARCHIVE_IMAGE_URL.
"""

from __future__ import annotations

import logging
import sqlite3
import time
import warnings
from io import BytesIO
from typing import TYPE_CHECKING, Any

from PIL import Image as PillowImage
from PIL import UnidentifiedImageError
from scrapy import Request
from scrapy.exceptions import NotConfigured
from scrapy.http.request import NO_CALLBACK
from scrapy.pipelines.images import ImagesPipeline
from scrapy.pipelines.media import FileException

from ..dates import format_instant
from ..items import Thumbnail
from ..middlewares import IMAGE_SLOT
from ..outcome import IMAGE_STATS
from ..sources import challenge
from ..storage import Image
from ..urls import is_medium_image_id
from .store import StorePipeline

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.pipelines.media import FileInfo, MediaPipeline
    from scrapy.settings import Settings
    from twisted.python.failure import Failure
    from typing_extensions import Self

logger = logging.getLogger(__name__)

# The formats kept, by Pillow's name, and the type each is served as.
CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}
# Answers that say the image is gone for good.
GONE_STATUSES = (404, 410)
_IMAGE_ID = "archive_image_id"  # request meta: the image id a request fetches
_OVER_MAXSIZE = "larger than download max size"


class ImageRefused(ValueError):
    """A body that is not an image to keep: nothing is stored for it."""


def configure_image_slot(settings: Settings) -> None:
    """Give the image requests their own slot, delay and concurrency (before the crawl starts)."""
    slots = settings.getdict("DOWNLOAD_SLOTS")
    slots.setdefault(
        IMAGE_SLOT,
        {
            "delay": settings.getfloat("ARCHIVE_IMAGE_DELAY"),
            "concurrency": settings.getint("ARCHIVE_IMAGE_CONCURRENCY"),
            "jitter": 0.0,
            "randomize_delay": False,
        },
    )
    settings.set("DOWNLOAD_SLOTS", slots, priority=settings.getpriority("DOWNLOAD_SLOTS") or 0)


def check_image(
    body: bytes, status: int, max_bytes: int, max_pixels: int
) -> tuple[str, tuple[int, int]]:
    """The content type and size of an image body; ImageRefused if it is not one to keep."""
    if len(body) > max_bytes:
        raise ImageRefused(f"{len(body)} bytes, over the cap of {max_bytes}")
    if challenge.is_challenge(body, status, False):
        raise ImageRefused("a bot challenge page, not an image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PillowImage.DecompressionBombWarning)
            with PillowImage.open(BytesIO(body), formats=tuple(CONTENT_TYPES)) as image:
                width, height = image.size
                if width * height > max_pixels:  # checked before a single pixel is decoded
                    raise ImageRefused(f"{width}x{height} pixels, over the cap of {max_pixels}")
                image.load()
                return CONTENT_TYPES[image.format], image.size
    except (UnidentifiedImageError, PillowImage.DecompressionBombError, OSError) as error:
        raise ImageRefused(f"not an image Pillow can read ({error})") from error
    except PillowImage.DecompressionBombWarning as error:
        raise ImageRefused(f"a decompression bomb ({error})") from error


class ArchiveImageStore:
    """Scrapy's files-store protocol over the archive's `images` table; a path is an image id."""

    def __init__(self, uri: str) -> None:
        self.keeper: StorePipeline | None = None  # set when the spider opens

    def stat_file(self, path: str, info: MediaPipeline.SpiderInfo) -> dict:
        """An image id names one image for good: a row, stored or gone, is never fetched again."""
        if self.keeper is None or not self.keeper.writable:
            return {}
        status = self.keeper.archive.image_status(path)
        return {} if status is None else {"last_modified": time.time(), "checksum": status}

    def persist_file(
        self,
        path: str,
        buf: BytesIO,
        info: MediaPipeline.SpiderInfo,
        meta: dict | None = None,
        headers: dict | None = None,
    ) -> None:
        """Store image `path`: its bytes, or (meta "gone") that the CDN no longer has it."""
        meta = meta or {}
        at = format_instant(info.spider.clock())
        if meta.get("gone"):
            image = Image.gone(path, at)
        else:
            image = Image.stored(path, buf.getvalue(), meta["content_type"], meta["size"], at)
        if self.keeper is None or not self.keeper.writable:
            raise FileException("the archive cannot be written")
        try:
            self.keeper.archive.save_image(image)
        except sqlite3.Error as error:
            self.keeper.write_failed(error)
            raise FileException(str(error)) from error


class ArchiveImagesPipeline(ImagesPipeline):
    """Fetch the `Thumbnail` items' images and keep them in the archive (see the module)."""

    STORE_SCHEMES = {"archive": ArchiveImageStore}  # noqa: RUF012 (Scrapy's own class attribute)

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        if not settings.getbool("ARCHIVE_IMAGES"):
            raise NotConfigured("images are kept only with ARCHIVE_IMAGES (crawl --images)")
        super().__init__("archive:", crawler=crawler)
        self.url_template = settings["ARCHIVE_IMAGE_URL"]
        self.max_bytes = settings.getint("ARCHIVE_IMAGE_MAX_BYTES")
        self.max_pixels = settings.getint("ARCHIVE_IMAGE_MAX_PIXELS")
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def open_spider(self, spider: Any = None) -> None:
        super().open_spider()
        self.store.keeper = self.crawler.get_item_pipeline(StorePipeline)

    async def process_item(self, item: Any, spider: Any = None) -> Any:
        if not isinstance(item, Thumbnail):
            return item
        return await super().process_item(item)

    def get_media_requests(self, item: Thumbnail, info: MediaPipeline.SpiderInfo) -> list[Request]:
        if not is_medium_image_id(item.image_id):
            self.count("not_medium_id")
            return []
        meta = {
            _IMAGE_ID: item.image_id,
            "download_maxsize": self.max_bytes,
        }
        url = self.url_template.format(image_id=item.image_id)
        return [Request(url, callback=NO_CALLBACK, meta=meta)]

    def file_path(
        self,
        request: Request,
        response: Response | None = None,
        info: MediaPipeline.SpiderInfo | None = None,
        *,
        item: Any = None,
    ) -> str:
        return request.meta[_IMAGE_ID]

    async def media_downloaded(
        self,
        response: Response,
        request: Request,
        info: MediaPipeline.SpiderInfo,
        *,
        item: Any = None,
    ) -> FileInfo:
        image_id = self.file_path(request)
        if response.status in GONE_STATUSES:
            self.store.persist_file(image_id, BytesIO(), info, meta={"gone": True})
            return self._outcome(request, "gone")
        if response.status != 200:
            return self._outcome(request, "failed", f"answered {response.status}")
        try:
            content_type, size = check_image(
                response.body, response.status, self.max_bytes, self.max_pixels
            )
        except ImageRefused as error:
            return self._outcome(request, "refused", str(error))
        meta = {"content_type": content_type, "size": size}
        self.store.persist_file(image_id, BytesIO(response.body), info, meta=meta)
        return self._outcome(request, "stored")

    def media_failed(
        self, failure: Failure, request: Request, info: MediaPipeline.SpiderInfo
    ) -> None:
        """A download that failed (network, size cap) is counted and said in one line, not
        raised: Scrapy would log it a second time, with a traceback."""
        reason = failure.getErrorMessage()
        # Scrapy cancels a body over `download_maxsize` as it arrives, saying so.
        status = "refused" if _OVER_MAXSIZE in reason else "failed"
        self._outcome(request, status, reason)

    def item_completed(
        self, results: list, item: Thumbnail, info: MediaPipeline.SpiderInfo
    ) -> Thumbnail:
        return item

    def _outcome(self, request: Request, status: str, reason: str | None = None) -> FileInfo:
        """Count what became of an image, and say why when it was not kept."""
        image_id = self.file_path(request)
        self.count(status)
        if reason is not None:
            logger.warning("image %s not kept (%s): %s", image_id, status, reason)
        return {"url": request.url, "path": image_id, "checksum": "", "status": status}

    def inc_stats(self, status: str) -> None:
        super().inc_stats(status)
        if status == "uptodate":  # the store had it: not fetched
            self.count("already_kept")

    def count(self, outcome: str) -> None:
        self.stats.inc_value(f"{IMAGE_STATS}{outcome}")
