"""`archive-spider`: a thin command line over the crawl and shard-merge library."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

import click

from . import snapshot
from .cli_common import (
    LockedOut,
    OneLineErrors,
    UsageProblem,
    check_partition,
    check_source,
    db_option,
    parse_setting,
    progress_mode,
)
from .crawl import run_crawl
from .datasette import METADATA
from .dates import format_instant, parse_reference
from .freshness import stale_publications
from .lock import Locked, hold_lock
from .outcome import (
    EXIT_CODES,
    EXIT_FAILED,
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
)
from .publications import parse_duration, read_publications
from .shards import ShardError, merge_shards
from .storage import StorageError, archive_status, check_database, publication_runs

# Characters Datasette cannot have in a database path (it builds an unescaped file: URI).
DATASETTE_UNSAFE = "#?"
EXIT_CODE_HELP = "\n".join(f"  {code}  {text}" for code, text in EXIT_CODES.items())


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="archive-spider")
def main() -> None:
    """Archive a Medium publication's posts into a SQLite database for Datasette."""


@main.command(epilog=f"\b\nExit codes:\n{EXIT_CODE_HELP}")
@click.argument("sources", nargs=-1)
@db_option("The archive database (created if missing).")
@click.option(
    "--publications",
    "publication_list",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A CSV of publications to crawl (columns url, optional name and part), each "
    "walked as its own chain with its own run row.",
)
@click.option(
    "--part",
    metavar="I/N",
    help="Crawl only part I of N of --publications (a `part` column pins a publication, "
    "else a hash of its URL decides), at 1/N of the politeness budget.",
)
@click.option(
    "--as-of",
    help="Resolve relative dates ('2d ago') against this time (ISO 8601, UTC). "
    "Default: now; for the bundled snapshot, its estimated capture date.",
)
@click.option(
    "--full",
    is_flag=True,
    help="Walk the whole listing and read every day sitemap even if the archive is up to "
    "date (about one request per publishing day).",
)
@click.option(
    "--max-time",
    metavar="DURATION",
    help="Stop the run after this long (e.g. 50m, 2h), like an outage: exit 4, committed "
    "pages kept, the next run resumes. For scheduled runs that must not overlap.",
)
@click.option(
    "--audit",
    type=click.IntRange(min=0),
    default=0,
    metavar="N",
    help="Also read N day sitemaps each publication's last runs read least recently: a "
    "weekly --audit checks every day in turn.",
)
@click.option(
    "--images",
    is_flag=True,
    help="Also keep each post's thumbnail in the archive, from Medium's image CDN in its own "
    "download slot; on an existing archive, fetch those it lacks (ARCHIVE_IMAGE_* settings).",
)
@click.option(
    "--setting",
    "-s",
    "settings",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a Scrapy setting (repeatable), e.g. -s DOWNLOAD_DELAY=2.",
)
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=0,
    metavar="SECONDS",
    help="If another crawl is writing to --db, wait this long for it (default: exit 5 at once).",
)
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON.")
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    help="Show Scrapy's log on stderr at this level (default: no log).",
)
def crawl(
    sources,
    db_path,
    publication_list,
    part,
    as_of,
    full,
    max_time,
    audit,
    images,
    settings,
    wait,
    quiet,
    as_json,
    log_level,
):
    """Archive SOURCES (capture files, HTML pages or publication URLs) and the
    publications of --publications into --db.

    With neither, archives the bundled snapshot of the Netflix TechBlog homepage.
    """
    if not sources and not publication_list:
        sources = (str(snapshot.capture_path()),)
        as_of = as_of or snapshot.CAPTURE_AS_OF
    for source in sources:
        check_source(source)
    share = check_partition(publication_list, part)
    if as_of:
        try:
            parse_reference(as_of)
        except ValueError as error:
            raise UsageProblem(f"--as-of: {error}") from error
    try:
        check_database(db_path)
    except StorageError as error:
        raise UsageProblem(str(error)) from error
    overrides = {
        "ARCHIVE_PROGRESS": progress_mode(quiet or as_json),
        "ARCHIVE_LOCK_WAIT": wait,
        "ARCHIVE_AUDIT": audit,
    }
    if images:
        overrides["ARCHIVE_IMAGES"] = True
    if max_time is not None:
        try:
            overrides["CLOSESPIDER_TIMEOUT"] = parse_duration(max_time).total_seconds()
        except ValueError as error:
            raise UsageProblem(f"--max-time: {error}") from error
    overrides.update(parse_setting(text) for text in settings)
    try:
        with hold_lock(db_path, wait):
            report = run_crawl(
                list(sources),
                db_path,
                publications=publication_list,
                part=share,
                as_of=as_of,
                full=full,
                log_level=log_level,
                **overrides,
            )
    except Locked as error:
        raise LockedOut(str(error)) from error
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    elif not quiet:
        click.echo(report.summary())
    walks = report.walks
    if not quiet and not as_json:
        for source, walk in walks.items():
            for warning in walk.get("warnings", ()):
                click.echo(f"warning: {source}: {warning}", err=True)
    if len(walks) > 1:
        for source, walk in walks.items():
            if walk["error"]:
                click.echo(f"error: {source}: {walk['error']}", err=True)
    elif report.outcome.error:
        click.echo(f"error: {report.outcome.error}", err=True)
    sys.exit(report.outcome.exit_code)


