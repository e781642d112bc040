"""Hostile inputs for every parser, and `classify`, which says what a parser made of one.

Shared by tests/test_hostile_inputs.py and a report script (`python tests/hostile.py`).

For each parser there is a function returning hand-made `(name, input)` cases and a
Hypothesis strategy of generated inputs:

    parser            what it reads                      hand-made              generated
    capture           reader-style markdown              capture_cases          capture_documents
    cards             homepage HTML                      cards_cases            cards_documents
    apollo            HTML with window.__APOLLO_STATE__  apollo_cases           apollo_documents
    graphql           PublicationContentDataQuery body   graphql_cases          graphql_bodies
    graphql_homepage  PublicationHomepageQuery body      graphql_homepage_cases graphql_bodies
    graphql_by_id     PostByIdQuery body                 graphql_by_id_cases    graphql_bodies
    rss               RSS XML                            rss_cases              rss_documents
    sitemap           sitemap XML                        sitemap_cases          sitemap_documents

(`CASES` and `STRATEGIES` map each parser name to them.) A GraphQL body is decoded by the
spider's own `decode_json` first, so JSON that cannot be decoded counts as it does there.

An input is `str` or `bytes` (bytes are decoded the way the spider decodes a response), or
a `Lazy` that builds a large input only when a case runs. `classify(parser, input)` runs
the parser and answers one of

    "post"                 posts came out, each valid and clean
    "rejected:<reason>"    nothing usable came out, or `validate.rejection` refused a post
    "error:<class>"        the parser raised its documented error (LayoutChanged,
                           ApolloStateError, SchemaDrift, FeedError, or a decoding error
                           the spider catches)
    "garbage:<defect>"     a post passed `validate.rejection` but is not clean: a trailing
                           newline in its id, an off-site or `javascript:` URL, a date
                           before 2000 or in the future, text SQLite cannot store...
    "crash:<exception>"    any other exception: it would escape into the crawl

Every hand-made case and generated input is expected to give "post", "rejected:..." or
"error:..." only. `classify_bounded` runs a case in a forked child with a time limit, so
that a parser that hangs is reported ("crash:timeout") instead of hanging the caller.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import select
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any, NamedTuple
from urllib.parse import urlsplit
from xml.sax.saxutils import escape as xml_escape

from hypothesis import strategies as st

from archive_spider.dates import format_instant
from archive_spider.items import MAX_READ_MINUTES, PRECISIONS, Post
from archive_spider.pipelines.validate import rejection
from archive_spider.sources import LayoutChanged, graphql
from archive_spider.sources.apollo import ApolloStateError, parse_apollo, read_apollo_state
from archive_spider.sources.capture import parse_capture
from archive_spider.sources.cards import parse_cards_report
from archive_spider.sources.feeds import FeedError, parse_rss, parse_sitemap
from archive_spider.sources.post_nodes import BadPublication
from archive_spider.spiders.collection import CollectionSpider

FIXTURES = Path(__file__).parent / "fixtures"

# Every case is read as of this moment, by the publication at this address.
REFERENCE = datetime(2025, 12, 29, 12, 0, tzinfo=timezone.utc)
SEEN_AT = format_instant(REFERENCE)
DOMAIN = "netflixtechblog.com"
BASE_URL = f"https://{DOMAIN}/"
SLUG = "netflix-techblog"
COLLECTION_ID = "2615bd06b42e"
GOOD_ID = "0123456789ab"
GOOD_MS = 1_729_874_512_345  # 2024-10-25T16:41:52Z
TEN_MB = 10 * 1024 * 1024
ONE_MB = 1024 * 1024

# A post may live on the publication's domain, on medium.com or on a medium.com subdomain.
PUBLICATION_HOSTS = frozenset({DOMAIN, "medium.com"})
# Dates a post may carry: Medium did not exist before 2000, and nothing is published later
# than the moment it is seen (two days of slack for time zones).
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
LATEST = REFERENCE + timedelta(days=2)

HEX_ID = re.compile(r"[0-9a-f]{8,12}")


class Lazy(NamedTuple):
    """An input built only when a case runs (a 10 MB document need not sit in memory)."""

    make: Callable[[], str | bytes]


Input = str | bytes | Lazy


def materialize(data: Input) -> str | bytes:
    return data.make() if isinstance(data, Lazy) else data


# Hostile values, shared by the formats -----------------------------------------------------

# Post ids that are not 8-12 lowercase hex characters (as text: slugs, JSON strings).
BAD_IDS = {
    "upper": "0123ABCDEF",
    "short": "0123abc",
    "long": "0123456789abc",
    "nonhex": "zzzzzzzz",
    "trailing_newline": "0123abcd\n",
    "trailing_space": "0123abcd ",
    "fullwidth": "\uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17",
    "nul": "0123abcd\x00",
    "empty": "",
}
# ... and JSON values that are not strings at all.
BAD_JSON_IDS = {"null": None, "int": 123456789, "bool": True, "list": [GOOD_ID], "float": 1.5}

# Links that must never become a post URL: (name, href). The publication is DOMAIN.
HOSTILE_HREFS = {
    "js_url": f"javascript:alert(1)//-{GOOD_ID}",
    "js_url_mixed_case": f"JaVaScRiPt:alert(document.domain)//-{GOOD_ID}",
    "js_url_leading_space": f"  javascript:alert(1)//-{GOOD_ID}",
    "js_url_tab_inside": f"java\tscript:alert(1)//-{GOOD_ID}",
    "data_url": f"data:text/html,<script>alert(1)</script>-{GOOD_ID}",
    "file_url": f"file:///etc/passwd-{GOOD_ID}",
    "offsite_host": f"https://evil.example/stolen-post-{GOOD_ID}",
    "offsite_scheme_relative": f"//evil.example/stolen-post-{GOOD_ID}",
    "offsite_suffix_host": f"https://{DOMAIN}.evil.example/stolen-post-{GOOD_ID}",
    "offsite_medium_prefix": f"https://medium.com.evil.example/stolen-post-{GOOD_ID}",
    "offsite_userinfo": f"https://{DOMAIN}@evil.example/stolen-post-{GOOD_ID}",
    "offsite_backslash": f"https://evil.example\\@{DOMAIN}/stolen-post-{GOOD_ID}",
    "bad_ipv6": f"https://[::1/stolen-post-{GOOD_ID}",
    "bad_port": f"https://{DOMAIN}:99999/stolen-post-{GOOD_ID}",
}

# Dates as cards show them.
DATE_TEXTS = {
    "feb30": "Feb 30",
    "feb29": "Feb 29",
    "jun31": "Jun 31",
    "oct32": "Oct 32",
    "sep31_2023": "Sep 31, 2023",
    "ago_99d": "99d ago",
    "ago_99999d": "99999d ago",
    "ago_30_digits": "9" * 30 + "d ago",
    "ago_negative": "-1d ago",
    "ago_999h": "999h ago",
    "ago_0m": "0m ago",
    "year_1900": "Jan 1, 1900",
    "year_1000": "Jan 1, 1000",
    "year_1999": "Dec 31, 1999",
    "year_3000": "Jan 1, 3000",
    "year_99999": "Mar 3, 99999",
    "year_0000": "Jan 1, 0000",
    "tomorrow_yearless": "Dec 31",
    "just_now": "Just now",
}
# Read times as cards show them ("<text> min read"); only the plain integers in 0..1000
# may be stored, as themselves.
READ_TEXTS = {
    "read_neg": "-1",
    "read_huge": "1000000000",
    "read_over_max": "9999",
    "read_max": "1000",
    "read_zero": "0",
    "read_float": "1.5",
    "read_exp": "1e9",
    "read_arabic_digits": "\u0661\u0662",
    "read_superscript": "\u00b2",
}
# readingTime values of Medium's JSON (minutes, a float).
JSON_READ_TIMES = {
    "read_neg": -1,
    "read_huge": 10**9,
    "read_over_max": 1001,
    "read_max": 1000,
    "read_zero": 0,
    "read_float_huge": 1e308,
    "read_bigint": 10**400,
    "read_string": "5",
    "read_bool": True,
    "read_list": [5],
    "read_tiny": 1e-300,
}
# firstPublishedAt values (epoch milliseconds).
JSON_EPOCHS = {
    "date_neg": -1,
    "date_zero": 0,
    "date_1999": 946_684_799_999,
    "date_2099": 4_102_444_799_999,
    "date_2100": 4_102_444_800_000,
    "date_year_3000": 32_503_680_000_000,
    "date_1e18": 10**18,
    "date_1e300": 1e300,
    "date_bigint": 10**400,
    "date_string": str(GOOD_MS),
    "date_bool": True,
}
# Invalid UTF-8: overlong, surrogate, beyond U+10FFFF, lone continuation, cut sequence.
BAD_UTF8 = {
    "utf8_ff": b"\xff\xfe",
    "utf8_overlong": b"\xc0\xaf",
    "utf8_surrogate": b"\xed\xa0\x80",
    "utf8_cut": b"\xe2\x82",
}
# Text values (titles, subtitles) that are absurd but must not crash anything.
WEIRD_TEXTS = {
    "title_blank": "   \t  ",
    "title_nul": "Title\x00with NUL",
    "title_bidi": "\u202etxt.exe",
    "title_html": "<script>alert(1)</script>",
    "title_combining": "e" + "\u0301" * 5000,
    "title_emoji": "\U0001f600" * 1000,
}


def _lazy_big(unit: str, size: int = TEN_MB) -> Lazy:
    return Lazy(lambda: (unit * (size // len(unit) + 1))[:size])


# Markdown capture ---------------------------------------------------------------------------


def capture_card(
    title: str = "Hostile Input Handling",
    href: str = f"/hostile-input-handling-{GOOD_ID}?source=collection_home---4",
    *,
    subtitle: str | None = "By Jane Doe and John Roe",
    date: str | None = "Oct 24",
    minutes: str | None = "5",
    account: str | None = "Netflix Technology Blog",
    image: str | None = "https://miro.medium.com/v2/resize:fill:160:107/1*Qm7hT2cVbN4pL8s.png",
) -> str:
    lines = [f"[## {title}](" + href + ")"]
    if subtitle is not None:
        lines = [f"[## {title}", "", f"### {subtitle}](" + href + ")"]
    if account is not None:
        lines.append(f"[{account}](https://netflixtechblog.medium.com/?source=home)")
    if date is not None or minutes is not None:
        lines.append(f"·{date or ''}·{minutes or ''} min read")
    if image is not None:
        lines.append(f"![]({image})")
    return "\n".join(lines) + "\n"


def capture_document(*cards: str, heading: bool = True) -> str:
    head = "Netflix TechBlog\n\n[Sign in](https://medium.com/m/signin)\n\n"
    latest = "## Latest\n\n" if heading else ""
    return head + latest + "\n".join(cards or (capture_card(),))


def capture_cases() -> list[tuple[str, Input]]:
    fixture = (FIXTURES / "netflixtechblog-home.md").read_text(encoding="utf-8")
    valid = capture_document()
    cases: list[tuple[str, Input]] = [
        ("valid", valid),
        ("fixture", fixture),
        ("empty", ""),
        ("whitespace_only", " \n\t\n" * 100),
        ("bom_only", "\ufeff"),
        ("nul_bytes", "\x00" * 1000),
        ("html_instead", "<!doctype html><html><body><h2>Latest</h2></body></html>"),
        ("json_instead", '{"data": {"publication": null}}'),
        ("title_missing", capture_document(capture_card(title="", subtitle=None))),
        ("title_only_spaces", capture_document(capture_card(title="   ", subtitle=None))),
        ("title_unclosed", capture_document("[## Hostile Input Handling\n\nno link follows\n")),
        ("link_without_id", capture_document(capture_card(href="/about"))),
        ("link_empty", capture_document(capture_card(href="", subtitle=None))),
        ("doubled_date", capture_document(capture_card() + "·Jan 1, 1900·9999 min read\n")),
        ("doubled_card", capture_document(capture_card(), capture_card(title="Other Title"))),
        (
            "doubled_account",
            capture_document(capture_card() + "[Mallory](https://evil.example/)\n"),
        ),
        ("no_date_line", capture_document(capture_card(date=None, minutes=None))),
        ("no_account", capture_document(capture_card(account=None))),
        ("many_blocks", capture_document(*[capture_card() + "## Latest\n"] * 2000)),
        ("many_blank_lines", valid + "\n" * 100_000),
        ("huge_title", Lazy(lambda: capture_document(capture_card(title="T" * TEN_MB)))),
        ("huge_title_words", Lazy(lambda: capture_document(capture_card("Word " * (TEN_MB // 5))))),
        ("huge_href", Lazy(lambda: capture_document(capture_card(href="/" + "a" * TEN_MB)))),
        ("huge_line_of_brackets", _lazy_big("[## ](")),
        ("huge_subtitle_spaces", Lazy(lambda: capture_document(capture_card(subtitle=_spaces())))),
        ("huge_date_text", Lazy(lambda: capture_document(capture_card(date="9 " * ONE_MB)))),
        ("deep_quotes", "> " * 100_000 + capture_card()),
        ("deep_brackets", "[" * 100_000 + "## x](/x-" + GOOD_ID + ")\n"),
        ("deep_nested_cards", "[## " * 100_000 + f"x](/x-{GOOD_ID})\n"),
    ]
    for name, title in WEIRD_TEXTS.items():
        cases.append((name, capture_document(capture_card(title=title))))
    for name, bad in BAD_IDS.items():
        cases.append((f"bad_id_{name}", capture_document(capture_card(href=f"/post-{bad}"))))
    for name, href in HOSTILE_HREFS.items():
        cases.append((name, capture_document(capture_card(href=href))))
    for name, text in DATE_TEXTS.items():
        cases.append((f"date_{name}", capture_document(capture_card(date=text))))
    for name, text in READ_TEXTS.items():
        cases.append((name, capture_document(capture_card(minutes=text))))
    cases += _truncations(fixture)
    cases += _bad_utf8(valid)
    return cases


def _spaces(size: int = ONE_MB, space: str = " ") -> str:
    """A byline followed by a long run of white space (1 MB: a 10 MB one is no different)."""
    return "By Jane Doe" + space * size + "and John Roe"


def _truncations(document: str) -> list[tuple[str, Input]]:
    data = document.encode("utf-8")
    cuts = [("truncated_quarter", len(data) // 4), ("truncated_half", len(data) // 2)]
    cuts.append(("truncated_last_byte", len(data) - 1))
    # Cut inside a multi-byte character, as a dropped connection does.
    multibyte = next((i for i, b in enumerate(data) if b >= 0xC0 and i > len(data) // 3), None)
    if multibyte is not None:
        cuts.append(("truncated_mid_character", multibyte + 1))
    cases: list[tuple[str, Input]] = [(name, data[:cut]) for name, cut in cuts]
    # The same cut, decoded leniently (as Scrapy's `response.text` would).
    cases += [(f"{name}_lenient", data[:cut].decode("utf-8", "replace")) for name, cut in cuts]
    return cases


def _bad_utf8(document: str) -> list[tuple[str, Input]]:
    data = document.encode("utf-8")
    middle = len(data) // 2
    cases: list[tuple[str, Input]] = []
    for name, bad in BAD_UTF8.items():
        cases.append((f"{name}_inside", data[:middle] + bad + data[middle:]))
        lenient = (data[:middle] + bad + data[middle:]).decode("utf-8", "replace")
        cases.append((f"{name}_lenient", lenient))
    cases.append(("utf8_random_bytes", bytes(range(256)) * 64))
    cases.append(("utf16_bom", b"\xff\xfe" + document.encode("utf-16-le")))
    return cases


# HTML cards ---------------------------------------------------------------------------------


def html_card(
    title: str | None = "Hostile Input Handling",
    href: str | None = f"https://{DOMAIN}/hostile-input-handling-{GOOD_ID}",
    *,
    link: str | None = f"/hostile-input-handling-{GOOD_ID}?source=collection_home---4",
    subtitle: str | None = "By Jane Doe and John Roe",
    date: str | None = "Oct 24",
    minutes: str | None = "5",
    account: str | None = "Netflix Technology Blog",
    member_only: bool = False,
    image: str | None = "https://miro.medium.com/v2/resize:fill:160:107/1*Qm7hT2cVbN4pL8s.png",
    escape: bool = True,
) -> str:
    """One post-preview card, shaped like Medium's (and tests/fixtures/medium_home.html)."""
    e = _html_escape if escape else (lambda text: text)
    data_href = f' data-href="{e(href)}"' if href is not None else ""
    parts = [f'<article data-testid="post-preview"><div role="link" tabindex="0"{data_href}>']
    if account is not None:
        parts.append(
            '<a href="https://netflixtechblog.medium.com/?source=home"><img alt="" '
            'src="https://miro.medium.com/v2/resize:fill:20:20/1*avatar.jpeg" width="20" '
            'height="20"></a><a href="https://netflixtechblog.medium.com/?source=home">'
            f"<p>{e(account)}</p></a>"
        )
    heading = f"<h2>{e(title)}</h2>" if title is not None else ""
    heading += f"<div><h3>{e(subtitle)}</h3></div>" if subtitle is not None else ""
    parts.append(f'<a href="{e(link)}">{heading}</a>' if link is not None else heading)
    footer = ""
    if member_only:
        footer += '<button aria-label="Member-only story"><svg></svg></button>'
    if date is not None:
        footer += f"<div>{e(date)}</div>"
    footer += '<div><span aria-hidden="true">·</span></div>'
    if minutes is not None:
        footer += f"<div><span>{e(minutes)} min read</span></div>"
    parts.append(f"<span>{footer}</span>")
    if image is not None:
        parts.append(f'<img alt="" src="{e(image)}" width="160" height="107">')
    parts.append(f"<span>{footer}</span></div></article>\n")
    return "".join(parts)


