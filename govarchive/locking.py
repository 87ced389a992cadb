"""One crawl at a time per archive *file*: an exclusive ``flock`` on the database file itself.

The lock is held on the file's inode, so it holds for every name of the file: a hard link, a symlink, a bind
mount or a relative path all meet the same lock (a lock on ``<db>.lock`` beside one name would not, and two crawls
through two names corrupted the file). ``flock`` locks are separate from the POSIX record locks SQLite uses on the
same file, so the two never interfere. ``<db>.lock`` is still written, with the holder's pid, for people.

``govarchive crawl``/``demo`` take the lock before starting Scrapy, and the store pipeline takes it when it opens
the archive, so a bare ``scrapy crawl`` is covered too. Inside one process the lock is counted (several crawlers
of one ``CrawlerProcess`` share it). The kernel drops the lock when the holder dies, so a killed crawl never
leaves a stale lock behind.

The descriptor holding the lock is never closed while the process lives (it is unlocked and kept for the next
crawl of the same file): closing any descriptor of a database file drops every POSIX lock the process holds on
it, including the locks of SQLite connections still open (SQLite's "how to corrupt" §2.2).
"""

from __future__ import annotations

import fcntl
import os
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from govarchive.archive import ArchiveError

# (st_dev, st_ino) of the database file -> (open descriptor on it, users in this process; 0: unlocked, kept open)
_HELD: dict[tuple[int, int], tuple[int, int]] = {}


class ArchiveLocked(RuntimeError):
    """Another process is crawling into the same archive file."""


def lock_path(db: str | Path) -> Path:
    """The pid file of an archive: ``<db>.lock`` next to it (informational; the lock is on the file itself)."""
    return Path(f"{db}.lock")


def _identity(db: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(db)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def acquire_lock(db: str | Path) -> Path:
    """Take (or re-enter) the crawl lock of ``db`` (created empty when missing); returns its pid file path.

    Raises :class:`ArchiveLocked` naming the holder's pid and the pid file, and
    :class:`govarchive.archive.ArchiveError` when the file cannot be opened for writing.
    """
    path = Path(db).resolve()
    identity = _identity(path)
    held = _HELD.get(identity) if identity is not None else None
    if held is not None and held[1] > 0:
        _HELD[identity] = (held[0], held[1] + 1)  # type: ignore[index]
        return lock_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if held is not None:
        fd = held[0]
    else:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ArchiveError(f"cannot open {db} for writing: {exc.strerror} (crawls need write access to the "
                               "archive and its directory)") from exc
        st = os.fstat(fd)
        identity = st.st_dev, st.st_ino
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        _HELD[identity] = (fd, 0)  # type: ignore[index]
        raise ArchiveLocked(
            f"another crawl (pid {_holder_pid(path)}) is writing to {Path(db)} (the same file under any name); "
            f"lock file {lock_path(db)}. Wait for it to finish (one crawl at a time per archive).") from None
    _HELD[identity] = (fd, 1)  # type: ignore[index]
    with suppress(OSError):  # informational only
        lock_path(path).write_text(f"{os.getpid()}\n", encoding="ascii")
    return lock_path(path)


def holds_lock(db: str | Path) -> bool:
    """Whether this process holds the crawl lock of ``db`` (under any of its names)."""
    identity = _identity(Path(db).resolve())
    held = _HELD.get(identity) if identity is not None else None
    return held is not None and held[1] > 0


def release_lock(db: str | Path) -> None:
    """Give back one use of the lock; the last user in this process unlocks it (the descriptor stays open)."""
    identity = _identity(Path(db).resolve())
    held = _HELD.get(identity) if identity is not None else None
    if held is None or held[1] == 0:
        return
    fd, users = held
    if users > 1:
        _HELD[identity] = (fd, users - 1)  # type: ignore[index]
        return
    _HELD[identity] = (fd, 0)  # type: ignore[index]
    with suppress(OSError):
        lock_path(Path(db).resolve()).unlink(missing_ok=True)
    fcntl.flock(fd, fcntl.LOCK_UN)


@dataclass(frozen=True)
class RunningCrawl:
    """A crawl that holds an archive's lock: its pid and since when (the lock file's time of acquisition)."""

    pid: int | None
    since: datetime


def running_crawl(db: str | Path) -> RunningCrawl | None:
    """The crawl holding ``db``'s lock, or ``None``; never takes the lock itself (a crawl starting meanwhile must
    not fail because a health check peeked).

    Linux lists every ``flock`` in ``/proc/locks`` (device and inode of the file, holder pid): that is the answer.
    Elsewhere, the pid a holder writes into ``<db>.lock`` (removed on release) must be a live process.
    """
    path = Path(db).resolve()
    try:
        st = os.stat(path)
    except OSError:
        return None
    try:
        pid_file = lock_path(path)
        text = pid_file.read_text(encoding="ascii", errors="replace").strip()
        since = datetime.fromtimestamp(pid_file.stat().st_mtime, UTC)
    except OSError:
        text, since = "", datetime.now(UTC)
    pid = int(text) if text.isdigit() else None
    held = _HELD.get((st.st_dev, st.st_ino))
    if held is not None and held[1] > 0:
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


def _holder_pid(path: Path) -> str:
    """The pid holding the lock on ``path`` (from ``/proc/locks``), else the one its pid file names."""
    with suppress(OSError):
        holders = _flock_holders(os.stat(path))
        if holders:
            return str(holders[0])
    try:
        return lock_path(path).read_text(encoding="ascii").strip() or "unknown"
    except OSError:
        return "unknown"
