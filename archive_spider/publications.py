"""Publication lists: a CSV of publications to crawl, their canonical URLs and their parts.

A list is a CSV file with a header row and the columns `url` (required), `name` and `part`
(both optional). A long list is spread over N machines with `--part i/N`: each publication
goes to the part given in its `part` column, or else to one chosen by a hash of its URL.
The hash is rendezvous hashing: going from N to N + 1 parts moves only the publications the
new part takes (about 1 in N + 1), never one between old parts. A `part` value pins a
publication whatever N is.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
_PART = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*", re.ASCII)
# At most nine digits: int() refuses very long numbers, and no list has a billion parts.
_POSITIVE_INTEGER = re.compile(r"0*[1-9]\d{0,8}", re.ASCII)
_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", re.ASCII | re.IGNORECASE)


class PublicationListError(ValueError):
    """A publication list that cannot be used: one line for the user, naming file and line."""


@dataclass(frozen=True)
class Listed:
    """One publication of a list; `line` is its line in the file."""

    url: str
    name: str | None = None
    part: int | None = None
    line: int | None = None


def normalize_publication_url(url: str) -> str:
    """The publication's key: lower-case scheme and host, no default port, query or fragment,
    and only the path's first segment (`https://medium.com/<slug>`), or `/` if it has none.

    Raises ValueError for a URL that is not http(s), has no host, carries a user name or
    holds a space or control character.
    """
    url = url.strip()
    if any(char.isspace() or not char.isprintable() for char in url):
        raise ValueError(f"{url!r} has a space or control character in it")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise ValueError(f"{url!r} is not a valid URL ({error})") from error
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError(f"{url!r} is not an http(s) URL")
    if "@" in parts.netloc:
        raise ValueError(f"{url!r} has a user name or password in it")
    if not parts.hostname:
        raise ValueError(f"{url!r} has no host")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if port is not None and port != DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    segment = next((s for s in parts.path.split("/") if s), "")
    return f"{scheme}://{host}/{segment}"


def read_publications(path: Path) -> list[Listed]:
    """The publications listed in the CSV file at `path`, with normalized URLs, in file order.

    Raises PublicationListError for an unreadable file, a bad row, a URL listed twice or a
    list without publications.
    """
    text = _read_text(path)
    rows = (
        (line, row)
        for line, row in _numbered_rows(text, path)
        if any(cell.strip() for cell in row) and not row[0].strip().startswith("#")
    )
    header_line, header = next(rows, (None, None))
    if header is None:
        raise PublicationListError(f"{path}: lists no publications")
    columns = _columns(header, f"{path} line {header_line}")
    listed = [_listed(row, columns, line, f"{path} line {line}") for line, row in rows]
    if not listed:
        raise PublicationListError(f"{path}: lists no publications")
    _check_unique(listed, path)
    return listed


def parse_part(text: str) -> tuple[int, int]:
    """`"2/3"` -> `(2, 3)`: part 2 of 3. Raises ValueError unless 1 <= part <= parts."""
    match = _PART.fullmatch(text)
    if not match:
        raise ValueError(f"expected PART/PARTS such as 2/3, not {text!r}")
    part, parts = int(match.group(1)), int(match.group(2))
    _check_part(part, parts)
    return part, parts


def part_of(listed: Listed, parts: int) -> int:
    """The 1-based part of `parts` that `listed` belongs to: its `part` if set, else the part
    whose SHA-256 hash with the normalized URL is highest (rendezvous hashing), the same in
    every process.

    Raises ValueError if its `part` is above `parts`.
    """
    _check_part(1, parts)
    if listed.part is not None:
        if listed.part > parts:
            where = f" (line {listed.line})" if listed.line is not None else ""
            raise ValueError(
                f"{listed.url}{where} is pinned to part {listed.part}, "
                f"but there are only {parts} parts"
            )
        return listed.part
    url = normalize_publication_url(listed.url)
    return max(range(1, parts + 1), key=lambda part: _weight(url, part))


def _weight(url: str, part: int) -> int:
    digest = hashlib.sha256(f"{part} {url}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def select_part(listed: list[Listed], part: int, parts: int) -> list[Listed]:
    """The publications of part `part` of `parts`, in list order."""
    _check_part(part, parts)
    return [publication for publication in listed if part_of(publication, parts) == part]


def parse_duration(text: str) -> timedelta:
    """`"26h"`, `"90m"`, `"2d"`, `"45s"` or `"1h30m"` (units in the order d, h, m, s)."""
    match = _DURATION.fullmatch(text.strip())
    if not text.strip() or not match:
        raise ValueError(f"expected a duration such as 26h, 90m, 2d or 1h30m, not {text!r}")
    days, hours, minutes, seconds = (int(group or 0) for group in match.groups())
    try:
        return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    except OverflowError as error:
        raise ValueError(f"duration too long: {text!r}") from error


def _check_part(part: int, parts: int) -> None:
    if parts < 1:
        raise ValueError(f"the number of parts must be at least 1, not {parts}")
    if not 1 <= part <= parts:
        raise ValueError(f"part {part} is not between 1 and {parts}")


def _read_text(path: Path) -> str:
    """The file's text, decoded as UTF-8 with or without a byte order mark."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as error:
        raise PublicationListError(f"{path}: no such file") from error
    except OSError as error:
        raise PublicationListError(f"{path}: cannot read ({error.strerror})") from error
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise PublicationListError(f"{path} line {line}: not UTF-8 text") from error


def _numbered_rows(text: str, path: Path) -> Iterator[tuple[int, list[str]]]:
    """Each CSV row with the line it starts on (a quoted cell may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    start = 1
    try:
        for row in reader:
            yield start, row
            start = reader.line_num + 1
    except csv.Error as error:
        raise PublicationListError(f"{path} line {reader.line_num}: {error}") from error


def _columns(header: list[str], where: str) -> dict[str, int]:
    """Column name (trimmed, lower case) -> index; `url` must be one of them."""
    columns: dict[str, int] = {}
    for index, cell in enumerate(header):
        name = cell.strip().lower()
        if name in columns:
            raise PublicationListError(f"{where}: column {name!r} appears twice in the header")
        columns[name] = index
    if "url" not in columns:
        raise PublicationListError(f"{where}: the header has no 'url' column")
    return columns


def _listed(row: list[str], columns: dict[str, int], line: int, where: str) -> Listed:
    """One row as a Listed; a short row's missing cells are empty."""

    def cell(name: str) -> str:
        index = columns.get(name)
        return row[index].strip() if index is not None and index < len(row) else ""

    if not cell("url"):
        raise PublicationListError(f"{where}: empty url")
    try:
        url = normalize_publication_url(cell("url"))
    except ValueError as error:
        raise PublicationListError(f"{where}: {error}") from error
    part = cell("part")
    if part and not _POSITIVE_INTEGER.fullmatch(part):
        raise PublicationListError(f"{where}: part must be a positive integer, not {part!r}")
    return Listed(url=url, name=cell("name") or None, part=int(part) if part else None, line=line)


def _check_unique(listed: list[Listed], path: Path) -> None:
    first_line: dict[str, int | None] = {}
    for publication in listed:
        if publication.url in first_line:
            raise PublicationListError(
                f"{path} line {publication.line}: {publication.url} is already listed "
                f"on line {first_line[publication.url]}"
            )
        first_line[publication.url] = publication.line
