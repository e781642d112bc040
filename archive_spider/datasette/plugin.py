"""Datasette plugin: archive metadata for any archive database, thumbnails, links, safe CSV.

- `get_metadata` applies the tables, facets and canned queries of `metadata.json`
  (`plugins.archive-spider.archive_database`) to every open database that is an archive,
  whatever its file is called: Datasette keys table metadata by database name.
- `render_cell` links a post's `title` to its `url` (http/https only) with the thumbnail of
  its `image_id`; everything is escaped.
- `register_routes` serves thumbnails at `/-/images/<image_id>`: the copy an open archive
  stores (`crawl --images`), else a redirect to Medium's CDN.
- `extra_body_script` folds the column descriptions above a table.
- `asgi_wrapper` keeps CSV cells that start like a formula from running in a spreadsheet.
"""

from __future__ import annotations

import codecs
import copy
import csv
import io
import json
import re
from functools import cache
from urllib.parse import unquote

from datasette import hookimpl
from datasette.utils.asgi import Response
from markupsafe import Markup

from archive_spider.datasette import METADATA
from archive_spider.storage import SELECT_STORED_IMAGE, is_archive
from archive_spider.urls import is_medium_image_id

THUMBNAIL = "https://miro.medium.com/v2/resize:fill:160:107/{}"
_IMAGE_ROUTE = "/-/images/"
# A stored copy is served only as one of these; any other stored type falls back to the CDN.
_SERVED_IMAGE_TYPES = {"image/jpeg", "image/png", "image/webp", "image/gif"}
# An image id names one image for good: a stored copy never changes.
_IMMUTABLE = "public, max-age=31536000, immutable"
_LINKED_TABLES = {"posts", "posts_by_author", None}  # None: a canned or custom query
# A spreadsheet reads a cell starting with one of these as a formula; a plain number is safe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_MISSING = object()
_FOLD_COLUMN_DESCRIPTIONS = """
document.querySelectorAll("dl.column-descriptions").forEach((list) => {
  const details = document.createElement("details");
  details.innerHTML = "<summary>Column descriptions</summary>";
  list.replaceWith(details);
  details.append(list);
});
"""


@cache
def _archive_database() -> dict:
    metadata = json.loads(METADATA.read_text(encoding="utf-8"))
    return metadata["plugins"]["archive-spider"]["archive_database"]


_is_archive = cache(is_archive)


def _archive_names(datasette) -> list[str]:
    return [
        name
        for name, db in datasette.databases.items()
        if db.path and not db.is_memory and _is_archive(db.path)
    ]


@hookimpl
def get_metadata(datasette, key, database, table):
    """The archive tables and queries, keyed by the name of each open archive database."""
    names = _archive_names(datasette)
    if not names:
        return None
    # A fresh copy each time: Datasette merges other metadata into what it is given.
    return {"databases": {name: copy.deepcopy(_archive_database()) for name in names}}


@hookimpl
def extra_body_script(template, database, datasette):
    """Fold the long list of column descriptions (they also show in each column's menu)."""
    if template == "table.html" and database in _archive_names(datasette):
        return _FOLD_COLUMN_DESCRIPTIONS
    return None


def _get(row, column: str, default: object = None) -> object:
    try:
        return row[column]
    except (IndexError, KeyError):  # sqlite3.Row raises IndexError for a missing column
        return default


def _thumbnail(image_id: object, datasette) -> Markup | None:
    """An <img> of the image route, which serves the stored copy or redirects to the CDN."""
    if is_medium_image_id(image_id):  # URL-safe as it is
        src = datasette.urls.path(_IMAGE_ROUTE + image_id)
        return Markup(
            '<img src="{}" loading="lazy" width="160" height="107" alt="" title="{}"'
            ' style="display: block">'
        ).format(src, image_id)
    return None


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    """A post's title links to it, with its thumbnail; without a title, image_id shows it."""
    if table not in _LINKED_TABLES or database not in _archive_names(datasette):
        return None
    if column == "image_id" and _get(row, "title", _MISSING) is _MISSING:
        return _thumbnail(value, datasette)
    if column != "title" or not isinstance(value, str):
        return None
    thumbnail = _thumbnail(_get(row, "image_id"), datasette)
    content = thumbnail + value if thumbnail else value
    url = _get(row, "url")
    if isinstance(url, str) and url.startswith(("http://", "https://")):
        return Markup('<a href="{}">{}</a>').format(url, content)
    return content if thumbnail else None


@hookimpl
def register_routes():
    """`/-/images/<image_id>`: a thumbnail, served offline when an archive stores it."""
    return [(rf"^{_IMAGE_ROUTE}(?P<image_id>[^/]+)$", serve_image)]


