"""Tests for the post-preview card parser of publication homepages."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archive_spider.bylines import post_authors
from archive_spider.items import Post
from archive_spider.sources import LayoutChanged
from archive_spider.sources.cards import parse_cards, parse_cards_report

FIXTURES = Path(__file__).parent / "fixtures"
HOME = (FIXTURES / "medium_home.html").read_text(encoding="utf-8")
PAGE_URL = "https://netflixtechblog.com/"
REFERENCE = datetime(2025, 12, 29, 12, 0, tzinfo=timezone.utc)
SEEN_AT = "2025-12-29T12:00:00Z"
ACCOUNT = "Netflix Technology Blog"

CHALLENGE = """<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>
<meta http-equiv="refresh" content="390"></head><body><div class="main-wrapper" role="main">
<div class="main-content"><h1>netflixtechblog.com</h1><h2>Verify you are human by completing
the action below.</h2><noscript>Enable JavaScript and cookies to continue</noscript></div>
</div><script>window._cf_chl_opt={cType: 'managed'};</script></body></html>"""


def card(body: str) -> str:
    """A page holding one card with `body` inside."""
    return f'<html><body><article data-testid="post-preview">{body}</article></body></html>'


def parse(html: str = HOME, page_url: str = PAGE_URL) -> list[Post]:
    return parse_cards(html, page_url=page_url, reference=REFERENCE)


def expected(post_id: str, slug: str, title: str, subtitle: str | None, **fields) -> Post:
    image = fields.pop("image_id")
    return Post(
        id=post_id,
        url=f"https://netflixtechblog.com/{slug}-{post_id}",
        title=title,
        subtitle=subtitle,
        authors=post_authors(subtitle, ACCOUNT),
        account=ACCOUNT,
        image_id=image,
        image_url=f"https://miro.medium.com/v2/resize:fit:1400/{image}",
        source="html",
        seen_at=SEEN_AT,
        **fields,
    )


EXPECTED = [
    expected(
        "3f1c0a9d5b2e",
        "adaptive-backpressure-for-event-pipelines",
        "Adaptive Backpressure for Event Pipelines",
        "How we keep streaming jobs healthy when traffic bursts tenfold",
        published="2025-12-27",
        published_text="2d ago",
        published_precision="day_approx",
        read_minutes=10,
        image_id="1*Qm7hT2cVbN4pL8sXk3dR9w.png",
        member_only=False,
    ),
    expected(
        "a94e7c2d10f8",
        "rebuilding-the-playback-session-service-in-java-21",
        "Rebuilding the Playback Session Service in Java 21",
        "Virtual threads, structured concurrency and what broke along the way",
        published="2025-12-16",
        published_text="Dec 16",
        published_precision="day",
        read_minutes=7,
        image_id="0*Xr4kPz9LmQ2vTc8B",
        member_only=True,
    ),
    expected(
        "5be2093f7c41",
        "netflix-at-qcon-san-francisco-2025",
        "Netflix at QCon San Francisco 2025",
        None,
        published="2025-10-17",
        published_text="Oct 17",
        published_precision="day",
        read_minutes=3,
        image_id="1*h3JkL0pQwErTyUiOa9sDfG.jpeg",
        member_only=False,
    ),
    expected(
        "7d0e4b21a9c6",
        "lessons-from-a-decade-of-chaos-experiments",
        "Lessons from a Decade of Chaos Experiments",
        "By Ana Ruiz and Tom Okafor",
        published="2018-11-26",
        published_text="Nov 26, 2018",
        published_precision="day",
        read_minutes=12,
        image_id="1*Zx8wV5uT2sR1qP0oN9mLkA.png",
        member_only=False,
    ),
]


def test_every_card_of_the_fixture():
    assert parse() == EXPECTED


def test_report_has_no_rejection_for_the_fixture():
    assert parse_cards_report(HOME, page_url=PAGE_URL, reference=REFERENCE) == (EXPECTED, [])


def test_authors_come_from_the_subtitle_byline_else_the_account():
    assert [post.authors for post in parse()] == [
        [ACCOUNT],
        [ACCOUNT],
        [ACCOUNT],
        ["Ana Ruiz", "Tom Okafor"],
    ]


def test_member_only_is_true_or_false():
    assert [post.member_only for post in parse()] == [False, True, False, False]


def test_card_without_h3_has_no_subtitle():
    assert parse()[2].subtitle is None


def test_urls_have_no_query_and_ids_match():
    for post in parse():
        assert "?" not in post.url and "#" not in post.url
        assert post.url.endswith("-" + post.id)


def replace_second(text: str, old: str, new: str) -> str:
    """`text` with the second occurrence of `old` replaced by `new`."""
    second = text.index(old, text.index(old) + len(old))
    return text[:second] + new + text[second + len(old) :]


def test_duplicated_footer_and_image_give_one_value():
    # Make the second rendering of card 0's footer and image disagree: the first one wins.
    html = replace_second(HOME, ">2d ago<", ">5d ago<")
    html = replace_second(html, ">10 min read<", ">11 min read<")
    html = replace_second(html, "/1*Qm7hT2cVbN4pL8sXk3dR9w.png", "/1*Other.png")
    first = parse(html)[0]
    assert (first.published_text, first.published, first.read_minutes) == (
        "2d ago",
        "2025-12-27",
        10,
    )
    assert first.image_id == "1*Qm7hT2cVbN4pL8sXk3dR9w.png"


def test_url_from_the_inner_link_without_data_href():
    html = re.sub(r' data-href="[^"]*"', "", HOME)
    posts = parse(html, page_url="http://127.0.0.1:8123/")
    assert [post.url for post in posts] == [
        post.url.replace("https://netflixtechblog.com/", "http://127.0.0.1:8123/")
        for post in EXPECTED
    ]
    assert [post.id for post in posts] == [post.id for post in EXPECTED]


def test_card_without_post_link_is_skipped_and_reported():
    html = HOME.replace(
        "</div></div></div></div>\n<script>",
        '<article data-testid="post-preview"><a href="/about"><h2>Follow us</h2></a>'
        "</article></div></div></div></div>\n<script>",
    )
    posts, rejected = parse_cards_report(html, page_url=PAGE_URL, reference=REFERENCE)
    assert posts == EXPECTED
    assert rejected == ["card 4: no link to a post (-<8-12 hex> URL)"]


def test_author_from_at_link_never_from_a_post_link():
    html = card(
        '<a href="/@jdoe/why-we-shard-0123456789ab?source=x"><h2>Why We Shard</h2></a>'
        '<a href="/@jdoe?source=x"><img src="https://miro.medium.com/v2/resize:fill:20:20/1*a.png"'
        ' width="20" height="20"></a><a href="/@jdoe?source=x"><p>Jane Doe</p></a>'
    )
    (post,) = parse(html, page_url="https://medium.com/")
    assert (post.url, post.account, post.image_id) == (
        "https://medium.com/@jdoe/why-we-shard-0123456789ab",
        "Jane Doe",
        None,
    )


def test_title_that_looks_like_a_date_is_not_the_date():
    html = card(
        '<div role="link" data-href="/mar-3-0123456789ab"><h2>Mar 3</h2><h3>Jun 1</h3>'
        "<span>Just now·4 min read</span></div>"
    )
    (post,) = parse(html)
    assert (post.title, post.published_text, post.published_precision) == (
        "Mar 3",
        "Just now",
        "minute",
    )
    assert (post.published, post.read_minutes) == ("2025-12-29T12:00:00Z", 4)


def test_card_without_date_or_image_keeps_them_empty():
    (post,) = parse(card('<a href="/x-0123456789ab"><h2>T</h2></a>'))
    assert (post.published, post.published_text, post.read_minutes, post.image_id) == (
        None,
        None,
        None,
        None,
    )
    assert (post.account, post.authors, post.member_only) == (None, post_authors(None, None), False)


@pytest.mark.parametrize("html", [CHALLENGE, "", "<html><body><article>x</article></body></html>"])
def test_page_without_cards_is_a_layout_change(html):
    with pytest.raises(LayoutChanged, match="no post-preview cards"):
        parse(html)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_arbitrary_text_raises_only_layout_changed(text):
    try:
        posts = parse(text)
    except LayoutChanged:
        return
    assert all(isinstance(post, Post) for post in posts)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=40), min_size=4, max_size=4))
def test_arbitrary_card_contents_never_crash(parts):
    href, date, src, width = parts
    html = card(
        f'<div role="link" data-href="{href}"><a href="{href}-0123456789ab"><h2>{date}</h2></a>'
        f'<span>{date}</span><img src="https://miro.medium.com/v2/{src}" width="{width}"></div>'
    )
    for post in parse(html):
        assert post.id and post.url.startswith(("http://", "https://"))
