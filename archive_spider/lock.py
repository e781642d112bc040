"""One writer per archive: an exclusive `flock` on `<db>.lock`, held for the whole crawl.

The kernel drops the lock when its holder exits, however it exits (kill -9 included), so a
lock is never stale: the next run simply takes it. Within one process the lock is re-entrant:
the CLI takes it before a crawl starts, and the crawl's store pipeline (which takes it for
`scrapy crawl` and Scrapyd jobs) then finds it held.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

POLL_SECONDS = 0.2
# The archives whose lock this process holds, by resolved path.
_held: set[Path] = set()


class Locked(Exception):
    """Another process holds the archive's lock."""


def lock_path(db_path: Path) -> Path:
    return Path(f"{db_path}.lock")


@contextmanager
def hold_lock(db_path: Path, wait: float = 0.0) -> Iterator[None]:
    """Hold the archive's write lock, waiting up to `wait` seconds for it."""
    key = Path(db_path).resolve()
    if key in _held:
        yield
        return
    fd = os.open(lock_path(db_path), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                    raise Locked(
                        f"{db_path} is being written by another crawl (pid {holder}); "
                        "try again later or pass --wait SECONDS"
                    ) from None
                time.sleep(POLL_SECONDS)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        _held.add(key)
        try:
            yield
        finally:
            _held.discard(key)
    finally:
        if not db_path.exists():
            # No archive was created: leave no lock file behind either.
            lock_path(db_path).unlink(missing_ok=True)
        os.close(fd)
