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
QUERY_HELP = (
    'Syllables typed together must appear together: "Da Nang" finds Đà Nẵng (not "đã … nâng"); danang works too. '
    'Separate words with AND to find them anywhere in an article, OR for either, -word or NOT word to exclude; '
    '"quoted phrases" and word* (3+ letters) work; any text is safe. Diacritics are optional; typed, they rank '
    "the exact matches first.")


def register(subparsers: argparse._SubParsersAction) -> None:
    from govarchive.commands._query import add_query_parser
    from govarchive.search import DEFAULT_LIMIT, ENGINES, SORTS, add_filter_arguments

    parser = add_query_parser(subparsers, "search", help="full-text search of the archive",
                              description="Search titles, summaries, bodies, tags and attachment texts. " + QUERY_HELP)
    parser.add_argument("query", nargs="+", help='words, "a phrase", a AND b, a OR b, -word')
    add_filter_arguments(parser)
    parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT, help=f"results (default {DEFAULT_LIMIT})")
    parser.add_argument("--offset", type=int, default=0, help="skip this many matches (the next page)")
    parser.add_argument("--sort", choices=SORTS, default="newest", help="newest first (default) or by relevance")
    parser.add_argument("--format", choices=("table", "json", "csv"), default="table",
                        help="table (default), json (an object with the totals and the hits) or csv")
    parser.add_argument("--engine", choices=ENGINES, default="auto",
                        help="auto (default): the Tantivy index beside the archive (<db>.search/, kept in step "
                             "before each search), or SQLite FTS5 when it cannot answer (the reason is printed); "
                             "tantivy: fail instead; fts5: SQLite FTS5 only. Both give the same matches")
    add_db_argument(parser)
    parser.set_defaults(func=run, reads_archive=True)


def run(args: argparse.Namespace) -> int:
    from govarchive.commands._query import _progress, check_portals, open_searchable
    from govarchive.search import filters_from_args, search
    from govarchive.searchindex import SearchIndexUnavailable

    if not 1 <= args.limit <= MAX_LIMIT or args.offset < 0:
        print(f"govarchive search: error: --limit must be between 1 and {MAX_LIMIT:,} and --offset at least 0 "
              "(use `govarchive export --query` for every match)", file=sys.stderr)
        return 2
    open_ended_until(args)
    raw = " ".join(args.query)
    archive = open_searchable(args.db, engine=args.engine)  # ArchiveError: reported by govarchive.cli.main
    tty = args.format == "table" and sys.stdout.isatty()
    with archive:
        problem = check_portals(archive, args.portal)
        if problem:
            print(problem, file=sys.stderr)
            return 2
        try:
            with _progress(False) as progress:
                result = search(archive, raw, filters=filters_from_args(args), limit=args.limit,
                                offset=args.offset, sort=args.sort, mark=(BOLD, RESET) if tty else ("[", "]"),
                                engine=args.engine, progress=progress)
        except SearchIndexUnavailable as exc:  # --engine tantivy
            print(f"govarchive search: {exc}", file=sys.stderr)
            return 1
    if result.engine_note:
        print(result.engine_note, file=sys.stderr)
    out = sys.stdout
    searched = result.query.describe()
    if args.format == "json":
        json.dump({"query": raw, "interpreted_as": searched, "sort": args.sort, "total": result.total,
                   "exact_total": result.exact_total, "offset": result.offset, "limit": result.limit,
                   "elapsed_ms": round(result.elapsed_s * 1000, 1), "engine": result.engine,
                   "hits": [h.as_dict() for h in result.hits]},
                  out, ensure_ascii=False, indent=2)
        out.write("\n")
        return 0
    if args.format == "csv":
        writer = csv.writer(out)
        fields = ["id", "published", "portal", "title", "url", "author", "category", "tags", "exact", "score",
                  "matched_attachments", "snippet"]
        writer.writerow(fields)
        for hit in result.hits:
            row = hit.as_dict()
            row["exact"] = int(row["exact"])  # booleans in CSV are 1/0 in every export
            for key in ("tags", "matched_attachments"):
                row[key] = json.dumps(row[key], ensure_ascii=False)
            writer.writerow([row[f] for f in fields])
        print(f"{result.summary()}; searched for {searched}", file=sys.stderr)
        return 0
    if result.query.empty:
        print("no searchable words in the query", file=sys.stderr)
        return 0
    out.write(f"{result.summary()}\nsearched for: {searched}\n\n")
    for n, hit in enumerate(result.hits, result.offset + 1):
        date = (hit.published or "undated")[:10]
        score = f"  score {hit.score:g}" if hit.score is not None else ""
        out.write(f"{n:>3}. {date}  {hit.portal}  {hit.title_highlighted}{score}\n")
        out.write(f"     {hit.url}  (id {hit.id})\n")
        if hit.attachments:
            out.write(f"     in attachment: {', '.join(hit.attachments)}\n")
        if hit.snippet:
            out.write(f"     {hit.snippet}\n")
        out.write("\n")
    if result.more:
        out.write(f"more: --offset {result.offset + len(result.hits)} for the next {args.limit}\n")
    if not result.total and len(result.query.positive) == 1 and len(result.query.positive[0].tokens) > 2:
        words = " AND ".join(result.query.positive[0].text.split())
        print(f"no article has these syllables together; to find them anywhere, try: govarchive search "
              f"'{words}'", file=sys.stderr)
    return 0
