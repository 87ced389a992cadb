"""``govarchive health``: compare each portal's latest crawl with its history and flag what broke.

Reads ``crawl_runs`` only (no Scrapy). Per-run checks made inside the crawl by spidermon are in
``crawl_runs.monitor_results``; this command adds what one run cannot know: the portal's own history.

A portal is flagged when its latest run did not finish, found no article (or none where earlier runs found
some), lost field coverage (``published``/``body_text`` on fewer than 90% of items, or any field more than 20
points under the portal's median), took a field from another kind of source than usual (the title from a
fallback instead of the platform's selectors: the page layout changed), had an error spike (more than 20% of
pages failed, or failures well above the portal's median), failed spidermon checks, read listing pages that
found a handful of article links where the page shows dozens (a missed listing zone: a sidebar read instead of
the list), or is older than ``--stale-days``. The cause of a bad run is named in words ("DNS lookup failed for
laichau.dcs.vn", ``crawl_runs.cause``). ``--json FILE`` writes the report for other tools.

A crawl that is running now (it holds ``<db>.lock``) is not a problem: its portals are reported as "running
since ..."; an interrupted latest run (Ctrl-C) is not one either, unless the portal has had no complete run for
``--stale-days``. ``--notify`` sends the report by e-mail and/or to a JSON webhook (:mod:`govarchive.notify`).

Exit codes: 0 every portal healthy (or running); 1 some portal has a problem, so cron/systemd/alerting can react;
2 health itself failed (the archive cannot be read or has no runs, ``--json`` cannot be written, a notification
could not be sent).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

REQUIRED_COVERAGE = {"published": 0.9, "body_text": 0.9}
COVERAGE_DROP = 0.2  # absolute drop of a field's coverage against the portal's median
SOURCE_DROP = 0.5  # drop of the share of a field taken from its usual kind of source (css -> heuristic ...)
MAX_FAILED_SHARE = 0.2
HISTORY_RUNS = 20


EXIT_HEALTHY, EXIT_UNHEALTHY, EXIT_FAILED = 0, 1, 2
# Checks of the crawl's spidermon suite that health (and the crawl summary) report from the run row themselves.
OWN_CHECKS = frozenset({"finish", "articles", "failed_share"})


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``health`` sub-command."""
    parser = subparsers.add_parser(
        "health", help="flag portals whose latest crawl broke (exit 1 when any did)",
        description="Compare each portal's latest crawl run with its earlier runs: unfinished runs, zero "
                    "articles, falling field coverage, error spikes, failed per-run monitors and stale portals. "
                    "Portals of a crawl running now are reported as running, not as problems.",
        epilog="exit codes: 0 healthy (or running); 1 some portal has a problem; 2 health itself failed (archive "
               "unreadable or without runs, --json not writable, notification not sent).")
    parser.add_argument("--db", default=argparse.SUPPRESS, metavar="PATH",
                        help="archive (default: $GOVARCHIVE_DB or data/archive.db)")
    parser.add_argument("--portal", action="append", metavar="SLUG", help="only this portal (repeatable)")
    parser.add_argument("--stale-days", type=float, default=2.0, metavar="N",
                        help="flag portals whose latest run started more than N days ago (default 2)")
    parser.add_argument("--format", choices=("table", "json"), default="table", help="stdout format")
    parser.add_argument("--json", dest="json_file", metavar="FILE", help="also write the JSON report here")
    parser.add_argument("--notify", action="store_true",
                        help="send the report when a portal has a problem or health fails (e-mail via "
                             "GOVARCHIVE_SMTP_*/GOVARCHIVE_EMAIL_TO, webhook via GOVARCHIVE_WEBHOOK_URL)")
    parser.add_argument("--notify-always", action="store_true", help="send the report even when all is well")
    parser.add_argument("--email-to", action="append", metavar="ADDRESS",
                        help="recipient (repeatable; overrides GOVARCHIVE_EMAIL_TO)")
    parser.add_argument("--webhook", metavar="URL", help="JSON webhook (overrides GOVARCHIVE_WEBHOOK_URL)")
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
    status: str = ""  # "running" / "interrupted" when that, not a problem, is the news
    note: str | None = None  # "running since ...", "interrupted — the next run resumes"
    cause: str | None = None  # crawl_runs.cause of the latest run

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems

    @property
    def state(self) -> str:
        """``ok``, ``running``, ``interrupted`` or ``PROBLEM``."""
        return "PROBLEM" if self.problems else self.status or "ok"


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


def failed_checks(monitor_results: dict[str, Any]) -> list[str]:
    """The failed spidermon checks of a run in words, leaving out those health and the crawl summary judge
    themselves (:data:`OWN_CHECKS`); runs archived before checks had keys list every failed name."""
    checks = monitor_results.get("checks") or []
    if checks and all(isinstance(c, dict) and "check" in c for c in checks):
        return [c.get("message") or c.get("monitor") or c["check"] for c in checks
                if c.get("status") not in ("OK", "SKIPPED") and c["check"] not in OWN_CHECKS]
    return [f"monitor failed: {name}" for name in monitor_results.get("failed") or []]


