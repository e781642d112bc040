"""RSS, sitemaps and robots.txt of a publication, as Medium writes them."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from datetime import datetime
from email.utils import format_datetime

from .server import Reply, xml_reply
from .synthetic import (
    DESCRIPTION,
    LOGO_IMAGE,
    Catalog,
    Publication,
    SyntheticPost,
    iso,
    rfc822,
    to_ms,
)

FEED_ITEMS = 10
TAG_SITEMAP = "/sitemap/tags.xml"
DAY_SITEMAP = re.compile(r"/sitemap/posts/(\d{4})/posts-(\d{4}-\d{2}-\d{2})\.xml")


def robots_txt(origin: str) -> Reply:
    """Medium's robots.txt, its Sitemap line on `origin`."""
    disallowed = (
        "/m/",
        "/me/",
        "/@me$",
        "/@me/",
        "/*/edit$",
        "/*/*/edit$",
        "/media/",
        "/p/*/share",
        "/r/",
        "/trending",
        "/search?q=",
        "/*/search?q=",
        "/*/*source=",
    )
    rules = "".join(f"Disallow: {path}\n" for path in disallowed)
    text = f"User-Agent: *\n{rules}Allow: /_/\n\nSitemap: {origin}/sitemap/sitemap.xml\n"
    return Reply(200, text.encode(), "text/plain; charset=utf-8")


def feed(publication: Publication, catalog: Catalog, now: datetime) -> Reply:
    """RSS 2.0 of the newest posts, Medium style."""
    home = f"https://{publication.public_host}{publication.prefix}"
    rss_source = f"?source=rss----{publication.collection_id}---4"
    items = "".join(_item(publication, p, rss_source) for p in catalog.posts[:FEED_ITEMS])
    name = publication.name
    text = (
        '<?xml version="1.0" encoding="UTF-8"?><rss xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:content="http://purl.org/rss/1.0/modules/content/"'
        ' xmlns:atom="http://www.w3.org/2005/Atom" version="2.0"'
        ' xmlns:cc="http://cyber.law.harvard.edu/rss/creativeCommonsRssModule.html">\n'
        "    <channel>\n"
        f"        <title>{_cdata(name + ' - Medium')}</title>\n"
        f"        <description>{_cdata(DESCRIPTION + ' - Medium')}</description>\n"
        f"        <link>{home}{rss_source}</link>\n"
        "        <image>\n"
        f"            <url>https://cdn-images-1.medium.com/proxy/{LOGO_IMAGE}</url>\n"
        f"            <title>{html.escape(name)} - Medium</title>\n"
        f"            <link>{home}{rss_source}</link>\n"
        "        </image>\n"
        "        <generator>Medium</generator>\n"
        f"        <lastBuildDate>{format_datetime(now, usegmt=True)}</lastBuildDate>\n"
        f'        <atom:link href="https://{publication.public_host}{publication.feed_path}"'
        ' rel="self" type="application/rss+xml"/>\n'
        "        <webMaster><![CDATA[yourfriends@medium.com]]></webMaster>\n"
        '        <atom:link href="http://medium.superfeedr.com" rel="hub"/>\n'
        f"{items}"
        "    </channel>\n"
        "</rss>\n"
    )
    return xml_reply(text, "text/xml; charset=UTF-8")


def _item(publication: Publication, post: SyntheticPost, rss_source: str) -> str:
    url = publication.post_url(post)
    content = f"<p>{html.escape(post.subtitle)}</p>" if post.subtitle.startswith("By ") else ""
    if post.image_id:
        content += (
            '<figure><img alt="" src="https://cdn-images-1.medium.com/max/1024/'
            f'{post.image_id}" /></figure>'
        )
    content += f"<p>{html.escape(post.title)}: the synthetic body of post {post.number}.</p>"
    if post.locked:
        name = html.escape(publication.name)
        content += f'<p><a href="{url}">Continue reading on {name} »</a></p>'
    categories = "".join(f"            <category>{_cdata(t)}</category>\n" for t in post.tags)
    return (
        "        <item>\n"
        f"            <title>{_cdata(post.title)}</title>\n"
        f"            <link>{url}{rss_source}</link>\n"
        f'            <guid isPermaLink="false">https://medium.com/p/{post.id}</guid>\n'
        f"{categories}"
        f"            <dc:creator>{_cdata(publication.account)}</dc:creator>\n"
        f"            <pubDate>{rfc822(post.first_published_at)}</pubDate>\n"
        f"            <atom:updated>{iso(post.latest_published_at)}</atom:updated>\n"
        f"            <content:encoded>{_cdata(content)}</content:encoded>\n"
        "        </item>\n"
    )


def sitemap_index(catalog: Catalog, origin: str, now: datetime, lastmod: bool = True) -> Reply:
    """One child per publishing day, plus the tag sitemap, all on `origin`; each with its
    `<lastmod>` unless `lastmod` is false."""
    children = [
        (origin + day_path(day), iso(max(p.latest_published_at for p in posts)))
        for day, posts in catalog.days.items()
    ]
    children.append((origin + TAG_SITEMAP, iso(to_ms(now))))
    entries = "".join(
        f"  <sitemap>\n    <loc>{loc}</loc>\n"
        + (f"    <lastmod>{modified}</lastmod>\n" if lastmod else "")
        + "  </sitemap>\n"
        for loc, modified in children
    )
    return xml_reply(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        f"{entries}</sitemapindex>\n"
    )


def day_path(day: str) -> str:
    """The path of the sitemap of a publishing day (YYYY-MM-DD)."""
    return f"/sitemap/posts/{day[:4]}/posts-{day}.xml"


def day_sitemap(publication: Publication, catalog: Catalog, year: str, day: str) -> Reply | None:
    """The sitemap of the posts first published on `day`, None if there are none."""
    posts = catalog.days.get(day) if day.startswith(year) else None
    if not posts:
        return None
    return xml_reply(
        _urlset(
            (publication.post_url(p), iso(p.latest_published_at), "monthly", "0.7") for p in posts
        )
    )


def tag_sitemap(publication: Publication, catalog: Catalog) -> Reply:
    tags = sorted({tag for post in catalog.posts for tag in post.tags})
    home = f"https://{publication.public_host}{publication.prefix}"
    return xml_reply(_urlset((f"{home}/tagged/{t}", None, "weekly", "0.5") for t in tags))


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _urlset(urls: Iterable[tuple[str, str | None, str, str]]) -> str:
    """A sitemap <urlset> of (loc, lastmod or None, changefreq, priority)."""
    entries = ""
    for loc, lastmod, changefreq, priority in urls:
        modified = f"    <lastmod>{lastmod}</lastmod>\n" if lastmod else ""
        entries += (
            f"  <url>\n    <loc>{html.escape(loc)}</loc>\n{modified}"
            f"    <changefreq>{changefreq}</changefreq>\n    <priority>{priority}</priority>\n"
            "  </url>\n"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{entries}</urlset>\n'
    )
