from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archive_spider.dates import (
    ResolvedDate,
    format_instant,
    from_epoch_ms,
    parse_reference,
    resolve_date,
)
from archive_spider.items import PRECISIONS

UTC = timezone.utc
NOV_6 = datetime(2025, 11, 6, 12, 34, 56, tzinfo=UTC)
JUL_15 = datetime(2025, 7, 15, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "value", "precision"),
    [
        ("2d ago", "2025-11-04", "day_approx"),
        ("1d ago", "2025-11-05", "day_approx"),
        ("7 days ago", "2025-10-30", "day_approx"),
        ("yesterday", "2025-11-05", "day_approx"),
        ("Yesterday", "2025-11-05", "day_approx"),
        ("5h ago", "2025-11-06T07:00:00Z", "hour"),
        ("13h ago", "2025-11-05T23:00:00Z", "hour"),
        ("12m ago", "2025-11-06T12:22:00Z", "minute"),
        ("12min ago", "2025-11-06T12:22:00Z", "minute"),
        ("40 mins ago", "2025-11-06T11:54:00Z", "minute"),
        ("Just now", "2025-11-06T12:34:00Z", "minute"),
        ("now", "2025-11-06T12:34:00Z", "minute"),
        ("Oct 24", "2025-10-24", "day"),
        ("Nov 6", "2025-11-06", "day"),
        ("Nov 7", "2024-11-07", "day"),
        ("Dec 31", "2024-12-31", "day"),
        ("Jan 1", "2025-01-01", "day"),
        ("October 24", "2025-10-24", "day"),
        ("Sept 5", "2025-09-05", "day"),
        ("Nov 26, 2018", "2018-11-26", "day"),
        ("Nov 26 2018", "2018-11-26", "day"),
        ("October 24, 2025", "2025-10-24", "day"),
        ("Sep 4, 2020", "2020-09-04", "day"),
        ("·Oct 24·", "2025-10-24", "day"),
        ("  · Nov 26, 2018 ·  ", "2018-11-26", "day"),
        (" 2d ago\n", "2025-11-04", "day_approx"),
    ],
)
def test_forms(text, value, precision):
    assert resolve_date(text, NOV_6) == ResolvedDate(value, precision)


def test_year_rolls_back_when_the_day_is_after_the_reference():
    assert resolve_date("Oct 24", JUL_15) == ResolvedDate("2024-10-24", "day")
    assert resolve_date("Jul 15", JUL_15) == ResolvedDate("2025-07-15", "day")
    assert resolve_date("Jul 16", JUL_15) == ResolvedDate("2024-07-16", "day")
    assert resolve_date("Oct 24", NOV_6) == ResolvedDate("2025-10-24", "day")


def test_reference_in_another_timezone_is_taken_in_utc():
    late = datetime(2025, 11, 6, 23, 30, tzinfo=timezone(timedelta(hours=-5)))  # Nov 7 UTC
    assert resolve_date("Nov 7", late) == ResolvedDate("2025-11-07", "day")
    assert resolve_date("1h ago", late) == ResolvedDate("2025-11-07T03:00:00Z", "hour")


@pytest.mark.parametrize(
    ("reference", "value"),
    [
        (datetime(2024, 3, 1, tzinfo=UTC), "2024-02-29"),
        (datetime(2024, 2, 29, tzinfo=UTC), "2024-02-29"),
        (datetime(2024, 2, 28, tzinfo=UTC), "2020-02-29"),
        (datetime(2025, 11, 6, tzinfo=UTC), "2024-02-29"),
        (datetime(1904, 2, 28, tzinfo=UTC), "1896-02-29"),  # 1900 is not a leap year
        (datetime(2101, 1, 1, tzinfo=UTC), "2096-02-29"),
    ],
)
def test_feb_29_without_year(reference, value):
    assert resolve_date("Feb 29", reference) == ResolvedDate(value, "day")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "·",
        "hello",
        "Feb 30",
        "Feb 30, 2024",
        "Feb 29, 2023",
        "Apr 31",
        "Oct 32",
        "Oct 0",
        "Oct 99",
        "Mon 12",
        "Octopus 24",
        "Oct",
        "24",
        "2025-10-24",
        "Nov 26, 18",
        "Nov 26, 0000",
        "Dec 1, 2099",  # after the reference
        "99999999d ago",
        "9" * 5000 + "d ago",
        "2x ago",
        "ago",
        "-2d ago",
        "2d",
        "in 2d",
        "Tomorrow",
        "Oct 24 at noon",
        "5 min read",
    ],
)
def test_not_a_date(text):
    assert resolve_date(text, NOV_6) is None


