"""``govarchive crawl``: crawl chosen portals (or all of them) politely in one process, then report each one.

Politeness comes from the project settings (robots.txt, AutoThrottle, at most 2 requests per host at once, a
delay with jitter, retries with exponential backoff, an honest User-Agent with a contact) and the registry's
per-portal ``politeness`` table. One crawl at a time per archive: the command holds ``<db>.lock``.

With ``--replica URL`` (or ``$GOVARCHIVE_REPLICA_URL``) every request goes to an offline replica: the command
says so first (REPLICA MODE), and refuses an archive whose runs are of the other kind (replica vs real).

Exit codes: 0 all portals healthy; 1 at least one portal failed (finish reason not ``finished``, no article,
or too many failed pages); 2 bad arguments, or an archive that would mix replica and real runs; 3 the archive
is locked by another crawl.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED = 1, 2, 3


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``crawl`` sub-command."""
    parser = subparsers.add_parser(
        "crawl", help="crawl portals politely into the archive (scheduled runs)",
        description="Crawl the named portals (or --all, or every portal of --platform) in one process with "
                    "per-host politeness, show progress on a terminal, and print a per-portal summary. Exits "
                    "non-zero when any portal failed. With --replica and no portal named, crawls the replica "
                    "portals.")
    parser.add_argument("portals", nargs="*", metavar="PORTAL", help="registry slugs to crawl")
    parser.add_argument("--all", action="store_true", help="every portal in the registry")
    parser.add_argument("--platform", metavar="P", help="every portal of this platform (with --all: filter)")
    parser.add_argument("--db", default=argparse.SUPPRESS, metavar="PATH",
                        help="archive (default: $GOVARCHIVE_DB or data/archive.db)")
    parser.add_argument("--replica", metavar="URL",
                        help="route every request to this offline replica (tests, demo). $GOVARCHIVE_REPLICA_URL "
                             "does the same for every crawl: such crawls start with a REPLICA MODE warning, and an "
                             "archive takes replica runs or real runs, never both")
    parser.add_argument("--contact", metavar="URL_OR_EMAIL",
                        help="contact in the User-Agent (default: $GOVARCHIVE_CONTACT or the project's URL)")
    parser.add_argument("-s", "--set", dest="settings", action="append", type=_key_value, default=[],
                        metavar="KEY=VALUE", help="Scrapy setting (repeatable)")
    parser.add_argument("-a", dest="spider_args", action="append", type=_key_value, default=[],
                        metavar="KEY=VALUE", help="spider argument passed to every spider (repeatable)")
    parser.add_argument("--warc-dir", metavar="DIR",
                        help="write WARC captures here (default: warc/ beside the archive)")
    parser.add_argument("--no-warc", action="store_true", help="do not write WARC captures")
    parser.add_argument("--log-file", metavar="PATH", help="write Scrapy's log here (default: stderr)")
    parser.add_argument("--log-level", metavar="LEVEL",
                        help="Scrapy log level (default: INFO with --log-file or when not a terminal, else WARNING)")
    parser.set_defaults(func=run)


def select_portals(args: argparse.Namespace) -> list[str]:
    """Slugs chosen by the arguments; raises ``ValueError`` with a message for bad choices."""
    from portal_spiders.registry import default_registry

    registry = default_registry()
    unknown = [s for s in args.portals if s not in registry]
    if unknown:
        raise ValueError(f"unknown portal(s): {', '.join(unknown)} (see `scrapy list`)")
    if args.portals:
        slugs = list(args.portals)
    elif args.all or args.platform:
        slugs = list(registry)
    elif args.replica:
        slugs = [slug for slug, cfg in registry.items() if cfg.replica]
    else:
        raise ValueError("name one or more portals, or use --all / --platform")
    if args.platform:
        slugs = [s for s in slugs if registry[s].platform == args.platform]
        if not slugs:
            raise ValueError(f"no portal on platform {args.platform!r}")
    return slugs


def scrapy_overrides(args: argparse.Namespace, *, interactive: bool) -> dict[str, Any]:
    """Scrapy settings from the command line (``-s`` wins over the options)."""
    overrides: dict[str, Any] = {"ARCHIVE_DB": str(args.db)}
    if args.replica:
        overrides["REPLICA_URL"] = args.replica
    contact = args.contact or os.environ.get("GOVARCHIVE_CONTACT")
    if contact:
        from govarchive import __version__

        overrides["GOVARCHIVE_CONTACT"] = contact
        overrides["USER_AGENT"] = f"govarchive/{__version__} (+{contact}; archive of Vietnamese official news)"
    if getattr(args, "warc_dir", None):
        overrides["WARC_DIR"] = args.warc_dir
    if getattr(args, "no_warc", False):
        overrides["WARC_ENABLED"] = False
    if args.log_file:
        Path(args.log_file).parent.mkdir(parents=True, exist_ok=True)
        overrides["LOG_FILE"] = args.log_file
    overrides["LOG_LEVEL"] = args.log_level or ("WARNING" if interactive and not args.log_file else "INFO")
    overrides.update(dict(args.settings))
    return overrides


@dataclass
class PortalOutcome:
    """What one portal's run did, read back from the archive's ``crawl_runs`` row."""

    slug: str
    finish_reason: str | None = None
    pages: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    monitors_failed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems

    @property
    def articles(self) -> int:
        """Articles seen in the run (new, updated or unchanged)."""
        return self.new + self.updated + self.unchanged


