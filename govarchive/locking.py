"""One crawl at a time per archive file: an exclusive ``flock`` on ``<db>.lock``.

``govarchive crawl``/``demo`` take the lock before starting Scrapy, and the store pipeline takes it when it
opens the archive, so a bare ``scrapy crawl`` is covered too. Inside one process the lock is counted (several
crawlers of one ``CrawlerProcess`` share it). The kernel drops the lock when the holder dies, so a killed crawl
never leaves a stale lock behind; the pid written into the file is only there to name the holder.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

# resolved archive path -> (open lock file descriptor, users in this process)
_HELD: dict[str, tuple[int, int]] = {}


class ArchiveLocked(RuntimeError):
    """Another process is crawling into the same archive."""


def lock_path(db: str | Path) -> Path:
    """The lock file of an archive: ``<db>.lock`` next to it."""
    return Path(f"{db}.lock")


def acquire_lock(db: str | Path) -> Path:
    """Take (or re-enter) the crawl lock of ``db``; raises :class:`ArchiveLocked` naming the file and holder pid."""
    key = str(Path(db).resolve())
    if key in _HELD:
        fd, users = _HELD[key]
        _HELD[key] = (fd, users + 1)
        return lock_path(key)
    path = lock_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown"
        os.close(fd)
        raise ArchiveLocked(
            f"another crawl (pid {holder}) is writing to {Path(db)}; lock file {path}. "
            "Wait for it to finish (one crawl at a time per archive).") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
    _HELD[key] = (fd, 1)
    return path


def release_lock(db: str | Path) -> None:
    """Give back one use of the lock; the last user in this process unlocks it."""
    key = str(Path(db).resolve())
    if key not in _HELD:
        return
    fd, users = _HELD[key]
    if users > 1:
        _HELD[key] = (fd, users - 1)
        return
    del _HELD[key]
    os.ftruncate(fd, 0)
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)
