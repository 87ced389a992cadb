"""``govarchive search QUERY``: Vietnamese full-text search, with or without diacritics."""

from __future__ import annotations

import argparse
import csv
import json
import sys

from govarchive.checks import open_ended_until
from govarchive.cli import add_db_argument

MAX_LIMIT = 100_000

BOLD, RESET = "\x1b[1m", "\x1b[0m"


def register(subparsers: argparse._SubParsersAction) -> None:
    from govarchive.search import DEFAULT_LIMIT, SORTS, add_filter_arguments

    parser = subparsers.add_parser(
        "search",
        help="full-text search of the archive",
        description='Search titles, summaries, bodies and tags. Diacritics are optional ("Da Nang" finds '
                    '"Đà Nẵng"); "quoted phrases", word*, -word and OR are understood; any text is safe.',
    )
    parser.add_argument("query", help="words or \"a phrase\"")
    add_filter_arguments(parser)
    parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT, help=f"results (default {DEFAULT_LIMIT})")
    parser.add_argument("--sort", choices=SORTS, default="newest", help="newest first (default) or by relevance")
    parser.add_argument("--format", choices=("table", "json", "csv"), default="table")
    add_db_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from govarchive.archive import Archive
    from govarchive.search import filters_from_args, search

    if not 1 <= args.limit <= MAX_LIMIT:
        print(f"govarchive search: error: --limit must be between 1 and {MAX_LIMIT:,} (use `govarchive export "
              "--query` for every match)", file=sys.stderr)
        return 2
    open_ended_until(args)
    archive = Archive.open_existing(args.db)  # ArchiveError: reported by govarchive.cli.main
    if not archive.search_index_ready():
        archive.close()
        print("building the full-text index (first search on this archive)…", file=sys.stderr)
        Archive.open_existing(args.db, readonly=False).close()
        archive = Archive.open_existing(args.db)
    tty = args.format == "table" and sys.stdout.isatty()
    with archive:
        result = search(archive, args.query, filters=filters_from_args(args), limit=args.limit, sort=args.sort,
                        mark=(BOLD, RESET) if tty else ("[", "]"))
    out = sys.stdout
    if args.format == "json":
        json.dump([h.as_dict() for h in result.hits], out, ensure_ascii=False, indent=2)
        out.write("\n")
    elif args.format == "csv":
        writer = csv.writer(out)
        fields = ["id", "published", "portal", "title", "url", "author", "category", "tags", "exact", "score",
                  "snippet"]
        writer.writerow(fields)
        for hit in result.hits:
            row = hit.as_dict()
            row["tags"] = json.dumps(row["tags"], ensure_ascii=False)
            writer.writerow([row[f] for f in fields])
    else:
        if result.query.empty:
            print("no searchable words in the query", file=sys.stderr)
            return 0
        if not result.hits:
            print("no matches" + (" within the time budget (older articles not searched; add --since/--until)"
                                  if result.truncated else ""), file=sys.stderr)
            return 0
        for n, hit in enumerate(result.hits, 1):
            date = (hit.published or "undated")[:10]
            out.write(f"{n:>3}. {date}  {hit.portal}  {hit.title_highlighted}\n")
            out.write(f"     {hit.url}  (id {hit.id})\n")
            if hit.snippet:
                out.write(f"     {hit.snippet}\n")
            out.write("\n")
        note = f"{len(result.hits)} shown, {args.sort} first"
        if result.more:
            note += "; more matches exist (raise --limit or add filters)"
        if result.truncated and args.sort == "relevance":
            note += f"; relevance ranked among the newest {result.candidates:,} matches (add words or filters)"
        elif result.truncated:
            note += "; the phrase search stopped at its time budget, older matches may be missing (add filters)"
        print(note, file=sys.stderr)
    return 0
