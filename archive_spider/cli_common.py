"""What the commands of `archive-spider` share: one-line errors and the checks of their input."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlsplit

import click

from .outcome import EXIT_FAILED, EXIT_LOCKED, EXIT_OK, EXIT_USAGE
from .publications import parse_part, read_publications, select_part


class Problem(click.ClickException):
    """An error the user sees as one `error:` line on stderr and an exit code, no traceback."""

    def show(self, file=None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


class UsageProblem(Problem):
    """A user mistake: a bad option, a missing source, an unusable database."""

    exit_code = EXIT_USAGE


class LockedOut(Problem):
    """Another process is writing to the archive."""

    exit_code = EXIT_LOCKED


class OneLineErrors(click.Group):
    """Click's own usage errors (a bad option value, a missing argument) as one `error:` line
    with exit code 2, like every other error of the command, instead of a usage block."""

    def main(self, *args, **kwargs):
        try:
            result = super().main(*args, standalone_mode=False, **kwargs)
        except click.UsageError as error:
            hint = f" (see {error.ctx.command_path} --help)" if error.ctx else ""
            click.echo(f"error: {error.format_message().rstrip('.')}{hint}", err=True)
            sys.exit(EXIT_USAGE)
        except click.ClickException as error:
            error.show()
            sys.exit(error.exit_code)
        except click.exceptions.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(EXIT_FAILED)
        sys.exit(result if isinstance(result, int) else EXIT_OK)


def db_option(help_text: str):
    return click.option(
        "--db",
        "db_path",
        required=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help=help_text,
    )


def check_partition(publication_list: Path | None, part: str | None) -> tuple[int, int]:
    """The (i, N) share of the list to crawl; the list is read once here to refuse a bad one."""
    if part is not None and publication_list is None:
        raise UsageProblem("--part needs --publications")
    try:
        share = parse_part(part) if part else (1, 1)
    except ValueError as error:
        raise UsageProblem(f"--part: {error}") from error
    if publication_list is not None:
        try:
            select_part(read_publications(publication_list), *share)
        except ValueError as error:  # PublicationListError, or a `part` beyond N
            raise UsageProblem(str(error)) from error
    return share


def progress_mode(silent: bool) -> str:
    """A live line on a terminal, a line per page in a log, nothing when asked to be quiet."""
    if silent:
        return "off"
    return "live" if sys.stderr.isatty() else "lines"


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
