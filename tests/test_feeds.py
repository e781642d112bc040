"""Tests for the RSS and sitemap parsers."""

from __future__ import annotations

import re
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archive_spider.bylines import post_authors
from archive_spider.items import Post
from archive_spider.sources.feeds import (
    FeedError,
    Sitemap,
    SitemapEntry,
    parse_rss,
    parse_sitemap,
)

FIXTURES = Path(__file__).parent / "fixtures"
SEEN_AT = "2025-11-06T12:00:00Z"  # after every pubDate of the fixtures
ACCOUNT = "Netflix Technology Blog"
RSS_HEAD = '<?xml version="1.0"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">'


def rss(*items: str, head: str = RSS_HEAD) -> str:
    return head + "<channel><title>t</title>" + "".join(items) + "</channel></rss>"


def item(
    link: str
    | None = "https://netflixtechblog.com/a-post-4e3f2180c4c7?source=rss----2615bd06b42e---4",
    guid: str | None = "https://medium.com/p/4e3f2180c4c7",
    pub_date: str | None = "Fri, 25 Oct 2024 16:41:52 GMT",
    title: str = "<![CDATA[A post]]>",
) -> str:
    parts = [f"<title>{title}</title>"]
    if link is not None:
        parts.append(f"<link>{link}</link>")
    if guid is not None:
        parts.append(f'<guid isPermaLink="false">{guid}</guid>')
    if pub_date is not None:
        parts.append(f"<pubDate>{pub_date}</pubDate>")
    parts.append("<dc:creator><![CDATA[Netflix Technology Blog]]></dc:creator>")
    return "<item>" + "".join(parts) + "</item>"


# --- RSS --------------------------------------------------------------------------------------


def test_rss_fixture():
    posts = parse_rss((FIXTURES / "rss.xml").read_bytes(), seen_at=SEEN_AT)
    assert posts[0] == Post(
        id="4e3f2180c4c7",
        url="https://netflixtechblog.com/scaling-media-encoding-with-cosmos-workflows-4e3f2180c4c7",
        title="Scaling Media Encoding with Cosmos Workflows",
        authors=post_authors(None, ACCOUNT),
        account=ACCOUNT,
        published="2024-10-25T16:41:52Z",
        published_precision="exact",
        source="rss",
        seen_at=SEEN_AT,
    )
    assert [(p.id, p.title, p.published) for p in posts[1:]] == [
        ("3eaffdf3263c", "Netflix\u2019s Data Gateway: Two Years In", "2024-10-08T16:00:00Z"),
        ("f48060ff1ee7", "Rebuilding the Title Launch Observability Stack", "2024-10-01T14:15:00Z"),
    ]
    assert not [p.url for p in posts if "?" in p.url]


def test_rss_str_and_bytes_agree():
    text = (FIXTURES / "rss.xml").read_text(encoding="utf-8")
    assert parse_rss(text, seen_at=SEEN_AT) == parse_rss(text.encode(), seen_at=SEEN_AT)


def test_rss_str_with_other_declared_encoding():
    head = RSS_HEAD.replace('version="1.0"', 'version="1.0" encoding="ISO-8859-1"')
    [post] = parse_rss(
        rss(item(title="Caf\u00e9 \u2013 d\u00e9j\u00e0 vu"), head=head), seen_at=SEEN_AT
    )
    assert post.title == "Caf\u00e9 \u2013 d\u00e9j\u00e0 vu"


def test_rss_id_from_link_without_guid():
    [post] = parse_rss(rss(item(guid=None)), seen_at=SEEN_AT)
    assert (post.id, post.url) == (
        "4e3f2180c4c7",
        "https://netflixtechblog.com/a-post-4e3f2180c4c7",
    )


def test_rss_skips_items_without_id_or_link():
    items = [item(link=None), item(link="https://netflixtechblog.com/about", guid="nope"), item()]
    assert [p.id for p in parse_rss(rss(*items), seen_at=SEEN_AT)] == ["4e3f2180c4c7"]


@pytest.mark.parametrize(
    ("pub_date", "published"),
    [
        ("Fri, 25 Oct 2024 18:41:52 +0200", "2024-10-25T16:41:52Z"),
        ("Thu, 31 Oct 2024 23:30:00 -0500", "2024-11-01T04:30:00Z"),
        ("Fri, 25 Oct 2024 16:41:52 -0000", "2024-10-25T16:41:52Z"),
        ("yesterday", None),
        (None, None),
    ],
)
def test_rss_pub_date(pub_date, published):
    [post] = parse_rss(rss(item(pub_date=pub_date)), seen_at=SEEN_AT)
    assert post.published == published
    assert post.published_precision == ("exact" if published else None)


def test_rss_external_entity_is_not_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    head = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">'
    )
    posts = parse_rss(rss(item(title="leak &xxe; here"), head=head), seen_at=SEEN_AT)
    assert "TOP-SECRET-CONTENT" not in repr(posts)
    assert posts[0].title.startswith("leak")


def test_rss_entity_expansion_is_refused():
    entities = '<!ENTITY a0 "lollollollollollollollollollol">' + "".join(
        f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10)
    )
    head = f'<?xml version="1.0"?><!DOCTYPE rss [{entities}]>' + RSS_HEAD.split("?>", 1)[1]
    try:
        posts = parse_rss(rss(item(title="&a9;"), head=head), seen_at=SEEN_AT)
    except FeedError:
        return
    assert len(posts[0].title or "") < 100


