"""``govarchive index``: check the search indexes (SQLite FTS5 inside the archive, Tantivy beside it), build or
resume them, or rebuild them from scratch."""

from __future__ import annotations

import argparse
import sys

from govarchive.cli import add_db_argument


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "index", help="check or (re)build the search indexes",
        description="Without options: say whether the full-text index (SQLite FTS5, inside the archive) is ready, "
                    "and build (or resume building) it when it is missing, interrupted, outdated or out of step with "
                    "the articles; a build is resumable (Ctrl-C or a crash loses at most one chunk) and atomic "
                    "(searches see the old index or the new one, never half of one). Then build the Tantivy index "
                    "beside the archive (<db>.search/, what `govarchive search` uses) or bring it up to date.")
    parser.add_argument("--check", action="store_true", help="only report the state; exit 1 when not ready")
    parser.add_argument("--rebuild", action="store_true", help="rebuild even a ready index (e.g. after a bulk import)")
    add_db_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from govarchive.archive import Archive
    from govarchive.commands._query import build_index
    from govarchive.locking import ArchiveLocked, acquire_lock, release_lock

    with Archive.open_existing(args.db) as archive:  # ArchiveError: reported by govarchive.cli.main
        state, explanation = archive.search_index_status()
        articles = archive.count("articles")
    if args.check:
        print(f"full-text index of {args.db}: {state}" + (f" ({explanation})" if explanation else
                                                          f", {articles:,} articles"))
        tantivy_ok = _check_tantivy(args.db)
        return 0 if state == "ready" and tantivy_ok else 1
    try:
        acquire_lock(args.db)
    except ArchiveLocked as exc:
        print(f"govarchive index: {exc}", file=sys.stderr)
        return 3
    try:
        if state != "ready" or args.rebuild:
            if args.rebuild and state == "ready":
                with Archive.open_existing(args.db, readonly=False) as archive:
                    archive.mark_search_index_outdated()
                explanation = "rebuild requested"
            build_index(args.db, explanation or "building the full-text index")
        with Archive.open_existing(args.db) as archive:
            state, _ = archive.search_index_status()
            count = archive.indexed_count()
        print(f"full-text index of {args.db}: {state}, {count:,} articles indexed")
        tantivy_ok = _update_tantivy(args.db, rebuild=args.rebuild)
    finally:
        release_lock(args.db)
    return 0 if state == "ready" and tantivy_ok else 1


def _check_tantivy(db: str) -> bool:
    from govarchive.archive import Archive
    from govarchive.searchindex import SearchIndexUnavailable, TantivyIndex

    with Archive.open_existing(db) as archive:
        try:  # a check writes nothing: the index is not caught up, only measured
            index = TantivyIndex.open(archive, build=False, catch_up=False)
        except SearchIndexUnavailable as exc:
            print(f"Tantivy index of {db}: not usable ({exc})")
            return False
        pending = index.pending()
        print(f"Tantivy index of {db}: ready, {index.count():,} articles"
              + (f" ({pending:,} changes to apply at the next search)" if pending else ""))
        return True


def _update_tantivy(db: str, *, rebuild: bool) -> bool:
    """Build (``rebuild``, or when missing or unusable) or catch up the Tantivy index, with the archive open for
    writing so that the applied part of its search log is trimmed."""
    from govarchive.archive import Archive
    from govarchive.commands._query import _progress
    from govarchive.searchindex import SearchIndexUnavailable, TantivyIndex

    with Archive.open_existing(db, readonly=False) as archive, _progress(False) as progress:
        try:
            index = (TantivyIndex.build(archive, progress=progress) if rebuild
                     else TantivyIndex.open(archive, build=True, progress=progress))
        except SearchIndexUnavailable as exc:
            print(f"govarchive index: {exc}; searches use SQLite FTS5", file=sys.stderr)
            return False
        print(f"Tantivy index of {db}: ready, {index.count():,} articles indexed")
        return True
