"""``govarchive worker``: crawl portals as one worker of a cluster (Redis frontier; the archiver writes SQLite).

Start as many as you like, on any machines, with the same ``--cluster`` URL and portals; start one ``govarchive
archiver`` beside them. A worker never opens the archive. It exits once every portal's run is crawled by the
cluster (not just by itself). Exit codes: 0 done; 1 a portal's run did not finish; 2 bad arguments or Redis
unreachable.
"""

from __future__ import annotations

import argparse
import os
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``worker`` sub-command."""
    from govarchive.commands.crawl import _key_value

    parser = subparsers.add_parser(
        "worker", help="crawl portals as a worker of a Redis cluster (see `govarchive archiver`)",
        description="Join (or start) the cluster run of each named portal: requests are shared through Redis and "
                    "leased (a dead worker's requests go back to the queue), items go to Redis for the archiver. "
                    "See docs/scale.md.")
    parser.add_argument("portals", nargs="*", metavar="PORTAL", help="registry slugs to crawl")
    parser.add_argument("--all", action="store_true", help="every portal in the registry")
    parser.add_argument("--platform", metavar="P", help="every portal of this platform")
    parser.add_argument("--cluster", metavar="URL", default=os.environ.get("GOVARCHIVE_CLUSTER"),
                        help="Redis URL, e.g. redis://10.0.0.5:6379/0 (default: $GOVARCHIVE_CLUSTER)")
    parser.add_argument("--worker-id", metavar="ID", help="name of this worker in Redis (default: host-pid-random)")
    parser.add_argument("--replica", metavar="URL", help="route every request to this replica (tests, demo)")
    parser.add_argument("--contact", metavar="URL_OR_EMAIL", help="contact in the User-Agent")
    parser.add_argument("--warc-dir", metavar="DIR",
                        help="where this worker writes its WARC captures: storage the archive's machine sees at the "
                             "same path (the items carry the records' paths; see docs/scale.md)")
    parser.add_argument("-s", "--set", dest="settings", action="append", type=_key_value, default=[],
                        metavar="KEY=VALUE", help="Scrapy setting (repeatable)")
    parser.add_argument("-a", dest="spider_args", action="append", type=_key_value, default=[],
                        metavar="KEY=VALUE", help="spider argument passed to every spider (repeatable)")
    parser.add_argument("--log-file", metavar="PATH", help="write Scrapy's log here (default: stderr)")
    parser.add_argument("--log-level", metavar="LEVEL", help="Scrapy log level (default: INFO)")
    parser.set_defaults(func=run)


def check_cluster(url: str | None, command: str) -> str | None:
    """The error line for a missing, malformed or unreachable Redis URL, or None when Redis answers."""
    from govarchive.cluster import connect

    if not url:
        return f"govarchive {command}: no cluster: pass --cluster redis://HOST:PORT/DB or set GOVARCHIVE_CLUSTER"
    try:
        connect(url).ping()
    except ValueError as exc:
        return f"govarchive {command}: {exc}"
    except Exception as exc:
        return f"govarchive {command}: cannot reach Redis at {url}: {exc}"
    return None


def run(args: argparse.Namespace) -> int:
    """Select portals, check Redis, crawl as a worker; returns the exit code."""
    from govarchive.commands.crawl import EXIT_USAGE, scrapy_overrides, select_portals

    try:
        slugs = select_portals(args)
    except ValueError as exc:
        print(f"govarchive worker: {exc}", file=sys.stderr)
        return EXIT_USAGE
    error = check_cluster(args.cluster, "worker")
    if error:
        print(error, file=sys.stderr)
        return EXIT_USAGE
    from govarchive.crawling import project_settings, run_spiders

    overrides = scrapy_overrides(args, interactive=False)
    overrides.pop("ARCHIVE_DB", None)  # a worker never opens the archive
    overrides["GOVARCHIVE_CLUSTER"] = args.cluster
    if args.worker_id:
        overrides["GOVARCHIVE_CLUSTER_WORKER_ID"] = args.worker_id
    overrides.update(dict(args.settings))
    stats = run_spiders(slugs, project_settings(overrides), spider_args=dict(args.spider_args))
    failed = [slug for slug in slugs if stats.get(slug, {}).get("finish_reason") != "finished"]
    for slug in slugs:
        s = stats.get(slug, {})
        print(f"portal={slug} reason={s.get('finish_reason', '-')} pages={s.get('downloader/response_count', 0)} "
              f"items={s.get('item_scraped_count', 0)}", flush=True)
    return 1 if failed else 0
