"""``govarchive extract``: read one saved page with the platform parsers and print what a crawl would store.

The platform is chosen as in a crawl (registry host, then fingerprint, then the generic fallback) unless
``--platform`` forces one; the choice, its reason and where every field came from go to stderr, the item as
JSON to stdout. The command never crashes on a bad page: it prints whatever it found with ``errors`` and
``missing`` lists and exits 1 unless title, published date and body were all found. A missing file or an
unknown platform exits 2. ``--warc FILE --offset N`` reads the page from an archived WARC response record instead
(its URL, headers and capture date come with it; ``--url`` is then optional).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REQUIRED = ("title", "published", "body_text")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``extract`` sub-command."""
    parser = subparsers.add_parser(
        "extract", help="extract one saved page (article or listing) and print it as JSON",
        description="Run the platform parsers on a saved HTML page, as a crawl of URL would, and print the "
                    "extracted article (or, with --listing, the article links and next pages) as JSON. The chosen "
                    "platform, why it was chosen and the source of every field are reported on stderr. Exit "
                    "status: 0 when title, published and body were found (listing: at least one link), 1 "
                    "otherwise, 2 for a missing file or an unknown platform.")
    parser.add_argument("file", metavar="FILE.html", nargs="?", help="the saved page (raw bytes, any encoding)")
    parser.add_argument("--url", help="the page's real URL (selects the registry entry, resolves links); "
                                      "required with FILE")
    parser.add_argument("--warc", metavar="FILE.warc.gz", help="read the page from this WARC file ...")
    parser.add_argument("--offset", type=int, metavar="N", help="... at this byte offset (a response record)")
    parser.add_argument("--platform", metavar="NAME", help="force a platform instead of registry/fingerprint/fallback")
    parser.add_argument("--listing", action="store_true", help="read the page as a listing page")
    parser.add_argument("--encoding", help="decode the page with this encoding instead of sniffing it")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Extract the file and print the result; see the module docstring for the exit status."""
    from portal_spiders.platforms import platforms

    if args.platform and args.platform not in platforms():
        print(f"govarchive extract: unknown platform {args.platform!r} (known: {', '.join(platforms())})",
              file=sys.stderr)
        return 2
    args.headers, args.now = None, None
    if args.warc or args.offset is not None:
        if not args.warc or args.offset is None or args.file:
            print("govarchive extract: --warc FILE and --offset N go together, without a FILE.html", file=sys.stderr)
            return 2
        from govarchive.reextract import capture_time
        from portal_spiders.warc import WarcReadError, read_response

        try:
            captured = read_response(args.warc, args.offset)
        except WarcReadError as exc:
            print(f"govarchive extract: {exc}", file=sys.stderr)
            return 2
        print(f"WARC record {captured.record_id} of {captured.date}: HTTP {captured.status} {captured.url}",
              file=sys.stderr)
        body, args.url = captured.body, args.url or captured.url
        args.headers, args.now = captured.headers, capture_time(captured.date)
    else:
        if not args.file or not args.url:
            print("govarchive extract: give FILE.html and --url, or --warc FILE --offset N", file=sys.stderr)
            return 2
        path = Path(args.file)
        if not path.is_file():
            print(f"govarchive extract: no such file: {path}", file=sys.stderr)
            return 2
        body = path.read_bytes()
    problem = _unreadable(body)
    if args.listing:
        result, ok = _listing(body, args, problem)
    else:
        result, ok = _article(body, args, problem)
    json.dump(result, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0 if ok else 1


def _unreadable(body: bytes) -> str | None:
    """Why ``body`` cannot be an HTML page at all, if it cannot."""
    if not body.strip():
        return "empty file"
    head = body[:4096]
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "binary content, not an HTML page"
    return None


def _report_choice(choice: Any) -> None:
    why = {
        "forced": "forced with --platform",
        "registry": f"registry entry {choice.portal.slug!r} for this host" if choice.portal else "registry",
        "fingerprint": "its fingerprint matched the page",
        "fallback": "no registry entry for the host and no platform fingerprint matched",
    }.get(choice.reason, choice.reason)
    print(f"platform: {choice.platform.name} ({choice.reason}: {why})", file=sys.stderr)


def _report_errors(data: dict[str, Any], errors: list[str]) -> None:
    """Attach ``errors`` to the JSON output and echo them on stderr."""
    if errors:
        data["errors"] = errors
    for error in errors:
        print(f"error: {error}", file=sys.stderr)


def _article(body: bytes, args: argparse.Namespace, problem: str | None) -> tuple[dict[str, Any], bool]:
    from itemadapter import ItemAdapter

    from portal_spiders.offline import extract_article

    errors: list[str] = [problem] if problem else []
    data: dict[str, Any] = {"url": args.url}
    if problem is None:
        try:
            item, choice = extract_article(body, args.url, platform=args.platform, encoding=args.encoding,
                                           headers=args.headers, now=args.now)
        except Exception as exc:  # any parser failure is reported, never raised
            errors.append(f"extraction failed: {type(exc).__name__}: {exc}")
        else:
            _report_choice(choice)
            data = ItemAdapter(item).asdict()
            if "<" not in body.decode("utf-8", "replace"):
                errors.append("no HTML markup in the file")
            for field_name, source in sorted(item.field_sources.items()):
                print(f"  {field_name:<12} {source}", file=sys.stderr)
    missing = [name for name in REQUIRED if not data.get(name)]
    if missing:
        data["missing"] = missing
        print(f"missing required fields: {', '.join(missing)}", file=sys.stderr)
    _report_errors(data, errors)
    return data, not missing and not problem


def _listing(body: bytes, args: argparse.Namespace, problem: str | None) -> tuple[dict[str, Any], bool]:
    from portal_spiders.offline import extract_listing

    errors: list[str] = [problem] if problem else []
    data: dict[str, Any] = {"url": args.url, "entries": [], "next": []}
    if problem is None:
        try:
            listing, choice = extract_listing(body, args.url, platform=args.platform, encoding=args.encoding,
                                              headers=args.headers)
        except Exception as exc:  # any parser failure is reported, never raised
            errors.append(f"extraction failed: {type(exc).__name__}: {exc}")
        else:
            _report_choice(choice)
            data["platform"] = choice.platform.name
            data["entries"] = [{"url": e.url, "title": e.title, "published": e.published} for e in listing.entries]
            data["next"] = [{"url": r.url, "method": r.method} for r in listing.next_requests]
            print(f"  {len(data['entries'])} article links, {len(data['next'])} next-page requests", file=sys.stderr)
    if not data["entries"]:
        errors.append("no article links found")
    _report_errors(data, errors)
    return data, bool(data["entries"]) and not problem
