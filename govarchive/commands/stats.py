"""``govarchive stats``: per-portal counts, newest article, last run and its health, open failures."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from govarchive.cli import add_db_argument
from govarchive.locking import running_crawl


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("stats", help="archive statistics and crawl health", description=__doc__)
    parser.add_argument("--format", choices=("text", "json"), default="text")
    add_db_argument(parser)
    parser.set_defaults(func=run, reads_archive=True)


def health(run: dict[str, Any] | None, *, crawling: bool = True) -> str:
    """ok | degraded (failures) | incomplete (did not finish normally) | running | never. ``crawling``: whether a
    crawl holds the archive's lock; a run with no end recorded and no crawl alive was cut short (killed, or its end
    could not be written to a full disk): incomplete, not running."""
    if run is None:
        return "never"
    if not run.get("finished_at"):
        return "running" if crawling else "incomplete"
    if not run.get("complete"):
        return "incomplete"
    return "degraded" if (run.get("items_failed") or 0) > 0 else "ok"


def _coverage(run: dict[str, Any] | None) -> dict[str, float]:
    try:
        value = json.loads((run or {}).get("coverage") or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def collect(archive: Any) -> dict[str, Any]:
    """The statistics as one JSON-able dict."""
    summary = {row["portal"]: row for row in archive.portal_summary()}
    runs = {run["portal"]: run for run in archive.latest_runs()}
    crawling = running_crawl(archive.path) is not None
    failures = archive.open_failures_by_portal()
    portals = []
    for name in sorted(set(summary) | set(runs) | set(failures)):
        run = runs.get(name)
        row = summary.get(name, {})
        portals.append({
            "portal": name,
            "articles": row.get("articles", 0),
            "newest_published": row.get("newest"),
            "last_seen": row.get("last_seen"),
            "open_failures": failures.get(name, 0),
            "last_run": None if run is None else {
                "id": run["id"], "mode": run.get("mode"), "started_at": run["started_at"],
                "finished_at": run.get("finished_at"), "finish_reason": run.get("finish_reason"),
                "new": run.get("items_new"), "updated": run.get("items_updated"),
                "unchanged": run.get("items_unchanged"), "failed": run.get("items_failed"),
                "coverage": _coverage(run), "health": health(run, crawling=crawling),
            },
        })
    return {
        "articles": sum(p["articles"] for p in portals),
        "portals": portals,
        "newest_article": archive.newest_article(),
        "open_failures": sum(failures.values()),
    }


def run(args: argparse.Namespace) -> int:
    from govarchive.archive import Archive

    archive = Archive.open_existing(args.db)  # ArchiveError: reported by govarchive.cli.main
    with archive:
        stats = collect(archive)
    if args.format == "json":
        json.dump(stats, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    out = sys.stdout
    out.write(f"archive: {args.db}\narticles: {stats['articles']:,} in {len(stats['portals'])} portals; "
              f"open failures: {stats['open_failures']:,}\n")
    newest = stats["newest_article"]
    if newest:
        out.write(f"newest article: {newest['published']}  {newest['portal']}  {newest['title']}\n")
    header = ("portal", "articles", "newest", "last run", "finish", "health", "new", "upd", "failed", "coverage",
              "open fail")
    rows = []
    for p in stats["portals"]:
        run_ = p["last_run"] or {}
        cov = run_.get("coverage") or {}
        if cov:
            field = min(cov, key=lambda k: cov[k])
            coverage = f"min {float(cov[field]):.0%} {field}"
        else:
            coverage = "-"
        rows.append((p["portal"], f"{p['articles']:,}", (p["newest_published"] or "-")[:16],
                     (run_.get("started_at") or "-")[:16], run_.get("finish_reason") or "-",
                     run_.get("health", "never"), str(run_.get("new") or 0), str(run_.get("updated") or 0),
                     str(run_.get("failed") or 0), coverage, str(p["open_failures"])))
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        out.write("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() + "\n")
    return 0
