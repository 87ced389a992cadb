"""Checks of what operators type, done before any work starts, each failing with one clear line.

:class:`BadInput` carries that line; ``govarchive`` prints it and exits with :data:`EXIT_ERROR` (2), the bare
``scrapy crawl`` command of the project does the same (``portal_spiders/commands``). Nothing here imports Scrapy
at module level: query commands use it too.

Exit codes shared by every ``govarchive`` command (docs/operations.md, "Exit codes") are the ``EXIT_*`` names.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import IO, Any

EXIT_OK = 0  # done; everything healthy
EXIT_PROBLEM = 1  # done, and found a problem: a portal failed, health found an unhealthy portal, no such article
EXIT_ERROR = 2  # could not do the job: bad arguments, settings or config; archive or output unusable
EXIT_LOCKED = 3  # another crawl holds the archive's lock
EXIT_NETWORK = 4  # crawl: the network appears to be down (no host answered)
EXIT_INTERNAL = 70  # a bug: an unexpected exception (GOVARCHIVE_DEBUG=1 shows the traceback)
EXIT_INTERRUPTED = 130  # Ctrl-C or SIGTERM

SQLITE_HEADER = b"SQLite format 3\x00"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MAX_SQLITE_INT = 2**63 - 1


class BadInput(ValueError):
    """What the operator asked for cannot be done; the message is the one line to show."""


def first_line(exc: BaseException) -> str:
    """An exception's message on one line (OS errors as ``reason: path``)."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror}{where}"
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def check_text(value: str, what: str) -> str:
    """Refuse text that is not valid Unicode (undecodable bytes on the command line arrive as surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        shown = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        raise BadInput(f"{what} {shown!r} is not valid UTF-8 text") from None
    return value


def open_ended_until(args: Any) -> None:
    """``--until 9999-12-31`` means "no upper bound": drop it (the day after it does not exist)."""
    if getattr(args, "until", None) and str(args.until) >= date.max.isoformat():
        args.until = None


def check_archive_path(path: str | Path, *, create: bool, default: bool = False, what: str = "--db") -> Path:
    """An archive path a crawl may write to (``create``) or a query command may read.

    Refuses a directory, a special file, a file that is not SQLite, and (unless ``default``) a path whose
    directory does not exist: a typo must not create a new directory tree silently.
    """
    p = Path(path)
    if p.is_dir():
        raise BadInput(f"{what} {p} is a directory; give the archive file, e.g. {p / 'archive.db'}")
    if p.exists():
        if not p.is_file():
            raise BadInput(f"{what} {p} is not a regular file")
        try:
            with p.open("rb") as fh:
                head = fh.read(len(SQLITE_HEADER))
        except OSError as exc:
            raise BadInput(f"{what} {p}: cannot read it ({first_line(exc)})") from None
        if head and head != SQLITE_HEADER:
            raise BadInput(f"{what} {p} is not a SQLite database (refusing to use it as an archive)")
        if create and not os.access(p, os.W_OK):
            raise BadInput(f"{what} {p}: no permission to write it")
        return p
    if not create:
        raise BadInput(f"archive not found: {p} (run a crawl or `govarchive demo` first, or pass --db)")
    parent = p.parent
    if not parent.exists():
        if not default:
            raise BadInput(f"{what} {p}: directory {parent} does not exist (create it first, or fix the path)")
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BadInput(f"{what} {p}: cannot create {parent} ({first_line(exc)})") from None
    if not parent.is_dir():
        raise BadInput(f"{what} {p}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise BadInput(f"{what} {p}: no permission to create files in {parent}")
    return p


def check_output_path(path: str | Path, what: str) -> Path:
    """A file the command will write: its directory must exist, and it must not be a directory."""
    p = Path(path)
    if p.is_dir():
        raise BadInput(f"{what} {p} is a directory; give a file name")
    if not p.parent.is_dir():
        raise BadInput(f"{what} {p}: directory {p.parent} does not exist")
    writable = os.access(p, os.W_OK) if p.exists() else os.access(p.parent, os.W_OK | os.X_OK)
    if not writable:
        raise BadInput(f"{what} {p}: permission denied")
    return p


@contextlib.contextmanager
def atomic_output(path: str | Path, what: str, *, newline: str | None = None) -> Iterator[IO[str]]:
    """Write a text file all or nothing: a regular file is written beside and renamed at the end; a device or
    pipe (``/dev/stdout``, ``/dev/full``) is written directly. Write errors become :class:`BadInput`."""
    p = check_output_path(path, what)
    direct = p.exists() and not p.is_file()
    tmp_name = None
    try:
        if direct:
            fh = p.open("w", encoding="utf-8", newline=newline)
        else:
            fd, tmp_name = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
            fh = os.fdopen(fd, "w", encoding="utf-8", newline=newline)
        with fh:
            yield fh
        if tmp_name:
            os.chmod(tmp_name, 0o644)
            os.replace(tmp_name, p)
            tmp_name = None
    except OSError as exc:
        raise BadInput(f"{what} {p}: cannot write it ({first_line(exc)})") from None
    finally:
        if tmp_name:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)


def log_level(text: str) -> str:
    """A Python log level name (any case): ``DEBUG`` ... ``CRITICAL``."""
    level = str(text).strip().upper()
    if level not in LOG_LEVELS:
        raise BadInput(f"log level {text!r} is not one of {', '.join(LOG_LEVELS)}")
    return level


def check_log_file(path: str | Path) -> Path:
    """A log file the crawl can append to (its directory is created: log directories often are per run)."""
    p = Path(path)
    if p.is_dir():
        raise BadInput(f"--log-file {p} is a directory; give a file name")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        with p.open("a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise BadInput(f"--log-file {p}: cannot write it ({first_line(exc)})") from None
    return p


def port(text: str) -> int:
    """A TCP port, 0 (pick a free one) to 65535."""
    try:
        value = int(text)
    except ValueError:
        raise BadInput(f"port {text!r} is not a number") from None
    if not 0 <= value <= 65535:
        raise BadInput(f"port {value} is out of range (0-65535; 0 picks a free port)")
    return value


def bounded_int(text: str, what: str, *, minimum: int, maximum: int) -> int:
    """An integer within ``minimum..maximum``."""
    try:
        value = int(str(text).strip())
    except ValueError:
        raise BadInput(f"{what}: expected a whole number, got {text!r}") from None
    if not minimum <= value <= maximum:
        raise BadInput(f"{what}: {value} is out of range ({minimum}-{maximum:,})")
    return value


def flexible_date(text: str, what: str) -> date:
    """``YYYY-MM-DD`` (month and day may have one digit: ``2024-1-1``)."""
    match = re.fullmatch(r"\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*", str(text))
    if not match:
        raise BadInput(f"{what}: expected a date as YYYY-MM-DD, got {text!r}")
    try:
        return date(*(int(g) for g in match.groups()))
    except ValueError as exc:
        raise BadInput(f"{what}: {text!r} is not a real date ({exc})") from None


TRUE_WORDS = frozenset({"1", "true", "yes", "y", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "n", "off", ""})


def yes_no(text: Any, what: str) -> bool:
    """A yes/no word: 1/true/yes/y/on or 0/false/no/n/off (any case)."""
    if isinstance(text, bool):
        return text
    word = str(text).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise BadInput(f"{what}: expected yes or no (1/true/yes/on or 0/false/no/off), got {text!r}")


def check_scrapy_settings(settings: Any, overrides: Mapping[str, Any]) -> None:
    """Check ``-s KEY=VALUE`` overrides against the type of the setting's default, plus the project's own
    structured settings (``TLS_POLICIES``, ``LOG_LEVEL``, ``ARCHIVE_DB``...). ``settings`` is the merged
    :class:`scrapy.settings.Settings`."""
    from scrapy.settings import default_settings

    from portal_spiders.registry import RegistryError
    from portal_spiders.tls import TLSPolicyError, policies_from_settings

    for key in overrides:
        default = _project_defaults().get(key, getattr(default_settings, key, None))
        try:
            if isinstance(default, bool):
                settings.getbool(key)
            elif isinstance(default, int) and key in FLOAT_SETTINGS:
                settings.getfloat(key)
            elif isinstance(default, int):
                settings.getint(key)
            elif isinstance(default, float):
                settings.getfloat(key)
            elif isinstance(default, dict):
                settings.getdict(key)
            elif isinstance(default, list) and default and all(isinstance(v, int) for v in default):
                [int(v) for v in settings.getlist(key)]  # RETRY_HTTP_CODES=500,503
        except (ValueError, TypeError):
            kind = {bool: "yes/no (True or False)", int: "a number" if key in FLOAT_SETTINGS else "a whole number",
                    float: "a number", dict: "a JSON object", list: "whole numbers separated by commas"}[type(default)]
            raise BadInput(f"setting {key}: expected {kind}, got {overrides[key]!r}") from None
        if key in _NON_NEGATIVE and isinstance(default, int | float) and float(settings.get(key)) < 0:
            raise BadInput(f"setting {key}: must not be negative, got {overrides[key]!r}")
    log_level(settings.get("LOG_LEVEL") or "INFO")
    if settings.get("GC_THRESHOLDS"):
        from portal_spiders.gctune import thresholds_from

        try:
            thresholds_from(settings.get("GC_THRESHOLDS"))
        except (ValueError, TypeError) as exc:
            raise BadInput(f"setting GC_THRESHOLDS: {first_line(exc)}") from None
    try:
        policies_from_settings(settings)
    except RegistryError:
        raise
    except TLSPolicyError as exc:
        raise BadInput(f"setting TLS_POLICIES: {exc}") from None
    except (ValueError, TypeError) as exc:
        raise BadInput(f"setting TLS_POLICIES: expected a JSON object {{host: {{...}}}}: {first_line(exc)}") from None


# Scrapy settings whose default is a whole number but which are read as floats.
FLOAT_SETTINGS = frozenset({
    "DOWNLOAD_DELAY", "DOWNLOAD_TIMEOUT", "AUTOTHROTTLE_START_DELAY", "AUTOTHROTTLE_MAX_DELAY",
    "AUTOTHROTTLE_TARGET_CONCURRENCY", "CLOSESPIDER_TIMEOUT", "CLOSESPIDER_TIMEOUT_NO_ITEM", "LOGSTATS_INTERVAL",
    "MEMUSAGE_CHECK_INTERVAL_SECONDS", "DNS_TIMEOUT",
})
_NON_NEGATIVE = frozenset({
    "DOWNLOAD_DELAY", "DOWNLOAD_TIMEOUT", "CONCURRENT_REQUESTS", "CONCURRENT_REQUESTS_PER_DOMAIN",
    "CONCURRENT_REQUESTS_PER_IP", "RETRY_TIMES", "RETRY_BACKOFF_BASE", "RETRY_BACKOFF_MAX", "AUTOTHROTTLE_MAX_DELAY",
    "AUTOTHROTTLE_START_DELAY", "DOWNLOAD_MAXSIZE", "DOWNLOAD_WARNSIZE", "CLOSESPIDER_TIMEOUT",
    "CLOSESPIDER_ITEMCOUNT", "CLOSESPIDER_PAGECOUNT", "CLOSESPIDER_ERRORCOUNT", "LOGSTATS_INTERVAL",
    "ARCHIVE_BATCH_SIZE", "ARCHIVE_BATCH_SECONDS", "INCREMENTAL_STOP_AFTER", "SPIDERMON_MAX_ERRORS",
    "SPIDERMON_MIN_ARTICLES", "GOVARCHIVE_MAX_FAILED_SHARE", "GOVARCHIVE_STOP_GRACE_SECONDS",
    "GOVARCHIVE_NETWORK_DOWN_HOSTS", "DOWNLOAD_DELAY_JITTER",
})


@functools.cache
def _project_defaults() -> dict[str, Any]:
    """The project's own settings (``portal_spiders.settings``), for the types of its custom settings."""
    import portal_spiders.settings as project

    return {k: getattr(project, k) for k in dir(project) if k.isupper()}
