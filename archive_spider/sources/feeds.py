"""Medium's RSS feed and sitemaps: XML in, `Post` items or sitemap entries out.

XML is parsed with entity resolution, DTD loading and network access off, so external
entities (XXE) are never fetched and entity expansion bombs are refused by libxml2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from dateutil.parser import isoparse
from lxml import etree

from archive_spider.bylines import post_authors
from archive_spider.dates import format_instant
from archive_spider.items import Post
from archive_spider.urls import post_id, strip_query

DC = "http://purl.org/dc/elements/1.1/"
# The GUID of a Medium RSS item: https://medium.com/p/<post id>.
_GUID_PATH = re.compile(r"^/p/([0-9a-f]{8,12})/?$")
_TAGGED = re.compile(r"/tagged(?:[/.-]|$)")


# A feed's clock may run a little ahead of ours; further ahead is not a publishing date.
FUTURE_TOLERANCE = timedelta(days=2)


class FeedError(ValueError):
    """The text is not well-formed XML, or not the kind of feed expected."""


@dataclass
class SitemapEntry:
    """One `<url>` or `<sitemap>` of a sitemap; `post_id` is set for post URLs only."""

    url: str
    lastmod: str | None = None
    post_id: str | None = None


@dataclass
class Sitemap:
    """Child sitemaps of a `<sitemapindex>`, or post URLs of a `<urlset>`."""

    children: list[SitemapEntry] = field(default_factory=list)
    posts: list[SitemapEntry] = field(default_factory=list)


def parse_rss(xml: str | bytes, *, seen_at: str) -> list[Post]:
    """The posts of a Medium RSS 2.0 feed; items without a post id or link are skipped."""
    root = _parse_xml(xml, "RSS feed")
    if _local(root) != "rss":
        raise FeedError(f"not an RSS feed: the root element is <{_local(root)}>")
    posts = []
    for item in root.iterfind("channel/item"):
        post = _rss_post(item, seen_at)
        if post is not None:
            posts.append(post)
    return posts


def parse_sitemap(xml: str | bytes) -> Sitemap:
    """Children of a sitemap index, or the post URLs of a urlset (tag and other pages dropped)."""
    root = _parse_xml(xml, "sitemap")
    kind = _local(root)
    if kind not in ("sitemapindex", "urlset"):
        raise FeedError(f"not a sitemap: the root element is <{kind}>")
    sitemap = Sitemap()
    for element in root:
        entry = _sitemap_entry(element, "sitemap" if kind == "sitemapindex" else "url")
        if entry is None or _TAGGED.search(urlsplit(entry.url).path):
            continue
        if kind == "sitemapindex":
            sitemap.children.append(entry)
        elif entry.post_id is not None:
            sitemap.posts.append(entry)
    return sitemap


def _parse_xml(xml: str | bytes, what: str) -> etree._Element:
    """The root element of `xml`, parsed without entities, DTDs or network access."""
    parser = etree.XMLParser(
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        # A str is already decoded: ignore whatever encoding its declaration names.
        encoding="utf-8" if isinstance(xml, str) else None,
    )
    data = xml.encode("utf-8", "replace") if isinstance(xml, str) else xml
    try:
        return etree.fromstring(data, parser)
    except etree.LxmlError as error:
        raise FeedError(f"the {what} is not well-formed XML: {error}") from error


def _local(element: etree._Element) -> str:
    """The tag name without its namespace ("" for entities and other non-elements)."""
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _child_text(element: etree._Element, name: str, namespace: str | None = None) -> str | None:
    """The stripped text of the first child named `name`; entity references stay unresolved."""
    for child in element:
        if _local(child) == name and etree.QName(child).namespace == namespace:
            return "".join(child.itertext()).strip() or None
    return None


def _http_url(value: str | None, *, keep_query: bool = False) -> str | None:
    """`value` (without query or fragment unless `keep_query`) if it is an http(s) URL."""
    if not value or any(c.isspace() for c in value):
        return None
    try:
        parts = urlsplit(value)
        url = value if keep_query else strip_query(value)
    except ValueError:
        return None
    return url if parts.scheme in ("http", "https") and parts.hostname else None


def _rss_post(item: etree._Element, seen_at: str) -> Post | None:
    url = _http_url(_child_text(item, "link"))
    if url is None:
        return None
    guid = _http_url(_child_text(item, "guid"))
    match = _GUID_PATH.match(urlsplit(guid).path) if guid else None
    item_id = match.group(1) if match else post_id(url)
    if item_id is None:
        return None
    account = _child_text(item, "creator", DC)
    published = _rfc822(_child_text(item, "pubDate"), seen_at)
    return Post(
        id=item_id,
        url=url,
        title=_child_text(item, "title"),
        authors=post_authors(None, account),
        account=account,
        published=published,
        published_precision="exact" if published else None,
        source="rss",
        seen_at=seen_at,
    )


def _rfc822(text: str | None, seen_at: str) -> str | None:
    """An RFC 822 date as a UTC instant ("-0000", no known zone, is taken as UTC); None
    before 2000 or more than two days after the feed was seen, as for the JSON sources."""
    if text is None:
        return None
    try:
        moment = parsedate_to_datetime(text)
        latest = isoparse(seen_at) + FUTURE_TOLERANCE
        instant = format_instant(moment)
    except (ValueError, TypeError, OverflowError):
        return None
    return instant if "2000" <= instant <= format_instant(latest) else None


def _sitemap_entry(element: etree._Element, tag: str) -> SitemapEntry | None:
    if _local(element) != tag:
        return None
    namespace = etree.QName(element).namespace
    is_post = tag == "url"
    url = _http_url(_child_text(element, "loc", namespace), keep_query=not is_post)
    if url is None:
        return None
    lastmod = _child_text(element, "lastmod", namespace)
    return SitemapEntry(url=url, lastmod=lastmod, post_id=post_id(url) if is_post else None)
