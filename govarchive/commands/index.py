"""``govarchive index``: check the full-text index, build or resume it, or rebuild it from scratch."""

from __future__ import annotations

import argparse
import sys

from govarchive.cli import add_db_argument


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "index", help="check or (re)build the full-text search index",
        description="Without options: say whether the full-text index is ready, and build (or resume building) it "
                    "when it is missing, interrupted, outdated or out of step with the articles. A build is "
                    "resumable (Ctrl-C or a crash loses at most one chunk) and atomic (searches see the old index or "
                    "the new one, never half of one).")
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
    if args.check or (state == "ready" and not args.rebuild):
        print(f"full-text index of {args.db}: {state}" + (f" ({explanation})" if explanation else
                                                          f", {articles:,} articles"))
        return 0 if state == "ready" else 1
    try:
        acquire_lock(args.db)
    except ArchiveLocked as exc:
        print(f"govarchive index: {exc}", file=sys.stderr)
        return 3
    try:
        if args.rebuild and state == "ready":
            with Archive.open_existing(args.db, readonly=False) as archive:
                archive.mark_search_index_outdated()
            explanation = "rebuild requested"
        build_index(args.db, explanation or "building the full-text index")
    finally:
        release_lock(args.db)
    with Archive.open_existing(args.db) as archive:
        state, _ = archive.search_index_status()
        count = archive.indexed_count()
    print(f"full-text index of {args.db}: {state}, {count:,} articles indexed")
    return 0 if state == "ready" else 1
