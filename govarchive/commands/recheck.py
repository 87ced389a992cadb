"""``govarchive recheck``: fetch archived articles again to find edits and takedowns.

Each portal's listing pages are probed first (is the portal up?), then every archived article (of the last ``--days``
days of publication, or all of them) is fetched again. New content becomes a version (an edit); a 404/410, a
redirect to the home or a listing page, or an emptied page marks the article ``removed_at`` (never deleted; the
answer is kept in the WARC files). A portal whose probes found no article links, or where most articles look removed
at once, is having an outage: nothing is marked, the answers are recorded as failures, and the exit status is 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from govarchive.commands.crawl import EXIT_LOCKED, EXIT_USAGE, _key_value


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``recheck`` sub-command."""
    parser = subparsers.add_parser("recheck", help="fetch archived articles again: find edits and takedowns",
                                   description=__doc__)
    parser.add_argument("portals", nargs="*", metavar="PORTAL", help="registry slugs (default: every archived portal)")
    parser.add_argument("--portal", action="append", default=[], metavar="SLUG", help="same as PORTAL (repeatable)")
    parser.add_argument("--days", type=int, metavar="N", help="only articles published in the last N days")
    parser.add_argument("--db", default=argparse.SUPPRESS, metavar="PATH",
                        help="archive (default: $GOVARCHIVE_DB or data/archive.db)")
    parser.add_argument("--replica", metavar="URL", help="route every request to this replica (tests, demo)")
    parser.add_argument("-s", "--set", dest="settings", action="append", type=_key_value, default=[],
                        metavar="KEY=VALUE", help="Scrapy setting (repeatable)")
    parser.add_argument("--log-level", default="WARNING", metavar="LEVEL", help="Scrapy log level (default: WARNING)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Recheck the chosen portals and print what was found."""
    import json

    from govarchive.archive import Archive
    from govarchive.locking import ArchiveLocked, acquire_lock, release_lock
    from portal_spiders.registry import default_registry

    if args.days is not None and args.days < 1:
        print("govarchive recheck: --days must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    db = Path(args.db)
    registry = default_registry()
    with Archive.open_existing(db) as archive:  # ArchiveError: reported by govarchive.cli.main
        archived = [r["portal"] for r in archive.portal_summary()]
    slugs = list(dict.fromkeys([*args.portals, *args.portal])) or [s for s in archived if s in registry]
    unknown = [s for s in slugs if s not in registry]
    if unknown:
        from govarchive.slugs import unknown_portals

        print(f"govarchive recheck: {unknown_portals(unknown, registry)}", file=sys.stderr)
        return EXIT_USAGE
    if not slugs:
        print("govarchive recheck: the archive holds no article of a registry portal", file=sys.stderr)
        return EXIT_USAGE
    try:
        acquire_lock(db)
    except ArchiveLocked as exc:
        print(f"govarchive recheck: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    try:
        with Archive(db) as archive:
            last_id = max((r["id"] for r in archive.runs(limit=1)), default=0)
        from govarchive.crawling import project_settings, run_spiders

        overrides = {"ARCHIVE_DB": str(db), "LOG_LEVEL": args.log_level, "SPIDERMON_ENABLED": False}
        if args.replica:
            overrides["REPLICA_URL"] = args.replica
        overrides.update(dict(args.settings))
        spider_args = {"recheck": "1", **({"recheck_days": str(args.days)} if args.days else {})}
        run_spiders(slugs, project_settings(overrides), spider_args=spider_args)
        with Archive(db) as archive:
            runs = {r["portal"]: r for r in archive.runs(limit=10 * len(slugs)) if r["id"] > last_id}
    finally:
        release_lock(db)
    outage = False
    for slug in slugs:
        run_row = runs.get(slug)
        if run_row is None:
            print(f"portal={slug} result=FAILED problem=\"did not start (see the log)\"")
            outage = True
            continue
        stats = json.loads(run_row.get("stats") or "{}")
        not_believed = int(stats.get("govarchive/removals_not_believed", 0))
        outage |= bool(not_believed) or not stats.get("govarchive/listing_pages_with_links")
        print(f"portal={slug} checked={stats.get('govarchive/archived_fetched', 0)} "
              f"edited={run_row['items_updated'] or 0} unchanged={run_row['items_unchanged'] or 0} "
              f"removed={stats.get('govarchive/articles_removed', 0)} failed={run_row['items_failed'] or 0}"
              + (f" outage=\"{not_believed} takedown(s) not believed: portal looked down\"" if not_believed else "")
              + ("" if stats.get("govarchive/listing_pages_with_links") else " probes=\"no listing page answered\""))
    return 1 if outage else 0
