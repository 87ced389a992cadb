"""``govarchive crawl``: crawl chosen portals (or all of them) politely in one process, then report each one.

Politeness comes from the project settings (robots.txt, AutoThrottle, at most 2 requests per host at once, a
delay with jitter, retries with exponential backoff, an honest User-Agent with a contact) and the registry's
per-portal ``politeness`` table. One crawl at a time per archive: the command holds ``<db>.lock``.

With ``--replica URL`` (or ``$GOVARCHIVE_REPLICA_URL``) every request goes to an offline replica: the command
says so first (REPLICA MODE), and refuses an archive whose runs are of the other kind (replica vs real).

Everything the operator typed is checked before Scrapy starts (spider arguments, ``-s`` settings, log level and
file, the archive path); a bad value is one line and exit code 2. The summary names each portal's trouble in words
("DNS lookup failed for laichau.dcs.vn"); Ctrl-C stops within seconds and the next run resumes
(:mod:`govarchive.crawling`).

Exit codes: 0 all portals healthy; 1 at least one portal failed (finish reason not ``finished``, no article,
too many failed pages, or a failed check); 2 bad input, or an archive that would mix replica and real runs; 3 the
archive is locked by another crawl; 4 the network appears to be down (no host answered); 130 interrupted (Ctrl-C
or SIGTERM: the next run resumes).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from govarchive.checks import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_LOCKED,
    EXIT_NETWORK,
    EXIT_OK,
    EXIT_PROBLEM,
    BadInput,
    check_archive_path,
    check_log_file,
    log_level,
)
from govarchive.commands.health import failed_checks

EXIT_FAILED, EXIT_USAGE = EXIT_PROBLEM, EXIT_ERROR
PROGRESS_SECONDS = 60.0  # one progress line this often when not on a terminal


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value


def _log_level(text: str) -> str:
    try:
        return log_level(text)
    except BadInput as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``crawl`` sub-command."""
    parser = subparsers.add_parser(
        "crawl", help="crawl portals politely into the archive (scheduled runs)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Crawl the named portals (or --all, or every portal of --platform) in one process with\n"
                    "per-host politeness, show progress on a terminal, and print a per-portal summary naming each\n"
                    "portal's trouble in words. With --replica and no portal named, crawls the replica portals.",
        epilog="exit codes: 0 every portal healthy; 1 a portal failed; 2 bad input (arguments, settings, archive "
               "path);\n3 another crawl holds the archive's lock; 4 the network appears to be down; 130 interrupted "
               "(Ctrl-C:\nthe next run resumes). Ctrl-C once stops after in-flight requests; twice stops now.")
    parser.add_argument("portals", nargs="*", metavar="PORTAL", help="registry slugs to crawl")
    parser.add_argument("--all", action="store_true", help="every portal in the registry")
    parser.add_argument("--platform", metavar="P", help="every portal of this platform (with --all: filter)")
    parser.add_argument("--db", default=argparse.SUPPRESS, metavar="PATH",
                        help="archive (default: $GOVARCHIVE_DB or data/archive.db); its directory must exist")
    parser.add_argument("--replica", metavar="URL",
                        help="route every request to this offline replica (tests, demo). $GOVARCHIVE_REPLICA_URL "
                             "does the same for every crawl: such crawls start with a REPLICA MODE warning, and an "
                             "archive takes replica runs or real runs, never both")
    parser.add_argument("--contact", metavar="URL_OR_EMAIL",
                        help="contact in the User-Agent (default: $GOVARCHIVE_CONTACT or the project's URL)")
    parser.add_argument("-s", "--set", dest="settings", action="append", type=_key_value, default=[],
                        metavar="KEY=VALUE", help="Scrapy setting (repeatable)")
    parser.add_argument("-a", dest="spider_args", action="append", type=_key_value, default=[],
                        metavar="KEY=VALUE", help="spider argument for every spider (repeatable): full=yes, "
                                                  "since=YYYY-MM-DD, refresh_days=N, max_pages=N, recheck=yes, "
                                                  "recheck_days=N")
    parser.add_argument("--warc-dir", metavar="DIR",
                        help="write WARC captures here (default: warc/ beside the archive)")
    parser.add_argument("--no-warc", action="store_true", help="do not write WARC captures")
    parser.add_argument("--log-file", metavar="PATH", help="write Scrapy's log here (default: stderr)")
    parser.add_argument("--log-level", metavar="LEVEL", type=_log_level,
                        help="Scrapy log level (default: INFO with --log-file or when not a terminal, else WARNING)")
    parser.set_defaults(func=run)


