"""HTML pages: homepages of both eras, profiles, posts, tags, 404 and Cloudflare's challenge."""

from __future__ import annotations

import html
import json
import math
import random
import re
import string
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from .apollo_state import Listed
from .graphql_answers import GRAPHQL_PATH
from .server import Reply, html_reply, simple_page
from .synthetic import (
    AVATAR_IMAGE,
    LOGO_IMAGE,
    Catalog,
    Publication,
    SyntheticPost,
    account_handle,
    from_ms,
    tag_title,
)

HOMEPAGE_CARDS = 10
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_CLASS = re.compile(r'class="([^"]*)"')


def card_date(ms: int, now: datetime) -> str:
    """The date text of a card: "5h ago", "2d ago", "Oct 17" (this year), "Nov 26, 2018"."""
    moment = from_ms(ms)
    age = now - moment
    if age < timedelta(minutes=1):
        return "Just now"
    if age < timedelta(hours=1):
        return f"{age // timedelta(minutes=1)}m ago"
    if age < timedelta(days=1):
        return f"{age // timedelta(hours=1)}h ago"
    if age < timedelta(days=7):
        return f"{age.days}d ago"
    day = f"{_MONTHS[moment.month - 1]} {moment.day}"
    return day if moment.year == now.year else f"{day}, {moment.year}"


def homepage_2025(
    publication: Publication,
    posts: Sequence[SyntheticPost],
    apollo: dict,
    origin: str,
    now: datetime,
    seed: int,
) -> str:
    """A current homepage: `article[data-testid="post-preview"]` cards under "Latest"."""
    cards = "\n".join(_card_2025(publication, p, index, now) for index, p in enumerate(posts))
    content = (
        f'{_nav(publication)}<div class="o q"><h2 class="bf ip">Latest</h2>\n\n{cards}\n\n</div>'
    )
    return _document(
        publication.name, publication.home_url, content, _routing(publication), apollo, origin, seed
    )


def homepage_2021(
    publication: Publication,
    listed: Sequence[Listed],
    apollo: dict,
    origin: str,
    now: datetime,
    seed: int,
) -> str:
    """A 2021 homepage: plain stacked blocks, each a title link in an `h3`."""
    source = f"collection_home---{publication.collection_id}------"
    cards = "\n".join(
        _card_2021(post, url, publication.account, f"{source}{index}" + "-" * 23, now)
        for index, (post, _, url) in enumerate(listed)
    )
    content = f'{_nav(publication)}<div class="o q"><div class="dr ds">\n{cards}\n</div></div>'
    return _document(
        publication.name, publication.home_url, content, _routing(publication), apollo, origin, seed
    )


def profile_page(
    account: str,
    bio: str,
    listed: Sequence[Listed],
    apollo: dict,
    origin: str,
    now: datetime,
    seed: int,
) -> str:
    """An author's profile page in the 2021 markup: their name, bio and stacked posts."""
    user_id, username = account_handle(account)
    name = html.escape(account)
    cards = "\n".join(
        _card_2021(post, url, account, f"user_profile---------{index}" + "-" * 28, now)
        for index, (post, _, url) in enumerate(listed)
    )
    content = (
        f'<div class="o q"><div class="dp dq"><h2 class="bf dt">{name}</h2>'
        f'<p class="bf du">{html.escape(bio)}</p></div>\n<div class="dr ds">\n{cards}\n</div></div>'
    )
    entity = {"type": "USER", "id": user_id, "explicit": True}
    canonical = f"https://medium.com/@{username}"
    return _document(f"{account} \u2013 Medium", canonical, content, entity, apollo, origin, seed)


def _routing(publication: Publication) -> dict:
    return {"type": "COLLECTION", "id": publication.collection_id, "explicit": True}


def _nav(publication: Publication) -> str:
    name = html.escape(publication.name)
    return (
        f'<nav class="j k"><a href="{publication.home_url}?source=post_page---publication_nav-'
        f'{publication.collection_id}" class="m n"><img alt="{name}" src="https://miro.medium.com/'
        f'v2/resize:fit:1036/{LOGO_IMAGE}" width="259" height="40"></a></nav>\n'
    )


def _document(
    title: str,
    canonical: str,
    content: str,
    entity: dict,
    apollo: dict,
    origin: str,
    seed: int,
) -> str:
    """A server-rendered page about `entity` (the preloaded state's routing entity): fela
    classes renamed per build, then the state scripts."""
    build = f"main-20251218-183004-{seed:010x}"
    preloaded = {
        "client": {"isBot": False, "routingEntity": entity, "supportsWebp": True},
        "config": {"nodeEnv": "production", "version": build, "authDomain": "medium.com"},
        "session": {"xsrf": ""},
    }
    page = (
        '<!doctype html><html lang="en"><head>'
        f"<title>{html.escape(title)}</title>\n"
        '<meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">\n'
        f'<link rel="canonical" href="{canonical}">\n'
        '<style data-fela-type="RULE">.a{font-family:medium-content-sans-serif-font}'
        ".b{font-weight:400}.c{background-color:rgba(255,255,255,1)}.l{display:block}</style>\n"
        '</head><body><a href="/sitemap/sitemap.xml" class="d">Sitemap</a>\n'
        f'<div id="root"><div class="a b c"><div class="e f g h i">\n{content}\n'
        "</div></div></div>\n"
        f'<script>window.__GRAPHQL_URI__ = "{origin}{GRAPHQL_PATH}"</script>\n'
        f"<script>window.__PRELOADED_STATE__ = {_script_json(preloaded)}</script>\n"
        f"<script>window.__APOLLO_STATE__ = {_script_json(apollo)}</script>\n"
        f'<script>window.__BUILD_ID__ = "{build}"</script>\n'
        "</body></html>\n"
    )
    return _rename_classes(page, offset=seed % 500)


