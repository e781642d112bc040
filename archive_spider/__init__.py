"""archive_spider: archive a Medium publication's posts into SQLite."""

__version__ = "0.1.0"
