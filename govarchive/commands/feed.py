"""``govarchive feed QUERY -o FILE``: a saved search as an Atom feed, for a reporter's feed reader.

Run it after each crawl (the systemd timer or cron line that crawls can run it next); the feed holds the newest
matching articles, so a feed reader shows each new match once (entries are identified by the article's URL).
Written with the standard library's XML writer, atomically (a reader never sees half a file).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from govarchive.cli import add_db_argument

ATOM = "http://www.w3.org/2005/Atom"


def register(subparsers: argparse._SubParsersAction) -> None:
    from govarchive.commands._query import add_query_parser
    from govarchive.commands.search import QUERY_HELP
    from govarchive.search import add_filter_arguments

    parser = add_query_parser(subparsers, "feed", help="write a saved search as an Atom feed (alerts)",
                              description=(__doc__ or "").split("\n\n")[0] + " " + QUERY_HELP)
    parser.add_argument("query", nargs="+", help='the saved search: words, "a phrase", a AND b, -word')
    parser.add_argument("--output", "-o", required=True, metavar="FILE", help="the feed file ('-': stdout)")
    parser.add_argument("--limit", type=int, default=50, help="newest matches in the feed (default 50)")
    parser.add_argument("--title", help="feed title (default: the query)")
    parser.add_argument("--link", help="URL of the feed file where readers fetch it (its rel=self link)")
    add_filter_arguments(parser)
    add_db_argument(parser)
    parser.set_defaults(func=run, reads_archive=True)


def _text(parent: ET.Element, tag: str, text: str | None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text is not None:
        element.text = text
    return element


def _utc(value: str | None) -> str | None:
    """``2024-05-01T08:30:00+07:00`` / ``2024-05-01`` -> RFC 3339 as Atom requires (dates get midnight +07:00)."""
    if not value:
        return None
    if len(value) == 10:
        return f"{value}T00:00:00+07:00"
    return value if ("+" in value[10:] or value.endswith("Z")) else value + "+07:00"


def build_feed(query: str, hits: list[Any], filters: dict[str, Any], *, title: str | None, link: str | None,
               updated: str) -> bytes:
    """The Atom document (bytes, UTF-8) for these hits, newest first."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    key = hashlib.sha1(repr((query, sorted(filters.items()))).encode()).hexdigest()[:16]
    _text(feed, "id", f"urn:govarchive:search:{key}")
    describe = query + "".join(f" --{k} {v}" for k, v in sorted(filters.items()))
    _text(feed, "title", title or f"govarchive: {describe}")
    _text(feed, "subtitle", f"Newest archived articles matching: {describe}")
    _text(feed, "updated", updated)
    _text(feed, "generator", "govarchive")
    if link:
        _text(feed, "link", None, rel="self", href=link)
    for hit in hits:
        entry = _text(feed, "entry", None)
        _text(entry, "id", hit.url)
        _text(entry, "title", hit.title)
        _text(entry, "link", None, rel="alternate", href=hit.url)
        _text(entry, "updated", _utc(hit.published) or updated)
        if hit.published:
            _text(entry, "published", _utc(hit.published))
        author = _text(entry, "author", None)
        _text(author, "name", hit.author or hit.portal)
        for tag in [hit.portal, *hit.tags]:
            _text(entry, "category", None, term=tag)
        summary = hit.snippet + (f" (in attachment: {', '.join(hit.attachments)})" if hit.attachments else "")
        _text(entry, "summary", summary)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True) + b"\n"


def run(args: argparse.Namespace) -> int:
    from govarchive.archive import utcnow
    from govarchive.commands._query import check_portals, open_searchable
    from govarchive.search import filters_from_args, search

    if args.limit < 1:
        print("govarchive: error: --limit must be at least 1", file=sys.stderr)
        return 2
    raw = " ".join(args.query)
    filters = filters_from_args(args)
    with open_searchable(args.db, engine="auto") as archive:
        problem = check_portals(archive, args.portal)
        if problem:
            print(problem, file=sys.stderr)
            return 2
        result = search(archive, raw, filters=filters, limit=args.limit, mark=("", ""))
    if result.query.empty:
        print("govarchive: error: the query has no searchable words", file=sys.stderr)
        return 2
    hits = sorted(result.hits, key=lambda h: (h.published or "", h.id), reverse=True)  # a feed is by date only
    data = build_feed(raw, hits, filters, title=args.title, link=args.link, updated=utcnow())
    if args.output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return 0
    target = Path(args.output)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    print(f"wrote {len(result.hits)} of {result.total:,} matching articles to {target}", file=sys.stderr)
    return 0
