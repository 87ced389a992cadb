"""``govarchive show URL|ID``: one article with its tags, attachments and earlier versions."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import textwrap
from typing import Any

from govarchive.cli import add_db_argument


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("show", help="show one archived article", description=__doc__)
    parser.add_argument("article", metavar="URL|ID", help="canonical URL or numeric id of the article")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    add_db_argument(parser)
    parser.set_defaults(func=run)


def _load(archive: Any, ref: str) -> dict[str, Any] | None:
    ref = ref.strip()
    row = archive.article_by_id(int(ref)) if ref.isdigit() else archive.get_article(ref)
    if row is None:
        return None
    row = dict(row)
    row["tags"] = archive.article_tags(row["id"])
    for key in ("images", "field_sources"):
        with contextlib.suppress(ValueError):
            row[key] = json.loads(row[key]) if row.get(key) else None
    row["attachments"] = [{"url": a["url"], "name": a["name"]} for a in archive.attachments(row["id"])]
    versions = []
    for v in archive.versions(row["id"]):
        v = dict(v)
        for key in ("tags", "attachments"):
            with contextlib.suppress(ValueError):
                v[key] = json.loads(v[key]) if v.get(key) else []
        versions.append(v)
    row["versions"] = versions
    return row


def run(args: argparse.Namespace) -> int:
    from govarchive.archive import Archive

    archive = Archive.open_existing(args.db)  # ArchiveError: reported by govarchive.cli.main
    with archive:
        row = _load(archive, args.article)
    if row is None:
        print(f"govarchive: error: no article with URL or id {args.article!r}", file=sys.stderr)
        return 1
    if args.format == "json":
        json.dump(row, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    out = sys.stdout
    out.write(f"{row['title']}\n{'=' * min(len(row['title'] or ''), 100)}\n")
    for label, key in (("id", "id"), ("url", "url"), ("portal", "portal"), ("published", "published"),
                       ("author", "author"), ("category", "category"), ("version", "version"),
                       ("first seen", "first_seen_at"), ("last seen", "last_seen_at"), ("updated", "updated_at"),
                       ("duplicate of", "duplicate_of")):
        if row.get(key) not in (None, ""):
            out.write(f"{label:>13}: {row[key]}\n")
    out.write(f"{'tags':>13}: {', '.join(row['tags']) if row['tags'] else '-'}\n")
    if row.get("summary"):
        out.write("\n" + textwrap.fill(row["summary"], 100) + "\n")
    if row.get("body_text"):
        out.write("\n" + "\n".join(textwrap.fill(p, 100) for p in row["body_text"].split("\n") if p.strip()) + "\n")
    out.write(f"\nattachments ({len(row['attachments'])}):\n")
    for att in row["attachments"]:
        out.write(f"  - {att['name'] or '(no name)'}: {att['url']}\n")
    out.write(f"\nearlier versions ({len(row['versions'])}):\n")
    for v in row["versions"]:
        out.write(f"  - v{v['version']} (superseded {v['superseded_at']}): {v['title']}\n")
    return 0