def judge(slug: str, run: dict[str, Any] | None, *, max_failed_share: float) -> PortalOutcome:
    """A portal's outcome from its run row (``None``: the run never started)."""
    import json

    if run is None:
        return PortalOutcome(slug, problems=["did not start (see the log)"])
    out = PortalOutcome(
        slug, finish_reason=run["finish_reason"], pages=run["responses"] or 0, new=run["items_new"] or 0,
        updated=run["items_updated"] or 0, unchanged=run["items_unchanged"] or 0, failed=run["items_failed"] or 0)
    monitors = json.loads(run.get("monitor_results") or "null") or {}
    out.monitors_failed = list(monitors.get("failed") or [])
    # An incremental run skips articles archived before; those still prove the listings work.
    skipped = int((json.loads(run.get("stats") or "null") or {}).get("govarchive/articles_skipped_known", 0))
    if out.finish_reason != "finished":
        out.problems.append(f"finish reason {out.finish_reason or 'none (killed?)'}")
    if out.articles == 0 and not skipped:
        out.problems.append("no articles")
    total = out.articles + out.failed
    if total and out.failed / total > max_failed_share:
        out.problems.append(f"{out.failed}/{total} pages failed")
    return out


class Progress:
    """Live per-portal table on a terminal (rich), refreshed from the crawlers' stats."""

    def __init__(self, slugs: list[str]) -> None:
        from rich.console import Console
        from rich.live import Live

        self.slugs = slugs
        self.live = Live(self._table({}), console=Console(stderr=True), refresh_per_second=2, transient=True)

    def _table(self, stats: dict[str, dict[str, Any]]) -> Any:
        from rich.table import Table

        table = Table(title="govarchive crawl", title_justify="left")
        for name in ("portal", "pages", "new", "updated", "same", "errors", "state"):
            table.add_column(name, justify="left" if name in ("portal", "state") else "right", no_wrap=name == "portal")
        for slug in self.slugs:
            s = stats.get(slug, {})
            state = s.get("finish_reason") or ("running" if s.get("start_time") else "waiting")
            table.add_row(slug, str(s.get("downloader/response_count", 0)), str(s.get("govarchive/items_new", 0)),
                          str(s.get("govarchive/items_updated", 0)), str(s.get("govarchive/items_unchanged", 0)),
                          str(s.get("govarchive/items_failed", 0)), str(state))
        return table

    def update(self, stats: dict[str, dict[str, Any]]) -> None:
        """Redraw with fresh stats."""
        self.live.update(self._table(stats))


def print_summary(outcomes: list[PortalOutcome], *, interactive: bool) -> None:
    """A table on a terminal; otherwise one ``key=value`` line per portal (log-friendly)."""
    if interactive:
        from rich.console import Console
        from rich.table import Table

        table = Table(title="crawl summary", title_justify="left")
        for name in ("portal", "result", "reason", "pages", "new", "updated", "same", "failed", "problems"):
            table.add_column(name, justify="right" if name in ("pages", "new", "updated", "same", "failed") else "left",
                             no_wrap=name == "portal")
        for o in outcomes:
            table.add_row(o.slug, "[green]ok[/]" if o.ok else "[red]FAILED[/]", o.finish_reason or "-", str(o.pages),
                          str(o.new), str(o.updated), str(o.unchanged), str(o.failed),
                          "; ".join(o.problems + [f"monitor: {m}" for m in o.monitors_failed]) or "-")
        Console().print(table)
        return
    for o in outcomes:
        problems = "; ".join(o.problems)
        print(f"portal={o.slug} result={'ok' if o.ok else 'FAILED'} reason={o.finish_reason or '-'} pages={o.pages} "
              f"new={o.new} updated={o.updated} unchanged={o.unchanged} failed={o.failed}"
              + (f' problems="{problems}"' if problems else "")
              + (f' monitors_failed="{", ".join(o.monitors_failed)}"' if o.monitors_failed else ""), flush=True)


def run(args: argparse.Namespace) -> int:
    """Select portals, take the archive lock, crawl, report; returns the exit code."""
    from govarchive.archive import Archive
    from govarchive.locking import ArchiveLocked, acquire_lock, release_lock

    try:
        slugs = select_portals(args)
    except ValueError as exc:
        print(f"govarchive crawl: {exc}", file=sys.stderr)
        return EXIT_USAGE
    interactive = sys.stdout.isatty() and sys.stderr.isatty()
    db = Path(args.db)
    db.parent.mkdir(parents=True, exist_ok=True)
    try:
        acquire_lock(db)
    except ArchiveLocked as exc:
        print(f"govarchive crawl: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    try:
        from govarchive.crawling import project_settings, run_spiders
        from portal_spiders.routing import replica_target, replica_warning

        settings = project_settings(scrapy_overrides(args, interactive=interactive))
        target = replica_target(settings)
        if target is not None:
            print(f"govarchive crawl: {replica_warning(*target)}", file=sys.stderr, flush=True)
        with Archive(db) as archive:  # creates the schema; runs newer than this id belong to this crawl
            archive.check_run_origin(replica=target is not None)  # ReplicaMixError: one line, exit 2
            last_id = max((r["id"] for r in archive.runs(limit=1)), default=0)
        progress = Progress(slugs) if interactive else None
        if progress is not None:
            with progress.live:
                run_spiders(slugs, settings, spider_args=dict(args.spider_args), on_tick=progress.update)
        else:
            run_spiders(slugs, settings, spider_args=dict(args.spider_args))
        max_failed_share = settings.getfloat("GOVARCHIVE_MAX_FAILED_SHARE", 0.2)
        with Archive(db) as archive:
            outcomes = []
            for slug in slugs:
                runs = [r for r in archive.runs(slug, limit=1) if r["id"] > last_id]
                outcomes.append(judge(slug, runs[0] if runs else None, max_failed_share=max_failed_share))
    finally:
        release_lock(db)
    print_summary(outcomes, interactive=interactive)
    return 0 if all(o.ok for o in outcomes) else EXIT_FAILED