def select_portals(args: argparse.Namespace) -> list[str]:
    """Slugs chosen by the arguments; raises ``ValueError`` with a message for bad choices."""
    from portal_spiders.registry import default_registry

    registry = default_registry()
    unknown = [s for s in args.portals if s not in registry]
    if unknown:
        from govarchive.slugs import unknown_portals

        raise ValueError(f"{unknown_portals(unknown, registry)} (`scrapy list` lists them all)")
    if args.portals:
        slugs = list(dict.fromkeys(args.portals))
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
        overrides["LOG_FILE"] = args.log_file
    overrides["LOG_LEVEL"] = args.log_level or ("WARNING" if interactive and not args.log_file else "INFO")
    overrides.update(dict(args.settings))
    return overrides


def check_input(args: argparse.Namespace, settings: Any) -> dict[str, Any]:
    """Check everything the operator typed before Scrapy starts; returns the spider arguments.

    Raises :class:`BadInput` with the one line to show.
    """
    from govarchive.archive import refuse_archive_output
    from govarchive.checks import check_scrapy_settings
    from portal_spiders.spider_args import parse_spider_args

    spider_args = dict(args.spider_args)
    parse_spider_args(spider_args)
    check_scrapy_settings(settings, dict(args.settings))
    for option, path in (("--log-file", args.log_file), ("-s LOG_FILE", dict(args.settings).get("LOG_FILE"))):
        if path:  # never the archive (or its -wal/-shm/lock) under any name
            refuse_archive_output(args.db, path, option=option)  # ArchiveError: one line, exit 2
    if args.log_file:
        check_log_file(args.log_file)
    if args.replica and not args.replica.startswith(("http://", "https://")):
        raise BadInput(f"--replica {args.replica!r}: expected a URL like http://127.0.0.1:8765")
    return spider_args


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
    cause: str | None = None
    monitors_failed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def interrupted(self) -> bool:
        """Stopped by Ctrl-C/SIGTERM: not a failure, the next run resumes."""
        return self.finish_reason == "shutdown"

    @property
    def network_down(self) -> bool:
        """Stopped because no host answered."""
        return self.finish_reason == "network_down"

    @property
    def ok(self) -> bool:
        """No problem found (an interrupted run is not a problem)."""
        return not self.problems

    @property
    def result(self) -> str:
        """``ok``, ``interrupted``, ``not-crawled`` (network down) or ``FAILED``."""
        if self.interrupted:
            return "interrupted"
        if self.network_down:
            return "not-crawled"
        return "ok" if self.ok else "FAILED"

    @property
    def articles(self) -> int:
        """Articles seen in the run (new, updated or unchanged)."""
        return self.new + self.updated + self.unchanged


def _json_dict(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "null")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def judge(slug: str, run: dict[str, Any] | None, *, max_failed_share: float,
          stats: dict[str, Any] | None = None) -> PortalOutcome:
    """A portal's outcome from its run row (``None``: the run never started) and the crawler's final ``stats``
    (which still tell a failed archive write when the run row itself could not be written)."""
    from govarchive.commands.health import reliability_problems

    if run is None:
        return PortalOutcome(slug, problems=["did not start (see the log)", *reliability_problems(stats or {})])
    out = PortalOutcome(
        slug, finish_reason=run["finish_reason"], pages=run["responses"] or 0, new=run["items_new"] or 0,
        updated=run["items_updated"] or 0, unchanged=run["items_unchanged"] or 0, failed=run["items_failed"] or 0,
        cause=run.get("cause"))
    if out.interrupted or out.network_down:  # said once, by the command; the next run resumes
        return out
    out.monitors_failed = failed_checks(_json_dict(run.get("monitor_results")))
    # An incremental run skips articles archived before; those still prove the listings work.
    run_stats = _json_dict(run.get("stats"))
    skipped = int(run_stats.get("govarchive/articles_skipped_known", 0))
    if out.finish_reason != "finished":
        out.problems.append(f"finish reason {out.finish_reason or 'none (killed?)'}")
    out.problems.extend(reliability_problems(run_stats if run.get("finished_at") else (stats or run_stats)))
    if out.articles == 0 and not skipped:
        out.problems.append("no articles")
    total = out.articles + out.failed
    if total and out.failed / total > max_failed_share:
        out.problems.append(f"{out.failed}/{total} pages failed")
    out.problems.extend(out.monitors_failed)
    if out.problems and out.cause:
        out.problems.insert(0, out.cause)
    return out


# -- progress --------------------------------------------------------------------------------------------


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


@dataclass
class PortalProgress:
    """Live figures of one portal, from its crawler's stats."""

    state: str
    pages: int
    new: int
    updated: int
    same: int
    errors: int
    queued: int
    eta: float | None  # seconds; None: not known yet
    done: bool = False


