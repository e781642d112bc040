"""Server-rendered post-preview cards of a Medium publication homepage: HTML in, `Post` out.

Class names are generated per build, so every selector below keys on tags, roles,
`data-testid`, `aria-label` and link shapes only. Each card renders its footer (date, read
time, member-only star) and its preview image twice, once per breakpoint: the first match wins.
"""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urlsplit

from parsel import Selector, SelectorList

from archive_spider.bylines import post_authors
from archive_spider.dates import format_instant, plausible, resolve_date
from archive_spider.items import Post
from archive_spider.sources import LayoutChanged
from archive_spider.urls import canonical_url, image_id, image_url, post_id

SOURCE = "html"

# Every selector of this module.
CARD = 'article[data-testid="post-preview"]'
CARD_LINK = 'div[role="link"]::attr(data-href)'
LINK_HREFS = "a[href]::attr(href)"
AUTHOR_LINKS = 'a[href*="/@"], a[href*=".medium.com"]'
AUTHOR_NAME = "p"
TITLE = "h2"
SUBTITLE = "h3"
# Text outside the title and subtitle, so that a title such as "Mar 3" is never a date.
TEXT_OUTSIDE_HEADINGS = ".//text()[not(ancestor::h2 or ancestor::h3)]"
IMAGES = 'img[src*=".medium.com/"]'
MEMBER_ONLY = 'button[aria-label="Member-only story"]'
# Attributes of a selected element (parsel's `.attrib` raises on malformed attribute names).
HREF, SRC, WIDTH, HEIGHT = "::attr(href)", "::attr(src)", "::attr(width)", "::attr(height)"

_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_DATE = re.compile(rf"\d{{1,3}}[mhd] ago|Just now|{_MONTH} \d{{1,2}}(?:, \d{{4}})?", re.ASCII)
_HTML_SPACE = re.compile(r"[ \t\n\r\f]+")
_READ_MINUTES = re.compile(r"(?<![\w.,+-])(\d{1,4})\s*min read", re.ASCII)
_POST_PATH = re.compile(r"-[0-9a-f]{8,12}/?$")
# An author profile: `/@name` on any host, or the bare root of a `name.medium.com` subdomain.
_PROFILE_PATH = re.compile(r"^/@[^/]+/?$")
_PROFILE_HOST = re.compile(r"^(?!miro\.|www\.)[a-z0-9-]+\.medium\.com$")
_SIZE = re.compile(r"/resize:(?:fill|fit):(\d{1,5})(?::(\d{1,5}))?/", re.ASCII)
_PIXELS = re.compile(r"\d{1,5}", re.ASCII)
# A homepage shows a few dozen cards; thousands are a hostile page, not a publication.
MAX_CARDS = 1000
# Images no larger than this (both sides, in px) are avatars and logos, never previews.
_AVATAR_MAX = 48


def parse_cards(
    html: str, *, page_url: str, reference: datetime, publication: str | None = None
) -> list[Post]:
    """One `Post` per post-preview card; cards without a post link are skipped.

    `publication` is the id of the publication whose page this is (None: the page does not
    say, as on an author page). Raises `LayoutChanged` if the page has no card at all.
    """
    return parse_cards_report(
        html, page_url=page_url, reference=reference, publication=publication
    )[0]


def parse_cards_report(
    html: str, *, page_url: str, reference: datetime, publication: str | None = None
) -> tuple[list[Post], list[str]]:
    """The posts of `parse_cards` and, for each skipped card, the reason it was skipped."""
    # Counted before the tree is built: 8 MiB of cards make a DOM of 150 MB.
    if html.count('data-testid="post-preview"') > MAX_CARDS:
        raise LayoutChanged(f"more than {MAX_CARDS} post cards on {page_url}: not a homepage")
    cards = Selector(text=html, type="html").css(CARD)
    if not cards:
        raise LayoutChanged(
            f"no post-preview cards ({CARD}) on {page_url}: layout changed or challenge page?"
        )
    seen_at = format_instant(reference)
    posts, rejected = [], []
    for index, card in enumerate(cards):
        post = _card(card, page_url, reference, seen_at)
        if post is None:
            rejected.append(f"card {index}: no link to a post (-<8-12 hex> URL)")
        else:
            post.publication = publication
            posts.append(post)
    return posts, rejected


