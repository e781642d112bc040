"""Merge shard archives into one archive: `merge_shards(shards, into, now=...) -> MergeReport`.

A partitioned crawl writes each part into its own shard (an archive of the same schema); one
process then folds the shards into the archive, a shard known by its identity (a uid made
with its schema: a copy keeps it, a new shard under an old file name has its own). Each is
merged in one transaction while its lock is held (a shard a crawl is writing is refused):
its run rows are copied, upserted on (shard, id in the shard), its posts are merged field by
field with the crawl's `merge`, and its publications are recorded. A publication whose
latest run in the shard did not end well gives no posts: the archive keeps what it holds.
A shard that fails half way is rolled back and the merge stops, earlier shards kept.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .lock import Locked, hold_lock, lock_path
from .merge import merge
from .outcome import EXIT_FAILED, EXIT_LOCKED, EXIT_OK, EXIT_PARTIAL
from .storage import (
    SCHEMA_VERSION,
    Archive,
    ShardPost,
    ShardReader,
    StorageError,
    check_database,
)

# A publication's posts are merged only when its latest run in the shard ended with these.
GOOD_RUNS = ("ok", "partial")


class ShardError(Exception):
    """A shard that cannot be merged, found before anything is written: one line for the user."""


@dataclass(frozen=True, order=True)
class Skipped:
    """A publication a shard gave no posts of, because its latest run there ended `status`."""

    url: str
    shard: str
    status: str


@dataclass
class ShardResult:
    """What merging one shard did; `status` is "ok", "refused" (a crawl holds it) or "failed"."""

    shard: str
    shard_uid: str
    path: str
    status: str = "ok"
    runs_copied: int = 0
    posts_new: int = 0
    posts_updated: int = 0
    posts_unchanged: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    error: str | None = None


@dataclass
class MergeReport:
    """The shards merged in order; after a failed one, the rest are left `unmerged`."""

    into: Path
    shards: list[ShardResult] = field(default_factory=list)
    unmerged: list[str] = field(default_factory=list)

    def total(self, name: str) -> int:
        return sum(getattr(result, name) for result in self.shards)

    @property
    def skipped(self) -> list[Skipped]:
        return [skip for result in self.shards for skip in result.skipped]

    @property
    def refused(self) -> list[ShardResult]:
        return [result for result in self.shards if result.status == "refused"]

    @property
    def failed(self) -> ShardResult | None:
        return next((result for result in self.shards if result.status == "failed"), None)

    @property
    def status(self) -> str:
        """failed (a shard failed), locked (a shard refused), partial (skipped) or ok."""
        if self.failed:
            return "failed"
        if self.refused:
            return "locked"
        return "partial" if self.skipped else "ok"

    @property
    def exit_code(self) -> int:
        codes = {"failed": EXIT_FAILED, "locked": EXIT_LOCKED, "partial": EXIT_PARTIAL}
        return codes.get(self.status, EXIT_OK)

    def summary(self) -> str:
        merged = sum(result.status == "ok" for result in self.shards)
        text = (
            f"{self.status}: merged {merged} of {len(self.shards) + len(self.unmerged)} shard(s) "
            f"into {self.into}: runs {self.total('runs_copied')}, "
            f"posts new {self.total('posts_new')}, updated {self.total('posts_updated')}, "
            f"unchanged {self.total('posts_unchanged')}, "
            f"refused {len(self.refused)}, publications skipped {len(self.skipped)}"
        )
        if self.failed:
            text += f"; {self.failed.shard} failed and was rolled back"
        if self.unmerged:
            text += f"; not merged: {', '.join(self.unmerged)}"
        return text

    def as_dict(self) -> dict:
        names = ("runs_copied", "posts_new", "posts_updated", "posts_unchanged")
        return {
            "status": self.status,
            "exit_code": self.exit_code,
            "into": str(self.into),
            **{name: self.total(name) for name in names},
            "shards": [asdict(result) for result in self.shards],
            "unmerged": self.unmerged,
        }


def merge_shards(shards: list[Path], into: Path, *, now: str, wait: float = 0) -> MergeReport:
    """Merge `shards` in order into the archive `into` (created if missing).

    Raises ShardError, before writing anything, for a shard that cannot be merged, and
    Locked when another process writes `into` for longer than `wait` seconds. `now` dates
    the `merges` rows.
    """
    identities = {path: uid for uid, path in check_shards(shards, into).items()}
    report = MergeReport(into)
    with hold_lock(into, wait), Archive(into) as archive:
        for position, path in enumerate(shards):
            result = _merge_shard(archive, path, identities[path], now)
            report.shards.append(result)
            if result.status == "failed":
                report.unmerged = [later.name for later in shards[position + 1 :]]
                break
    return report


def check_shards(shards: list[Path], into: Path) -> dict[str, Path]:
    """The shards by identity; ShardError unless each is another archive of this schema."""
    if not shards:
        raise ShardError("no shard to merge")
    try:
        check_database(into)
    except StorageError as error:
        raise ShardError(str(error)) from error
    by_uid: dict[str, Path] = {}
    for path in shards:
        if not path.exists():
            raise ShardError(f"shard not found: {path}")
        if not path.is_file():
            raise ShardError(f"shard {path} is not a file")
        if path.resolve() == into.resolve():
            raise ShardError(f"shard {path} is the archive merged into")
        uid = shard_uid(path)
        if uid in by_uid:
            raise ShardError(f"shards {by_uid[uid]} and {path} are copies of one shard")
        by_uid[uid] = path
    own_uid = _archive_uid(into)
    if own_uid in by_uid:
        raise ShardError(f"shard {by_uid[own_uid]} is a copy of {into} itself")
    return by_uid


def _archive_uid(into: Path) -> str | None:
    """The identity of the archive merged into; None while it has none (new or older)."""
    try:
        return shard_uid(into) if into.is_file() else None
    except ShardError:  # an empty file or an older schema: it gets its identity when opened
        return None


def shard_uid(path: Path) -> str:
    """The identity of the archive at `path`; ShardError unless it has this schema."""
    try:
        check_database(path)
        with ShardReader(path) as shard:
            version = shard.schema_version()
            if version == 0:
                raise ShardError(f"shard {path} is not an archive (it holds no archive schema)")
            if version != SCHEMA_VERSION:
                raise ShardError(
                    f"shard {path} has archive schema version {version}, not "
                    f"{SCHEMA_VERSION}: run a crawl with this version of archive_spider on it first"
                )
            return shard.uid()
    except (StorageError, sqlite3.Error) as error:
        raise ShardError(str(error)) from error


def _merge_shard(archive: Archive, path: Path, uid: str, now: str) -> ShardResult:
    """Merge one shard in one transaction and record it in `merges`, whatever happened."""
    result = ShardResult(shard=path.name, shard_uid=uid, path=str(path.resolve()))
    try:
        with hold_lock(path):
            archive.begin()
            _fold(archive, path, result)
            _record(archive, result, now)
            archive.commit()
            return result
    except Locked:
        holder = lock_path(path).read_text(errors="replace").strip() or "?"
        error = f"shard {path.name} is being written by a crawl (pid {holder}); merge it later"
        outcome = ShardResult(result.shard, uid, result.path, "refused", error=error)
    except (sqlite3.Error, OSError, ValueError) as error:
        archive.rollback()
        message = f"shard {path.name} failed, nothing merged from it: {error}"
        outcome = ShardResult(result.shard, uid, result.path, "failed", error=message)
    _record(archive, outcome, now)
    archive.commit()
    return outcome


def _fold(archive: Archive, path: Path, result: ShardResult) -> None:
    """Copy the shard's runs, then merge its publications, posts and images (uncommitted)."""
    with ShardReader(path) as shard:
        latest = _copy_runs(archive, shard, result)
        skip = {publication for publication, run in latest.items() if run.status not in GOOD_RUNS}
        result.skipped = sorted(
            Skipped(latest[publication].url, result.shard, latest[publication].status)
            for publication in skip
        )
        for row in shard.publications():  # before their posts, which refer to them
            if row["id"] not in skip:
                archive.save_publication(
                    id=row["id"],
                    url=row["url"],
                    name=row["name"],
                    slug=row["slug"],
                    domain=row["domain"],
                    seen=row["last_seen"],
                    first_seen=row["first_seen"],
                )
        crawl_ids = {publication: run.archive_id for publication, run in latest.items()}
        _merge_posts(archive, shard.posts(), skip, crawl_ids, result)
        archive.merge_images(shard.images())


