"""``govarchive reextract``: parse the archived WARC captures again with today's parsers (no network).

A new version is stored only where the extracted content differs from the archive (``origin = 'reextract'``), so
running it twice changes nothing. Progress (rate, ETA) on a terminal; a summary line at the end. Exit status 0, or
1 when a capture could not be read or parsed (they are listed).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date

from govarchive.cli import add_db_argument


def _iso_date(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from exc


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``reextract`` sub-command."""
    parser = subparsers.add_parser(
        "reextract", help="re-parse archived WARC captures with today's parsers (no network)",
        description=__doc__)
    parser.add_argument("--portal", action="append", metavar="SLUG", help="only this portal (repeatable)")
    parser.add_argument("--since", type=_iso_date, metavar="YYYY-MM-DD", help="only articles published since")
    parser.add_argument("--platform", metavar="NAME", help="only articles of this platform")
    add_db_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Re-extract and report."""
    from govarchive.archive import Archive
    from govarchive.locking import ArchiveLocked, acquire_lock, release_lock
    from govarchive.reextract import Reextractor
    from portal_spiders.platforms import platforms

    if args.platform and args.platform not in platforms():
        print(f"govarchive reextract: unknown platform {args.platform!r} (known: {', '.join(platforms())})",
              file=sys.stderr)
        return 2
    archive = Archive.open_existing(args.db, readonly=False)  # ArchiveError: reported by govarchive.cli.main
    try:
        acquire_lock(archive.path)
    except ArchiveLocked as exc:
        archive.close()
        print(f"govarchive reextract: {exc}", file=sys.stderr)
        return 3
    started = time.monotonic()
    try:
        with archive:
            progress = _Progress() if sys.stderr.isatty() else None
            try:
                result = Reextractor(archive).run(portals=args.portal, since=args.since, platform=args.platform,
                                                  on_progress=progress.update if progress else None)
            finally:
                if progress is not None:
                    progress.stop()
    finally:
        release_lock(archive.path)
    elapsed = max(time.monotonic() - started, 1e-9)
    c = result.counts
    done = c["changed"] + c["unchanged"] + c["failed"] + c["unreadable"]
    print(f"reextract: {done} articles in {elapsed:.1f} s ({done / elapsed:.0f}/s): {c['changed']} changed "
          f"(new versions), {c['unchanged']} unchanged, {c['failed']} failed to parse, {c['unreadable']} captures "
          f"unreadable; {c['without_capture']} articles have no WARC capture")
    for problem in result.problems:
        print(f"  {problem}", file=sys.stderr)
    return 1 if c["failed"] or c["unreadable"] else 0


class _Progress:
    """A rich progress bar on stderr: done/total, rate, ETA."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(TextColumn("reextract"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("[progress.data.speed]{task.fields[rate]}"),
                                 TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                                 console=Console(stderr=True), transient=True)
        self.task = self.progress.add_task("reextract", total=None, rate="")
        self.progress.start()
        self.started = time.monotonic()

    def update(self, done: int, total: int) -> None:
        """Advance to ``done`` of ``total``."""
        rate = done / max(time.monotonic() - self.started, 1e-9)
        self.progress.update(self.task, completed=done, total=total, rate=f"{rate:,.0f} articles/s")

    def stop(self) -> None:
        """Remove the bar."""
        self.progress.stop()
