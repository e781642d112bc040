"""The items every source yields: one `Post` per card rendering, the `Publication`s a page
names, what cross-checks read (`CrossCheck`, `SitemapIndex`), and one `Page` per page; with
`--images`, a `Thumbnail` for each preview image to keep."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypeAlias

# Date precisions, least precise first. A more precise date replaces a less precise one.
PRECISIONS = ("day_approx", "day", "hour", "minute", "exact")
# A read time beyond this many minutes is not a real one.
MAX_READ_MINUTES = 1000


@dataclass
class Post:
    """One rendering of a post as a source showed it.

    Empty values (None, "", []) mean "this rendering did not show it", never "it is empty".
    """

    id: str
    url: str
    title: str | None = None
    subtitle: str | None = None
    authors: list[str] = field(default_factory=list)
    account: str | None = None
    published: str | None = None
    published_text: str | None = None
    published_precision: str | None = None
    read_minutes: int | None = None
    image_id: str | None = None
    image_url: str | None = None
    member_only: bool | None = None
    publication: str | None = None
    source: str | None = None
    seen_at: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Post:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class Publication:
    """A publication (Medium `Collection`) as a page or answer names it.

    `url` is where the archive crawls it from: the listed URL for a walked publication,
    else its homepage.
    """

    id: str
    slug: str | None
    domain: str | None
    name: str | None
    url: str | None = None

    @property
    def home_url(self) -> str | None:
        if self.url:
            return self.url
        if self.domain:
            return f"https://{self.domain}/"
        return f"https://medium.com/{self.slug}" if self.slug else None


@dataclass(frozen=True)
class CrossCheck:
    """What a cross-check of `publication` read (`read`) or failed to read (not `read`) at
    `at`: day sitemaps by path (kind "sitemap") or posts by id (kind "post"). The next run
    reads again what was not read."""

    publication: str
    kind: str
    keys: tuple[str, ...]
    read: bool
    at: str


@dataclass(frozen=True)
class SitemapIndex:
    """The children a publication's sitemap index lists: (path, day or None, lastmod or
    None) each, kept to know which days were ever read."""

    publication: str
    children: tuple[tuple[str, str | None, str | None], ...]


@dataclass
class Page:
    """Marks the end of a page: the renderings before it are committed together.

    `kind` is "capture" (a block of a capture file), "homepage", "listing" (a GraphQL
    listing page), "by_id" (posts fetched by id) or "crosscheck" (a sitemap or feed: only
    what it read, not counted as a page). A listing page carries the request
    for the next page in `follow`; the spider decides whether to send it once the page is
    stored. `walk` is the publication's chain in the run the page belongs to.
    """

    url: str
    kind: str
    number: int
    renderings: int
    follow: Any = None
    walk: Any = None


@dataclass(frozen=True)
class Thumbnail:
    """A post's preview image to keep in the archive (`crawl --images`), by its Medium id."""

    image_id: str


# What a spider yields to the pipelines (requests aside): the merge turns each `Post` into
# a `Merged` (pipelines/merge.py), which the store writes and passes on as its `Post`.
Item: TypeAlias = Post | Publication | CrossCheck | SitemapIndex | Page | Thumbnail
