"""parse_capture on the real Netflix TechBlog capture, on small synthetic captures and on noise."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archive_spider.sources import LayoutChanged, capture
from archive_spider.sources.capture import looks_like_capture, parse_capture

FIXTURES = Path(__file__).parent / "fixtures"
REFERENCE = datetime(2025, 11, 6, 12, 30, tzinfo=timezone.utc)
BASE = "https://netflixtechblog.com/"
ACCOUNT = "Netflix Technology Blog"
ID = re.compile(r"^[0-9a-f]{8,12}$")


@pytest.fixture(scope="module")
def text() -> str:
    return (FIXTURES / "netflixtechblog-home.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def blocks(text):
    return parse_capture(text, reference=REFERENCE)


@pytest.fixture(scope="module")
def renderings(blocks):
    return [post for block in blocks for post in block]


@pytest.fixture(scope="module")
def by_id(renderings):
    grouped = defaultdict(list)
    for post in renderings:
        grouped[post.id].append(post)
    return grouped


def shown(posts, name):
    """The distinct non-empty values the renderings of one post show for a field."""
    return {getattr(p, name) for p in posts} - {None}


def test_one_list_per_block_featured_first(text, blocks):
    assert len(blocks) == 14
    assert len(blocks) == 1 + len(re.findall(r"^## Latest$", text, re.MULTILINE))
    assert [p.id for p in blocks[0]] == ["b2d5b95c63eb"] * 2
    assert [p.id for p in blocks[1]] == ["61a538d717a9", "e027cb313f8f"] * 2


def test_one_post_per_card_rendering(text, renderings):
    card_links = len(re.findall(r"^\[## ", text, re.MULTILINE))
    assert card_links == 538
    assert len(renderings) == card_links


def test_distinct_posts_and_their_renderings_agree(by_id):
    assert len(by_id) == 269
    for name in ("title", "published_text", "read_minutes", "image_id", "account", "url"):
        disagree = [i for i, posts in by_id.items() if len(shown(posts, name)) != 1]
        assert disagree == [], name
    assert [i for i, posts in by_id.items() if len({p.subtitle for p in posts}) != 1] == []


def test_four_posts_have_no_subtitle(by_id):
    untitled = sorted(i for i, posts in by_id.items() if posts[0].subtitle is None)
    assert untitled == ["aab780b2f8c8", "eaa0b6145f32", "f3027f58c2e2", "f5ba9266d428"]


def test_every_post_has_an_image_but_eight_wide_renderings_show_none(renderings, by_id):
    assert all(len(shown(posts, "image_id")) == 1 for posts in by_id.values())
    bare = [p.id for p in renderings if p.image_id is None]
    assert len(bare) == 8
    for ident in bare:
        wide, narrow = by_id[ident]
        assert wide.image_id is None
        assert narrow.image_id is not None


def test_shared_title_is_three_posts(by_id):
    same = {
        i: posts[0].subtitle
        for i, posts in by_id.items()
        if posts[0].title == "Title Launch Observability at Netflix Scale"
    }
    assert same == {
        "c88c586629eb": "Part 1: Understanding The Challenges",
        "19ea916be1ed": "Part 2: Navigating Ambiguity",
        "8efe69ebd653": "Part 3: System Strategies and Architecture",
    }


def test_first_card(renderings):
    first = renderings[0]
    assert first.id == "b2d5b95c63eb"
    assert (
        first.url
        == BASE + "supercharging-the-ml-and-ai-development-experience-at-netflix-b2d5b95c63eb"
    )
    assert first.title == "Supercharging the ML and AI Development Experience at Netflix"
    assert first.subtitle.startswith("Netflix accelerates ML/AI development with Metaflow\u2019s")
    assert first.account == ACCOUNT
    assert (first.published_text, first.read_minutes) == ("2d ago", 9)
    assert first.image_id == "1*0I8DAvXCQEN1RpTTC0ZyaQ.jpeg"
    assert first.image_url == "https://miro.medium.com/v2/resize:fit:1400/" + first.image_id
    assert (first.member_only, first.source) == (None, "capture")
    assert first.seen_at == "2025-11-06T12:30:00Z"


@pytest.mark.parametrize(
    ("ident", "date", "minutes", "image"),
    [
        ("61a538d717a9", "Oct 24", 10, "1*N9QNNLspEJJCxQjtNl9HZw.png"),
        ("127b6712359a", "Sep 26", 13, "1*tfnrbP7oD_r9iEesLhACpA.png"),  # alt "Architecture of WAL"
        ("7dd933974f5e", "Sep 4, 2018", 10, "1*6_BrSaP_JSBsJPZP0RPGzA.png"),
        ("a3ee651812a", "Sep 10, 2018", 13, "0*IPlVeq8BVU0aoUY0"),
        ("9bf8e6d0944d", "Oct 15, 2018", 7, "0*umykoOhuLpIOfhC3"),
    ],
)
def test_spot_checks(by_id, ident, date, minutes, image):
    for post in by_id[ident]:
        assert (post.published_text, post.read_minutes, post.image_id) == (date, minutes, image)
        assert post.url.endswith("-" + ident)


def test_last_card_of_the_file(renderings):
    last = renderings[-1]
    assert last.id == "7dd933974f5e"
    assert last.title == (
        "Engineering to Improve Marketing Effectiveness (Part 2)"
        "\u200a—\u200aScaling Ad Creation and Management"
    )
    assert last.subtitle == "Ravi Srinivas Ranganathan, Gopal Krishnan"


def test_titles_are_kept_exactly(by_id):
    assert by_id["80113e124acc"][0].title == (
        "How and Why Netflix Built a Real-Time Distributed Graph: Part 1"
        "\u200a—\u200aIngesting and Processing Data…"
    )
    assert (
        by_id["c118f374fa89"][0].title
        == "ABAC on SpiceDB: Enabling Netflix\u2019s Complex Identity Types"
    )


def test_urls_are_canonical_and_fields_constant(renderings):
    for post in renderings:
        assert ID.match(post.id)
        assert post.url.startswith(BASE)
        assert "?" not in post.url
        assert "source=" not in post.url
        assert post.account == ACCOUNT
        assert post.source == "capture"
        assert post.member_only is None
        assert post.seen_at == "2025-11-06T12:30:00Z"
        assert post.image_url is None or post.image_url.endswith("/" + post.image_id)


@pytest.mark.parametrize(
    ("ident", "published", "precision", "authors"),
    [
        ("b2d5b95c63eb", "2025-11-04", "day_approx", [ACCOUNT]),
        (
            "61a538d717a9",
            "2025-10-24",
            "day",
            ["Keertana Chidambaram", "Qiuling Xu", "Ko-Jen Hsiao", "Moumita Bhattacharya"],
        ),
        ("7dd933974f5e", "2018-09-04", "day", ["Ravi Srinivas Ranganathan", "Gopal Krishnan"]),
    ],
)
def test_dates_and_authors_resolved(by_id, ident, published, precision, authors):
    for post in by_id[ident]:
        assert (post.published, post.published_precision) == (published, precision)
        assert post.authors == authors


def test_every_date_resolves(renderings):
    assert [p.published_text for p in renderings if p.published is None] == []


def test_authors_and_dates_come_from_the_shared_helpers(text, monkeypatch):
    calls = []

    def fake_authors(subtitle, account):
        calls.append((subtitle, account))
        return [f"author of {account}"]

    def fake_date(date_text, reference):
        assert reference is REFERENCE
        return SimpleNamespace(value=f"resolved {date_text}", precision="day")

    monkeypatch.setattr(capture, "post_authors", fake_authors)
    monkeypatch.setattr(capture, "resolve_date", fake_date)
    first = parse_capture(text, reference=REFERENCE)[0][0]
    assert calls[0] == (first.subtitle, ACCOUNT)
    assert len(calls) == len(set(calls)) == 257  # distinct bylines, each resolved once
    assert first.authors == [f"author of {ACCOUNT}"]
    assert (first.published, first.published_precision) == ("resolved 2d ago", "day")


def test_unresolved_date_leaves_published_empty(text, monkeypatch):
    monkeypatch.setattr(capture, "resolve_date", lambda date_text, reference: None)
    first = parse_capture(text, reference=REFERENCE)[0][0]
    assert (first.published, first.published_precision, first.published_text) == (
        None,
        None,
        "2d ago",
    )


SYNTHETIC = """\
![](https://miro.medium.com/v2/resize:fill:64:64/1*logo.png)

## Latest

[## Wide

### By Ann](/wide-0123456789ab?source=x)

[![A](https://miro.medium.com/v2/resize:fill:20:20/1*avatar.jpeg)](https://a.medium.com/?source=x)

[Some Account](https://a.medium.com/?source=x)

·Jan 2, 2020·3 min read

![anything](https://miro.medium.com/v2/da:true/resize:fill:80:53/g:fp:0.1:0.2/1*wide.png)

[## Not a post](/about?source=x)

![next](https://miro.medium.com/v2/resize:fit:660/format:webp/1*narrow.png)

[## No subtitle](https://netflixtechblog.com/plain-abcdef12?source=y#frag)

![stray](https://miro.medium.com/v2/resize:fit:660/1*stray.png)

[Help](https://help.medium.com/?source=x)

[## Last](/last-fedcba98)
"""


def test_synthetic_capture_rules():
    (block,) = parse_capture(SYNTHETIC, reference=REFERENCE)
    wide, plain, last = block
    assert (wide.id, wide.url) == ("0123456789ab", BASE + "wide-0123456789ab")
    assert (wide.title, wide.subtitle, wide.account) == ("Wide", "By Ann", "Some Account")
    assert (wide.published_text, wide.read_minutes) == ("Jan 2, 2020", 3)
    assert wide.image_id == "1*wide.png"
    assert (plain.id, plain.url) == ("abcdef12", BASE + "plain-abcdef12")
    assert (plain.title, plain.subtitle, plain.image_id) == ("No subtitle", None, "1*narrow.png")
    assert (last.account, last.published_text, last.image_id) == (None, None, None)


def test_seen_at_is_utc():
    east = timezone(timedelta(hours=2))
    (block,) = parse_capture(SYNTHETIC, reference=datetime(2025, 1, 1, 1, 0, tzinfo=east))
    assert block[0].seen_at == "2024-12-31T23:00:00Z"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "\n\n  \n",
        "<!DOCTYPE html><html><head><title>Netflix TechBlog</title></head>"
        '<body><h2><a href="/x-0123456789ab">Title</a></h2></body></html>',
        bytes(range(256)).decode("latin-1"),
        "[## Title](/about?source=x)\n",
    ],
)
def test_no_card_is_layout_changed(bad):
    with pytest.raises(LayoutChanged):
        parse_capture(bad, reference=REFERENCE)


def test_header_alone_is_layout_changed(text):
    header = text[: text.index("\n[## ")]
    assert "Netflix TechBlog" in header
    with pytest.raises(LayoutChanged, match="no post card"):
        parse_capture(header, reference=REFERENCE)


def test_looks_like_capture(text):
    assert looks_like_capture(text)
    assert looks_like_capture(SYNTHETIC)
    assert not looks_like_capture("")
    assert not looks_like_capture("<html><body><pre>\n[## Title](/x-0123456789ab)\n</pre></html>")
    assert not looks_like_capture("\ufeff<!doctype html>\n[## Title](/x-0123456789ab)\n")
    assert not looks_like_capture(text[: text.index("\n[## ")])


LINE = st.one_of(
    st.text(max_size=30),
    st.builds(lambda t, h: f"[## {t}]({h})", st.text(max_size=10), st.text(max_size=20)),
    st.builds(lambda t: f"[## {t}", st.text(max_size=10)),
    st.builds(lambda t, h: f"### {t}]({h})", st.text(max_size=10), st.text(max_size=20)),
    st.builds(lambda s: f"/slug-{s}?source=x", st.from_regex(r"[0-9a-f]{6,14}", fullmatch=True)),
    st.builds(lambda d, n: f"·{d}·{n} min read", st.text(max_size=12), st.integers(0, 99999)),
    st.builds(
        lambda kind, i: f"![x](https://miro.medium.com/v2/resize:{kind}/{i})",
        st.sampled_from(["fit:660", "fill:80:53", "fill:20:20", "fit", "fill:1"]),
        st.text(max_size=12),
    ),
    st.builds(lambda t, u: f"[{t}]({u})", st.text(max_size=10), st.text(max_size=20)),
    st.sampled_from(["## Latest", "", "[## Title", "### Sub](/p-0123456789ab?source=q)"]),
)


@settings(max_examples=400, deadline=None)
@given(st.text() | st.lists(LINE, max_size=12).map("\n".join))
def test_arbitrary_text_is_layout_changed_or_valid_posts(noise):
    try:
        blocks = parse_capture(noise, reference=REFERENCE)
    except LayoutChanged:
        return
    assert any(blocks)
    for block in blocks:
        for post in block:
            assert ID.match(post.id)
            assert "?" not in post.url
            assert post.source == "capture"


def test_card_links_that_name_no_post_are_counted_as_skipped(text):
    assert capture.parse_capture_report(text, reference=REFERENCE)[1] == 0
    odd = text.replace("[## ", "[## Not a post](/tagged/streaming)\n\n[## ", 1)
    blocks, skipped = capture.parse_capture_report(odd, reference=REFERENCE)
    assert skipped == 1
    assert sum(map(len, blocks)) == 538
