"""merge(stored, incoming): field rules and the properties that make renderings merge cleanly."""

from __future__ import annotations

import itertools
from dataclasses import replace
from functools import reduce

from hypothesis import given
from hypothesis import strategies as st

from archive_spider.items import PRECISIONS, Post
from archive_spider.merge import Change, is_empty, merge

SEEN = "2025-11-06T00:00:00Z"
LATER = "2025-11-07T00:00:00Z"


def post(**values) -> Post:
    return Post(
        **{
            "id": "b2d5b95c63eb",
            "url": "https://netflixtechblog.com/x-b2d5b95c63eb",
            "seen_at": SEEN,
            **values,
        }
    )


def fold(renderings):
    return reduce(lambda stored, incoming: merge(stored, incoming)[0], renderings, None)


def test_first_sighting_is_taken_as_is():
    incoming = post(title="A", source="html")
    assert merge(None, incoming) == (incoming, [])


def test_empty_values_never_overwrite():
    stored = post(title="A", subtitle="S", read_minutes=9, image_id="1*a.png", member_only=True)
    incoming = post(title="", subtitle=None, read_minutes=None, image_id=None, seen_at=LATER)
    merged, changes = merge(stored, incoming)
    assert (merged.title, merged.subtitle, merged.read_minutes, merged.image_id) == (
        "A",
        "S",
        9,
        "1*a.png",
    )
    assert merged.member_only is True
    assert merged.seen_at == LATER
    assert changes == []


def test_a_real_change_is_kept_and_recorded():
    stored = post(title="Old title", read_minutes=9)
    merged, changes = merge(stored, post(title="New title", read_minutes=10, seen_at=LATER))
    assert (merged.title, merged.read_minutes) == ("New title", 10)
    assert set(changes) == {
        Change("title", "Old title", "New title"),
        Change("read_minutes", 9, 10),
    }


def test_an_older_rendering_does_not_undo_a_newer_one():
    stored = post(title="New title", seen_at=LATER)
    merged, changes = merge(stored, post(title="Old title", seen_at=SEEN))
    assert merged.title == "New title"
    assert changes == []


def test_a_more_precise_date_replaces_a_less_precise_one_without_a_change():
    card = post(published="2025-11-04", published_precision="day_approx", published_text="2d ago")
    exact = post(published="2025-11-04T17:03:12Z", published_precision="exact", seen_at=SEEN)
    merged, changes = merge(card, exact)
    assert (merged.published, merged.published_precision) == ("2025-11-04T17:03:12Z", "exact")
    assert merged.published_text == "2d ago"
    assert changes == []
    # ... and a later, vaguer rendering does not bring the vague date back.
    again, changes = merge(merged, replace(card, seen_at=LATER))
    assert again.published == "2025-11-04T17:03:12Z"
    assert changes == []


def test_a_date_that_moves_is_a_change():
    stored = post(published="2018-11-26", published_precision="day", published_text="Nov 26, 2018")
    _, changes = merge(
        stored, post(published="2019-01-02T10:00:00Z", published_precision="exact", seen_at=LATER)
    )
    assert Change("published", "2018-11-26", "2019-01-02T10:00:00Z") in changes


def test_authors_follow_the_merged_byline():
    stored = post(
        subtitle="By Jun He, Yingyi Zhang",
        account="Netflix Technology Blog",
        authors=["Jun He", "Yingyi Zhang"],
    )
    rss = post(
        account="Netflix Technology Blog",
        authors=["Netflix Technology Blog"],
        seen_at=LATER,
        source="rss",
    )
    merged, changes = merge(stored, rss)
    assert merged.authors == ["Jun He", "Yingyi Zhang"]
    assert changes == []


def test_sources_accumulate():
    merged, _ = merge(post(source="html"), post(source="graphql"))
    assert merged.source == "graphql,html"


def test_posts_with_different_ids_do_not_merge():
    try:
        merge(post(), replace(post(), id="0123456789ab"))
    except ValueError as error:
        assert "cannot merge" in str(error)
    else:
        raise AssertionError("merging two posts must fail")


# Properties over renderings of one post --------------------------------------------------

maybe_text = st.sampled_from([None, "", "Alpha", "Beta", "Gamma — δ"])
dates = st.sampled_from(
    [
        (None, None),
        ("2025-11-04", "day_approx"),
        ("2025-11-05", "day_approx"),
        ("2025-10-24", "day"),
        ("2025-11-04T17:00:00Z", "hour"),
        ("2025-11-04T17:03:12Z", "exact"),
        ("2025-11-04T18:00:00Z", "exact"),
    ]
)


ONE_CRAWL = st.just(SEEN)


@st.composite
def renderings(draw, seen_at=ONE_CRAWL):
    published, precision = draw(dates)
    return post(
        title=draw(maybe_text),
        subtitle=draw(st.sampled_from([None, "By Ana Silva and Bo Chen", "A plain subtitle"])),
        account=draw(st.sampled_from([None, "Netflix Technology Blog"])),
        published=published,
        published_precision=precision,
        published_text=draw(st.sampled_from([None, "2d ago", "Oct 24"])),
        read_minutes=draw(st.sampled_from([None, 3, 10])),
        image_id=draw(st.sampled_from([None, "1*a.png", "0*b"])),
        member_only=draw(st.sampled_from([None, True, False])),
        source=draw(st.sampled_from([None, "html", "capture", "graphql"])),
        seen_at=draw(seen_at),
    )


@given(renderings(), renderings())
def test_merge_is_idempotent(a, b):
    merged = fold([a, b])
    assert merge(merged, a)[0] == merged
    assert merge(merged, b)[0] == merged
    assert merge(merged, merged) == (merged, [])


@given(st.lists(renderings(), min_size=1, max_size=5))
def test_result_does_not_depend_on_the_order_of_renderings(items):
    results = {repr(fold(order)) for order in itertools.permutations(items)}
    assert len(results) == 1


@given(st.lists(renderings(seen_at=st.sampled_from([SEEN, LATER])), min_size=1, max_size=5))
def test_no_field_value_is_lost(items):
    merged = fold(items)
    for name in (
        "title",
        "subtitle",
        "account",
        "published",
        "published_text",
        "read_minutes",
        "image_id",
        "member_only",
        "source",
    ):
        if any(not is_empty(getattr(item, name)) for item in items):
            assert not is_empty(getattr(merged, name)), name


@given(renderings(), renderings(seen_at=st.just(LATER)))
def test_changes_describe_exactly_the_replaced_values(stored, incoming):
    merged, changes = merge(stored, incoming)
    for change in changes:
        assert change.old != change.new
        assert getattr(merged, change.field) == change.new
        assert getattr(stored, change.field) == change.old


def test_precisions_are_ordered_from_vague_to_exact():
    assert PRECISIONS[0] == "day_approx" and PRECISIONS[-1] == "exact"
