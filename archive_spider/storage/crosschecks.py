"""Cross-check bookkeeping: what a cross-check missed, and when each day sitemap was read."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime

from dateutil.parser import isoparse


class CrossCheckRecords:
    """The cross-check rows of an Archive (which gives `conn` and `begin`)."""

    conn: sqlite3.Connection

    def pending(self, publication: str, kind: str) -> set[str]:
        """The sitemap paths (kind "sitemap") or post ids ("post") a cross-check missed."""
        rows = self.conn.execute(
            "SELECT key FROM crosscheck_pending WHERE publication = ? AND kind = ?",
            (publication, kind),
        )
        return {key for (key,) in rows}

    def add_pending(self, publication: str, kind: str, keys, failed_at: str) -> None:
        """Remember what a cross-check could not read (in the current transaction)."""
        self.begin()
        self.conn.executemany(
            "INSERT OR REPLACE INTO crosscheck_pending VALUES (?, ?, ?, ?)",
            [(publication, kind, key, failed_at) for key in keys],
        )

    def drop_pending(self, publication: str, kind: str, keys) -> None:
        """Forget what a cross-check has now read (in the current transaction)."""
        self.begin()
        self.conn.executemany(
            "DELETE FROM crosscheck_pending WHERE publication = ? AND kind = ? AND key = ?",
            [(publication, kind, key) for key in keys],
        )

    def note_sitemaps(self, publication: str, children) -> None:
        """Remember the children a sitemap index lists: (key, day, lastmod) each."""
        self.begin()
        self.conn.executemany(
            "INSERT INTO sitemap_days (publication, key, day, lastmod) VALUES (?, ?, ?, ?) "
            "ON CONFLICT DO UPDATE SET day = excluded.day, lastmod = excluded.lastmod",
            [(publication, key, day, lastmod) for key, day, lastmod in children],
        )

    def mark_sitemaps_read(self, publication: str, keys, at: str) -> None:
        self.begin()
        self.conn.executemany(
            "INSERT INTO sitemap_days (publication, key, read_at) VALUES (?, ?, ?) "
            "ON CONFLICT DO UPDATE SET read_at = excluded.read_at",
            [(publication, key, at) for key in keys],
        )

    def sitemaps_read(self, publication: str) -> dict[str, datetime]:
        """When each child of the publication's sitemap index was last read."""
        rows = self.conn.execute(
            "SELECT key, read_at FROM sitemap_days WHERE publication = ? AND read_at IS NOT NULL",
            (publication,),
        )
        return {key: isoparse(read_at) for key, read_at in rows}

    def post_days(self, publication: str) -> set[date]:
        """The days the publication's archived posts were published on (exact dates only)."""
        rows = self.conn.execute(
            "SELECT DISTINCT substr(published, 1, 10) FROM posts "
            "WHERE publication = ? AND published_precision = 'exact'",
            (publication,),
        )
        return {date.fromisoformat(day) for (day,) in rows}
