"""A local stand-in for Medium's image CDN: one small image per id, and the faults a CDN has.

Every image is a 320 px wide rendition, as `resize:fit:320` asks, in one flat colour drawn
from its id (a screenshot can then tell thumbnails from blank boxes), or with `photo`, that
colour under noise, which compresses like a photograph (about 16 KB, as real ones).

`faults` maps an image id to what it gets instead: "gone" (404), "html" (an error page at
200), "challenge" (a Cloudflare page at 200), "bomb" (a tiny PNG that declares 30,000 x
30,000 pixels), "huge" (a body over any sane cap), "slow" (the image, after
`slow_seconds`). With `slow_after`, every image after the first `slow_after` requests is
slow.

    python -m archive_spider.testing.image_cdn [--port 8300]
"""

from __future__ import annotations

import argparse
import hashlib
import signal
import struct
import threading
import time
import zlib
from io import BytesIO
from urllib.parse import unquote, urlsplit

from PIL import Image

from .server import Listener, Plan, Reply, html_reply, simple_page

WIDTH, HEIGHT = 320, 213
CHALLENGE = simple_page(
    "Just a moment...",
    '<div id="challenge-error-text">Enable JavaScript and cookies to continue</div>',
)


def image_colour(image_id: str) -> tuple[int, int, int]:
    """The flat colour of an image: saturated, from its id."""
    digest = hashlib.sha256(image_id.encode()).digest()
    channels = [digest[0] % 2 * 255, digest[1] % 2 * 255, 60 + digest[2] % 140]
    if channels[0] == channels[1]:  # never grey, white or black
        channels[0] = 255 - channels[1]
    return channels[digest[3] % 3], channels[(digest[3] + 1) % 3], channels[(digest[3] + 2) % 3]


def render_image(image_id: str, photo: bool = False) -> bytes:
    """The JPEG the CDN serves for `image_id`."""
    image = Image.new("RGB", (WIDTH, HEIGHT), image_colour(image_id))
    if photo:
        image = Image.blend(image, Image.effect_noise((WIDTH, HEIGHT), 20).convert("RGB"), 0.5)
    buffer = BytesIO()
    image.save(buffer, "JPEG", quality=80 if photo else 85)
    return buffer.getvalue()


def bomb_png(side: int = 30_000) -> bytes:
    """A valid PNG header and a few compressed bytes that declare side x side pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)  # 8-bit greyscale
    rows = zlib.compress(b"\0" * (side + 1) * 16)  # a little of the data: enough to try
    chunks = chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


class ImageCDN:
    """Serves `/v2/resize:fit:320/<image id>` (any path: the last segment is the id)."""

    def __init__(
        self,
        faults: dict[str, str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        slow_seconds: float = 30.0,
        slow_after: int | None = None,
        photo: bool = False,
    ) -> None:
        self.faults = dict(faults or {})
        self.slow_seconds = slow_seconds
        self.slow_after = slow_after
        self.photo = photo
        self.requests: list[str] = []  # the image ids asked for, in order
        self._host, self._port = host, port
        self._lock = threading.Lock()
        self._listener: Listener | None = None

    def __enter__(self) -> ImageCDN:
        self._listener = Listener((self._host, self._port), self.answer, "image-cdn")
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._listener is not None:
            self._listener.stop()
            self._listener = None

    @property
    def url_template(self) -> str:
        """The ARCHIVE_IMAGE_URL that points the crawler here."""
        if self._listener is None:
            raise RuntimeError("the CDN is not started")
        return f"http://{self._host}:{self._listener.port}/v2/resize:fit:320/{{image_id}}"

    def answer(self, method: str, target: str, body: bytes, host: str | None) -> Plan:
        path = urlsplit(target).path
        if path == "/robots.txt":
            return Plan(Reply(200, b"User-agent: *\nDisallow:\n", "text/plain"))
        image_id = unquote(path.rsplit("/", 1)[-1])
        with self._lock:
            self.requests.append(image_id)
            late = self.slow_after is not None and len(self.requests) > self.slow_after
        fault = "slow" if late else self.faults.get(image_id)
        if fault == "gone":
            return Plan(html_reply(404, simple_page("Not found", "<p>No such image</p>")))
        if fault == "html":
            return Plan(html_reply(200, simple_page("Error", "<p>Something went wrong</p>")))
        if fault == "challenge":
            return Plan(html_reply(200, CHALLENGE, ("cf-mitigated", "challenge")))
        if fault == "bomb":
            return Plan(Reply(200, bomb_png(), "image/png"))
        if fault == "huge":
            return Plan(Reply(200, b"\xff\xd8\xff" + b"\0" * (3 << 20), "image/jpeg"))
        delay = self.slow_seconds if fault == "slow" else 0.0
        return Plan(Reply(200, render_image(image_id, self.photo), "image/jpeg"), delay=delay)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8300)
    arguments = parser.parse_args()
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    with ImageCDN(host=arguments.host, port=arguments.port) as cdn:
        print(f"ARCHIVE_IMAGE_URL={cdn.url_template}", flush=True)
        while True:
            time.sleep(3600)


if __name__ == "__main__":
    main()
