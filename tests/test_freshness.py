"""status --expect: which listed publications lack a recent successful run."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from helpers import run_cli

from archive_spider.freshness import stale_publications
from archive_spider.publications import Listed
from archive_spider.storage import Archive, PublicationRuns, publication_runs

NOW = datetime(2025, 12, 1, 12, tzinfo=timezone.utc)
NETFLIX = "https://netflixtechblog.com/"
AIRBNB = "https://medium.com/airbnb-engineering"
UBER = "https://medium.com/uber-engineering"


def record_run(archive: Archive, source: str, started: str, status: str | None) -> None:
    crawl_id = archive.begin_crawl(source=source, started=started, as_of=started)
    if status is not None:
        archive.update_crawl(crawl_id, status=status, finished=started)
        archive.commit()


def test_only_ok_runs_within_the_window_count(tmp_path):
    db = tmp_path / "archive.db"
    with Archive(db) as archive:
        record_run(archive, NETFLIX, "2025-12-01T02:00:00Z", "ok")  # fresh
        record_run(archive, AIRBNB, "2025-11-29T02:00:00Z", "ok")  # 58 h old
        record_run(archive, AIRBNB, "2025-12-01T02:00:00Z", "failed")
        record_run(archive, UBER, "2025-12-01T02:00:00Z", None)  # killed: still 'running'
    listed = [Listed(NETFLIX), Listed(AIRBNB, name="Airbnb"), Listed(UBER)]
    runs = publication_runs(db, [entry.url for entry in listed])
    assert runs[1] == PublicationRuns(AIRBNB, "2025-11-29T02:00:00Z", "failed", None)
    stale = stale_publications(listed, runs, max_age=timedelta(hours=26), now=NOW)
    assert [entry.listed.url for entry in stale] == [AIRBNB, UBER]
    assert stale[0].describe(timedelta(hours=26)) == (
        f"{AIRBNB} (Airbnb): no successful run in the last 26h "
        "(last ok: 2025-11-29T02:00:00Z; latest run: failed)"
    )
    assert "(last ok: never; latest run: running)" in stale[1].describe(timedelta(hours=26))
    wider = stale_publications(listed, runs, max_age=timedelta(days=3), now=NOW)
    assert [entry.listed.url for entry in wider] == [UBER]


def test_status_expect_refuses_a_bad_list_or_age(tmp_path):
    db = tmp_path / "archive.db"
    with Archive(db):
        pass
    listed = tmp_path / "list.csv"
    listed.write_text(f"url\n{NETFLIX}\n")
    bad_age = run_cli("status", "--db", str(db), "--expect", str(listed), "--max-age", "soon")
    assert bad_age.returncode == 2
    assert "expected a duration such as 26h" in bad_age.stderr
    missing = run_cli("status", "--db", str(db), "--expect", str(tmp_path / "none.csv"))
    assert missing.returncode == 2
    assert "none.csv: no such file" in missing.stderr
    never = run_cli("status", "--db", str(db), "--expect", str(listed))
    assert never.returncode == 1
    assert f"error: {NETFLIX}: no successful run in the last 26h" in never.stderr