def _card(card: Selector, page_url: str, reference: datetime, seen_at: str) -> Post | None:
    url = _post_url(card, page_url)
    if url is None:
        return None
    subtitle = _first_text(card.css(SUBTITLE))
    account = _account(card)
    footer = _footer_parts(card)
    date_text = next((part for part in footer if _DATE.fullmatch(part)), None)
    resolved = plausible(resolve_date(date_text, reference)) if date_text else None
    minutes = _READ_MINUTES.search(" ".join(footer))
    image = _image_id(card)
    return Post(
        id=post_id(url),
        url=url,
        title=_first_text(card.css(TITLE)),
        subtitle=subtitle,
        authors=post_authors(subtitle, account),
        account=account,
        published=resolved.value if resolved else None,
        published_text=date_text,
        published_precision=resolved.precision if resolved else None,
        read_minutes=int(minutes[1]) if minutes else None,
        image_id=image,
        image_url=image_url(image) if image else None,
        member_only=bool(card.css(MEMBER_ONLY)),
        source=SOURCE,
        seen_at=seen_at,
    )


def _footer_parts(card: Selector) -> list[str]:
    """The card's text outside its headings, split at "·" separators, whitespace-normalized."""
    parts = []
    for text in card.xpath(TEXT_OUTSIDE_HEADINGS).getall():
        parts += [_collapse(part) for part in text.split("·")]
    return [part for part in parts if part]


def _post_url(card: Selector, page_url: str) -> str | None:
    """The canonical URL of the card's post: its `data-href`, else its first post link."""
    candidates = card.css(CARD_LINK).getall()
    candidates += [href for href in card.css(LINK_HREFS).getall() if _is_post_href(href)]
    for href in candidates:
        url = _absolute(href.strip(), page_url)
        if url is not None and post_id(url) is not None:
            return url
    return None


def _is_post_href(href: str) -> bool:
    try:
        return _POST_PATH.search(urlsplit(href.strip()).path) is not None
    except ValueError:
        return False


def _absolute(href: str, page_url: str) -> str | None:
    """`href` made absolute and query-free, or None unless it is an http(s) URL."""
    try:
        url = canonical_url(href, page_url)
    except ValueError:
        return None
    return url if url.startswith(("http://", "https://")) else None


def _account(card: Selector) -> str | None:
    """The text of the first author profile link that has text (the avatar link has none)."""
    for link in card.css(AUTHOR_LINKS):
        if not _is_profile(link.css(HREF).get("")):
            continue
        name = _first_text(link.css(AUTHOR_NAME)) or _string(link)
        if name:
            return name
    return None


def _is_profile(href: str) -> bool:
    try:
        parts = urlsplit(href.strip())
    except ValueError:
        return False
    if _PROFILE_PATH.match(parts.path):
        return True
    host = (parts.hostname or "").lower()
    return bool(_PROFILE_HOST.match(host)) and parts.path in ("", "/")


def _image_id(card: Selector) -> str | None:
    """The miro id of the first image larger than an avatar."""
    for img in card.css(IMAGES):
        src = img.css(SRC).get("").strip()
        if _is_avatar(img, src):
            continue
        try:
            found = image_id(src)
        except ValueError:
            continue
        if found:
            return found
    return None


def _is_avatar(img: Selector, src: str) -> bool:
    """True when the image's size (attributes, else the resize transform) is avatar-sized."""
    width, height = img.css(WIDTH).get(""), img.css(HEIGHT).get("")
    if not (_PIXELS.fullmatch(width) and _PIXELS.fullmatch(height)):
        size = _SIZE.search(src)
        if size is None:
            return False
        width, height = size[1], size[2] or size[1]
    return max(int(width), int(height)) <= _AVATAR_MAX


def _first_text(selection: SelectorList) -> str | None:
    """The text of the first selected element, or None if there is none or it is empty."""
    return _string(selection[0]) if selection else None


def _string(node: Selector) -> str | None:
    """The whitespace-normalized text content of `node`, or None if empty."""
    return _collapse(node.xpath("string()").get("")) or None


def _collapse(text: str) -> str:
    """Runs of HTML white space as one space; hair spaces around dashes are kept."""
    return _HTML_SPACE.sub(" ", text).strip(" ")
