"""``govarchive health``: compare each portal's latest crawl with its history and flag what broke.

Reads ``crawl_runs`` only (no Scrapy). Per-run checks made inside the crawl by spidermon are in
``crawl_runs.monitor_results``; this command adds what one run cannot know: the portal's own history.

A portal is flagged when its latest run did not finish, found no article (or none where earlier runs found
some), lost field coverage (``published``/``body_text`` on fewer than 90% of items, or any field more than 20
points under the portal's median), took a field from another kind of source than usual (the title from a
fallback instead of the platform's selectors: the page layout changed), had an error spike (more than 20% of
pages failed, or failures well above the portal's median), failed spidermon checks, read listing pages that
found a handful of article links where the page shows dozens (a missed listing zone: a sidebar read instead of
the list), or is older than ``--stale-days``. Exit code 1 when any portal is flagged, so cron/systemd/alerting
can react; ``--json FILE`` writes the report for other tools.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

REQUIRED_COVERAGE = {"published": 0.9, "body_text": 0.9}
COVERAGE_DROP = 0.2  # absolute drop of a field's coverage against the portal's median
SOURCE_DROP = 0.5  # drop of the share of a field taken from its usual kind of source (css -> heuristic ...)
MAX_FAILED_SHARE = 0.2
HISTORY_RUNS = 20


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``health`` sub-command."""
    parser = subparsers.add_parser(
        "health", help="flag portals whose latest crawl broke (exit 1 when any did)",
        description="Compare each portal's latest crawl run with its earlier runs: unfinished runs, zero "
                    "articles, falling field coverage, error spikes, failed per-run monitors and stale portals.")
    parser.add_argument("--db", default=argparse.SUPPRESS, metavar="PATH",
                        help="archive (default: $GOVARCHIVE_DB or data/archive.db)")
    parser.add_argument("--portal", action="append", metavar="SLUG", help="only this portal (repeatable)")
    parser.add_argument("--stale-days", type=float, default=2.0, metavar="N",
                        help="flag portals whose latest run started more than N days ago (default 2)")
    parser.add_argument("--format", choices=("table", "json"), default="table", help="stdout format")
    parser.add_argument("--json", dest="json_file", metavar="FILE", help="also write the JSON report here")
    parser.set_defaults(func=run)


@dataclass
class PortalHealth:
    """The verdict on one portal."""

    portal: str
    last_run: int
    started_at: str | None
    finish_reason: str | None
    articles: int
    new: int
    failed: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems


def _articles(run: dict[str, Any]) -> int:
    return sum(int(run.get(k) or 0) for k in ("items_new", "items_updated", "items_unchanged"))


def _seen(run: dict[str, Any]) -> int:
    """Articles a run stored, plus those an incremental run listed but skipped as already archived."""
    return _articles(run) + int(_json_field(run, "stats").get("govarchive/articles_skipped_known", 0))


def _source_shares(run: dict[str, Any]) -> dict[str, dict[str, float]]:
    """``{field: {source kind: share of the field's values}}`` from the run's ``govarchive/source/...`` stats."""
    counts: dict[str, dict[str, int]] = {}
    for key, value in _json_field(run, "stats").items():
        parts = key.split("/")
        if len(parts) == 4 and parts[:2] == ["govarchive", "source"]:
            counts.setdefault(parts[2], {})[parts[3]] = int(value)
    return {name: {kind: n / sum(kinds.values()) for kind, n in kinds.items()} for name, kinds in counts.items()}


def _source_drift(latest: dict[str, Any], history: list[dict[str, Any]]) -> list[str]:
    """Fields no longer taken from the kind of source they usually come from (a sign of a layout change)."""
    past = [shares for shares in map(_source_shares, history) if shares]
    now = _source_shares(latest)
    problems = []
    for name in sorted(now):
        usual_kinds = {kind for shares in past for kind in shares.get(name, {})}
        medians = {kind: statistics.median(shares.get(name, {}).get(kind, 0.0) for shares in past)
                   for kind in usual_kinds}
        if not medians:
            continue
        usual, median = max(medians.items(), key=lambda kv: kv[1])
        share = now[name].get(usual, 0.0)
        if median - share > SOURCE_DROP:
            instead = max(now[name].items(), key=lambda kv: kv[1])[0]
            problems.append(f"{name} taken from {usual} on {share:.0%} of items (median {median:.0%}), "
                            f"now from {instead}: layout change?")
    return problems


def _sparse_listings(latest: dict[str, Any]) -> list[str]:
    """Listing pages whose links were mostly missed (``govarchive/listing_sparse``, counted by the spider)."""
    stats = _json_field(latest, "stats")
    sparse = int(stats.get("govarchive/listing_sparse") or 0)
    if not sparse:
        return []
    example = stats.get("govarchive/listing_sparse_example")
    return [f"{sparse} listing page(s) found a handful of the article links they show"
            + (f" (e.g. {example})" if example else "") + ": listing zone missed?"]


