"""One crawl at a time per archive file: an exclusive ``flock`` on ``<db>.lock``.

``govarchive crawl``/``demo`` take the lock before starting Scrapy, and the store pipeline takes it when it
opens the archive, so a bare ``scrapy crawl`` is covered too. Inside one process the lock is counted (several
crawlers of one ``CrawlerProcess`` share it). The kernel drops the lock when the holder dies, so a killed crawl
never leaves a stale lock behind; the pid written into the file is only there to name the holder.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from datetime import UTC, datetime
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


@dataclass(frozen=True)
class RunningCrawl:
    """A crawl that holds an archive's lock: its pid and since when (the lock file's time of acquisition)."""

    pid: int | None
    since: datetime


def running_crawl(db: str | Path) -> RunningCrawl | None:
    """The crawl holding ``db``'s lock, or ``None``; never takes the lock itself (a crawl starting meanwhile must
    not fail because a health check peeked).

    Linux lists every ``flock`` in ``/proc/locks`` (device and inode of the file, holder pid): that is the answer.
    Elsewhere, the pid a holder writes into the file (released locks are emptied) must be a live process.
    """
    path = lock_path(str(Path(db).resolve()))
    try:
        st = os.stat(path)
        text = Path(path).read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return None
    since = datetime.fromtimestamp(st.st_mtime, UTC)
    pid = int(text) if text.isdigit() else None
    if str(Path(db).resolve()) in _HELD:
        return RunningCrawl(os.getpid(), since)
    holders = _flock_holders(st)
    if holders is not None:
        return RunningCrawl(pid if pid in holders else holders[0], since) if holders else None
    if pid is None:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None  # killed without releasing: the kernel dropped its lock
    except PermissionError:
        pass  # alive, another user's process
    return RunningCrawl(pid, since)


def _flock_holders(st: os.stat_result) -> list[int] | None:
    """Pids holding an exclusive ``flock`` on the file ``st`` describes, from ``/proc/locks`` (``None``: no such
    file). Lines look like ``1: FLOCK  ADVISORY  WRITE 4242 fe:00:2146514 0 EOF``; waiting ones have ``->``."""
    try:
        lines = Path("/proc/locks").read_text(encoding="ascii", errors="replace").splitlines()
    except OSError:
        return None
    want = (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
    pids = []
    for line in lines:
        parts = line.split()
        if len(parts) < 6 or "->" in parts or parts[1] != "FLOCK" or parts[3] != "WRITE":
            continue
        try:
            major, minor, inode = parts[5].split(":")
            if (int(major, 16), int(minor, 16), int(inode)) == want:
                pids.append(int(parts[4]))
        except ValueError:
            continue
    return pids