def _card_2025(publication: Publication, post: SyntheticPost, index: int, now: datetime) -> str:
    """One post-preview card; its footer and image come twice, one per breakpoint."""
    title = html.escape(post.title)
    source = f"?source=collection_home_page----{publication.collection_id}-----{index}" + "-" * 35
    href = html.escape(f"{publication.prefix}/{post.unique_slug}{source}")
    author = html.escape(f"https://{publication.account_username}.medium.com/{source}")
    account = html.escape(publication.account)
    subtitle = (
        f'<div class="gu l"><h3 class="bf b gv gw">{html.escape(post.subtitle)}</h3></div>'
        if post.subtitle
        else ""
    )
    footer = _card_footer(publication, post, href, now)
    images = ""
    if post.image_id:
        images = (
            f'<div aria-label="{title}" class="hs ht">'
            + "".join(
                f'<div class="{classes}"><img alt="{title}" class="bx hu" '
                f'src="https://miro.medium.com/v2/resize:fill:{w}:{h}/{post.image_id}" '
                f'width="{w}" height="{h}" loading="lazy"></div>'
                for classes, w, h in (("k j e", 80, 53), ("i l", 160, 107))
            )
            + "</div>"
        )
    return (
        '<article data-testid="post-preview" class="fe ff fg fh fi fj"><div class="fm fn l">'
        f'<div role="link" tabindex="0" data-href="{html.escape(publication.post_url(post))}" '
        'class="fo fp fq fr"><div class="ft l"><div class="fu l"><div class="fv fw fx">\n'
        f'<div class="fz ga l"><a href="{author}" rel="noopener follow"><div class="gb gc">'
        f'<img alt="{account}" class="l gd ge" src="https://miro.medium.com/v2/'
        f'resize:fill:20:20/{AVATAR_IMAGE}" width="20" height="20" loading="lazy"></div></a>'
        "</div>\n"
        f'<div class="gg gh"><a class="ae af" href="{author}" rel="noopener follow">'
        f'<p class="bf b gi gj">{account}</p></a></div>\n'
        "</div></div>\n"
        '<div class="gl gm l"><div class="gn go l">\n'
        f'<a href="{href}" rel="noopener follow"><h2 class="bf hr gq gr">{title}</h2>'
        f"{subtitle}</a>\n"
        f'<span class="gy gz l">{footer}</span>\n'
        f"</div>\n{images}\n</div>\n"
        f'<span class="hv hw l">{footer}</span>\n'
        "</div></div></div></article>\n"
    )


def _card_footer(publication: Publication, post: SyntheticPost, href: str, now: datetime) -> str:
    star = (
        '<div class="hx hy"><button aria-label="Member-only story" class="hz ia">'
        '<svg width="16" height="16"></svg></button></div>'
        if post.locked
        else ""
    )
    counts = ""
    if post.claps:
        counts += (
            f'<a href="{href}&amp;responsesOpen=true" rel="noopener follow">'
            '<svg width="16" height="16"></svg>'
            f'<span class="bf b">{_count(post.claps)}</span></a>'
        )
    if post.responses:
        counts += (
            f'<a href="{publication.prefix}/{post.unique_slug}?responsesOpen=true" '
            'rel="noopener follow">'
            f'<svg width="16" height="16"></svg><span class="bf b">{post.responses}</span></a>'
        )
    date = card_date(post.first_published_at, now)
    return (
        f'<div class="ha hb hc"><div class="he hf">{star}<div class="hh hi">{date}</div>'
        '<div class="hk hl"><span aria-hidden="true">·</span></div><div class="hh hi">'
        f"<span>{math.ceil(post.reading_time)} min read</span></div></div>"
        f'<div class="hm hn">{counts}</div><div class="ho hp">'
        '<button aria-label="Add to list bookmark button" class="hq hr">'
        '<svg width="25" height="25"></svg></button>'
        '<button aria-label="More options" class="hq hr"><svg width="25" height="25"></svg>'
        "</button></div></div>"
    )


