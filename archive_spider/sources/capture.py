"""Reader-style markdown captures of a publication homepage: text in, `Post` renderings out.

A capture is the homepage as a reader view renders it: page chrome, a featured block, then
one block per `## Latest` heading. A card is a heading link to the post,

    [## Title

    ### Subtitle](/slug-<id>?source=...)

(or `[## Title](/slug-<id>?...)` without subtitle), then the account avatar and link, a
`·<date>·<N> min read` line and preview images. Image alt texts are not reliable, so images
are assigned by position: a `resize:fill` thumbnail belongs to the card whose title came
before it, a `resize:fit` image to the card whose title comes right after it. Square `fill`
images are avatars and logos, never previews.
"""

from __future__ import annotations

import re
from datetime import datetime

from archive_spider.bylines import post_authors
from archive_spider.dates import ResolvedDate, format_instant, plausible, resolve_date
from archive_spider.items import Post
from archive_spider.sources import LayoutChanged
from archive_spider.urls import canonical_url, image_id, image_url, post_id

SOURCE = "capture"

_LATEST = re.compile(r"^## Latest\s*$")
_CARD_LINE = re.compile(r"^\[## (.*)\]\(([^()\s]+)\)\s*$")
_CARD_CLOSE = re.compile(r"^### (.*)\]\(([^()\s]+)\)\s*$")
_ACCOUNT = re.compile(r"^\[([^\]!][^\]]*)\]\(https?://[^()\s]+\)\s*$")
_DATE = re.compile(r"^·([^·]+)·([0-9]{1,4}) min read\s*$")
_IMAGE = re.compile(r"^!\[.*\]\((https?://[^()\s]+)\)\s*$")
_RESIZE = re.compile(r"/resize:(fit|fill):([0-9]+)(?::([0-9]+))?/")
_CARD_ANYWHERE = re.compile(r"^\[## ", re.MULTILINE)
_HTML_START = re.compile(r"\A[\s\ufeff]*<")


def looks_like_capture(text: str) -> bool:
    """True for markdown with `[## ` card links; False for HTML and other text."""
    return not _HTML_START.match(text) and _CARD_ANYWHERE.search(text) is not None


def parse_capture(
    text: str, *, reference: datetime, base_url: str = "https://netflixtechblog.com/"
) -> list[list[Post]]:
    """One list of card renderings per block: the featured block (if any), then each `## Latest`.

    Raises `LayoutChanged` if the text holds no card at all.
    """
    return parse_capture_report(text, reference=reference, base_url=base_url)[0]


def parse_capture_report(
    text: str, *, reference: datetime, base_url: str = "https://netflixtechblog.com/"
) -> tuple[list[list[Post]], int]:
    """The blocks of `parse_capture`, and how many card links were skipped (not a post)."""
    reader = _Reader(base_url, format_instant(reference))
    for line in text.splitlines():
        if line and not line.isspace():
            reader.feed(line)
    blocks = reader.blocks if reader.blocks[0] else reader.blocks[1:]
    if not any(blocks):
        raise LayoutChanged("no post card (`[## Title](/slug-<id>)`) found in the capture")
    finish = _Finisher(reference)
    for block in blocks:
        for post in block:
            finish(post)
    return blocks, reader.skipped


class _Reader:
    """The state of one pass over a capture, fed its non-blank lines in order."""

    def __init__(self, base_url: str, seen_at: str) -> None:
        self.base_url = base_url
        self.seen_at = seen_at
        self.blocks: list[list[Post]] = [[]]
        self.card: Post | None = None  # the card whose title came last
        self.heading: str | None = None  # a card title waiting for its `### Subtitle](href)`
        self.upcoming: str | None = None  # a `fit` image waiting for the title right after it
        self.links: dict[str, tuple[str, str] | None] = {}  # href -> (URL, post id), each once
        self.skipped = 0  # card links that name no post

    def feed(self, line: str) -> None:
        """One non-blank line: a card link, an image, a block heading or a card detail."""
        if self.heading is not None:
            title, self.heading = self.heading, None
            closed = _CARD_CLOSE.match(line)
            if closed:
                self.add(title, closed[1], closed[2])
                return
            self.upcoming = None
        if line.startswith("[## "):
            whole = _CARD_LINE.match(line)
            if whole:
                self.add(whole[1], None, whole[2])
            else:
                self.heading, self.card = line[4:], None
            return
        if line.startswith("!["):
            preview = _preview(line)
            if preview is not None:
                self.image(*preview)
                return
        self.upcoming = None
        if _LATEST.match(line):
            self.blocks.append([])
            self.card = None
        elif self.card is not None and self.card.published_text is None:
            _describe(self.card, line)

    def add(self, title: str, subtitle: str | None, href: str) -> None:
        """A card link: a new rendering in the current block, taking the waiting `fit` image."""
        if href not in self.links:
            self.links[href] = _post_link(href, self.base_url)
        link = self.links[href]
        if link is None:
            self.card = None
            self.skipped += 1
        else:
            url, ident = link
            self.card = Post(
                id=ident,
                url=url,
                title=title or None,
                subtitle=subtitle or None,
                image_id=self.upcoming,
                member_only=None,
                source=SOURCE,
                seen_at=self.seen_at,
            )
            self.blocks[-1].append(self.card)
        self.upcoming = None

    def image(self, kind: str, url: str) -> None:
        """A `fit` image waits for the next title; a `fill` thumbnail goes to the last one."""
        if kind == "fit":
            self.upcoming = self.upcoming or _image_id(url)
        elif self.card is not None and self.card.image_id is None:
            self.card.image_id = _image_id(url)


def _post_link(href: str, base_url: str) -> tuple[str, str] | None:
    """(canonical URL, post id) of a card link; None if it is not an http(s) post URL."""
    try:
        url = canonical_url(href, base_url)
    except ValueError:
        return None
    ident = post_id(url) if url.startswith(("http://", "https://")) else None
    return None if ident is None else (url, ident)


def _preview(line: str) -> tuple[str, str] | None:
    """(`fit` or `fill`, URL) for a preview image line; None for avatars, logos and the rest."""
    match = _IMAGE.match(line)
    resize = _RESIZE.search(match[1]) if match else None
    if resize is None or (resize[1] == "fill" and resize[2] == resize[3]):
        return None
    return resize[1], match[1]


def _image_id(url: str) -> str | None:
    """The miro image id of a URL, or None if it has none."""
    try:
        return image_id(url)
    except ValueError:
        return None


def _describe(card: Post, line: str) -> None:
    """Fill the account (first plain link after the title) or the date line of a card."""
    date = _DATE.match(line)
    if date:
        card.published_text = date[1].strip() or None
        card.read_minutes = int(date[2])
        return
    account = None if card.account is not None else _ACCOUNT.match(line)
    if account:
        card.account = account[1].strip()


class _Finisher:
    """Derived fields: authors, resolved date, image URL; each input is resolved only once."""

    def __init__(self, reference: datetime) -> None:
        self.reference = reference
        self.authors: dict[tuple[str | None, str | None], list[str]] = {}
        self.dates: dict[str, ResolvedDate | None] = {}

    def __call__(self, post: Post) -> None:
        byline = (post.subtitle, post.account)
        if byline not in self.authors:
            self.authors[byline] = post_authors(*byline)
        post.authors = list(self.authors[byline])
        text = post.published_text
        if text is not None:
            if text not in self.dates:
                self.dates[text] = plausible(resolve_date(text, self.reference))
            resolved = self.dates[text]
            if resolved is not None:
                post.published, post.published_precision = resolved.value, resolved.precision
        if post.image_id is not None:
            post.image_url = image_url(post.image_id)