def _json_field(run: dict[str, Any], key: str) -> dict[str, Any]:
    try:
        value = json.loads(run.get(key) or "null")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def assess(latest: dict[str, Any], history: list[dict[str, Any]], *, now: datetime,
           stale_days: float) -> PortalHealth:
    """Judge a portal's ``latest`` run against its earlier runs (newest first)."""
    articles, failed = _articles(latest), int(latest.get("items_failed") or 0)
    report = PortalHealth(portal=latest["portal"], last_run=latest["id"], started_at=latest.get("started_at"),
                          finish_reason=latest.get("finish_reason"), articles=articles,
                          new=int(latest.get("items_new") or 0), failed=failed)
    problems = report.problems
    if latest.get("finish_reason") != "finished":
        problems.append(f"latest run did not finish ({latest.get('finish_reason') or 'no finish reason: killed?'})")
    finished = [r for r in history if r.get("finish_reason") == "finished"]
    past_seen = [_seen(r) for r in finished]
    if _seen(latest) == 0:
        if any(past_seen):
            problems.append(f"no articles (median of earlier runs: {statistics.median(past_seen):g})")
        else:
            problems.append("no articles")
    coverage = _json_field(latest, "coverage")
    if articles:
        for name, minimum in REQUIRED_COVERAGE.items():
            if float(coverage.get(name, 0.0)) < minimum:
                problems.append(f"{name} on {float(coverage.get(name, 0.0)):.0%} of items (< {minimum:.0%})")
        past_coverage = [_json_field(r, "coverage") for r in finished if _articles(r)]
        for name in sorted({k for c in past_coverage for k in c}):
            median = statistics.median(float(c.get(name, 0.0)) for c in past_coverage)
            now_value = float(coverage.get(name, 0.0))
            if median - now_value > COVERAGE_DROP:
                problems.append(f"{name} coverage fell to {now_value:.0%} (median {median:.0%})")
        problems.extend(_source_drift(latest, finished))
    pages = articles + failed
    if pages and failed / pages > MAX_FAILED_SHARE:
        problems.append(f"{failed} of {pages} pages failed")
    elif history:
        past_failed = statistics.median(int(r.get("items_failed") or 0) for r in history)
        if failed > max(5, 3 * past_failed):
            problems.append(f"error spike: {failed} failed pages (median {past_failed:g})")
    problems.extend(_sparse_listings(latest))
    monitors = _json_field(latest, "monitor_results")
    problems.extend(f"monitor failed: {name}" for name in monitors.get("failed") or [])
    started = _parse_time(latest.get("started_at"))
    if started is not None and (now - started).total_seconds() > stale_days * 86400:
        problems.append(f"not crawled for {(now - started).total_seconds() / 86400:.1f} days")
    return report


def check_archive(archive: Any, *, portals: list[str] | None = None, stale_days: float = 2.0,
                  now: datetime | None = None) -> list[PortalHealth]:
    """Health of every portal with runs in the archive (or of ``portals``; one never crawled is flagged)."""
    now = now or datetime.now(UTC)
    latest_by_portal = {r["portal"]: r for r in archive.latest_runs()}
    reports = []
    for portal in portals or sorted(latest_by_portal):
        runs = archive.runs(portal, limit=HISTORY_RUNS + 1)
        if not runs:
            reports.append(PortalHealth(portal, 0, None, None, 0, 0, 0, ["never crawled"]))
            continue
        reports.append(assess(runs[0], runs[1:], now=now, stale_days=stale_days))
    return reports


def to_json(reports: list[PortalHealth]) -> dict[str, Any]:
    """The machine-readable report."""
    return {
        "ok": all(r.ok for r in reports),
        "problem_portals": [r.portal for r in reports if not r.ok],
        "portals": [{**asdict(r), "ok": r.ok} for r in reports],
    }


def print_table(reports: list[PortalHealth]) -> None:
    """A plain text table (grep- and log-friendly)."""
    print(f"{'portal':<22} {'status':<7} {'last run (UTC)':<20} {'reason':<10} {'articles':>8} {'new':>5} "
          f"{'failed':>6}  problems")
    for r in reports:
        print(f"{r.portal:<22} {'ok' if r.ok else 'PROBLEM':<7} {(r.started_at or '-')[:19]:<20} "
              f"{r.finish_reason or '-':<10} {r.articles:>8} {r.new:>5} {r.failed:>6}  {'; '.join(r.problems) or '-'}")
    bad = [r.portal for r in reports if not r.ok]
    print(f"\n{len(reports) - len(bad)} ok, {len(bad)} with problems" + (f": {', '.join(bad)}" if bad else ""))


def run(args: argparse.Namespace) -> int:
    """Print the health report; 1 when any portal has a problem, 2 when the archive can't be read."""
    from govarchive.archive import Archive

    archive = Archive.open_existing(args.db)  # ArchiveError: reported by govarchive.cli.main
    with archive:
        reports = check_archive(archive, portals=args.portal, stale_days=args.stale_days)
    if not reports:
        print("govarchive health: no crawl runs in the archive yet", file=sys.stderr)
        return 2
    report = to_json(reports)
    if args.json_file:
        with open(args.json_file, "w", encoding="utf-8") as fh:
            json.dump(report, fh, ensure_ascii=False, indent=2)
    if args.format == "json":
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print_table(reports)
    return 0 if report["ok"] else 1
