"""``govarchive export``: stream articles with every field (tags, attachments, citations, document) as JSONL or CSV."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from contextlib import nullcontext, suppress

from govarchive.checks import atomic_output, check_output_path, open_ended_until
from govarchive.cli import add_db_argument

FLUSH_EVERY = 1000
JSON_COLUMNS = ("tags", "attachments", "citations", "document", "images", "field_sources")


def register(subparsers: argparse._SubParsersAction) -> None:
    from govarchive.commands._query import add_query_parser
    from govarchive.search import add_filter_arguments

    parser = add_query_parser(
        subparsers, "export", help="export articles as JSONL or CSV (streaming)",
        description="Stream articles row by row (constant memory, any archive size), filtered like `search`. Every "
                    "article column is exported, with tags, attachments (names, URLs and any local file columns), "
                    "cited document numbers and the legal-document fields of document pages. Nested values are "
                    "JSON (in CSV: JSON text). Booleans are true/false in JSON and 1/0 in CSV.")
    parser.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    parser.add_argument("--excel", action="store_true",
                        help="CSV for Excel: UTF-8 with a byte-order mark and CRLF line ends (implies --format csv)")
    parser.add_argument("--output", "-o", metavar="FILE", help="write here ('-' or nothing: stdout)")
    parser.add_argument("--query", "-q", metavar="TEXT", help="only articles matching this full-text query")
    parser.add_argument("--include-html", action="store_true", help="also export body_html")
    add_filter_arguments(parser)
    add_db_argument(parser)
    parser.set_defaults(func=run, reads_archive=True)


def run(args: argparse.Namespace) -> int:
    from govarchive.archive import Archive, refuse_archive_output
    from govarchive.commands._query import check_portals, open_searchable
    from govarchive.search import expressions, filters_from_args, parse_query

    fmt = "csv" if args.excel else args.format
    to_stdout = args.output in (None, "-")
    if not to_stdout:
        # never the archive (or its -wal/-shm/lock) under any name: ArchiveError, reported by govarchive.cli.main
        refuse_archive_output(args.db, args.output)
        check_output_path(args.output, "--output")  # before any work: a missing directory, a directory...
    open_ended_until(args)
    expression = None
    if args.query is not None:
        query = parse_query(args.query)
        if query.empty:
            print("govarchive: error: --query has no searchable words", file=sys.stderr)
            return 2
        archive = open_searchable(args.db)  # ArchiveError: reported by govarchive.cli.main
        expression = expressions(archive, query)[0]
    else:
        archive = Archive.open_existing(args.db)  # ArchiveError: reported by govarchive.cli.main
    problem = check_portals(archive, args.portal)
    if problem:
        archive.close()
        print(problem, file=sys.stderr)
        return 2
    # A file is written beside and renamed when complete: a failed export never leaves half a file behind.
    target = nullcontext(sys.stdout) if to_stdout else atomic_output(args.output, "--output", newline="")
    count = 0
    with archive, target as out:
        if args.excel:
            out.write("\ufeff")  # the byte-order mark that makes Excel read UTF-8
        rows = archive.iter_export(filters_from_args(args), expression=expression, include_html=args.include_html)
        writer = None
        for row in rows:
            for key in JSON_COLUMNS:
                if isinstance(row.get(key), str):
                    with suppress(ValueError):
                        row[key] = json.loads(row[key])
            if fmt == "jsonl":
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
            else:
                if writer is None:
                    writer = csv.DictWriter(out, fieldnames=list(row), lineterminator="\r\n" if args.excel else "\n")
                    writer.writeheader()
                for key in JSON_COLUMNS:
                    if key in row and not isinstance(row[key], str) and row[key] is not None:
                        row[key] = json.dumps(row[key], ensure_ascii=False)
                writer.writerow({k: int(v) if isinstance(v, bool) else v for k, v in row.items()})
            count += 1
            if count % FLUSH_EVERY == 0:
                out.flush()
    if not to_stdout:
        print(f"exported {count:,} articles to {args.output}", file=sys.stderr)
    return 0
