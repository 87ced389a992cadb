"""``govarchive portals``: the registry, with what each entry's evidence supports.

One line per portal: slug, platform, host status, platform status, evidence count, start URLs seen in the evidence
over all start URLs/feeds/sitemaps, first host and name. ``--platform`` and ``--status`` filter (``confirmed``: host
and platform both confirmed; ``inferred``: either one only inferred); ``--weakest`` sorts the weakest evidence first
(an inferred host, then an inferred platform, then start URLs nobody saw: :mod:`portal_spiders.evidence`);
``--json`` prints the rows as JSON with the reasons. Reads the registry only (no Scrapy, no archive, no network).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

STATUSES = ("confirmed", "inferred")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``portals`` sub-command."""
    parser = subparsers.add_parser(
        "portals", help="list the registry's portals with their platform, statuses and evidence",
        description="List the registry's portals: platform, host and platform status, how much evidence backs "
                    "them and which start URLs were seen in it. --status confirmed keeps portals whose host and "
                    "platform are both confirmed; --status inferred keeps the others.")
    parser.add_argument("--platform", metavar="NAME", help="only portals of this platform")
    parser.add_argument("--status", choices=STATUSES, help="confirmed: host and platform confirmed; "
                                                           "inferred: either one only inferred")
    parser.add_argument("--weakest", action="store_true", help="weakest evidence first (default: by slug)")
    parser.add_argument("--json", action="store_true", help="print JSON rows (with the reasons) instead of a table")
    parser.set_defaults(func=run)


def rows(*, platform: str | None = None, status: str | None = None, weakest: bool = False) -> list[dict[str, Any]]:
    """The registry's portals as report rows, filtered and sorted as the options say."""
    from portal_spiders.evidence import assess
    from portal_spiders.registry import default_registry

    out = []
    for slug, cfg in sorted(default_registry().items()):
        if platform and cfg.platform != platform:
            continue
        confirmed = cfg.host_status == cfg.platform_status == "confirmed"
        if status and (status == "confirmed") != confirmed:
            continue
        verdict = assess(cfg)
        out.append({
            "slug": slug, "name": cfg.name, "platform": cfg.platform, "hosts": list(cfg.hosts),
            "host_status": cfg.host_status, "platform_status": cfg.platform_status,
            "evidence": len(cfg.evidence), "weakness": verdict.weakness,
            "host_reason": verdict.host_reason, "platform_reason": verdict.platform_reason,
            "start_urls_seen": verdict.start_urls_seen, "start_urls_inferred": verdict.start_urls_inferred,
            "replica": cfg.replica,
        })
    if weakest:
        out.sort(key=lambda r: (-r["weakness"], r["evidence"], r["slug"]))
    return out


def run(args: argparse.Namespace) -> int:
    """Print the rows; exit 2 for an unknown platform."""
    from portal_spiders.platforms import platforms

    if args.platform and args.platform not in platforms():
        print(f"govarchive portals: unknown platform {args.platform!r} (known: {', '.join(platforms())})",
              file=sys.stderr)
        return 2
    found = rows(platform=args.platform, status=args.status, weakest=args.weakest)
    if args.json:
        json.dump(found, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    print(f"{'portal':<26} {'platform':<13} {'host':<9} {'platform':<9} {'evid':>4} {'seen':>5}  host / name")
    for r in found:
        seen = f"{len(r['start_urls_seen'])}/{len(r['start_urls_seen']) + len(r['start_urls_inferred'])}"
        print(f"{r['slug']:<26} {r['platform']:<13} {r['host_status']:<9} {r['platform_status']:<9} "
              f"{r['evidence']:>4} {seen:>5}  {r['hosts'][0]} / {r['name']}")
    print(f"{len(found)} portal(s)", file=sys.stderr)
    return 0
