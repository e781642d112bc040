"""The archive database: the only code with SQL, and the only code that opens SQLite."""

from .archive import Archive
from .connect import check_database, is_archive, open_read_only
from .images import GONE, SELECT_STORED_IMAGE, STORED, Image
from .reading import (
    PublicationRuns,
    ShardPost,
    ShardReader,
    archive_status,
    publication_runs,
    stored_post_count,
)
from .runs import ABANDONED
from .schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION, StorageError

__all__ = [
    "ABANDONED",
    "APPLICATION_ID",
    "GONE",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "SELECT_STORED_IMAGE",
    "STORED",
    "Archive",
    "Image",
    "PublicationRuns",
    "ShardPost",
    "ShardReader",
    "StorageError",
    "archive_status",
    "check_database",
    "is_archive",
    "open_read_only",
    "publication_runs",
    "stored_post_count",
]