@pytest.mark.parametrize(
    "text",
    [
        b"",
        b"not xml",
        b"<rss><channel>",
        b"<!doctype html><html><body>Just a moment...</body></html>",
    ],
)
def test_rss_invalid_xml(text):
    with pytest.raises(FeedError, match="RSS feed is not well-formed XML"):
        parse_rss(text, seen_at=SEEN_AT)


def test_rss_wrong_root():
    with pytest.raises(FeedError, match=r"not an RSS feed: the root element is <feed>"):
        parse_rss('<feed xmlns="http://www.w3.org/2005/Atom"/>', seen_at=SEEN_AT)


# --- sitemaps ---------------------------------------------------------------------------------


def test_sitemap_index():
    sitemap = parse_sitemap((FIXTURES / "sitemap_index.xml").read_bytes())
    base = "https://netflixtechblog.com/sitemap/posts/2024/posts-2024-10-"
    assert sitemap == Sitemap(
        children=[
            SitemapEntry(f"{base}25.xml", "2024-10-26T16:41:52.345Z"),
            SitemapEntry(f"{base}08.xml", "2024-10-08T16:00:00.000Z"),
            SitemapEntry(f"{base}01.xml", "2024-10-01T16:26:40.000Z"),
        ],
        posts=[],
    )


def test_sitemap_posts_drop_tagged_about_and_home():
    sitemap = parse_sitemap((FIXTURES / "sitemap_posts.xml").read_text(encoding="utf-8"))
    assert sitemap.children == []
    assert sitemap.posts == [
        SitemapEntry(
            "https://netflixtechblog.com/scaling-media-encoding-with-cosmos-workflows-4e3f2180c4c7",
            "2024-10-26T16:41:52.345Z",
            "4e3f2180c4c7",
        ),
        SitemapEntry(
            "https://netflixtechblog.com/netflixs-data-gateway-two-years-in-3eaffdf3263c",
            "2024-10-08T16:00:00.000Z",
            "3eaffdf3263c",
        ),
        SitemapEntry(
            "https://netflixtechblog.com/lessons-from-migrating-playback-licensing-to-grpc-784ffcf24a90",
            None,
            "784ffcf24a90",
        ),
    ]


def test_sitemap_drops_tagged_url_ending_in_hex():
    xml = (
        "<urlset><url><loc>https://netflixtechblog.com/tagged/cafe-deadbeef</loc></url>"
        "<url><loc>https://netflixtechblog.com/a-post-4e3f2180c4c7?source=x</loc></url></urlset>"
    )
    assert parse_sitemap(xml).posts == [
        SitemapEntry("https://netflixtechblog.com/a-post-4e3f2180c4c7", None, "4e3f2180c4c7")
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"<urlset><url>", "sitemap is not well-formed XML"),
        (b"<!doctype html><html><body>app shell</body></html>", "not well-formed XML"),
        (b"<html><body/></html>", "not a sitemap: the root element is <html>"),
    ],
)
def test_sitemap_errors(text, message):
    with pytest.raises(FeedError, match=message):
        parse_sitemap(text)


# --- property tests ---------------------------------------------------------------------------

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def check_rss(text) -> None:
    try:
        posts = parse_rss(text, seen_at=SEEN_AT)
    except FeedError:
        return
    for post in posts:
        assert re.fullmatch(r"[0-9a-f]{8,12}", post.id)
        assert re.match(r"^https?://", post.url) and "?" not in post.url
        assert post.published is None or ISO.match(post.published)
        assert post.source == "rss"


def check_sitemap(text) -> None:
    try:
        sitemap = parse_sitemap(text)
    except FeedError:
        return
    for entry in sitemap.posts:
        assert entry.post_id and "?" not in entry.url and "/tagged" not in entry.url
    for entry in sitemap.children:
        assert entry.post_id is None and re.match(r"^https?://", entry.url)


@settings(max_examples=300)
@given(st.text() | st.binary())
def test_arbitrary_text_raises_only_feed_error(text):
    check_rss(text)
    check_sitemap(text)


FIELD = st.text(max_size=40) | st.sampled_from(
    [
        "https://netflixtechblog.com/a-post-4e3f2180c4c7?source=rss",
        "https://medium.com/p/4e3f2180c4c7",
        "http://[::1",
        "Fri, 25 Oct 2024 16:41:52 GMT",
        "Mon, 99 Foo 99999 99:99:99 +9999",
    ]
)


@settings(max_examples=300)
@given(st.lists(st.tuples(FIELD, FIELD, FIELD, FIELD), max_size=4))
def test_arbitrary_items_give_valid_posts(fields):
    items = [
        item(link=escape(link), guid=escape(guid), pub_date=escape(date), title=escape(title))
        for link, guid, date, title in fields
    ]
    check_rss(rss(*items))
    urls = "".join(
        f"<url><loc>{escape(link)}</loc><lastmod>{escape(d)}</lastmod></url>"
        for link, _, d, _ in fields
    )
    check_sitemap(f"<urlset>{urls}</urlset>")
    check_sitemap(f"<sitemapindex>{urls.replace('url>', 'sitemap>')}</sitemapindex>")


def test_rss_authors_come_from_bylines(monkeypatch):
    calls = []
    monkeypatch.setattr(
        "archive_spider.sources.feeds.post_authors",
        lambda subtitle, account: calls.append((subtitle, account)) or ["X"],
    )
    assert parse_rss(rss(item()), seen_at=SEEN_AT)[0].authors == ["X"]
    assert calls == [(None, ACCOUNT)]
