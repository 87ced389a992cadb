"""``govarchive export``: stream articles (with tags and attachments) as JSON Lines or CSV."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from contextlib import nullcontext

from govarchive.checks import atomic_output, check_output_path, open_ended_until
from govarchive.cli import add_db_argument

FLUSH_EVERY = 1000


def register(subparsers: argparse._SubParsersAction) -> None:
    from govarchive.search import add_filter_arguments

    parser = subparsers.add_parser(
        "export", help="export articles as JSONL or CSV (streaming)",
        description="Stream articles row by row (constant memory, any archive size), filtered like `search`.")
    parser.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    parser.add_argument("--output", "-o", metavar="FILE", help="write here instead of stdout")
    parser.add_argument("--query", "-q", metavar="TEXT", help="only articles matching this full-text query")
    parser.add_argument("--include-html", action="store_true", help="also export body_html")
    add_filter_arguments(parser)
    add_db_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from govarchive.archive import Archive, refuse_archive_output
    from govarchive.search import filters_from_args, parse_query

    if args.output:
        # never the archive (or its -wal/-shm/lock) under any name: ArchiveError, reported by govarchive.cli.main
        refuse_archive_output(args.db, args.output)
        check_output_path(args.output, "--output")  # before any work: a missing directory, a directory...
    open_ended_until(args)
    archive = Archive.open_existing(args.db)  # ArchiveError: reported by govarchive.cli.main
    expression = None
    if args.query is not None:
        query = parse_query(args.query)
        if query.empty:
            print("govarchive: error: --query has no searchable words", file=sys.stderr)
            archive.close()
            return 2
        if not archive.search_index_ready():
            archive.close()
            Archive.open_existing(args.db, readonly=False).close()
            archive = Archive.open_existing(args.db)
        expression = query.expression()
    # A file is written beside and renamed when complete: a failed export never leaves half a file behind.
    target = atomic_output(args.output, "--output", newline="") if args.output else nullcontext(sys.stdout)
    count = 0
    with archive, target as out:
        rows = archive.iter_export(filters_from_args(args), expression=expression, include_html=args.include_html)
        writer = None
        for row in rows:
            row["tags"] = json.loads(row["tags"] or "[]")
            row["attachments"] = json.loads(row["attachments"] or "[]")
            if args.format == "jsonl":
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
            else:
                if writer is None:
                    writer = csv.DictWriter(out, fieldnames=list(row))
                    writer.writeheader()
                row["tags"] = json.dumps(row["tags"], ensure_ascii=False)
                row["attachments"] = json.dumps(row["attachments"], ensure_ascii=False)
                writer.writerow(row)
            count += 1
            if count % FLUSH_EVERY == 0:
                out.flush()
    if args.output:
        print(f"exported {count:,} articles to {args.output}", file=sys.stderr)
    return 0