def assess(latest: dict[str, Any], history: list[dict[str, Any]], *, now: datetime,
           stale_days: float, last_complete: dict[str, Any] | None = None) -> PortalHealth:
    """Judge a portal's ``latest`` run against its earlier runs (newest first)."""
    articles, failed = _articles(latest), int(latest.get("items_failed") or 0)
    report = PortalHealth(portal=latest["portal"], last_run=latest["id"], started_at=latest.get("started_at"),
                          finish_reason=latest.get("finish_reason"), articles=articles,
                          new=int(latest.get("items_new") or 0), failed=failed, cause=latest.get("cause"))
    problems = report.problems
    started = _parse_time(latest.get("started_at"))
    if latest.get("finish_reason") == "shutdown":
        report.status, report.note = "interrupted", "interrupted — the next run resumes"
        done = _parse_time((last_complete or {}).get("started_at"))
        if done is None or (now - done).total_seconds() > stale_days * 86400:
            since = f"for {(now - done).total_seconds() / 86400:.1f} days" if done else "ever"
            problems.append(f"no complete run {since} (the latest runs were interrupted)")
        return report
    if latest.get("finish_reason") == "network_down":
        problems.append("not crawled: the network was down during its latest crawl")
        return report
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
    problems.extend(failed_checks(_json_field(latest, "monitor_results")))
    problems.extend(reliability_problems(_json_field(latest, "stats")))
    if started is not None and (now - started).total_seconds() > stale_days * 86400:
        problems.append(f"not crawled for {(now - started).total_seconds() / 86400:.1f} days")
    if problems and report.cause and report.cause not in problems:
        problems.insert(0, report.cause)
    return report


def reliability_problems(stats: dict[str, Any]) -> list[str]:
    """What a run's stats say it lost or could not reach (docs/reliability.md), in plain words."""
    problems = []
    if stats.get("govarchive/write_errors") or stats.get("govarchive/items_lost"):
        problems.append(f"archive write failed: {stats.get('govarchive/write_error') or 'unknown error'}; "
                        f"{int(stats.get('govarchive/items_lost') or 0)} item(s) rolled back and left for the next "
                        "run (run incomplete)")
    if stats.get("govarchive/pager_not_followed"):
        problems.append(f"{int(stats['govarchive/pager_not_followed'])} listing(s) show a pager but only page 1 was "
                        "read: pagination not followed")
    if stats.get("govarchive/deferred"):
        problems.append(f"{int(stats['govarchive/deferred'])} request(s) deferred to the next run: the host asked to "
                        "wait longer than RETRY_AFTER_MAX (Retry-After)")
    if stats.get("govarchive/redirects_dropped"):
        problems.append(f"{int(stats['govarchive/redirects_dropped'])} redirect target(s) dropped (run incomplete)")
    return problems


def _running(report: PortalHealth, crawl: Any) -> None:
    """Mark a portal whose latest run belongs to the crawl running now."""
    report.problems.clear()
    report.status = "running"
    report.note = f"running since {(report.started_at or crawl.since.isoformat())[:19]} UTC" + (
        f" (pid {crawl.pid})" if crawl.pid else "")


def check_archive(archive: Any, *, portals: list[str] | None = None, stale_days: float = 2.0,
                  now: datetime | None = None, running: Any = None) -> list[PortalHealth]:
    """Health of every portal with runs in the archive (or of ``portals``; one never crawled is flagged).

    ``running`` (:class:`govarchive.locking.RunningCrawl`): the crawl holding the archive's lock now; a portal
    whose latest run is unfinished and started after it took the lock is "running", not a problem.
    """
    now = now or datetime.now(UTC)
    latest_by_portal = {r["portal"]: r for r in archive.latest_runs()}
    reports = []
    for portal in portals or sorted(latest_by_portal):
        runs = archive.runs(portal, limit=HISTORY_RUNS + 1)
        if not runs:
            reports.append(PortalHealth(portal, 0, None, None, 0, 0, 0, ["never crawled"]))
            continue
        latest = runs[0]
        last_complete = archive.last_complete_run(portal) if latest.get("finish_reason") == "shutdown" else None
        report = assess(latest, runs[1:], now=now, stale_days=stale_days, last_complete=last_complete)
        started = _parse_time(latest.get("started_at"))
        if running is not None and not latest.get("finished_at") and started is not None and \
                started >= running.since - timedelta(seconds=5):
            _running(report, running)
        reports.append(report)
    return reports


def to_json(reports: list[PortalHealth]) -> dict[str, Any]:
    """The machine-readable report."""
    return {
        "ok": all(r.ok for r in reports),
        "problem_portals": [r.portal for r in reports if not r.ok],
        "running_portals": [r.portal for r in reports if r.status == "running"],
        "portals": [{**asdict(r), "ok": r.ok, "state": r.state} for r in reports],
    }


