"""``govarchive demo``: crawl the offline replica portals into an archive, end to end."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

DEMO_DB = "data/demo.db"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``demo`` sub-command."""
    parser = subparsers.add_parser(
        "demo", help="crawl the offline replica portals into an archive (no network needed)",
        description="Start the replica portals on a free 127.0.0.1 port, crawl every replica portal through "
                    "the normal spiders and pipelines, stop the replica and print a summary. Running it again "
                    "on the same archive adds nothing. The replica serves its articles under the real portals' "
                    "URLs, so the demo writes only to an archive of replica runs: it ignores $GOVARCHIVE_DB and "
                    "refuses an archive that holds (or may hold) real crawls.")
    parser.add_argument("--db", default=argparse.SUPPRESS, metavar="PATH",
                        help=f"archive (default: {DEMO_DB}, whatever $GOVARCHIVE_DB says)")
    parser.add_argument("--portal", action="append", metavar="SLUG", help="only this replica portal (repeatable)")
    parser.add_argument("--log-level", default="WARNING", help="Scrapy log level (default: WARNING)")
    parser.set_defaults(func=run, default_db=DEMO_DB)


def _tool(name: str) -> str:
    """How to call a console script of this installation from here: ``.venv/bin/govarchive`` when it is not on
    PATH (a ``make demo`` user has not activated the virtualenv), else its bare name."""
    import os
    import shutil

    path = Path(sys.executable).parent / name
    if not path.exists() or shutil.which(name) == str(path):
        return name
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def next_commands(db: Path) -> list[str]:
    """The first commands to try on the demo archive, runnable as printed."""
    db_arg = "" if str(db) == DEMO_DB else f" --db {db}"
    govarchive = _tool("govarchive")
    return [
        f"{govarchive} stats{db_arg}",
        f'{govarchive} search "Da Nang"{db_arg}',
        f"{govarchive} show 1{db_arg}",
        f"{govarchive} export --excel -o data/demo.csv{db_arg}",
        f"{_tool('sqlite-utils')} tables {db} --counts",
        f"{govarchive} serve{db_arg}   # then open http://127.0.0.1:8001/-/search",
    ]


def summary(db: Path, portals: list[str]) -> tuple[list[str], dict[str, Any]]:
    """Print each portal's last run and the open failures; return the portals whose run did not finish and the
    archive's file counts.

    The archive is opened read-only: after a crawl that filled the disk, opening it for writing fails (the schema
    check writes), and the summary is what says which runs stay incomplete."""
    from govarchive.archive import Archive

    with Archive.open_existing(db) as archive:
        print(f"\narchive: {db}")
        print(f"{'portal':<22} {'reason':<10} {'new':>5} {'upd':>5} {'same':>5} {'fail':>5} {'total':>6}")
        unfinished = []
        for slug in portals:
            runs = archive.runs(slug, limit=1)
            run_row = runs[0] if runs else {}
            total = archive.count("articles", "portal = ?", [slug])
            if run_row.get("finish_reason") != "finished":
                unfinished.append(slug)
            print(f"{slug:<22} {run_row.get('finish_reason') or '?':<10} {run_row.get('items_new') or 0:>5} "
                  f"{run_row.get('items_updated') or 0:>5} {run_row.get('items_unchanged') or 0:>5} "
                  f"{run_row.get('items_failed') or 0:>5} {total:>6}")
        print(f"\nopen failures: {archive.count('failures')}")
        return unfinished, archive.file_stats()


def run(args: argparse.Namespace) -> int:
    """Serve the replica, crawl it, summarise the archive."""
    from govarchive.archive import Archive
    from govarchive.checks import EXIT_INTERRUPTED
    from govarchive.crawling import CrawlSession, project_settings
    from govarchive.locking import ArchiveLocked, acquire_lock, release_lock
    from govarchive.replica.server import ReplicaServer, ReplicaState

    state = ReplicaState.from_registry(args.portal)
    if not state.portals:
        from govarchive.slugs import unknown_portals

        replica = ReplicaState.from_registry(None).portals
        print(f"govarchive demo: {unknown_portals(args.portal, replica) or 'no replica portal among them'}; the "
              f"replica serves {', '.join(replica)}", file=sys.stderr)
        return 2
    db = Path(args.db)
    db.parent.mkdir(parents=True, exist_ok=True)
    try:
        acquire_lock(db)  # one crawl at a time per archive (see govarchive/locking.py)
    except ArchiveLocked as exc:
        print(f"govarchive demo: {exc}", file=sys.stderr)
        return 3
    try:
        with Archive(db) as archive:  # before the replica starts: never mix replica and real runs
            archive.check_run_origin(replica=True)
        with ReplicaServer(state) as replica:
            print(f"replica portals {', '.join(state.portals)} serving at {replica.url}")
            settings = project_settings({
                "ARCHIVE_DB": str(db),
                "REPLICA_URL": replica.url,
                # The replica is local: no need for the production politeness delays.
                "DOWNLOAD_DELAY": 0,
                "AUTOTHROTTLE_ENABLED": False,
                "RETRY_BACKOFF_BASE": 0,
                "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
                "LOG_LEVEL": args.log_level,
            })
            session = CrawlSession(state.portals, settings)
            stats = session.run()
    finally:
        release_lock(db)
    unfinished, files = summary(db, state.portals)
    records = sum(int(s.get("govarchive/warc/records", 0)) for s in (stats or {}).values())
    print(f"files: {files['files']} distinct attachment/image files ({files['bytes'] / 1e6:.1f} MB) in "
          f"{db.resolve().parent / 'files'}; {files['failed']} failed")
    print(f"WARC: {records} records written this run in {db.resolve().parent / 'warc'}; the archive points to "
          f"{files['captures']} response records")
    print("\nQuery it (these commands read this archive):\n" + "\n".join(f"  {c}" for c in next_commands(db)) + "\n")
    if session.interrupted:  # as `govarchive crawl`: exit 130, and the runs stay incomplete
        print(f"govarchive demo: interrupted ({session.interrupted}) — run it again to finish", file=sys.stderr)
        return EXIT_INTERRUPTED
    if unfinished or not stats:
        print(f"govarchive demo: {len(unfinished) or len(state.portals)} of {len(state.portals)} portals did not "
              f"finish ({', '.join(unfinished or state.portals)}): their runs stay incomplete; the errors above say "
              "why", file=sys.stderr)
        return 1
    return 0
