"""``govarchive archiver``: the one process that writes the archive of a cluster (see ``govarchive worker``).

It archives every cluster run it finds in Redis through the normal pipelines and keeps serving until stopped
(Ctrl-C/SIGTERM: runs in progress stay in Redis and the next archiver resumes them). Exit codes: 0; 1 a run it
closed was not complete, or one could not be archived (with ``--exit-when-idle``); 2 bad arguments or Redis
unreachable; 3 the archive is locked, or another archiver serves the cluster (one per cluster: it holds
``<prefix>:archiver`` in Redis).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``archiver`` sub-command."""
    from govarchive.commands.crawl import _key_value

    parser = subparsers.add_parser(
        "archiver", help="write the archive for a Redis cluster of workers",
        description="Open each cluster run's crawl_runs row, publish the incremental state the workers need, and "
                    "drain the run's items through normalize -> validate -> dedupe -> files -> store, "
                    "acknowledging them in Redis only after they are committed. See docs/scale.md.")
    parser.add_argument("--cluster", metavar="URL", default=os.environ.get("GOVARCHIVE_CLUSTER"),
                        help="Redis URL (default: $GOVARCHIVE_CLUSTER)")
    parser.add_argument("--db", default=argparse.SUPPRESS, metavar="PATH",
                        help="archive (default: $GOVARCHIVE_DB or data/archive.db)")
    parser.add_argument("--portal", action="append", metavar="SLUG", help="only runs of this portal (repeatable)")
    parser.add_argument("--exit-when-idle", action="store_true",
                        help="stop once no run is left to archive (after one was archived, or --idle-timeout)")
    parser.add_argument("--idle-timeout", type=float, default=60.0, metavar="S",
                        help="with --exit-when-idle: stop after S seconds without any run (default: 60)")
    parser.add_argument("-s", "--set", dest="settings", action="append", type=_key_value, default=[],
                        metavar="KEY=VALUE", help="Scrapy setting (repeatable)")
    parser.add_argument("--log-file", metavar="PATH", help="write the log here (default: stderr)")
    parser.add_argument("--log-level", default="INFO", metavar="LEVEL", help="log level (default: INFO)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Check Redis, take the archive lock, serve."""
    from govarchive.cluster.archiver import ArchiverBusy, serve
    from govarchive.commands.worker import check_cluster
    from govarchive.crawling import project_settings
    from govarchive.locking import ArchiveLocked, acquire_lock, release_lock

    error = check_cluster(args.cluster, "archiver")
    if error:
        print(error, file=sys.stderr)
        return 2
    db = Path(args.db)
    db.parent.mkdir(parents=True, exist_ok=True)
    try:
        acquire_lock(db)
    except ArchiveLocked as exc:
        print(f"govarchive archiver: {exc}", file=sys.stderr)
        return 3
    overrides = {"LOG_LEVEL": args.log_level, **dict(args.settings)}
    if args.log_file:
        Path(args.log_file).parent.mkdir(parents=True, exist_ok=True)
        overrides["LOG_FILE"] = args.log_file
    try:
        return serve(project_settings(overrides), url=args.cluster, db=str(db), portals=args.portal,
                     exit_when_idle=args.exit_when_idle, idle_timeout=args.idle_timeout)
    except ArchiverBusy as exc:
        print(f"govarchive archiver: {exc}", file=sys.stderr)
        return 3
    finally:
        release_lock(db)