def summary_line(reports: list[PortalHealth]) -> str:
    """``7 ok, 1 with problems: laichau-dcs`` (running and interrupted portals counted apart)."""
    bad = [r.portal for r in reports if not r.ok]
    counts = {state: sum(r.state == state for r in reports) for state in ("ok", "running", "interrupted")}
    parts = [f"{counts['ok']} ok"] + [f"{n} {state}" for state, n in counts.items() if state != "ok" and n]
    line = ", ".join(parts) + f", {len(bad)} with problems" + (f": {', '.join(bad)}" if bad else "")
    down = [r.portal for r in reports if r.finish_reason == "network_down"]
    if down:
        line += f"\nthe network was down during the latest crawl: {len(down)} portals were not crawled"
    return line


def table_text(reports: list[PortalHealth]) -> str:
    """A plain text table (grep- and log-friendly)."""
    lines = [f"{'portal':<22} {'status':<11} {'last run (UTC)':<20} {'reason':<12} {'articles':>8} {'new':>5} "
             f"{'failed':>6}  problems"]
    for r in reports:
        lines.append(f"{r.portal:<22} {r.state:<11} {(r.started_at or '-')[:19]:<20} {r.finish_reason or '-':<12} "
                     f"{r.articles:>8} {r.new:>5} {r.failed:>6}  {'; '.join(r.problems) or r.note or '-'}")
    return "\n".join(lines) + "\n\n" + summary_line(reports)


def print_table(reports: list[PortalHealth]) -> None:
    """Print :func:`table_text`."""
    print(table_text(reports))


def notify(args: argparse.Namespace, *, subject: str, text: str, payload: dict[str, Any]) -> str | None:
    """Send through the configured channels; returns the error line, or None when sent."""
    from govarchive.notify import NotifyError, config_from_env, send

    try:
        config = config_from_env(email_to=args.email_to, webhook_url=args.webhook)
        channels = send(config, subject=subject, text=text, payload=payload)
    except NotifyError as exc:
        return f"notification not sent: {exc}"
    print(f"govarchive health: report sent ({', '.join(channels)})", file=sys.stderr)
    return None


def _fail(args: argparse.Namespace, message: str, *, tell: bool = True) -> int:
    """Health itself failed: say it in one line, and tell the operators when --notify is on (and can work)."""
    print(f"govarchive health: error: {message}", file=sys.stderr)
    if tell and (args.notify or args.notify_always):
        error = notify(args, subject=f"govarchive health could not run: {message}", text=message,
                       payload={"event": "govarchive.health_failed", "ok": False, "error": message,
                                "text": f"govarchive health could not run: {message}", "archive": str(args.db)})
        if error:
            print(f"govarchive health: error: {error}", file=sys.stderr)
    return EXIT_FAILED


def run(args: argparse.Namespace) -> int:
    """Print the health report; 1 when any portal has a problem, 2 when health itself failed."""
    from govarchive.archive import Archive, ArchiveError, refuse_archive_output
    from govarchive.checks import BadInput, atomic_output, check_output_path
    from govarchive.locking import running_crawl

    if args.notify or args.notify_always:
        from govarchive.notify import NotifyConfigError, config_from_env

        try:  # a bad variable is found before the report, not after
            config_from_env(email_to=args.email_to, webhook_url=args.webhook)
        except NotifyConfigError as exc:
            return _fail(args, str(exc), tell=False)
    try:
        if args.json_file:
            refuse_archive_output(args.db, args.json_file, option="--json")  # never the archive, under any name
            check_output_path(args.json_file, "--json")
        archive = Archive.open_existing(args.db)
        with archive:
            from govarchive.commands._query import check_portals

            problem = check_portals(archive, args.portal)
            if problem:
                raise BadInput(problem.removeprefix("govarchive: error: "))
            reports = check_archive(archive, portals=args.portal, stale_days=args.stale_days,
                                    running=running_crawl(args.db))
    except (ArchiveError, BadInput, sqlite3.DatabaseError) as exc:
        return _fail(args, str(exc))
    if not reports:
        return _fail(args, f"no crawl runs in {args.db} yet")
    report = to_json(reports)
    if args.format == "json":
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print_table(reports)
    code = EXIT_HEALTHY if report["ok"] else EXIT_UNHEALTHY
    if args.json_file:
        try:
            with atomic_output(args.json_file, "--json") as fh:
                json.dump(report, fh, ensure_ascii=False, indent=2)
        except BadInput as exc:
            return _fail(args, str(exc))
    if args.notify_always or (args.notify and not report["ok"]):
        bad = report["problem_portals"]
        subject = (f"govarchive: {len(bad)} of {len(reports)} portals with problems: {', '.join(bad[:5])}"
                   + (" ..." if len(bad) > 5 else "")) if bad else f"govarchive: all {len(reports)} portals healthy"
        error = notify(args, subject=subject, text=table_text(reports), payload={
            "event": "govarchive.health", "text": subject, "archive": str(args.db), **report})
        if error:
            print(f"govarchive health: error: {error}", file=sys.stderr)
            return EXIT_FAILED
    return code