@main.command(
    epilog=f"\b\nExit codes:\n  {EXIT_OK}  the archive is readable (and, with --expect, every "
    f"publication is fresh)\n  {EXIT_FAILED}  --expect: a publication has no successful run "
    f"within --max-age\n  {EXIT_USAGE}  usage error: no archive, or a bad --expect or --max-age"
)
@db_option("The archive database.")
@click.option("--runs", default=10, show_default=True, help="How many recent runs to list.")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.option(
    "--expect",
    "expected_list",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A publication list (CSV, as for crawl --publications): exit 1 naming every "
    "publication without a successful run within --max-age.",
)
@click.option(
    "--max-age",
    default="26h",
    show_default=True,
    help="With --expect: how recent a successful run must be (e.g. 26h, 90m, 2d).",
)
def status(db_path, runs, as_json, expected_list, max_age):
    """Show how many posts the archive holds, its newest post and its recent runs."""
    try:
        age = parse_duration(max_age)
        expected = read_publications(expected_list) if expected_list else []
        report = archive_status(db_path, runs)
        stale = stale_publications(
            expected,
            publication_runs(db_path, [entry.url for entry in expected]),
            max_age=age,
            now=datetime.now(timezone.utc),
        )
    except (StorageError, ValueError) as error:  # ValueError: a bad list or --max-age
        raise UsageProblem(str(error)) from error
    if expected_list:
        report["expected"] = len(expected)
        report["stale"] = [entry.describe(age) for entry in stale]
    if as_json:
        click.echo(json.dumps(report, indent=2))
        sys.exit(1 if stale else 0)
    click.echo(
        f"{report['posts']} posts, newest published {report['newest_published'] or '-'}; "
        f"last good run finished {report['last_ok_finished'] or 'never'}"
        + (f" ({report['hours_since_last_ok']:.1f} h ago)" if report["last_ok_finished"] else "")
    )
    for days in report["sitemap_days"]:
        click.echo(
            f"  {days['name'] or days['publication']}: sitemap days audited "
            f"{days['read']}/{days['days']}, oldest audit {(days['oldest_read'] or 'never')[:10]}"
        )
    if report["images"]:
        click.echo("  " + _images_line(report["images"]))
    for outage in report["outages"]:
        click.echo(f"  {outage['source']}: last outage, site not answering since {outage['since']}")
    for run in report["runs"]:
        click.echo(
            f"  #{run['id']} {run['started']} {run['status']:<11} {run['source']}: "
            f"pages {run['pages']}, new {run['posts_new']}, updated {run['posts_updated']}, "
            f"errors {run['errors']}"
            + _checks(run)
            + (f" - {run['error']}" if run["error"] else "")
        )
    if expected_list:
        click.echo(f"{len(expected) - len(stale)} of {len(expected)} expected publications fresh")
        for entry in stale:
            click.echo(f"error: {entry.describe(age)}", err=True)
        sys.exit(1 if stale else 0)


