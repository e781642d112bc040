"""Which day sitemaps a walk reads: only what may hold something new, plus a rotating audit."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from archive_spider.sitemap_plan import Child, child, choose

NOW = datetime(2025, 11, 6, 12, tzinfo=timezone.utc)
DAYS = [date(2025, 11, 3) - timedelta(days=n) for n in range(30)]  # newest first
INDEX = [child(f"/sitemap/posts/{d.year}/posts-{d}.xml", None) for d in DAYS]


def plan(children=INDEX, **kwargs):
    options = {
        "full": False,
        "covered": set(DAYS),
        "since": None,
        "read_at": {},
        "pending": set(),
        "audit": 0,
    }
    return choose(children, **{**options, **kwargs})


def test_the_day_comes_from_the_name_and_the_lastmod_is_parsed():
    assert child("/sitemap/posts/2018/posts-2018-11-26.xml", None) == Child(
        "/sitemap/posts/2018/posts-2018-11-26.xml", date(2018, 11, 26), None
    )
    assert child("/sitemap/tags.xml", "2025-11-02T08:00:00.000Z").lastmod == datetime(
        2025, 11, 2, 8, tzinfo=timezone.utc
    )
    assert child("/sitemap/posts-2025-02-30.xml", "not a date") == Child(
        "/sitemap/posts-2025-02-30.xml", None, None
    )


def test_a_first_walk_with_a_complete_listing_reads_only_its_audit():
    chosen = plan(audit=10)
    assert list(chosen.values()) == ["audit"] * 10
    # Never read first, newest first among them.
    assert list(chosen) == [c.key for c in INDEX[:10]]


def test_a_day_the_listing_does_not_cover_is_a_gap_until_read():
    gap = INDEX[17]
    covered = set(DAYS) - {gap.day}
    assert plan(covered=covered) == {gap.key: "gap"}
    assert plan(covered=covered, read_at={gap.key: NOW}) == {}


def test_a_rerun_with_nothing_new_reads_nothing_with_or_without_lastmod():
    read = {c.key: NOW - timedelta(hours=1) for c in INDEX}
    assert plan(since=NOW - timedelta(hours=1), read_at=read) == {}
    dated = [
        child(c.key, (datetime.combine(c.day, datetime.min.time())).isoformat() + "Z")
        for c in INDEX
    ]
    assert plan(dated, since=NOW - timedelta(hours=1), read_at=read) == {}
    # A day never read but old enough is left to the audit too.
    assert plan(since=NOW) == {}


def test_new_days_and_changed_lastmods_are_read_after_a_completed_walk():
    today = child(f"/sitemap/posts/2025/posts-{NOW.date()}.xml", None)
    changed = child(INDEX[5].key, (NOW - timedelta(minutes=5)).isoformat())
    read = {c.key: NOW - timedelta(hours=1) for c in INDEX}
    covered = {*DAYS, NOW.date()}
    since = NOW - timedelta(hours=1)
    assert plan([today, changed, *INDEX[6:]], covered=covered, since=since, read_at=read) == {
        today.key: "new",
        changed.key: "new",
    }


def test_pending_days_are_read_and_full_reads_everything():
    assert plan(pending={INDEX[29].key}) == {INDEX[29].key: "pending"}
    assert set(plan(full=True)) == {c.key for c in INDEX}


def test_the_audit_rotates_through_every_day():
    read: dict[str, datetime] = {}
    runs = 0
    while len(read) < len(INDEX):
        runs += 1
        for key in plan(audit=7, read_at=read):
            read[key] = NOW + timedelta(hours=runs)
    assert runs == 5  # ceil(30 / 7)
    # Then the least recently read come first again.
    assert list(plan(audit=7, read_at=read)) == [c.key for c in INDEX[5:12]]
