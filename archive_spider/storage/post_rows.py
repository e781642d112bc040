"""The columns of a stored Post, and a Post read back from its `posts` row."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import fields

from ..items import Post

POST_COLUMNS = [f.name for f in fields(Post) if f.name != "seen_at"]
SELECT_POSTS = "SELECT {}, first_seen, last_seen FROM posts".format(", ".join(POST_COLUMNS))


def post_from_row(row: sqlite3.Row) -> Post:
    """A stored post; its `seen_at` is its `last_seen`."""
    values = {name: row[name] for name in POST_COLUMNS}
    values["authors"] = json.loads(values["authors"] or "[]")
    if values["member_only"] is not None:
        values["member_only"] = bool(values["member_only"])
    return Post(**values, seen_at=row["last_seen"])