async def serve_image(datasette, request) -> Response:
    """The stored copy of an image (cacheable for good), else a 302 to Medium's CDN.

    An id that is not a Medium image id is a 404, never redirected anywhere."""
    image_id = unquote(request.url_vars["image_id"])
    if not is_medium_image_id(image_id):
        return Response.text("not a Medium image id", status=404)
    stored = await _stored_image(datasette, request.actor, image_id)
    if stored is None:
        return Response.redirect(THUMBNAIL.format(image_id))
    content, content_type, sha256 = stored
    headers = {
        "cache-control": _IMMUTABLE,
        "etag": f'"{sha256}"',
        "x-content-type-options": "nosniff",
    }
    if _names_etag(request.headers.get("if-none-match"), headers["etag"]):
        return Response(b"", status=304, headers=headers, content_type=content_type)
    return Response(content, headers=headers, content_type=content_type)


async def _stored_image(datasette, actor, image_id: str) -> tuple[bytes, str, str] | None:
    """(content, content type, sha256) of the first servable copy in an open archive the
    actor may see; None when no archive stores one."""
    for name in _archive_names(datasette):
        visible, _ = await datasette.check_visibility(
            actor, permissions=[("view-database", name), "view-instance"]
        )
        db = datasette.get_database(name)
        if not visible or not await db.table_exists("images"):  # older than schema 6
            continue
        row = (await db.execute(SELECT_STORED_IMAGE, {"image_id": image_id})).first()
        content_type = _served_image_type(row["content_type"]) if row else None
        if content_type:
            return bytes(row["content"]), content_type, row["sha256"]
    return None


def _served_image_type(content_type: object) -> str | None:
    """The media type of a stored copy, if it is one this route serves."""
    if not isinstance(content_type, str):
        return None
    media_type = content_type.split(";")[0].strip().lower()
    return media_type if media_type in _SERVED_IMAGE_TYPES else None


def _names_etag(if_none_match: str | None, etag: str) -> bool:
    """Whether an If-None-Match header names `etag` (weak comparison, as for GET)."""
    tags = [tag.strip().removeprefix("W/") for tag in (if_none_match or "").split(",")]
    return etag in tags or "*" in tags


def _defuse(cell: str) -> str:
    if cell.startswith(_FORMULA_START) and not _NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


class CsvDefuser:
    """Rewrites a CSV byte stream so no cell starts like a formula, whatever the chunking."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
        self._pending = ""  # the start of a record whose end has not arrived yet

    def feed(self, data: bytes, final: bool = False) -> bytes:
        text = self._pending + self._decoder.decode(data, final)
        end = len(text) if final else _complete_records_end(text)
        self._pending = text[end:]
        out = io.StringIO()
        writer = csv.writer(out)
        for record in csv.reader(io.StringIO(text[:end], newline="")):
            writer.writerow([_defuse(cell) for cell in record])
        return out.getvalue().encode("utf-8", errors="surrogateescape")


def _complete_records_end(text: str) -> int:
    """Where the last complete record of `text` ends: after its last newline outside quotes."""
    end = offset = 0
    for index, part in enumerate(text.split('"')):
        newline = part.rfind("\n") if index % 2 == 0 else -1
        if newline != -1:
            end = offset + newline + 1
        offset += len(part) + 1
    return end


def _is_csv(message: dict) -> bool:
    headers = {name.lower(): value for name, value in message.get("headers") or []}
    content_type = headers.get(b"content-type", b"")
    return message["status"] == 200 and content_type.startswith((b"text/plain", b"text/csv"))


def _without_length(headers: list) -> list:
    return [(name, value) for name, value in headers if name.lower() != b"content-length"]


@hookimpl
def asgi_wrapper(datasette):
    """Pass `.csv` responses through a CsvDefuser, chunk by chunk."""

    def wrap(app):
        async def csv_safe_app(scope, receive, send):
            if scope["type"] != "http" or not scope["path"].endswith(".csv"):
                await app(scope, receive, send)
                return
            defuser = None

            async def defusing_send(message):
                nonlocal defuser
                if message["type"] == "http.response.start" and _is_csv(message):
                    defuser = CsvDefuser()
                    message = {**message, "headers": _without_length(message["headers"])}
                elif message["type"] == "http.response.body" and defuser is not None:
                    final = not message.get("more_body", False)
                    message = {**message, "body": defuser.feed(message.get("body", b""), final)}
                await send(message)

            await app(scope, receive, defusing_send)

        return csv_safe_app

    return wrap