def _html_escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def html_page(*cards: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Netflix TechBlog'
        "</title></head><body><h2>Latest</h2>\n"
        + "".join(cards or (html_card(),))
        + "</body></html>"
    )


def cards_cases() -> list[tuple[str, Input]]:
    fixture = (FIXTURES / "medium_home.html").read_text(encoding="utf-8")
    valid = html_page()
    cases: list[tuple[str, Input]] = [
        ("valid", valid),
        ("fixture", fixture),
        ("empty", ""),
        ("not_html", "just some text, no markup"),
        ("nul_bytes", "\x00" * 1000),
        ("challenge_page", "<html><title>Just a moment...</title><body>cf-chl</body></html>"),
        ("no_link", html_page(html_card(href=None, link=None))),
        ("title_missing", html_page(html_card(title=None))),
        ("title_empty", html_page(html_card(title=""))),
        ("doubled_title", html_page(html_card(subtitle="<h2>Second</h2>", escape=False))),
        ("doubled_link", html_page(html_card(link=f"https://evil.example/other-{GOOD_ID[::-1]}"))),
        ("doubled_date", html_page(html_card(date="Oct 24</div><div>Jan 1, 1900", escape=False))),
        ("doubled_read", html_page(html_card(minutes="5 min read · 9999"))),
        ("doubled_card", html_page(html_card(), html_card(title="Other Title"))),
        ("no_footer", html_page(html_card(date=None, minutes=None))),
        ("member_only", html_page(html_card(member_only=True))),
        (
            "avatar_only_image",
            html_page(html_card(image="https://miro.medium.com/v2/resize:fill:20:20/a")),
        ),
        ("image_offsite", html_page(html_card(image="https://evil.example/1*x.png"))),
        ("image_js", html_page(html_card(image="javascript:alert(1)"))),
        ("bad_attribute_names", html_page(html_card().replace("<h2>", '<h2 ="x" \'y=z <<a=1>'))),
        ("unclosed_tags", html_page(html_card()).replace("</", "<")),
        (
            "attribute_quote_injection",
            html_page(html_card(href='x" data-href="javascript:1', escape=False)),
        ),
        (
            "entities_in_href",
            html_page(html_card(href=f"&#x6a;avascript:alert(1)//-{GOOD_ID}", escape=False)),
        ),
        ("many_cards", Lazy(lambda: html_page(*[html_card()] * 1000))),
        ("huge_title", Lazy(lambda: html_page(html_card(title="T" * TEN_MB)))),
        ("huge_title_words", Lazy(lambda: html_page(html_card(title="Word " * (TEN_MB // 5))))),
        ("huge_title_nbsp", Lazy(lambda: html_page(html_card(title="A\u00a0" * (TEN_MB // 3))))),
        (
            "huge_subtitle_spaces",
            Lazy(lambda: html_page(html_card(subtitle=_spaces(space="\u00a0")))),
        ),
        ("huge_footer", Lazy(lambda: html_page(html_card(date="1 " * (ONE_MB // 2))))),
        ("huge_attribute", Lazy(lambda: html_page(html_card(href="/" + "a" * TEN_MB)))),
        ("deep_nesting", html_page(html_card(title="<div>" * 100_000 + "x", escape=False))),
        ("deep_nesting_outside", "<div>" * 100_000 + html_page()),
        ("many_text_nodes", html_page(html_card(date="<b>x</b>" * 30_000, escape=False))),
    ]
    for name, title in WEIRD_TEXTS.items():
        cases.append((name, html_page(html_card(title=title))))
    for name, bad in BAD_IDS.items():
        href = f"https://{DOMAIN}/post-{bad}"
        cases.append((f"bad_id_{name}", html_page(html_card(href=href, link=href))))
    for name, href in HOSTILE_HREFS.items():
        cases.append((name, html_page(html_card(href=href, link=None))))
    for name in ("js_url", "offsite_host", "offsite_scheme_relative"):
        link = HOSTILE_HREFS[name]
        cases.append((f"{name}_in_link", html_page(html_card(href=None, link=link))))
    for name, text in DATE_TEXTS.items():
        cases.append((f"date_{name}", html_page(html_card(date=text))))
    for name, text in READ_TEXTS.items():
        cases.append((name, html_page(html_card(minutes=text))))
    cases += _truncations(fixture)
    cases += _bad_utf8(valid)
    return cases


# Apollo state -------------------------------------------------------------------------------


def apollo_node(**overrides: Any) -> dict:
    node = {
        "__typename": "Post",
        "id": GOOD_ID,
        "title": "Hostile Input Handling",
        "uniqueSlug": f"hostile-input-handling-{GOOD_ID}",
        "mediumUrl": f"https://{DOMAIN}/hostile-input-handling-{GOOD_ID}",
        "firstPublishedAt": GOOD_MS,
        "readingTime": 9.3,
        "isLocked": False,
        "visibility": "PUBLIC",
        "previewImage": {"__ref": "ImageMetadata:1*Qm7hT2cVbN4pL8s.png"},
        'extendedPreviewContent({"isHomepage":true})': {
            "__typename": "PreviewContent",
            "subtitle": "By Jane Doe and John Roe",
        },
        "creator": {"__ref": "User:c3aeaf49d8a1"},
    }
    for key, value in overrides.items():
        if value is _DROP:
            node.pop(key, None)
        else:
            node[key] = value
    return node


_DROP = object()


def apollo_state(*nodes: dict, collection: dict | None = None) -> dict:
    nodes = nodes or (apollo_node(),)
    by_domain = json.dumps({"domainOrSlug": DOMAIN}, separators=(",", ":"))
    key = f"Collection:{COLLECTION_ID}"
    state: dict[str, Any] = {
        "ROOT_QUERY": {
            "__typename": "Query",
            f"collectionByDomainOrSlug({by_domain})": {"__ref": key},
        },
        key: collection
        or {
            "__typename": "Collection",
            "id": COLLECTION_ID,
            "name": "Netflix TechBlog",
            "slug": SLUG,
            "domain": DOMAIN,
        },
        "User:c3aeaf49d8a1": {
            "__typename": "User",
            "id": "c3aeaf49d8a1",
            "name": "Netflix Technology Blog",
        },
        "PublicationPage:homepage": {
            "__typename": "PublicationPage",
            "sections": [{"__ref": "PublicationPostsSection:s0"}],
        },
        "PublicationPostsSection:s0": {
            "posts": [
                {"__ref": f"Post:{node.get('id')}"} for node in nodes if isinstance(node, dict)
            ]
        },
    }
    for index, node in enumerate(nodes):
        ident = node.get("id") if isinstance(node, dict) else None
        state[f"Post:{ident if isinstance(ident, str) else index}"] = node
    return state


def apollo_page(state: Any = None, *, raw: str | None = None) -> str:
    """An HTML page whose script assigns `state` (JSON) or `raw` text to the Apollo state."""
    payload = raw if raw is not None else json.dumps(apollo_state() if state is None else state)
    return (
        "<!doctype html><html><head><title>Netflix TechBlog</title></head><body>"
        '<div id="root"></div><script>window.__PRELOADED_STATE__ = {}</script>'
        f"<script>window.__APOLLO_STATE__ = {payload}</script></body></html>"
    )


def apollo_cases() -> list[tuple[str, Input]]:
    fixture = (FIXTURES / "medium_home.html").read_text(encoding="utf-8")
    valid = apollo_page()
    state_text = json.dumps(apollo_state())
    nested_in_node = json.dumps(apollo_state(apollo_node(title="X"))).replace(
        '"X"', "[" * 500 + "]" * 500
    )

    def node_page(**overrides: Any) -> str:
        return apollo_page(apollo_state(apollo_node(**overrides)))

    cases: list[tuple[str, Input]] = [
        ("valid", valid),
        ("fixture", fixture),
        ("no_state", "<html><body>no state here</body></html>"),
        ("marker_at_end", "<script>window.__APOLLO_STATE__ = "),
        ("not_json_undefined", apollo_page(raw="undefined")),
        ("not_json_js_object", apollo_page(raw="{ROOT_QUERY: {}}")),
        ("not_json_single_quotes", apollo_page(raw="{'ROOT_QUERY': {}}")),
        ("not_json_nan", apollo_page(raw='{"a": NaN}')),
        ("not_json_infinity", apollo_page(raw='{"a": -Infinity}')),
        ("not_json_truncated", apollo_page(raw=state_text[: len(state_text) // 2])),
        ("not_json_trailing_comma", apollo_page(raw='{"a": 1,}')),
        ("not_json_bigint", apollo_page(raw='{"a": ' + "9" * 5000 + "}")),
        ("not_object_list", apollo_page(raw="[1, 2, 3]")),
        ("not_object_string", apollo_page(raw='"state"')),
        ("not_object_null", apollo_page(raw="null")),
        ("not_object_number", apollo_page(raw="1e999")),
        ("empty_object", apollo_page(raw="{}")),
        ("marker_twice", apollo_page(raw="null") + apollo_page()),
        ("trailing_garbage", apollo_page(raw=state_text + ";;}}]]<<")),
        ("duplicate_keys", apollo_page(raw=state_text[:-1] + ', "ROOT_QUERY": 7}')),
        ("deep_nesting_array", apollo_page(raw="[" * 100_000 + "]" * 100_000)),
        ("deep_nesting_object", apollo_page(raw='{"a":' * 100_000 + "1" + "}" * 100_000)),
        ("deep_nesting_unclosed", apollo_page(raw="[" * 100_000)),
        ("nested_500_in_title", apollo_page(raw=nested_in_node)),
        (
            "state_values_wrong_types",
            apollo_page({"ROOT_QUERY": [], "Collection:x": 5, "Post:y": "z"}),
        ),
        ("post_node_list", apollo_page({"Post:0123456789ab": [1, 2]})),
        (
            "refs_to_nowhere",
            node_page(creator={"__ref": "User:missing"}, previewImage={"__ref": 5}),
        ),
        (
            "ref_loop",
            apollo_page({**apollo_state(), "User:c3aeaf49d8a1": {"__ref": "User:c3aeaf49d8a1"}}),
        ),
        (
            "sections_not_list",
            apollo_page({**apollo_state(), "PublicationPage:homepage": {"sections": 5}}),
        ),
        ("no_collection", apollo_page({f"Post:{GOOD_ID}": apollo_node()})),
        ("title_missing", node_page(title=_DROP)),
        ("title_null", node_page(title=None)),
        ("title_number", node_page(title=42)),
        ("title_object", node_page(title={"text": "x"})),
        ("title_lone_surrogate", node_page(title="Broken \ud800 title")),
        (
            "subtitle_lone_surrogate",
            node_page(
                **{'extendedPreviewContent({"isHomepage":true})': {"subtitle": "By A \udc80"}}
            ),
        ),
        ("slug_trailing_newline", node_page(uniqueSlug=f"hostile-{GOOD_ID}\n")),
        ("slug_path_traversal", node_page(uniqueSlug="..")),
        ("slug_js", node_page(uniqueSlug="javascript:alert(1)")),
        ("image_id_trailing_newline", node_page(previewImage={"id": "1*x.png\n"})),
        ("member_only_garbage", node_page(isLocked="yes", visibility=["LOCKED"])),
        ("huge_title", Lazy(lambda: node_page(title="T" * TEN_MB))),
        (
            "huge_subtitle_spaces",
            Lazy(
                lambda: node_page(
                    **{'extendedPreviewContent({"isHomepage":true})': {"subtitle": _spaces()}}
                )
            ),
        ),
        ("huge_state_many_posts", Lazy(lambda: apollo_page(apollo_state(*_many_nodes(3000))))),
        ("huge_whitespace_after_marker", Lazy(lambda: apollo_page(raw=" " * TEN_MB + state_text))),
    ]
    for name, bad in {**BAD_IDS, **BAD_JSON_IDS}.items():
        cases.append((f"bad_id_{name}", node_page(id=bad)))
    for name, href in HOSTILE_HREFS.items():
        cases.append(
            (
                name,
                apollo_page(
                    apollo_state(apollo_node(uniqueSlug=_DROP, mediumUrl=href), collection={})
                ),
            )
        )
    offsite_collection = {
        "__typename": "Collection",
        "id": "eeeeeeeeeeee",
        "slug": "evil",
        "domain": "evil.example",
    }
    stolen = apollo_state(apollo_node(collection={"__ref": "Collection:eeeeeeeeeeee"}))
    stolen["Collection:eeeeeeeeeeee"] = offsite_collection
    cases.append(("offsite_other_collection", apollo_page(stolen)))
    domain_newline = apollo_state()
    domain_newline[f"Collection:{COLLECTION_ID}"]["domain"] = f"{DOMAIN}\n"
    cases.append(("domain_trailing_newline", apollo_page(domain_newline)))
    for name, value in JSON_READ_TIMES.items():
        cases.append((name, node_page(readingTime=value)))
    for name, value in JSON_EPOCHS.items():
        cases.append((name, node_page(firstPublishedAt=value)))
    for name, title in WEIRD_TEXTS.items():
        cases.append((name, node_page(title=title)))
    cases += _truncations(fixture)
    cases += _bad_utf8(valid)
    return cases


def _many_nodes(count: int) -> list[dict]:
    return [apollo_node(id=f"{i:012x}", uniqueSlug=f"p-{i:012x}") for i in range(count)]


# GraphQL ------------------------------------------------------------------------------------


def graphql_node(**overrides: Any) -> dict:
    node = {
        "__typename": "Post",
        "id": GOOD_ID,
        "title": "Hostile Input Handling",
        "uniqueSlug": f"hostile-input-handling-{GOOD_ID}",
        "mediumUrl": f"https://medium.com/{SLUG}/hostile-input-handling-{GOOD_ID}",
        "firstPublishedAt": GOOD_MS,
        "latestPublishedAt": GOOD_MS + 1000,
        "readingTime": 9.3,
        "isLocked": False,
        "visibility": "PUBLIC",
        "pinnedAt": 0,
        "previewImage": {"__typename": "ImageMetadata", "id": "1*Qm7hT2cVbN4pL8s.png"},
        "extendedPreviewContent": {"subtitle": "By Jane Doe and John Roe"},
        "creator": {"id": "c3aeaf49d8a4", "name": "Netflix Technology Blog"},
        "collection": {"id": COLLECTION_ID, "slug": SLUG, "domain": DOMAIN},
    }
    for key, value in overrides.items():
        if value is _DROP:
            node.pop(key, None)
        else:
            node[key] = value
    return node


def listing_payload(*nodes: Any, cursor: str | None = "cursor-2", next_page: Any = True) -> list:
    """A `PublicationContentDataQuery` answer holding `nodes`."""
    page_info: dict[str, Any] = {"hasNextPage": next_page}
    if cursor is not None:
        page_info["endCursor"] = cursor
    edges = [{"listedAt": GOOD_MS, "node": node} for node in (nodes or (graphql_node(),))]
    connection = {"edges": edges, "pageInfo": page_info}
    return [
        {"data": {"publication": {"id": COLLECTION_ID, "publicationPostsConnection": connection}}}
    ]


def homepage_payload(*nodes: Any, following: Any = None) -> list:
    """A `PublicationHomepageQuery` answer holding `nodes`."""
    connection = {"posts": list(nodes or (graphql_node(),)), "pagingInfo": {"next": following}}
    return [{"data": {"collection": {"id": COLLECTION_ID, "homepagePostsConnection": connection}}}]


def by_id_payload(*nodes: Any) -> list:
    """A `PostByIdQuery` batch answering one operation per node."""
    return [{"data": {"post": node}} for node in (nodes or (graphql_node(),))]


_WRAPPERS = {
    "graphql": listing_payload,
    "graphql_homepage": homepage_payload,
    "graphql_by_id": by_id_payload,
}


def _node_cases(parser: str) -> list[tuple[str, Input]]:
    """Hostile nodes, wrapped in the answer shape of `parser`."""
    wrap = _WRAPPERS[parser]

    def body(*nodes: Any) -> str:
        return json.dumps(wrap(*nodes))

    def one(**overrides: Any) -> str:
        return body(graphql_node(**overrides))

    cases: list[tuple[str, Input]] = [
        ("valid", body()),
        ("node_null", body(None)),
        ("node_list", body([graphql_node()])),
        ("node_string", body("Post:0123456789ab")),
        ("node_empty", body({})),
        ("title_missing", one(title=_DROP)),
        ("title_null", one(title=None)),
        ("title_number", one(title=42)),
        ("title_object", one(title={"text": "x"})),
        ("title_lone_surrogate", one(title="Broken \ud800 title")),
        ("subtitle_lone_surrogate", one(extendedPreviewContent={"subtitle": "By Jane \udc80 Doe"})),
        ("account_lone_surrogate", one(creator={"name": "Mallory \udfff"})),
        ("slug_trailing_newline", one(uniqueSlug=f"hostile-{GOOD_ID}\n")),
        ("slug_js", one(uniqueSlug="javascript:alert(1)")),
        ("domain_trailing_newline", one(collection={"domain": f"{DOMAIN}\n"})),
        ("domain_js", one(collection={"domain": "javascript:alert(1)//"})),
        ("slug_collection_trailing_newline", one(collection={"slug": f"{SLUG}\n"})),
        ("image_id_trailing_newline", one(previewImage={"id": "1*x.png\n"})),
        ("offsite_collection_domain", one(collection={"domain": "evil.example"})),
        ("offsite_collection_ip", one(collection={"domain": "127.0.0.1"})),
        (
            "nested_fields_wrong_types",
            one(creator=[], collection="x", previewImage=5, extendedPreviewContent=None),
        ),
        ("member_only_garbage", one(isLocked="yes", visibility=["LOCKED"])),
        ("duplicate_keys", body(graphql_node())[:-4] + ', "id": "zzzz"}}]'),
    ]
    if parser == "graphql":
        cases += [
            ("many_posts", Lazy(lambda: body(*_many_graphql_nodes(3000)))),
            ("huge_title", Lazy(lambda: one(title="T" * TEN_MB))),
            (
                "huge_subtitle_spaces",
                Lazy(lambda: one(extendedPreviewContent={"subtitle": _spaces()})),
            ),
        ]
    for name, bad in {**BAD_IDS, **BAD_JSON_IDS}.items():
        cases.append((f"bad_id_{name}", one(id=bad)))
    for name, href in HOSTILE_HREFS.items():
        cases.append((name, one(uniqueSlug=_DROP, mediumUrl=href)))
    for name, value in JSON_READ_TIMES.items():
        cases.append((name, one(readingTime=value)))
    cases.append(("read_nan", one(readingTime="NAN").replace('"NAN"', "NaN")))
    cases.append(("read_infinity", one(readingTime="INF").replace('"INF"', "-Infinity")))
    for name, value in JSON_EPOCHS.items():
        cases.append((name, one(firstPublishedAt=value)))
    for name, title in WEIRD_TEXTS.items():
        cases.append((name, one(title=title)))
    if parser != "graphql":
        # The other operations build their posts with the listing's code: a sample will do.
        sample = {"valid", "node_null", "node_list", "title_missing", "title_lone_surrogate"}
        sample |= {"bad_id_nonhex", "bad_id_trailing_newline", "js_url", "offsite_host"}
        sample |= {"read_neg", "read_huge", "date_year_3000"}
        cases = [(name, data) for name, data in cases if name in sample]
    return cases


def _many_graphql_nodes(count: int) -> list[dict]:
    return [graphql_node(id=f"{i:012x}", uniqueSlug=f"p-{i:012x}") for i in range(count)]


def _envelope_cases(valid: str) -> list[tuple[str, Input]]:
    """Answers that are not JSON, or not an answer of the expected shape."""
    return [
        ("empty_body", b""),
        ("html_body", b"<html><body>502 Bad Gateway</body></html>"),
        ("truncated_half", valid[: len(valid) // 2]),
        ("truncated_last_byte", valid[:-1]),
        ("json_null", "null"),
        ("json_number", "42"),
        ("json_string", '"data"'),
        ("json_empty_list", "[]"),
        ("json_list_of_null", "[null]"),
        ("json_empty_object", "{}"),
        ("data_null", '{"data": null}'),
        ("data_list", '{"data": []}'),
        ("errors_list", '{"errors": [{"message": "Cannot query field"}]}'),
        ("errors_object", '{"errors": {"message": "x"}}'),
        ("errors_strings", '{"errors": ["boom"], "data": {}}'),
        ("errors_nested_message", '{"errors": [{"message": ' + "[" * 500 + "]" * 500 + "}]}"),
        ("errors_huge_message", Lazy(lambda: json.dumps({"errors": [{"message": "x" * TEN_MB}]}))),
        ("deep_nesting_array", "[" * 100_000 + "]" * 100_000),
        ("deep_nesting_object", '{"a":' * 100_000 + "1" + "}" * 100_000),
        ("deep_nesting_unclosed", "[" * 100_000),
        ("deep_nesting_in_data", '{"data": ' + '{"a":' * 100_000 + "1" + "}" * 100_001),
        ("bigint", "[" + "9" * 5000 + "]"),
        ("nan_body", "NaN"),
        ("utf16_body", valid.encode("utf-16")),
        ("utf32_body", valid.encode("utf-32")),
        ("bom_utf8", b"\xef\xbb\xbf" + valid.encode()),
        *[
            (f"{name}_inside", valid.encode()[:20] + bad + valid.encode()[20:])
            for name, bad in BAD_UTF8.items()
        ],
        ("random_bytes", bytes(range(256)) * 64),
    ]


def graphql_cases() -> list[tuple[str, Input]]:
    """`PublicationContentDataQuery` answers (the listing the crawl pages through)."""
    valid = json.dumps(listing_payload())
    fixture = (FIXTURES / "graphql_page1.json").read_text(encoding="utf-8")
    connection = listing_payload()[0]["data"]["publication"]["publicationPostsConnection"]

    def with_page_info(page_info: Any) -> str:
        payload = listing_payload()
        payload[0]["data"]["publication"]["publicationPostsConnection"]["pageInfo"] = page_info
        return json.dumps(payload)

    cases = [
        ("fixture", fixture),
        ("fixture_errors", (FIXTURES / "graphql_errors.json").read_text(encoding="utf-8")),
        ("bare_object", json.dumps(listing_payload()[0])),
        (
            "edges_not_list",
            json.dumps(
                [
                    {
                        "data": {
                            "publication": {
                                "publicationPostsConnection": {**connection, "edges": {}}
                            }
                        }
                    }
                ]
            ),
        ),
        ("edges_strings", json.dumps(listing_payload("x", 5, None, []))),
        (
            "edge_without_node",
            json.dumps(
                [
                    {
                        "data": {
                            "publication": {
                                "publicationPostsConnection": {**connection, "edges": [{}]}
                            }
                        }
                    }
                ]
            ),
        ),
        ("publication_null", '[{"data": {"publication": null}}]'),
        ("page_info_missing", with_page_info(None)),
        ("page_info_list", with_page_info([])),
        ("has_next_string", with_page_info({"hasNextPage": "true", "endCursor": "c"})),
        ("has_next_no_cursor", with_page_info({"hasNextPage": True})),
        ("cursor_empty", with_page_info({"hasNextPage": True, "endCursor": ""})),
        ("cursor_number", with_page_info({"hasNextPage": True, "endCursor": 7})),
        (
            "cursor_huge",
            Lazy(lambda: with_page_info({"hasNextPage": True, "endCursor": "c" * TEN_MB})),
        ),
        ("last_page_with_cursor", with_page_info({"hasNextPage": False, "endCursor": "c"})),
        ("two_operations", json.dumps(listing_payload() + listing_payload())),
        *_node_cases("graphql"),
        *_envelope_cases(valid),
    ]
    return cases


def graphql_homepage_cases() -> list[tuple[str, Input]]:
    """`PublicationHomepageQuery` answers (the fallback listing)."""
    valid = json.dumps(homepage_payload())
    fixture = (FIXTURES / "graphql_homepage.json").read_text(encoding="utf-8")

    def paging(value: Any) -> str:
        payload = homepage_payload()
        payload[0]["data"]["collection"]["homepagePostsConnection"]["pagingInfo"] = value
        return json.dumps(payload)

    return [
        ("fixture", fixture),
        ("paging_missing", paging(None)),
        ("paging_no_next", paging({})),
        ("next_string", paging({"next": "x"})),
        ("next_without_from", paging({"next": {"limit": 25}})),
        ("next_from_number", paging({"next": {"from": 25}})),
        ("next_from_object", paging({"next": {"from": {"a": 1}}})),
        (
            "posts_not_list",
            json.dumps(
                [
                    {
                        "data": {
                            "collection": {
                                "homepagePostsConnection": {
                                    "posts": {},
                                    "pagingInfo": {"next": None},
                                }
                            }
                        }
                    }
                ]
            ),
        ),
        *_node_cases("graphql_homepage"),
        *_envelope_cases(valid),
    ]


def graphql_by_id_cases() -> list[tuple[str, Input]]:
    """`PostByIdQuery` batches (posts the listing missed)."""
    valid = json.dumps(by_id_payload())
    return [
        ("unknown_post", '[{"data": {"post": null}}]'),
        ("no_post_key", '[{"data": {}}]'),
        (
            "mixed_answers",
            json.dumps(
                [*by_id_payload(), {"data": {"post": None}}, {"errors": [{"message": "x"}]}]
            ),
        ),
        ("answers_not_objects", "[1, 2, 3]"),
        ("many_answers", Lazy(lambda: json.dumps(by_id_payload(*_many_graphql_nodes(2000))))),
        *_node_cases("graphql_by_id"),
        *_envelope_cases(valid),
    ]


# RSS and sitemaps ---------------------------------------------------------------------------


def rss_item(
    title: str | None = "Hostile Input Handling",
    link: str | None = f"https://{DOMAIN}/hostile-input-handling-{GOOD_ID}?source=rss----4",
    *,
    guid: str | None = f"https://medium.com/p/{GOOD_ID}",
    creator: str | None = "Netflix Technology Blog",
    date: str | None = "Fri, 25 Oct 2024 16:41:52 GMT",
    raw: bool = False,
) -> str:
    e = (lambda text: text) if raw else xml_escape
    parts = ["<item>"]
    if title is not None:
        parts.append(f"<title>{e(title)}</title>")
    if link is not None:
        parts.append(f"<link>{e(link)}</link>")
    if guid is not None:
        parts.append(f'<guid isPermaLink="false">{e(guid)}</guid>')
    if creator is not None:
        parts.append(f"<dc:creator>{e(creator)}</dc:creator>")
    if date is not None:
        parts.append(f"<pubDate>{e(date)}</pubDate>")
    return "".join(parts) + "</item>\n"


def rss_document(*items: str, prolog: str = '<?xml version="1.0" encoding="UTF-8"?>') -> str:
    return (
        f'{prolog}<rss xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0"><channel>'
        "<title>Netflix TechBlog - Medium</title>\n"
        + "".join(items or (rss_item(),))
        + "</channel></rss>"
    )


_XXE = '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i else "&lol;" * 10}">'
        for i in range(10)
    )
    + "]>"
)


def rss_cases() -> list[tuple[str, Input]]:
    fixture = (FIXTURES / "rss.xml").read_bytes()
    valid = rss_document()
    cases: list[tuple[str, Input]] = [
        ("valid", valid),
        ("fixture", fixture),
        ("empty", b""),
        ("not_xml", "this is not xml"),
        ("html_instead", "<html><body><item><link>x</link></item></body></html>"),
        ("atom_instead", '<feed xmlns="http://www.w3.org/2005/Atom"></feed>'),
        ("no_channel", "<rss></rss>"),
        ("item_without_link", rss_document(rss_item(link=None))),
        ("item_without_guid", rss_document(rss_item(guid=None))),
        ("item_without_title", rss_document(rss_item(title=None))),
        (
            "doubled_link",
            rss_document(
                rss_item().replace(
                    "</title>", f"</title><link>https://evil.example/x-{GOOD_ID}</link>"
                )
            ),
        ),
        ("guid_offsite", rss_document(rss_item(guid=f"https://evil.example/p/{GOOD_ID}"))),
        ("guid_other_id", rss_document(rss_item(guid="https://medium.com/p/fedcba987654"))),
        ("xxe", rss_document(rss_item(title="&xxe;", raw=True), prolog=_XXE)),
        ("billion_laughs", rss_document(rss_item(title="&lol9;", raw=True), prolog=_LAUGHS)),
        (
            "external_dtd",
            rss_document(
                prolog='<?xml version="1.0"?><!DOCTYPE rss SYSTEM "http://127.0.0.1:9/x.dtd">'
            ),
        ),
        (
            "declared_utf16_is_utf8",
            rss_document(prolog='<?xml version="1.0" encoding="UTF-16"?>').encode(),
        ),
        (
            "declared_unknown_encoding",
            rss_document(prolog='<?xml version="1.0" encoding="x-evil"?>').encode(),
        ),
        (
            "declared_latin1",
            rss_document(
                rss_item(title="Caf\u00e9"), prolog='<?xml version="1.0" encoding="ISO-8859-1"?>'
            ).encode("latin-1"),
        ),
        ("cdata_title", rss_document(rss_item(title="<![CDATA[<b>bold</b>]]>", raw=True))),
        ("unclosed_cdata", rss_document(rss_item(title="<![CDATA[never closed", raw=True))),
        ("many_items", Lazy(lambda: rss_document(*[rss_item()] * 2000))),
        ("huge_title", Lazy(lambda: rss_document(rss_item(title="T" * TEN_MB)))),
        (
            "huge_title_just_under_libxml_limit",
            Lazy(lambda: rss_document(rss_item(title="T" * 9_000_000))),
        ),
        ("huge_creator_spaces", Lazy(lambda: rss_document(rss_item(creator=_spaces())))),
        (
            "deep_nesting",
            "<rss><channel>" + "<x>" * 100_000 + "</x>" * 100_000 + "</channel></rss>",
        ),
        ("deep_nesting_in_item", rss_document(rss_item(title="<b>" * 100_000 + "x", raw=True))),
        ("title_lone_surrogate_ref", rss_document(rss_item(title="&#xD800;", raw=True))),
        ("title_control_chars", rss_document(rss_item(title="a\x01b", raw=True))),
    ]
    for name, title in WEIRD_TEXTS.items():
        if "\x00" not in title:
            cases.append((name, rss_document(rss_item(title=title))))
    for name, bad in BAD_IDS.items():
        cases.append(
            (
                f"bad_id_{name}",
                rss_document(
                    rss_item(
                        link=f"https://{DOMAIN}/post-{bad}", guid=f"https://medium.com/p/{bad}"
                    )
                ),
            )
        )
    for name, href in HOSTILE_HREFS.items():
        cases.append((name, rss_document(rss_item(link=href))))
    for name, date in {
        "date_feb30": "Sun, 30 Feb 2025 10:00:00 GMT",
        "date_year_1900": "Mon, 01 Jan 1900 00:00:00 GMT",
        "date_year_3000": "Wed, 01 Jan 3000 00:00:00 GMT",
        "date_year_1": "Mon, 01 Jan 0001 00:00:00 +0100",
        "date_year_9999": "Fri, 31 Dec 9999 23:59:59 -1200",
        "date_garbage": "yesterday-ish",
        "date_empty_parts": ", , , ",
        "date_huge_offset": "Fri, 25 Oct 2024 16:41:52 +9999",
        "date_huge_year": "Fri, 25 Oct 99999999999999999999 16:41:52 GMT",
        "date_two_digit_year": "Fri, 25 Oct 24 16:41:52 GMT",
    }.items():
        cases.append((name, rss_document(rss_item(date=date))))
    cases += _truncations(fixture.decode("utf-8"))
    for name, bad in BAD_UTF8.items():
        data = valid.encode()
        cases.append((f"{name}_inside", data[:200] + bad + data[200:]))
    return cases


def sitemap_document(*locs: str, index: bool = False, raw: bool = False) -> str:
    kind, entry = ("sitemapindex", "sitemap") if index else ("urlset", "url")
    e = (lambda text: text) if raw else xml_escape
    body = "".join(
        f"<{entry}><loc>{e(loc)}</loc><lastmod>2024-10-26</lastmod></{entry}>" for loc in locs
    )
    return f'<?xml version="1.0" encoding="UTF-8"?><{kind} xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{body}</{kind}>'


def sitemap_cases() -> list[tuple[str, Input]]:
    fixture = (FIXTURES / "sitemap_posts.xml").read_bytes()
    post = f"https://{DOMAIN}/hostile-input-handling-{GOOD_ID}"
    valid = sitemap_document(post)
    cases: list[tuple[str, Input]] = [
        ("valid", valid),
        ("fixture_posts", fixture),
        ("fixture_index", (FIXTURES / "sitemap_index.xml").read_bytes()),
        ("empty", b""),
        ("not_xml", "<<<>>>"),
        ("wrong_root", "<rss></rss>"),
        ("empty_urlset", sitemap_document()),
        ("loc_missing", valid.replace("<loc>", "<location>").replace("</loc>", "</location>")),
        ("loc_empty", sitemap_document("")),
        ("loc_whitespace_inside", sitemap_document(f"https://{DOMAIN}/a b-{GOOD_ID}")),
        (
            "doubled_loc",
            valid.replace("</loc>", f"</loc><loc>https://evil.example/x-{GOOD_ID}</loc>"),
        ),
        ("index_child_js", sitemap_document("javascript:alert(1)", index=True)),
        ("index_child_offsite", sitemap_document("https://evil.example/sitemap.xml", index=True)),
        (
            "entries_of_both_kinds",
            valid.replace("</urlset>", "<sitemap><loc>https://x.example/</loc></sitemap></urlset>"),
        ),
        (
            "xxe",
            sitemap_document("&xxe;", raw=True).replace(
                '<?xml version="1.0" encoding="UTF-8"?>', _XXE.replace("rss", "urlset")
            ),
        ),
        (
            "many_urls",
            Lazy(
                lambda: sitemap_document(*[f"https://{DOMAIN}/p-{i:012x}" for i in range(10_000)])
            ),
        ),
        ("huge_loc", Lazy(lambda: sitemap_document("https://" + DOMAIN + "/" + "a" * TEN_MB))),
        ("deep_nesting", "<urlset>" + "<url>" * 100_000 + "</url>" * 100_000 + "</urlset>"),
        ("lastmod_garbage", valid.replace("2024-10-26", "Feb 30, 99999")),
    ]
    for name, bad in BAD_IDS.items():
        cases.append((f"bad_id_{name}", sitemap_document(f"https://{DOMAIN}/post-{bad}")))
    for name, href in HOSTILE_HREFS.items():
        cases.append((name, sitemap_document(href)))
    cases += _truncations(fixture.decode("utf-8"))
    for name, bad in BAD_UTF8.items():
        data = valid.encode()
        cases.append((f"{name}_inside", data[:120] + bad + data[120:]))
    return cases


# Generated inputs (Hypothesis strategies) ---------------------------------------------------

# Text that looks like what the fields hold, mixed with hostile values and arbitrary text.
_words = st.sampled_from(["Netflix", "By", "Jane", "Doe", "and", "with", "data", "·", "...", "…"])
_texts = st.one_of(
    st.lists(_words, max_size=8).map(" ".join),
    st.text(max_size=40),
    st.sampled_from(list(WEIRD_TEXTS.values())),
)
_ids = st.one_of(
    st.just(GOOD_ID),
    st.from_regex(r"[0-9a-f]{8,12}", fullmatch=True),
    st.sampled_from(list(BAD_IDS.values())),
    st.text(max_size=14),
)
_hrefs = st.one_of(
    _ids.map(lambda ident: f"/slug-{ident}"),
    _ids.map(lambda ident: f"https://{DOMAIN}/slug-{ident}?source=x"),
    _ids.map(lambda ident: f"https://medium.com/{SLUG}/slug-{ident}"),
    st.sampled_from(list(HOSTILE_HREFS.values())),
    st.text(max_size=30),
)
_date_texts = st.one_of(
    st.sampled_from(list(DATE_TEXTS.values())),
    st.builds(
        "{} {}{}".format,
        st.sampled_from(["Jan", "Feb", "Mar", "Sep", "Dec", "Foo"]),
        st.integers(-5, 40),
        st.one_of(st.just(""), st.integers(0, 99999).map(", {}".format)),
    ),
    st.builds("{}{} ago".format, st.integers(-10, 10**12), st.sampled_from("mhdy")),
    st.text(max_size=15),
)
_read_texts = st.one_of(
    st.sampled_from(list(READ_TEXTS.values())),
    st.integers(-10, 10**12).map(str),
    st.text(max_size=6),
)
# Any JSON value, with a bias towards the shapes the parsers look at.
_json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    _texts,
    _ids,
)
_json_values = st.recursive(
    _json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
_epochs = st.one_of(
    st.sampled_from(list(JSON_EPOCHS.values())), st.integers(-(10**16), 10**16), _json_values
)
_read_times = st.one_of(
    st.sampled_from(list(JSON_READ_TIMES.values())), st.floats(-1e6, 1e6), _json_values
)
_hosts = st.one_of(
    st.sampled_from(
        [DOMAIN, "evil.example", "127.0.0.1", f"{DOMAIN}\n", "javascript:alert(1)", ""]
    ),
    _json_values,
)


def _maybe(strategy: st.SearchStrategy) -> st.SearchStrategy:
    """A value of `strategy`, or `_DROP` (the field is missing)."""
    return st.one_of(st.just(_DROP), strategy)


@st.composite
def _truncated(draw: st.DrawFn, text: str) -> str:
    """`text`, sometimes cut at an arbitrary place."""
    if draw(st.booleans()):
        return text
    return text[: draw(st.integers(0, len(text)))]


@st.composite
def capture_documents(draw: st.DrawFn) -> str:
    cards = []
    for _ in range(draw(st.integers(0, 4))):
        card = capture_card(
            draw(_texts),
            draw(_hrefs),
            subtitle=draw(st.one_of(st.none(), _texts)),
            date=draw(st.one_of(st.none(), _date_texts)),
            minutes=draw(st.one_of(st.none(), _read_texts)),
            account=draw(st.one_of(st.none(), _texts)),
            image=draw(st.one_of(st.none(), _hrefs)),
        )
        cards.append(card + draw(st.one_of(st.just(""), _texts.map(lambda t: t + "\n"))))
    noise = draw(
        st.lists(st.one_of(_texts, st.sampled_from(["## Latest", "[## ", "### x](/a-0123abcd)"])))
    )
    text = capture_document(*cards, heading=draw(st.booleans())) + "\n".join(noise)
    return draw(_truncated(text))


@st.composite
def cards_documents(draw: st.DrawFn) -> str:
    cards = [
        html_card(
            draw(st.one_of(st.none(), _texts)),
            draw(st.one_of(st.none(), _hrefs)),
            link=draw(st.one_of(st.none(), _hrefs)),
            subtitle=draw(st.one_of(st.none(), _texts)),
            date=draw(st.one_of(st.none(), _date_texts)),
            minutes=draw(st.one_of(st.none(), _read_texts)),
            account=draw(st.one_of(st.none(), _texts)),
            member_only=draw(st.booleans()),
            image=draw(st.one_of(st.none(), _hrefs)),
            escape=draw(st.booleans()),
        )
        for _ in range(draw(st.integers(1, 4)))
    ]
    return draw(_truncated(html_page(*cards)))


def _json_node(draw: st.DrawFn, make: Callable[..., dict]) -> dict:
    return make(
        id=draw(st.one_of(_ids, _json_values)),
        title=draw(_maybe(st.one_of(_texts, _json_values))),
        uniqueSlug=draw(
            _maybe(st.one_of(_hrefs.map(lambda h: h.rsplit("/", 1)[-1]), _json_values))
        ),
        mediumUrl=draw(_maybe(st.one_of(_hrefs, _json_values))),
        firstPublishedAt=draw(_maybe(_epochs)),
        readingTime=draw(_maybe(_read_times)),
        isLocked=draw(_maybe(_json_values)),
        visibility=draw(_maybe(st.one_of(st.sampled_from(["LOCKED", "PUBLIC"]), _json_values))),
        previewImage=draw(_maybe(_json_values)),
    )


@st.composite
def apollo_documents(draw: st.DrawFn) -> str:
    nodes = [_json_node(draw, apollo_node) for _ in range(draw(st.integers(0, 3)))]
    collection = {
        "__typename": "Collection",
        "id": draw(st.one_of(st.just(COLLECTION_ID), _json_values)),
        "slug": draw(st.one_of(st.just(SLUG), _json_values)),
        "domain": draw(_hosts),
        "customDomainState": {"live": {"domain": draw(_hosts)}},
    }
    state: Any = apollo_state(*nodes, collection=collection)
    if draw(st.integers(0, 9)) == 0:
        state = draw(_json_values)
    text = json.dumps(state)
    if draw(st.integers(0, 4)) == 0:
        text = draw(_truncated(text)) + draw(st.text(max_size=10))
    return apollo_page(raw=text)


@st.composite
def graphql_bodies(draw: st.DrawFn, parser: str = "graphql") -> str | bytes:
    def node(**overrides: Any) -> dict:
        made = graphql_node(**overrides)
        made["collection"] = {
            "slug": draw(st.one_of(st.just(SLUG), _json_values)),
            "domain": draw(_hosts),
        }
        return made

    nodes = [_json_node(draw, node) for _ in range(draw(st.integers(0, 3)))]
    if parser == "graphql":
        payload: Any = listing_payload(
            *nodes, cursor=draw(st.one_of(st.none(), _texts)), next_page=draw(_json_values)
        )
    elif parser == "graphql_homepage":
        payload = homepage_payload(*nodes, following=draw(_json_values))
    else:
        payload = by_id_payload(*nodes)
    if draw(st.integers(0, 9)) == 0:
        payload = draw(_json_values)
    text = json.dumps(payload)
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=40)) + text.encode()
    return draw(_truncated(text))


@st.composite
def rss_documents(draw: st.DrawFn) -> str | bytes:
    items = [
        rss_item(
            draw(st.one_of(st.none(), _texts)),
            draw(st.one_of(st.none(), _hrefs)),
            guid=draw(
                st.one_of(st.none(), _hrefs, _ids.map(lambda i: f"https://medium.com/p/{i}"))
            ),
            creator=draw(st.one_of(st.none(), _texts)),
            date=draw(st.one_of(st.none(), _texts, st.datetimes().map(_rfc822_text))),
            raw=draw(st.integers(0, 9)) == 0,
        )
        for _ in range(draw(st.integers(0, 4)))
    ]
    text = draw(_truncated(rss_document(*items)))
    if draw(st.integers(0, 9)) == 0:
        return text.encode("utf-8", "surrogatepass") + draw(st.binary(max_size=10))
    return text


def _rfc822_text(moment: datetime) -> str:
    return f"{moment:%a, %d %b} {moment.year:04d} {moment:%H:%M:%S} GMT"


@st.composite
def sitemap_documents(draw: st.DrawFn) -> str | bytes:
    locs = draw(st.lists(st.one_of(_hrefs, _texts), max_size=5))
    text = sitemap_document(*locs, index=draw(st.booleans()), raw=draw(st.integers(0, 9)) == 0)
    return draw(_truncated(text))


STRATEGIES: dict[str, Callable[[], st.SearchStrategy]] = {
    "capture": capture_documents,
    "cards": cards_documents,
    "apollo": apollo_documents,
    "graphql": lambda: graphql_bodies("graphql"),
    "graphql_homepage": lambda: graphql_bodies("graphql_homepage"),
    "graphql_by_id": lambda: graphql_bodies("graphql_by_id"),
    "rss": rss_documents,
    "sitemap": sitemap_documents,
}
CASES: dict[str, Callable[[], list[tuple[str, Input]]]] = {
    "capture": capture_cases,
    "cards": cards_cases,
    "apollo": apollo_cases,
    "graphql": graphql_cases,
    "graphql_homepage": graphql_homepage_cases,
    "graphql_by_id": graphql_by_id_cases,
    "rss": rss_cases,
    "sitemap": sitemap_cases,
}
PARSERS = tuple(CASES)


# Running a parser ---------------------------------------------------------------------------


@dataclass
class Result:
    """What a parser made of one input: the outcome and what came out."""

    outcome: str
    posts: list[Post] = field(default_factory=list)
    entries: list[Any] = field(default_factory=list)  # sitemap entries


def classify(parser: str, data: Input) -> str:
    """What `parser` made of `data`: one of the outcomes listed in this module's docstring."""
    return run(parser, data).outcome


def run(parser: str, data: Input) -> Result:
    """Run `parser` on `data` (as the spider would) and judge what came out."""
    try:
        return _run(parser, materialize(data))
    except _DOCUMENTED[parser] as error:
        return Result(f"error:{type(error).__name__}")
    except Exception as error:  # anything else would escape into the crawl
        return Result(f"crash:{type(error).__name__}: {_short(str(error))}")


_DOCUMENTED: dict[str, tuple[type[BaseException], ...]] = {
    "capture": (LayoutChanged, UnicodeDecodeError),
    "cards": (LayoutChanged, UnicodeDecodeError),
    "apollo": (ApolloStateError, BadPublication, UnicodeDecodeError),
    "graphql": (graphql.SchemaDrift,),
    "graphql_homepage": (graphql.SchemaDrift,),
    "graphql_by_id": (graphql.SchemaDrift,),
    "rss": (FeedError,),
    "sitemap": (FeedError,),
}


def _run(parser: str, data: str | bytes) -> Result:
    if parser in ("capture", "cards", "apollo"):
        # The spider decodes a page strictly and stops on UnicodeDecodeError ("unreadable").
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        if parser == "capture":
            blocks = parse_capture(text, reference=REFERENCE, base_url=BASE_URL)
            return _judge([post for block in blocks for post in block], [])
        if parser == "cards":
            posts, skipped = parse_cards_report(text, page_url=BASE_URL, reference=REFERENCE)
            return _judge(posts, skipped)
        state = read_apollo_state(text)
        if state is None:
            return Result("rejected:no_state")
        return _judge(parse_apollo(state, reference=REFERENCE, origin=BASE_URL).posts, [])
    if parser.startswith("graphql"):
        body = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
        payload = CollectionSpider.decode_json(SimpleNamespace(body=body))
        if payload is None:  # the spider asks again, then gives up on the page
            return Result("rejected:invalid_json")
        if parser == "graphql":
            page = graphql.parse_publication_posts(payload, seen_at=SEEN_AT)
        elif parser == "graphql_homepage":
            page = graphql.parse_homepage_posts(payload, seen_at=SEEN_AT)
        else:
            page = graphql.parse_posts_by_id(payload, seen_at=SEEN_AT)
        return _judge(page.posts, page.rejected)
    if parser == "rss":
        return _judge(parse_rss(data, seen_at=SEEN_AT), [])
    if parser == "sitemap":
        sitemap = parse_sitemap(data)
        entries = sitemap.children + sitemap.posts
        for entry in entries:
            defect = entry_defect(entry)
            if defect:
                return Result(f"garbage:{defect}", entries=entries)
        return Result("post" if entries else "rejected:no_entry", entries=entries)
    raise ValueError(f"unknown parser {parser!r}; one of {', '.join(PARSERS)}")


def _judge(posts: list[Post], skipped: list[str]) -> Result:
    """Validation first (what the pipeline does), then what validation should have caught."""
    for post in posts:
        reason = _validate(post)
        if reason:
            return Result(f"rejected:{reason}", posts)
    for post in posts:
        found = defects(post)
        if found:
            return Result(f"garbage:{found[0]}", posts)
    if posts:
        return Result("post", posts)
    return Result(f"rejected:{_reason(skipped[0]) if skipped else 'no_post'}")


# If `validate.rejection` learns which hosts a post may live on (the fix proposed for
# off-site URLs), these tests hand it the publication's.
_REJECTION_TAKES_HOSTS = "allowed_hosts" in inspect.signature(rejection).parameters


def _validate(post: Post) -> str | None:
    if _REJECTION_TAKES_HOSTS:
        return rejection(post, allowed_hosts=PUBLICATION_HOSTS)
    return rejection(post)


def _reason(text: str) -> str:
    """A parser's skip message as a short reason: "edge 0: id 'x' is not 8-12 hex" -> bad_id."""
    for words, reason in (
        ("hex", "bad_id"),
        ("uniqueSlug", "no_url"),
        ("not an object", "not_object"),
        ("no link", "no_post_link"),
    ):
        if words in text:
            return reason
    return "skipped"


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


# What a stored post must be -----------------------------------------------------------------

# White space, control characters and backslashes have no place in a stored URL.
_URL_JUNK = re.compile(r"[\s\x00-\x1f\x7f\\]")
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")
_TEXT_FIELDS = ("title", "subtitle", "account", "published_text", "image_id", "image_url")


def host_allowed(host: str, extra: frozenset[str] = frozenset()) -> bool:
    """The publication's domain, medium.com or a medium.com subdomain."""
    host = host.lower().rstrip(".")
    return host in PUBLICATION_HOSTS or host in extra or host.endswith(".medium.com")


def url_defect(url: Any, *, check_host: bool = True) -> str | None:
    """Why `url` is not a clean, on-site http(s) URL without query, fragment or user info."""
    if not isinstance(url, str):
        return "bad_url"
    if _URL_JUNK.search(url):
        return "bad_url"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port out of range)
    except ValueError:
        return "bad_url"
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return "bad_url"
    if parts.query or parts.fragment:
        return "bad_url"
    if check_host and not host_allowed(parts.hostname):
        return "offsite_url"
    return None


def defects(post: Post) -> list[str]:
    """What is wrong with a post that passed validation; [] for a clean post."""
    found = []
    if not isinstance(post.id, str) or not HEX_ID.fullmatch(post.id):
        found.append("bad_id")
    if defect := url_defect(post.url):
        found.append(defect)
    if not isinstance(post.title, str) or not post.title.strip():
        found.append("no_title")
    for name in _TEXT_FIELDS:
        value = getattr(post, name)
        if value is not None and not isinstance(value, str):
            found.append(f"bad_type_{name}")
    texts = [getattr(post, name) for name in _TEXT_FIELDS]
    texts += [post.id, post.url, *post.authors] if isinstance(post.authors, list) else ["?"]
    if not isinstance(post.authors, list) or not all(
        isinstance(a, str) and a for a in post.authors
    ):
        found.append("bad_authors")
    elif any(isinstance(t, str) and not _encodable(t) for t in texts):
        found.append("unencodable_text")  # SQLite refuses it: the store pipeline would raise
    minutes = post.read_minutes
    if minutes is not None and (
        isinstance(minutes, bool)
        or not isinstance(minutes, int)
        or not 0 <= minutes <= MAX_READ_MINUTES
    ):
        found.append("bad_read_minutes")
    if post.published is not None and not _sane_date(post.published, post.published_precision):
        found.append("insane_date")
    if post.image_id is not None and ("/" in post.image_id or _URL_JUNK.search(post.image_id)):
        found.append("bad_image_id")
    if post.image_url is not None and not post.image_url.startswith("https://miro.medium.com/"):
        found.append("bad_image_url")
    if post.member_only is not None and not isinstance(post.member_only, bool):
        found.append("bad_type_member_only")
    return found


def entry_defect(entry: Any) -> str | None:
    """Why a sitemap entry is unusable. Only the scheme, white space and the id count: the
    spider fetches a child sitemap by its path from the host it reached, and takes nothing
    but the id from a post entry."""
    url = entry.url
    if not isinstance(url, str) or _SPACE_OR_CONTROL.search(url):
        return "bad_url"
    if urlsplit(url).scheme not in ("http", "https"):
        return "bad_url"
    if entry.post_id is not None and not HEX_ID.fullmatch(entry.post_id):
        return "bad_id"
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _sane_date(value: Any, precision: Any) -> bool:
    if not isinstance(value, str) or precision not in PRECISIONS:
        return False
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return EARLIEST <= moment <= LATEST


# Running a case in a child process, with a time limit ---------------------------------------


@dataclass
class Bounded:
    """What `classify_bounded` saw: the outcome, the CPU seconds the parser took (wall
    seconds for a timeout) and a summary of the posts."""

    outcome: str
    seconds: float
    posts: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.outcome.startswith(("crash:", "garbage:"))


def classify_bounded(parser: str, data: Input, seconds: float = 5.0) -> Bounded:
    """`run` in a forked child, killed after `seconds` (wall clock): a parser that hangs is
    a finding, not a hung test run. The clock starts once the child has built its input;
    the outcome is "crash:timeout" when the child had to be killed."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: build, say ready, run, report as JSON, exit without cleanup
        try:
            os.close(read_end)
            built = materialize(data)
            os.write(write_end, b"R")
            started = time.process_time()
            result = run(parser, built)
            report = {
                "outcome": result.outcome,
                "seconds": time.process_time() - started,
                "posts": [_summary(post) for post in result.posts[:50]],
            }
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(json.dumps(report).encode("ascii"))
        finally:
            os._exit(0)
    os.close(write_end)
    try:
        return _collect_child(pid, read_end, seconds)
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)


def _collect_child(pid: int, pipe: int, seconds: float) -> Bounded:
    received = b""
    deadline = time.perf_counter() + 60  # building a 10 MB input takes well under a second
    started = None
    while True:
        ready, _, _ = select.select([pipe], [], [], max(0.0, deadline - time.perf_counter()))
        if not ready:
            os.kill(pid, signal.SIGKILL)
            waited = time.perf_counter() - (started or deadline)
            return Bounded("crash:timeout", waited)
        chunk = os.read(pipe, 1 << 16)
        if not chunk:
            break
        if started is None and chunk.startswith(b"R"):
            started = time.perf_counter()
            deadline = started + seconds
            chunk = chunk[1:]
        received += chunk
    if not received:
        return Bounded("crash:child died without an answer", 0.0)
    report = json.loads(received)
    return Bounded(report["outcome"], report["seconds"], report["posts"])


def _summary(post: Post) -> dict:
    def cut(value: Any) -> Any:
        return value[:200] if isinstance(value, str) else value

    return {
        "id": cut(post.id),
        "url": cut(post.url),
        "title": cut(post.title),
        "title_length": len(post.title) if isinstance(post.title, str) else None,
        "read_minutes": post.read_minutes,
        "published": cut(post.published),
        "published_precision": post.published_precision,
    }


# Report script ------------------------------------------------------------------------------


def report(generated: int = 200) -> int:
    """Print the outcome of every hand-made case and a tally over generated inputs."""
    problems = 0
    for parser in PARSERS:
        cases = CASES[parser]()
        tally: Counter[str] = Counter()
        print(f"\n== {parser}: {len(cases)} hand-made cases")
        for name, data in cases:
            result = classify_bounded(parser, data)
            tally[result.outcome.split(":")[0]] += 1
            flag = "  " if result.ok else "!!"
            print(f"{flag} {name:<40} {result.outcome[:90]:<60} {result.seconds:6.2f}s")
            problems += not result.ok
        outcomes = _sample(parser, generated)
        bad = {k: v for k, v in outcomes.items() if k.startswith(("crash:", "garbage:"))}
        problems += sum(bad.values())
        print(f"   hand-made: {dict(tally)}")
        print(f"   generated ({sum(outcomes.values())}): "
              f"{dict(Counter(k.split(':')[0] for k in outcomes.elements()))}")  # fmt: skip
        for outcome, count in sorted(bad.items()):
            print(f"!! generated x{count}: {outcome[:120]}")
    print(f"\n{problems} problem(s)")
    return 1 if problems else 0


def _sample(parser: str, count: int) -> Counter[str]:
    """Outcomes of `count` generated inputs for `parser` (deterministic)."""
    from hypothesis import HealthCheck, given, settings

    outcomes: Counter[str] = Counter()

    @settings(max_examples=count, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(STRATEGIES[parser]())
    def sample(data: Any) -> None:
        outcomes[classify(parser, data)] += 1

    sample()
    return outcomes


if __name__ == "__main__":
    sys.setrecursionlimit(1000)
    sys.exit(report(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