@dataclass(frozen=True)
class _LatestRun:
    """A publication's latest run in a shard, and the id of its copy in the archive."""

    url: str
    status: str
    archive_id: int


def _copy_runs(
    archive: Archive, shard: ShardReader, result: ShardResult
) -> dict[str | None, _LatestRun]:
    """Upsert the shard's run rows; return each publication's latest run (None: no id).

    Runs are matched by their source URL: a run killed before it read the publication's
    homepage does not know the publication's id, yet it is that publication's latest run.
    """
    by_source: dict[str, _LatestRun] = {}
    publication_of: dict[str, str] = {}
    for run in shard.runs():  # oldest first
        archive_id = archive.copy_run(run, result.shard, result.shard_uid)
        by_source[run["source"]] = _LatestRun(run["source"], run["status"], archive_id)
        if run["publication"] is not None:
            publication_of[run["source"]] = run["publication"]
        result.runs_copied += 1
    latest: dict[str | None, _LatestRun] = {}
    for source, run in by_source.items():
        publication = publication_of.get(source)
        if publication not in latest or run.archive_id > latest[publication].archive_id:
            latest[publication] = run
    return latest


def _merge_posts(
    archive: Archive,
    posts: Iterable[ShardPost],
    skip: set[str | None],
    crawl_ids: dict[str | None, int],
    result: ShardResult,
) -> None:
    """Merge each post of a publication not skipped, field by field, as a crawl does."""
    statuses: Counter[str] = Counter()
    for incoming, first_seen in posts:
        if incoming.publication in skip:
            continue
        stored = archive.get(incoming.id)
        merged, changes = merge(stored, incoming)
        saved = archive.save(
            merged,
            stored,
            changes,
            crawl_ids.get(incoming.publication),
            shard=result.shard,
            first_seen=first_seen,
        )
        statuses[saved.status] += 1
    result.posts_new = statuses["new"]
    result.posts_updated = statuses["updated"]
    result.posts_unchanged = statuses["unchanged"]


def _record(archive: Archive, result: ShardResult, now: str) -> None:
    """Add the shard's `merges` row to the current transaction."""
    row = asdict(result)
    row["skipped"] = [{"url": s.url, "status": s.status} for s in result.skipped]
    archive.record_merge(**row, now=now)
