"""Merge renderings of one post: `merge(stored, incoming) -> (merged, changes)`.

Rules, field by field:
- an empty value (None, "", []) never overwrites a value;
- a more precise date replaces a less precise one (`items.PRECISIONS`);
- otherwise, when two values differ, the newer rendering (`seen_at`) wins, ties going to
  the greater value so that the result never depends on the order of renderings;
- `authors` follows the merged subtitle and account (the byline, else the account);
- `source` collects every source that showed the post; `seen_at` is the latest sighting.
A value that replaces a different stored value is a change, and is returned as one.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import date

from .bylines import post_authors
from .items import PRECISIONS, Post

# Fields whose differences are provenance or follow another field, never a change.
_PROVENANCE = {"source", "seen_at"}
_FOLLOWERS = {"published_precision", "image_url", "authors"}
# Fields chosen by the general rule whose differences are presentation, never a change.
_UNLOGGED = {"published_text"}
# Fields whose value is chosen by the general rule.
_PLAIN = [
    f.name for f in fields(Post) if f.name not in _PROVENANCE | _FOLLOWERS | {"id", "published"}
]
# Two dates of one post that differ by at most this many days are the same date seen
# through different time zones or a relative text: a refinement, not a change.
_SAME_DATE_DAYS = 1


@dataclass(frozen=True)
class Change:
    """A stored value replaced by a different one."""

    field: str
    old: object
    new: object


def is_empty(value: object) -> bool:
    return value is None or value == "" or value == []


def merge(stored: Post | None, incoming: Post) -> tuple[Post, list[Change]]:
    """Fold `incoming` into `stored` (None: first sighting) and list the real changes."""
    if stored is None:
        return incoming, []
    if stored.id != incoming.id:
        raise ValueError(f"cannot merge post {incoming.id} into post {stored.id}")
    values = {name: _pick(stored, incoming, name) for name in _PLAIN}
    values.update(_pick_date(stored, incoming))
    values["image_url"] = _follow(stored, incoming, "image_url", "image_id", values)
    values["source"] = _union(stored.source, incoming.source)
    values["seen_at"] = max(filter(None, (stored.seen_at, incoming.seen_at)), default=None)
    values["authors"] = _authors(stored, incoming, values)
    merged = replace(stored, **values)
    return merged, _changes(stored, merged)


def _newer_wins(stored: Post, incoming: Post, a: object, b: object) -> bool:
    """True when value `b` of `incoming` beats value `a` of `stored`."""
    return (incoming.seen_at or "", _order_key(b)) > (stored.seen_at or "", _order_key(a))


def _order_key(value: object) -> str:
    return repr(value)


def _pick(stored: Post, incoming: Post, name: str) -> object:
    old, new = getattr(stored, name), getattr(incoming, name)
    if old == new:
        return old
    if is_empty(new):
        return _known(old)
    if is_empty(old) or _newer_wins(stored, incoming, old, new):
        return new
    return old


def _known(*values: object) -> object:
    """The first non-empty value; else one canonical empty value, whatever the order."""
    for value in values:
        if not is_empty(value):
            return value
    return [] if any(isinstance(value, list) for value in values) else None


def _follow(stored: Post, incoming: Post, name: str, leader: str, values: dict) -> object:
    """The value of `name` from the rendering whose `leader` won, else any known one."""
    preferred, other = (
        (incoming, stored) if values[leader] == getattr(incoming, leader) else (stored, incoming)
    )
    return _known(getattr(preferred, name), getattr(other, name))


def _authors(stored: Post, incoming: Post, values: dict) -> list[str]:
    """The people of the merged byline (reusing a rendering's list when its byline won)."""
    byline = (values["subtitle"], values["account"])
    for post in (stored, incoming):
        if post.authors and (post.subtitle, post.account) == byline:
            return post.authors
    return post_authors(values["subtitle"], values["account"]) or _pick(stored, incoming, "authors")


def _rank(post: Post) -> int:
    if is_empty(post.published):
        return -1
    return (
        PRECISIONS.index(post.published_precision) if post.published_precision in PRECISIONS else 0
    )


def _pick_date(stored: Post, incoming: Post) -> dict:
    """`published` with its precision, from the more precise (then newer) rendering."""
    old_key = _date_key(stored)
    new_key = _date_key(incoming)
    winner = incoming if new_key > old_key else stored
    return {
        "published": winner.published,
        "published_precision": winner.published_precision,
    }


def _date_key(post: Post) -> tuple:
    return (_rank(post), post.seen_at or "", post.published or "")


def _union(a: str | None, b: str | None) -> str | None:
    names = {s for value in (a, b) if value for s in value.split(",")}
    return ",".join(sorted(names)) or None


def _changes(stored: Post, merged: Post) -> list[Change]:
    changes = [
        Change(name, getattr(stored, name), getattr(merged, name))
        for name in _PLAIN
        if name not in _UNLOGGED
        and not is_empty(getattr(stored, name))
        and getattr(stored, name) != getattr(merged, name)
    ]
    if _date_moved(stored, merged):
        changes.append(Change("published", stored.published, merged.published))
    return changes


def _date_moved(stored: Post, merged: Post) -> bool:
    """True when the date changed by more than a refinement could explain."""
    if is_empty(stored.published) or stored.published == merged.published:
        return False
    if stored.published_precision == merged.published_precision:
        return True
    days = abs((_day(merged.published) - _day(stored.published)).days)
    return days > _SAME_DATE_DAYS


def _day(value: str) -> date:
    return date.fromisoformat(value[:10])