def portal_progress(stats: dict[str, Any], now: float) -> PortalProgress:
    """A portal's figures; the ETA is the requests known so far (queued) at the rate so far.

    Incremental crawls find more work as they read listings, so the ETA can grow; it is shown once the portal has
    run for a few seconds and has requests queued.
    """
    from datetime import datetime

    started = stats.get("start_time")
    finished = bool(stats.get("finish_reason"))
    state = stats.get("finish_reason") or ("running" if started else "waiting")
    # Every attempt is scheduled (robots.txt ones go straight to the downloader) and ends in a response or an
    # exception; the difference is what is still to do: in the scheduler, in download slots or in flight.
    scheduled = int(stats.get("scheduler/enqueued", 0)) + int(stats.get("robotstxt/request_count", 0))
    ended = int(stats.get("downloader/response_count", 0)) + int(stats.get("downloader/exception_count", 0))
    queued = 0 if finished else max(0, scheduled - ended)
    eta = 0.0 if finished else None
    if started and not finished and ended and queued:
        elapsed = now - (started.timestamp() if isinstance(started, datetime) else now)
        if elapsed > 3:
            eta = queued / (ended / elapsed)
    return PortalProgress(done=finished, state=str(state), pages=int(stats.get("downloader/response_count", 0)),
                          new=int(stats.get("govarchive/items_new", 0)),
                          updated=int(stats.get("govarchive/items_updated", 0)),
                          same=int(stats.get("govarchive/items_unchanged", 0)),
                          errors=int(stats.get("govarchive/items_failed", 0)), queued=queued, eta=eta)


def progress_line(stats: dict[str, dict[str, Any]], elapsed: float) -> str:
    """One line for the whole crawl: elapsed time, portals done, totals and the ETA (slowest portal)."""
    now = time.time()
    rows = [portal_progress(s, now) for s in stats.values()]
    done = sum(r.done for r in rows)
    running = [r for r in rows if not r.done]
    if not running:
        eta = "-"
    elif any(r.eta is None for r in running):
        eta = "?"
    else:  # portals run side by side: the slowest one decides
        eta = f"~{_duration(max(r.eta or 0.0 for r in running))}"
    return (f"elapsed {_duration(elapsed)}, {done}/{len(rows)} portals done, {sum(r.pages for r in rows)} pages, "
            f"{sum(r.new for r in rows)} new, {sum(r.updated for r in rows)} updated, "
            f"{sum(r.errors for r in rows)} failed, {sum(r.queued for r in rows)} queued, ETA {eta}")


class Progress:
    """Live per-portal table on a terminal (rich), refreshed from the crawlers' stats."""

    def __init__(self, slugs: list[str]) -> None:
        from rich.console import Console
        from rich.live import Live

        self.slugs = slugs
        self.started = time.monotonic()
        self.live = Live(self._table({}), console=Console(stderr=True), refresh_per_second=2, transient=True)

    def _table(self, stats: dict[str, dict[str, Any]]) -> Any:
        from rich.table import Table

        elapsed = time.monotonic() - self.started
        table = Table(title="govarchive crawl", title_justify="left",
                      caption=progress_line({s: stats.get(s, {}) for s in self.slugs}, elapsed),
                      caption_justify="left")
        for name in ("portal", "pages", "new", "upd", "same", "fail", "queue", "ETA", "state"):
            table.add_column(name, justify="left" if name in ("portal", "state") else "right", no_wrap=True)
        now = time.time()
        for slug in self.slugs:
            p = portal_progress(stats.get(slug, {}), now)
            table.add_row(slug, str(p.pages), str(p.new), str(p.updated), str(p.same), str(p.errors), str(p.queued),
                          "-" if p.done else _duration(p.eta), p.state)
        return table

    def update(self, stats: dict[str, dict[str, Any]]) -> None:
        """Redraw with fresh stats."""
        self.live.update(self._table(stats))

    def say(self, message: str) -> None:
        """Print a line above the live table."""
        self.live.console.print(message, markup=False, highlight=False)


class ProgressLines:
    """Off a terminal: one :func:`progress_line` on stderr every :data:`PROGRESS_SECONDS`."""

    def __init__(self) -> None:
        self.started = self.last = time.monotonic()

    def update(self, stats: dict[str, dict[str, Any]]) -> None:
        """Print a line when it is time."""
        now = time.monotonic()
        if now - self.last >= PROGRESS_SECONDS:
            self.last = now
            print(f"govarchive crawl: progress: {progress_line(stats, now - self.started)}", file=sys.stderr,
                  flush=True)