def test_out_of_range_results_are_none():
    first = datetime(1, 1, 1, 0, 30, tzinfo=UTC)
    assert resolve_date("yesterday", first) is None
    assert resolve_date("1h ago", first) is None
    assert resolve_date("Oct 24", first) is None
    assert resolve_date("Jan 1", first) == ResolvedDate("0001-01-01", "day")
    assert resolve_date("now", first) == ResolvedDate("0001-01-01T00:30:00Z", "minute")


@given(
    st.datetimes(timezones=st.just(UTC)),
    st.one_of(
        st.text(),
        st.from_regex(r"\A[0-9]{1,6}(d|h|m|min) ago\Z"),
        st.from_regex(r"\A(Jan|Feb|Mar|Oct|Dec) [0-9]{1,2}(, [0-9]{4})?\Z"),
    ),
)
def test_never_raises_and_never_after_the_reference(reference, text):
    resolved = resolve_date(text, reference)
    if resolved is not None:
        assert resolved.precision in PRECISIONS
        if len(resolved.value) == 10:
            assert date.fromisoformat(resolved.value) <= reference.date()
        else:
            moment = datetime.fromisoformat(resolved.value.replace("Z", "+00:00"))
            assert moment <= reference


def test_from_epoch_ms():
    assert from_epoch_ms(0) == ResolvedDate("1970-01-01T00:00:00Z", "exact")
    assert from_epoch_ms(1730892896789) == ResolvedDate("2024-11-06T11:34:56Z", "exact")
    assert from_epoch_ms(1730892896789.9) == ResolvedDate("2024-11-06T11:34:56Z", "exact")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-11-06", datetime(2025, 11, 6, tzinfo=UTC)),
        ("2025-11-06T12:00", datetime(2025, 11, 6, 12, tzinfo=UTC)),
        ("2025-11-06T12:00:00", datetime(2025, 11, 6, 12, tzinfo=UTC)),
        ("2025-11-06T12:00:00Z", datetime(2025, 11, 6, 12, tzinfo=UTC)),
        ("2025-11-06T12:00:00+02:00", datetime(2025, 11, 6, 10, tzinfo=UTC)),
        ("2025-11-06T01:00:00-03:00", datetime(2025, 11, 6, 4, tzinfo=UTC)),
        (" 2025-11-06T12:00:00.5Z ", datetime(2025, 11, 6, 12, 0, 0, 500000, tzinfo=UTC)),
    ],
)
def test_parse_reference(text, expected):
    parsed = parse_reference(text)
    assert parsed == expected
    assert parsed.tzinfo == UTC


@pytest.mark.parametrize(
    "text",
    [
        "",
        "now",
        "yesterday",
        "Nov 6, 2025",
        "2025-11",
        "2025-13-01",
        "2025-02-30",
        "2025-11-06T25:00",
        "2025-11-06T12",
        "2025-11-06 12:00",
        "2025-11-06T12:00:00+2",
        "20251106",
    ],
)
def test_parse_reference_rejects(text):
    with pytest.raises(ValueError, match="date or time"):
        parse_reference(text)


def test_format_instant():
    assert format_instant(NOV_6) == "2025-11-06T12:34:56Z"
    assert format_instant(datetime(2025, 11, 6, 12, 34, 56, 999999, tzinfo=UTC)) == (
        "2025-11-06T12:34:56Z"
    )
    offset = timezone(timedelta(hours=2))
    assert format_instant(datetime(2025, 11, 6, 1, 0, tzinfo=offset)) == "2025-11-05T23:00:00Z"
    assert format_instant(datetime(2025, 11, 6, 12, 0)) == "2025-11-06T12:00:00Z"
    assert format_instant(datetime(1, 1, 1, tzinfo=UTC)) == "0001-01-01T00:00:00Z"
