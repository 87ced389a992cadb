"""Shared by the query commands (``search``, ``export``, ``feed``, ``index``): a parser that takes ``-word`` as a
query, the full-text index check (rebuild with a progress bar, or say exactly what to run) and portal checks."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from govarchive.archive import Archive, ArchiveError


class QueryArguments:
    """Mixed into the CLI's parser class: ``-word`` (a query excluding a word) is an argument, not an unknown
    option."""

    def _parse_optional(self, arg_string: str):  # type: ignore[no-untyped-def]
        if (arg_string.startswith("-") and not arg_string.startswith("--") and len(arg_string) > 2
                and arg_string[:2] not in self._option_string_actions and not arg_string[1:2].isdigit()):
            return None  # "-uy", "-da nang": a query word, never a bundle of short options
        return super()._parse_optional(arg_string)


def add_query_parser(subparsers: argparse._SubParsersAction, name: str, **kwargs: Any) -> argparse.ArgumentParser:
    """``subparsers.add_parser`` whose parser also takes ``-word`` arguments (:class:`QueryArguments` mixed into the
    parser class the CLI uses, so its one-line errors are kept)."""
    original = subparsers._parser_class
    subparsers._parser_class = type("QueryArgumentParser", (QueryArguments, original), {})
    try:
        return subparsers.add_parser(name, **kwargs)
    finally:
        subparsers._parser_class = original


def check_portals(archive: Archive, portals: list[str] | None) -> str | None:
    """``govarchive: error: unknown portal 'x'; did you mean …?`` for slugs neither in the registry nor the archive."""
    from govarchive.slugs import registry_slugs, unknown_portals

    if not portals or all(p in registry_slugs() for p in portals):
        return None
    problem = unknown_portals(portals, archive.portals())
    return f"govarchive: error: {problem}" if problem else None


def index_command(db: str | Path) -> str:
    """The exact command that builds or repairs the full-text index of ``db``."""
    return f"govarchive index --db {db}"


def open_searchable(db: str | Path, *, quiet: bool = False, engine: str = "fts5") -> Archive:
    """Open ``db`` read-only with a ready full-text index.

    When the FTS5 index is missing, interrupted, outdated or out of step with the articles, it is (re)built first —
    with a progress bar on a terminal — provided the archive is writable and no crawl holds it; otherwise
    :class:`ArchiveError` says exactly what to run. With ``engine`` ``auto`` or ``tantivy``
    (:func:`govarchive.search.search`) and an archive larger than the Tantivy index builds by itself
    (``AUTO_BUILD_MAX``), a usable Tantivy index beside it is enough: FTS5 is then only the fallback, and is not
    built first (at a million articles that takes over an hour).
    """
    archive = Archive.open_existing(db)
    state, explanation = archive.search_index_status()
    if state == "ready" or (engine != "fts5" and _large_with_tantivy(archive)):
        return archive
    archive.close()
    from govarchive.locking import ArchiveLocked, acquire_lock, release_lock

    try:
        acquire_lock(db)
    except ArchiveLocked:
        raise ArchiveError(f"{explanation} and a crawl is writing to {db}; after it ends, run: "
                           f"{index_command(db)}") from None
    except OSError as exc:
        raise ArchiveError(f"{explanation}; it needs write access to build ({exc.strerror}); run: "
                           f"{index_command(db)} as the archive's owner") from None
    try:
        build_index(db, explanation, quiet=quiet)
    finally:
        release_lock(db)
    return Archive.open_existing(db)


def _large_with_tantivy(archive: Archive) -> bool:
    """Whether ``archive`` is too large to rebuild its FTS5 index in passing and its Tantivy index can answer."""
    from govarchive import searchindex

    if archive.count("articles") <= searchindex.AUTO_BUILD_MAX:
        return False
    try:
        searchindex.TantivyIndex.open(archive, build=False)
    except searchindex.SearchIndexUnavailable:
        return False
    return True


def build_index(db: str | Path, explanation: str, *, quiet: bool = False) -> None:
    """Open ``db`` writable, which builds (or resumes building) its index, showing progress on stderr."""
    import sqlite3

    if not quiet:
        print(f"{explanation}: building it now (interrupting is safe: the next run resumes)…", file=sys.stderr)
    with _progress(quiet) as progress:
        try:
            Archive(db, index_progress=progress).close()
        except sqlite3.OperationalError as exc:
            if "readonly" in str(exc) or "read-only" in str(exc):
                raise ArchiveError(f"{explanation}; {db} is read-only here; run: {index_command(db)} as the "
                                   "archive's owner") from None
            raise


class _progress:
    """A rich progress bar on a terminal, a line per 10% elsewhere; usable as ``progress(done, total)``."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar: Any = None
        self.task: Any = None
        self.reported = -1

    def __enter__(self) -> _progress:
        if not self.quiet and sys.stderr.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("indexing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                                transient=True)
            self.bar.start()
        return self

    def __call__(self, done: int, total: int) -> None:
        if self.quiet:
            return
        if self.bar is not None:
            if self.task is None:
                self.task = self.bar.add_task("index", total=total)
            self.bar.update(self.task, completed=done, total=total)
            return
        tenth = done * 10 // max(total, 1)
        if tenth != self.reported:
            self.reported = tenth
            print(f"indexed {done:,} of {total:,} articles", file=sys.stderr)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()