# -- summary ---------------------------------------------------------------------------------------------


def print_summary(outcomes: list[PortalOutcome], *, interactive: bool) -> None:
    """A table on a terminal; otherwise one ``key=value`` line per portal (log-friendly)."""
    if interactive:
        from rich.console import Console
        from rich.table import Table

        table = Table(title="crawl summary", title_justify="left")
        for name in ("portal", "result", "reason", "pages", "new", "updated", "same", "failed", "problems"):
            table.add_column(name, justify="right" if name in ("pages", "new", "updated", "same", "failed") else "left",
                             no_wrap=name == "portal")
        colours = {"ok": "green", "FAILED": "red", "interrupted": "yellow", "not-crawled": "red"}
        for o in outcomes:
            note = "the next run resumes" if o.interrupted else "network down" if o.network_down else "-"
            table.add_row(o.slug, f"[{colours[o.result]}]{o.result}[/]", o.finish_reason or "-", str(o.pages),
                          str(o.new), str(o.updated), str(o.unchanged), str(o.failed),
                          "; ".join(o.problems) or note)
        Console().print(table)
        return
    for o in outcomes:
        problems = "; ".join(o.problems)
        print(f"portal={o.slug} result={o.result} reason={o.finish_reason or '-'} pages={o.pages} "
              f"new={o.new} updated={o.updated} unchanged={o.unchanged} failed={o.failed}"
              + (f' problems="{problems}"' if problems else ""), flush=True)


def catch_up_search_index(archive: Any) -> None:
    """Bring the Tantivy search index, when the archive has one, up to date with the crawl (and trim the search log),
    so that the first search after a large crawl does not do it. A failure is one line: searches catch up, or use
    FTS5, by themselves."""
    from govarchive.searchindex import SearchIndexUnavailable, TantivyIndex, index_dir

    if not index_dir(archive.path).is_dir():
        return
    try:
        TantivyIndex.open(archive, build=False)
    except SearchIndexUnavailable as exc:
        print(f"govarchive crawl: the search index was not updated: {exc}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """Select portals, check the input, take the archive lock, crawl, report; returns the exit code."""
    from govarchive.archive import Archive
    from govarchive.locking import ArchiveLocked, acquire_lock, release_lock

    try:
        slugs = select_portals(args)
    except ValueError as exc:
        print(f"govarchive crawl: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    interactive = sys.stdout.isatty() and sys.stderr.isatty()
    from govarchive.crawling import CrawlSession, project_settings

    settings = project_settings(scrapy_overrides(args, interactive=interactive))
    db = check_archive_path(args.db, create=True, default=getattr(args, "db_is_default", False))
    spider_args = check_input(args, settings)  # BadInput: one line, exit 2 (govarchive.cli)
    try:
        acquire_lock(db)
    except ArchiveLocked as exc:
        print(f"govarchive crawl: error: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    try:
        from portal_spiders.routing import replica_target, replica_warning

        target = replica_target(settings)
        if target is not None:
            print(f"govarchive crawl: {replica_warning(*target)}", file=sys.stderr, flush=True)
        with Archive(db) as archive:  # creates the schema; runs newer than this id belong to this crawl
            archive.check_run_origin(replica=target is not None)  # ReplicaMixError: one line, exit 2
            last_id = max((r["id"] for r in archive.runs(limit=1)), default=0)
        progress: Any = Progress(slugs) if interactive else ProgressLines()
        session = CrawlSession(slugs, settings, spider_args=spider_args, on_tick=progress.update,
                               **({"say": progress.say} if interactive else {}))
        if interactive:
            with progress.live:
                final = session.run()
        else:
            final = session.run()
        max_failed_share = settings.getfloat("GOVARCHIVE_MAX_FAILED_SHARE", 0.2)
        with Archive(db) as archive:
            outcomes = []
            for slug in slugs:
                runs = [r for r in archive.runs(slug, limit=1) if r["id"] > last_id]
                outcomes.append(judge(slug, runs[0] if runs else None, max_failed_share=max_failed_share,
                                      stats=final.get(slug)))
            if not session.interrupted:
                catch_up_search_index(archive)
    finally:
        release_lock(db)
    print_summary(outcomes, interactive=interactive)
    if session.interrupted:
        print(f"govarchive crawl: interrupted ({session.interrupted}) — the next run resumes", file=sys.stderr)
        return EXIT_INTERRUPTED
    if session.network_down:  # said once, when it was found
        return EXIT_NETWORK
    return EXIT_OK if all(o.ok for o in outcomes) else EXIT_FAILED

