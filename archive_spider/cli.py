"""`archive-spider`: a thin command line over the crawl library."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

import click

from . import snapshot
from .crawl import run_crawl
from .datasette import METADATA
from .dates import parse_reference
from .lock import Locked, hold_lock
from .outcome import EXIT_CODES, EXIT_LOCKED, EXIT_USAGE
from .storage import StorageError, archive_status, check_database

EXIT_CODE_HELP = "\n".join(f"  {code}  {text}" for code, text in EXIT_CODES.items())


class UsageProblem(click.ClickException):
    """A user mistake: one line on stderr and the usage exit code, never a traceback."""

    exit_code = EXIT_USAGE

    def show(self, file=None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def db_option(help_text: str):
    return click.option(
        "--db",
        "db_path",
        required=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help=help_text,
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="archive-spider")
def main() -> None:
    """Archive a Medium publication's posts into a SQLite database for Datasette."""


@main.command(epilog=f"\b\nExit codes:\n{EXIT_CODE_HELP}")
@click.argument("sources", nargs=-1)
@db_option("The archive database (created if missing).")
@click.option(
    "--as-of",
    help="Resolve relative dates ('2d ago') against this time (ISO 8601, UTC). "
    "Default: now; for the bundled snapshot, its estimated capture date.",
)
@click.option(
    "--full",
    is_flag=True,
    help="Walk the whole listing and every sitemap even if the archive is up to date.",
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
def crawl(sources, db_path, as_of, full, settings, wait, quiet, as_json, log_level):
    """Archive SOURCES (capture files, HTML pages or publication URLs) into --db.

    With no SOURCE, archives the bundled snapshot of the Netflix TechBlog homepage.
    """
    if not sources:
        sources = (str(snapshot.capture_path()),)
        as_of = as_of or snapshot.CAPTURE_AS_OF
    for source in sources:
        check_source(source)
    if sum(urlsplit(s).scheme in ("http", "https") for s in sources) > 1:
        raise UsageProblem("one publication URL per run: crawl each into its own run")
    if as_of:
        try:
            parse_reference(as_of)
        except ValueError as error:
            raise UsageProblem(f"--as-of: {error}") from error
    try:
        check_database(db_path)
    except StorageError as error:
        raise UsageProblem(str(error)) from error
    overrides = {"ARCHIVE_PROGRESS": progress_mode(quiet or as_json)}
    overrides.update(parse_setting(text) for text in settings)
    try:
        with hold_lock(db_path, wait):
            report = run_crawl(
                list(sources), db_path, as_of=as_of, full=full, log_level=log_level, **overrides
            )
    except Locked as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(EXIT_LOCKED)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    elif not quiet:
        click.echo(report.summary())
    if report.outcome.error:
        click.echo(f"error: {report.outcome.error}", err=True)
    sys.exit(report.outcome.exit_code)


def progress_mode(silent: bool) -> str:
    """A live line on a terminal, a line per page in a log, nothing when asked to be quiet."""
    if silent:
        return "off"
    return "live" if sys.stderr.isatty() else "lines"


@main.command()
@db_option("The archive database.")
@click.option("--runs", default=10, show_default=True, help="How many recent runs to list.")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status(db_path, runs, as_json):
    """Show how many posts the archive holds, its newest post and its recent runs."""
    try:
        report = archive_status(db_path, runs)
    except StorageError as error:
        raise UsageProblem(str(error)) from error
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(
        f"{report['posts']} posts, newest published {report['newest_published'] or '-'}; "
        f"last good run finished {report['last_ok_finished'] or 'never'}"
        + (f" ({report['hours_since_last_ok']:.1f} h ago)" if report["last_ok_finished"] else "")
    )
    for run in report["runs"]:
        click.echo(
            f"  #{run['id']} {run['started']} {run['status']:<11} pages {run['pages']}, "
            f"new {run['posts_new']}, updated {run['posts_updated']}, errors {run['errors']}"
            + (f" - {run['error']}" if run["error"] else "")
        )


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
    command = [sys.executable, "-m", "datasette", "serve", str(db_path)]
    command += ["--metadata", str(METADATA), "--host", host, "--port", str(port)]
    os.execv(sys.executable, command)


def parse_setting(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name.strip():
        raise UsageProblem(f"--setting wants NAME=VALUE, got {text!r}")
    return name.strip(), value


def check_source(source: str) -> None:
    """Refuse a source that cannot be read before any crawl starts."""
    scheme = urlsplit(source).scheme
    if scheme in ("http", "https"):
        return
    path = Path(source[len("file://") :] if scheme == "file" else source)
    if not path.exists():
        raise UsageProblem(f"source not found: {source}")
    if not path.is_file():
        raise UsageProblem(f"source is not a file: {source}")
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as error:
        raise UsageProblem(f"cannot read source {source}: {error.strerror}") from error
