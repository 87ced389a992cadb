"""``govarchive changes``: articles the portals edited or took down (and re-extractions), newest first.

``edited``: a fetch found new content, kept as a new version (``govarchive show URL --diff`` shows the words);
``removed``: the portal answered 404/410, redirected to its home or a listing page, or emptied the page, in a run
that saw the portal up (an outage marks nothing, see docs/archive.md); ``reextracted``: today's parsers read an
archived capture differently (``govarchive reextract``).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date

from govarchive.cli import add_db_argument

KINDS = ("edited", "removed", "reextracted")


def _since(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from exc


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``changes`` sub-command."""
    parser = subparsers.add_parser("changes", help="list articles edited or taken down by their portals",
                                   description=__doc__)
    parser.add_argument("--since", type=_since, metavar="YYYY-MM-DD", help="changes seen on or after this day (UTC)")
    parser.add_argument("--portal", action="append", metavar="SLUG", help="only this portal (repeatable)")
    parser.add_argument("--kind", action="append", choices=KINDS, help="only this kind (repeatable; default: all)")
    parser.add_argument("--limit", type=int, default=0, metavar="N", help="at most N changes (default: all)")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    add_db_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the changes."""
    from govarchive.archive import Archive

    with Archive.open_existing(args.db) as archive:  # ArchiveError: reported by govarchive.cli.main
        rows = archive.changes(since=args.since, portals=args.portal or (), kinds=args.kind or (),
                               limit=args.limit or None)
    if args.format == "json":
        for row in rows:
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        return 0
    if not rows:
        print("no changes", file=sys.stderr)
        return 0
    for row in rows:
        if row["kind"] == "removed":
            detail = row["reason"] + (f" -> {row['final_url']}" if row.get("final_url") else "")
            detail += f" (restored {row['restored_at']})" if row.get("restored_at") else ""
        else:
            detail = f"v{row['from_version']} -> v{row['to_version']}"
        print(f"{row['at'] or '?':<25} {row['kind']:<11} {row['portal']:<20} {row['article_id']:>7}  "
              f"{(row['title'] or '')[:60]}  [{detail}]  {row['url']}")
    return 0