def _images_line(counts: dict) -> str:
    """How many of the posts' thumbnails the archive keeps (`crawl --images`)."""
    wanted = counts["stored"] + counts["gone"] + counts["missing"]
    return (
        f"images kept {counts['stored']} of {wanted} ({counts['bytes'] / 1024:.1f} KiB), "
        f"gone {counts['gone']} (404/410), not fetched yet {counts['missing']}"
    )


def _checks(run: dict) -> str:
    """What a run line adds: the sources that failed, fields they disagreed on, and what
    `--images` did."""
    shown = ""
    checks = (
        ("source_failures", "sources failed"),
        ("disagreements", "disagreed"),
        ("images", "images"),
    )
    for column, label in checks:
        counts = json.loads(run.get(column) or "{}")
        if counts:
            shown += f", {label}: " + ", ".join(f"{k} {v}" for k, v in counts.items())
    return shown


@main.command()
@db_option("The archive database.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8001, show_default=True, type=int)
def serve(db_path, host, port):
    """Browse and search the archive in Datasette (safe while a crawl writes to it)."""
    try:
        archive_status(db_path, 0)
    except StorageError as error:
        raise UsageProblem(str(error)) from error
    if importlib.util.find_spec("datasette") is None:
        raise UsageProblem("Datasette is not installed: pip install 'archive-spider[serve]'")
    if any(char in str(db_path) for char in DATASETTE_UNSAFE):
        # Datasette opens `file:<path>?mode=ro` without escaping the path.
        raise UsageProblem(
            f"Datasette cannot open {db_path}: its path holds '#' or '?'; rename the archive"
        )
    command = [sys.executable, "-m", "datasette", "serve", str(db_path)]
    command += ["--metadata", str(METADATA), "--host", host, "--port", str(port)]
    os.execv(sys.executable, command)


@main.command(
    "merge",
    epilog="\b\nExit codes:\n"
    f"  {EXIT_OK}  every shard merged\n"
    f"  {EXIT_FAILED}  a shard failed half way: it was rolled back and the later shards not "
    "merged\n"
    f"  {EXIT_USAGE}  usage error: a missing, foreign or outdated shard (nothing is written)\n"
    f"  {EXIT_PARTIAL}  a publication was skipped: its latest run in a shard did not end well\n"
    f"  {EXIT_LOCKED}  locked: a crawl is writing to a shard (refused) or to the archive",
)
@click.argument("shards", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--into",
    required=True,
    type=click.Path(path_type=Path),
    help="The archive to merge the shards into (created if missing).",
)
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=0,
    metavar="SECONDS",
    help="If a crawl is writing to --into, wait this long for it (default: exit 5 at once).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the merge report as JSON.")
def merge_command(shards, into, wait, as_json):
    """Merge SHARD archives (crawled in parts) into --into, each shard in one transaction.

    A shard a crawl is writing is refused; a publication whose latest run in a shard
    failed or did not finish gives no posts from that shard.
    """
    now = format_instant(datetime.now(timezone.utc))
    try:
        report = merge_shards(list(shards), into, now=now, wait=wait)
    except ShardError as error:
        raise UsageProblem(str(error)) from error
    except Locked as error:
        raise LockedOut(str(error)) from error
    click.echo(json.dumps(report.as_dict(), indent=2) if as_json else report.summary())
    for result in report.shards:
        if result.error:
            click.echo(f"error: {result.error}", err=True)
    for skipped in report.skipped:
        click.echo(
            f"warning: {skipped.shard}: kept the archive's posts of {skipped.url}, "
            f"whose latest run there is {skipped.status}",
            err=True,
        )
    sys.exit(report.exit_code)
