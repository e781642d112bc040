"""Archived thumbnails: the `images` table, one row per image id, its bytes kept in the file.

`posts.image_id` names the row of its thumbnail. It is not an enforced foreign key: a post is
stored before its image is fetched, and some images are never fetched (`--images` off, a 404).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from dataclasses import astuple, dataclass, fields

# What the CDN gave for an image id: its bytes ("stored"), or 404/410 ("gone", not asked again).
STORED = "stored"
GONE = "gone"
IMAGE_STATUSES = (STORED, GONE)

# The stored copy of one image, for a server (Datasette) that reads the archive itself.
SELECT_STORED_IMAGE = (
    "SELECT content, content_type, sha256 FROM images WHERE image_id = :image_id "
    f"AND status = '{STORED}' AND content IS NOT NULL"
)


@dataclass(frozen=True)
class Image:
    """One row of `images`: the bytes as the CDN served them, or none when it is gone."""

    image_id: str
    content: bytes | None
    content_type: str | None
    width: int | None
    height: int | None
    bytes: int | None
    sha256: str | None
    fetched_at: str
    status: str

    @classmethod
    def stored(
        cls, image_id: str, content: bytes, content_type: str, size: tuple[int, int], at: str
    ) -> Image:
        width, height = size
        digest = hashlib.sha256(content).hexdigest()
        return cls(image_id, content, content_type, width, height, len(content), digest, at, STORED)

    @classmethod
    def gone(cls, image_id: str, at: str) -> Image:
        return cls(image_id, None, None, None, None, None, None, at, GONE)


_COLUMNS = tuple(f.name for f in fields(Image))
_INTO_IMAGES = "INTO images ({}) VALUES ({})".format(
    ", ".join(_COLUMNS), ", ".join("?" for _ in _COLUMNS)
)
_INSERT_IMAGE = f"INSERT OR REPLACE {_INTO_IMAGES}"
# A shard's row replaces only a row that is not stored, and only with a stored copy.
_MERGE_IMAGE = (
    f"INSERT {_INTO_IMAGES} ON CONFLICT(image_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS if c != "image_id")
    + f" WHERE images.status != '{STORED}' AND excluded.status = '{STORED}'"
)
# Image ids of posts that have no row in `images`: what `--images` still has to fetch.
_WANTED = """
SELECT DISTINCT image_id FROM posts
WHERE image_id IS NOT NULL AND image_id NOT IN (SELECT image_id FROM images)
ORDER BY image_id
"""


class ImageRecords:
    """The image rows of an Archive (which gives `conn`, `begin` and `commit`)."""

    conn: sqlite3.Connection

    def image_status(self, image_id: str) -> str | None:
        """"stored" or "gone" for an image with a row, else None."""
        row = self.conn.execute("SELECT status FROM images WHERE image_id = ?", (image_id,))
        found = row.fetchone()
        return None if found is None else found[0]

    def wanted_images(self) -> list[str]:
        """The image ids of archived posts that have no row yet."""
        return [image_id for (image_id,) in self.conn.execute(_WANTED)]

    def save_image(self, image: Image) -> None:
        """Write one image: inside the open transaction if there is one, else in its own."""
        if self.conn.in_transaction:
            self.conn.execute(_INSERT_IMAGE, astuple(image))
            return
        self.begin()
        try:
            self.conn.execute(_INSERT_IMAGE, astuple(image))
        except sqlite3.Error:
            self.rollback()
            raise
        self.commit()

    def merge_images(self, images: Iterator[Image]) -> None:
        """Add a shard's images (in the open transaction): a stored copy replaces a missing or
        gone one, never another stored copy."""
        self.conn.executemany(_MERGE_IMAGE, (astuple(image) for image in images))


def read_images(conn: sqlite3.Connection) -> Iterator[Image]:
    """Every image row of a read-only archive connection (a shard)."""
    for row in conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM images"):
        yield Image(*row)


def image_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """How many images are stored and gone, and how many posts' images have no row."""
    counts = dict.fromkeys(IMAGE_STATUSES, 0)
    counts.update(conn.execute("SELECT status, count(*) FROM images GROUP BY status").fetchall())
    counts["missing"] = len(conn.execute(_WANTED).fetchall())
    counts["bytes"] = conn.execute("SELECT coalesce(sum(bytes), 0) FROM images").fetchone()[0]
    return counts
