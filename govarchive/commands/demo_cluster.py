"""``govarchive demo-cluster``: the offline demo as a cluster (redis-server, 2 workers, 1 archiver) with faults.

It crawls the replica once on one machine and once as a cluster, SIGKILLs a worker and then the archiver in the
middle of the cluster run (on progress read from Redis), and prints the comparison of the two archives. Needs the
``redis-server`` binary (Debian package ``redis-server``; ``make setup`` installs it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``demo-cluster`` sub-command."""
    parser = subparsers.add_parser(
        "demo-cluster", help="the demo crawl as a Redis cluster with a killed worker and archiver, compared",
        description="Crawl the replica portals on one machine and as a cluster (throw-away redis-server, "
                    "--workers workers, one archiver), kill a worker and the archiver mid-run unless --no-faults, "
                    "and compare the archives (URLs, content hashes, each once, complete runs).")
    parser.add_argument("--dir", default="data/demo-cluster", metavar="PATH",
                        help="where the two archives and the logs go (default: data/demo-cluster)")
    parser.add_argument("--workers", type=int, default=2, metavar="N", help="worker processes (default: 2)")
    parser.add_argument("--no-faults", action="store_true", help="do not kill anything")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo; 0 when the archives are equal."""
    from govarchive.cluster.demo import ClusterDemo
    from govarchive.cluster.redis_server import RedisServerMissing

    if args.workers < 1 or (args.workers < 2 and not args.no_faults):
        print("govarchive demo-cluster: --workers must be at least 2 (1 with --no-faults)", file=sys.stderr)
        return 2
    try:
        comparison = ClusterDemo(Path(args.dir), workers=args.workers, chaos=not args.no_faults).run()
    except RedisServerMissing as exc:
        print(f"govarchive demo-cluster: {exc}", file=sys.stderr)
        return 2
    except (RuntimeError, TimeoutError) as exc:
        print(f"govarchive demo-cluster: {exc}", file=sys.stderr)
        return 1
    print(comparison.report())
    return 0 if comparison.equal else 1
