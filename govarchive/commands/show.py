"""``govarchive show URL|ID``: one article with its tags, attachments, files, earlier versions and takedowns.

``--diff`` shows what changed between consecutive versions (title, lead, body), word by word.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import sys
import textwrap
from typing import Any

from govarchive.checks import MAX_SQLITE_INT
from govarchive.cli import add_db_argument


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("show", help="show one archived article", description=__doc__)
    parser.add_argument("article", metavar="URL|ID",
                        help="the article's numeric id, or its URL in any form (http/https, www., trailing slash, "
                             "tracking parameters, the URL it was found at or redirected to)")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--diff", action="store_true", help="word-level diff between consecutive versions")
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                        help="colour the diff (default: on a terminal)")
    add_db_argument(parser)
    parser.set_defaults(func=run, reads_archive=True)


def _article_id(ref: str) -> int | None:
    """``ref`` as an article id: ASCII digits within SQLite's integer range (``²`` is a digit to Python)."""
    if ref.isascii() and ref.isdigit() and int(ref) <= MAX_SQLITE_INT:
        return int(ref)
    return None


def url_variants(url: str) -> list[str]:
    """The forms an article URL may be archived under: as typed, canonical (both path-case policies), http/https,
    with and without ``www.`` and a trailing slash."""
    from portal_spiders.urls import canonical_url

    url = url.strip()
    if "://" not in url:
        url = "https://" + url
    forms = [url]
    for insensitive in (False, True):
        try:
            forms.append(canonical_url(url, case_insensitive_path=insensitive))
        except ValueError:
            continue
    more = []
    for form in forms:
        for scheme in ("https://", "http://"):
            rest = form.split("://", 1)[1]
            for host in (rest, rest.removeprefix("www."), "www." + rest.removeprefix("www.")):
                more += [scheme + host, scheme + host.rstrip("/"), scheme + host.rstrip("/") + "/"]
    return list(dict.fromkeys(forms + more))


def find(archive: Any, ref: str) -> dict[str, Any] | None:
    """The article with this id or URL (any variant of it)."""
    ref = ref.strip()
    article_id = _article_id(ref)
    if article_id is not None:
        return archive.article_by_id(article_id)
    if ref.isascii() and ref.isdigit():
        return None  # a number too large to be an id
    return archive.find_article(url_variants(ref))


def _load(archive: Any, ref: str) -> dict[str, Any] | None:
    row = find(archive, ref)
    if row is None:
        return None
    row = dict(row)
    row["tags"] = archive.article_tags(row["id"])
    for key in ("images", "field_sources"):
        with contextlib.suppress(ValueError):
            row[key] = json.loads(row[key]) if row.get(key) else None
    row["attachments"] = [{k: a.get(k) for k in ("url", "name", "filename", "sha256", "path", "mime", "size", "status",
                                                 "error") if a.get(k) is not None or k in ("url", "name")}
                          for a in archive.attachments(row["id"])]
    row["removals"] = archive.removals(row["id"]) if "article_removals" in archive.db.table_names() else []
    row["citations"] = [{k: c[k] for k in ("number", "doc_type", "issuer_code", "year", "document_article_id")}
                        for c in archive.citations(row["id"])]
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
        texts = archive.version_texts(row["id"]) if row is not None and args.diff else []
    if row is None:
        print(f"govarchive: error: no article with id or URL {args.article!r} (any http/https, www. or "
              "trailing-slash variant) in the archive", file=sys.stderr)
        return 1
    if args.diff:
        color = args.color == "always" or (args.color == "auto" and sys.stdout.isatty())
        _print_diff(row, texts, color=color)
        return 0
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
        if att.get("sha256"):
            out.write(f"      {att.get('filename') or '?'} · {att.get('mime')} · {att.get('size')} bytes · "
                      f"files/{att['path']}\n")
        elif att.get("status"):
            out.write(f"      not archived ({att['status']}): {att.get('error') or ''}\n")
    if row["citations"]:
        out.write(f"\ncited documents ({len(row['citations'])}):\n")
        for c in row["citations"]:
            linked = f" (archived: id {c['document_article_id']})" if c["document_article_id"] else ""
            out.write(f"  - {c['number']} {c['doc_type'] or ''}{linked}\n")
    out.write(f"\nearlier versions ({len(row['versions'])}):\n")
    for v in row["versions"]:
        out.write(f"  - v{v['version']} (superseded {v['superseded_at']}): {v['title']}\n")
    if row.get("removed_at"):
        out.write(f"\nREMOVED by the portal since {row['removed_at']} ({row.get('removed_reason')})\n")
    for r in row["removals"]:
        back = f", back {r['restored_at']}" if r.get("restored_at") else ""
        out.write(f"  - taken down {r['detected_at']}: {r['reason']} (HTTP {r['status']}){back}\n")
    return 0


def _print_diff(row: dict[str, Any], texts: list[dict[str, Any]], *, color: bool) -> None:
    """Each version against the one before it: title, lead and body, word by word."""
    from govarchive.worddiff import paragraph_diff, word_diff

    out = sys.stdout
    out.write(f"{row['title']}\n{row['url']}\n")
    if len(texts) < 2:
        out.write("\nonly one version: nothing to compare\n")
        return
    for old, new in itertools.pairwise(texts):
        how = "re-extracted" if new["origin"] == "reextract" else f"fetched {new['fetched_at'] or '?'}"
        out.write(f"\n=== v{old['version']} -> v{new['version']} ({how}) ===\n")
        same = True
        for label, key in (("title", "title"), ("lead", "summary")):
            if (old[key] or "") != (new[key] or ""):
                out.write(f"{label}: {word_diff(old[key] or '', new[key] or '', color=color)}\n")
                same = False
        if (old["body_text"] or "") != (new["body_text"] or ""):
            out.write("body:\n")
            for line in paragraph_diff(old["body_text"], new["body_text"], color=color):
                out.write(f"  {line}\n")
            same = False
        if same:
            out.write("(same title, lead and body: other fields changed)\n")