def _card_2021(post: SyntheticPost, url: str, account: str, source: str, now: datetime) -> str:
    """One block of 2021 markup: author, title link (`h3`), subtitle, date and read time."""
    _, username = account_handle(account)
    title = html.escape(post.title)
    href = html.escape(f"{url}?source={source}")
    author = html.escape(f"https://medium.com/@{username}?source={source}")
    subtitle = (
        f'<a href="{href}" rel="noopener"><p class="bf ec">{html.escape(post.subtitle)}</p></a>'
        if post.subtitle
        else ""
    )
    image = (
        f'<a href="{href}" rel="noopener"><img alt="{title}" class="ee ef" '
        f'src="https://miro.medium.com/fit/c/224/224/{post.image_id}" width="112" height="112">'
        "</a>"
        if post.image_id
        else ""
    )
    return (
        '<div class="dv dw"><div class="dx dy">'
        f'<div class="dz"><a href="{author}" rel="noopener"><img alt="{html.escape(account)}" '
        f'class="l ea" src="https://miro.medium.com/fit/c/40/40/{AVATAR_IMAGE}" width="20" '
        f'height="20"></a><a href="{author}" rel="noopener"><span class="bf eb">'
        f"{html.escape(account)}</span></a></div>\n"
        f'<div class="ed"><a href="{href}" rel="noopener"><h3 class="bf ec eg">{title}</h3></a>'
        f"{subtitle}</div>\n"
        f'<div class="eh"><span>{card_date(post.first_published_at, now)}</span>'
        '<span aria-hidden="true"> · </span>'
        f"<span>{math.ceil(post.reading_time)} min read</span></div>\n"
        f"</div>{image}</div>\n"
    )


def post_page(publication: Publication, post: SyntheticPost) -> Reply:
    title = html.escape(post.title)
    body = (
        f'<article><h1 data-testid="storyTitle">{title}</h1>'
        f"<p>{html.escape(post.subtitle)}</p>"
        f'<span data-testid="storyReadTime">{math.ceil(post.reading_time)} min read</span>'
        "</article>"
    )
    page_title = f"{post.title} | by {publication.account} | {publication.name}"
    return html_reply(200, simple_page(page_title, body))


def tag_page(publication: Publication, catalog: Catalog, tag: str) -> Reply:
    tagged = [p for p in catalog.posts if tag in p.tags][:HOMEPAGE_CARDS]
    if not tagged:
        return not_found()
    links = "".join(
        f'<li><a href="{html.escape(publication.post_url(p))}">{html.escape(p.title)}</a></li>'
        for p in tagged
    )
    return html_reply(
        200, simple_page(f"{tag_title(tag)} - {publication.name}", f"<ul>{links}</ul>")
    )


def not_found() -> Reply:
    """Medium's 404 page."""
    body = (
        '<div id="root"><main><h1>404</h1><h2>Out of nothing, something.</h2>'
        "<p>You can find (just about) anything on Medium — apparently even a page that "
        'doesn\u2019t exist.</p><a href="/">Home</a></main></div>'
    )
    return html_reply(404, simple_page("Page not found | Medium", body))


def challenge(domain: str, status: int = 403) -> Reply:
    """Cloudflare's managed challenge, as non-browser clients of Medium get it (with status
    200 it comes without its `cf-mitigated` header)."""
    ray = f"{random.getrandbits(64):016x}-AMS"
    body = (
        '<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>'
        '<meta http-equiv="Content-Type" content="text/html; charset=UTF-8">'
        '<meta name="robots" content="noindex,nofollow"></head><body>'
        '<div class="main-wrapper" role="main"><div class="main-content">'
        f'<h1 class="zone-name-title h1">{html.escape(domain)}</h1>'
        '<h2 id="challenge-running" class="h2">Verify you are human by completing the action '
        'below.</h2><noscript><div class="h2"><span id="challenge-error-text">Enable JavaScript '
        "and cookies to continue</span></div></noscript></div></div>"
        f"<script>(function(){{window._cf_chl_opt={{cvId: '3',cZone: \"{domain}\","
        f"cType: 'managed',cRay: '{ray}'}};}}());</script>"
        f'<div class="footer">Ray ID: <code>{ray}</code> Performance &amp; security by '
        "Cloudflare</div></body></html>"
    )
    mitigated = (("cf-mitigated", "challenge"),) if status != 200 else ()
    return html_reply(
        status,
        body,
        *mitigated,
        ("cf-ray", ray),
        ("Cache-Control", "private, max-age=0, no-store, no-cache, must-revalidate"),
    )


def _count(number: int) -> str:
    """Clap counts as Medium shows them: 204, 1.2K, 35K."""
    if number < 1000:
        return str(number)
    return f"{number / 1000:.1f}".removesuffix(".0") + "K"


def _script_json(value: Any) -> str:
    """Strict JSON that cannot end the <script> it sits in."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003C").replace(">", "\\u003E").replace("&", "\\u0026")


def _rename_classes(page: str, offset: int) -> str:
    """Give every class name a fela-like generated name that depends on the build."""
    names: dict[str, str] = {}

    def rename(match: re.Match) -> str:
        tokens = [names.setdefault(t, _fela_name(offset + len(names))) for t in match[1].split()]
        return f'class="{" ".join(tokens)}"'

    return _CLASS.sub(rename, page)


def _fela_name(number: int) -> str:
    """a, b, ..., z, ab, ac, ...: the short names fela gives atomic CSS rules."""
    name = ""
    while True:
        number, digit = divmod(number, 26)
        name = string.ascii_lowercase[digit] + name
        if not number:
            return name
