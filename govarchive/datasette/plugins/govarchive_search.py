"""Datasette plugin loaded by ``govarchive serve`` (``--plugins-dir``): the archive as a reading room.

* SQL functions: ``govarchive_match(text)`` (any user text -> a safe FTS5 expression over the folded index, as
  ``govarchive search`` builds it), ``govarchive_fold(text)``, ``govarchive_doc_key(number)``.
* ``/-/search``: the search page — folded Vietnamese, exact-diacritics first, snippets with highlights, totals and
  time, a portal drop-down, validated dates, newest-first or by relevance, pages; hits link to the archived page.
* ``?_search=`` on the ``articles`` table filters through the same folded index (Datasette's own table search
  would join the FTS rowid, which here is a recency key, to the article id).
* The ``articles`` row page reads like the article (``templates/row.html`` + ``templates/_article.html``): the data
  comes from :func:`article_context`; long cells elsewhere are collapsed (:func:`render_cell`).
* A rejected request (bad SQL, an unknown sort column, a write statement...) is logged as one line on stderr
  (:func:`handle_exception`), not as Datasette's 150-line traceback with locals.
"""

from __future__ import annotations

import difflib
import html
import itertools
import json
import re
import sys
from datetime import date
from typing import Any

import datasette.handle_exception as datasette_errors
from datasette import hookimpl
from datasette.filters import FilterArguments
from datasette.utils.asgi import NotFound, Response
from markupsafe import Markup, escape

NO_MATCH = '"\x01"'  # a phrase with no tokens: matches nothing, never an error
LONG_CELL = 280  # characters shown before a long cell is collapsed on table pages
PAGE_SIZE = 20
MARK = ("\x02", "\x03")  # highlight marks inside snippets, replaced by <mark> after escaping


def _text(value: object) -> str:
    """Any SQL value as text: a blob or a number passed by a hand-written query must not raise (SQLite would print
    the traceback of a failing function on the server's console for every such query)."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def govarchive_match(text: object) -> str:
    from govarchive.search import parse_query

    expression = parse_query(_text(text)).expression()
    return expression or NO_MATCH


def govarchive_fold(text: object) -> str:
    from govarchive.archive import fold_text

    return fold_text(_text(text))


def govarchive_doc_key(number: str | None) -> str | None:
    from portal_spiders.text import document_number_key

    return document_number_key(number)


@hookimpl
def prepare_connection(conn):
    conn.create_function("govarchive_match", 1, govarchive_match, deterministic=True)
    conn.create_function("govarchive_fold", 1, govarchive_fold, deterministic=True)
    conn.create_function("govarchive_doc_key", 1, govarchive_doc_key, deterministic=True)


class _NoTraceback:
    """Stands in for the ``traceback`` module in Datasette's default exception handler, which prints the
    traceback of every non-Datasette error: :func:`handle_exception` has logged the one line already."""

    @staticmethod
    def print_exc() -> None:
        """Print nothing."""


# Datasette's default handler (datasette/handle_exception.py) still builds the error page or JSON; only its console
# output goes: a rich traceback with locals for every rejected request, and traceback.print_exc() for the others.
datasette_errors.rich = None
datasette_errors.traceback = _NoTraceback  # type: ignore[assignment]


def rejected_request_line(request: Any, exception: BaseException) -> str:
    """The one log line of a request Datasette answered with an error: status, request and the reason."""
    status = getattr(exception, "status", None) or 500
    target = request.path + (f"?{request.query_string}" if request.query_string else "")
    if len(target) > 300:
        target = target[:300] + "..."
    reason = " ".join(str(getattr(exception, "message", None) or exception).split()) or type(exception).__name__
    return f"govarchive serve: {status} {request.method} {target}: {type(exception).__name__}: {reason}"


@hookimpl(tryfirst=True)
def handle_exception(datasette, request, exception):
    """Log one line per rejected request (not a 404: the access log has it); Datasette's own handler answers."""
    if not isinstance(exception, NotFound):
        print(rejected_request_line(request, exception), file=sys.stderr, flush=True)


def _marked(text: str) -> Markup:
    """Escape ``text`` and turn the highlight marks into ``<mark>``."""
    return Markup(str(escape(text)).replace(MARK[0], "<mark>").replace(MARK[1], "</mark>"))


# -- ?_search= on the articles table ------------------------------------------------------------------------------


@hookimpl(trylast=True)  # called last, so its extra context wins over Datasette's own "no FTS table here"
def filters_from_request(request, database, table, datasette):
    if table != "articles":
        return None
    search = (request.args.get("_search") or "").strip()
    context = {"supports_search": True, "search": search}
    if not search:
        return FilterArguments([], {}, [], context)
    from govarchive.archive import FTS_FOLDED, SEARCH_KEY_ID_MASK

    clause = (f"id in (select rowid & {SEARCH_KEY_ID_MASK} from [{FTS_FOLDED}] where [{FTS_FOLDED}] match "
              "govarchive_match(:govarchive_search))")
    return FilterArguments([clause], {"govarchive_search": search},
                           [f'search matches "{search}" (diacritics optional; the search page ranks and highlights)'],
                           context)


# -- long cells ----------------------------------------------------------------------------------------------------


@hookimpl
def render_cell(value, column, table, database, datasette):
    if not isinstance(value, str) or len(value) <= LONG_CELL:
        return None
    head = value[:LONG_CELL].rsplit(" ", 1)[0]
    return Markup(f'<details class="govarchive-long"><summary>{escape(head)}… <small>({len(value):,} characters)'
                  f'</small></summary><div class="govarchive-full">{escape(value)}</div></details>')


@hookimpl
def menu_links(datasette, actor, request):
    return [{"href": datasette.urls.path("/-/search"), "label": "Search articles"}]


# -- the search page -----------------------------------------------------------------------------------------------


def _valid_date(value: str) -> str | None:
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        return None


async def search_page(request, datasette):
    db = datasette.get_database()
    args = request.args
    q = (args.get("q") or "").strip()
    portal = args.get("portal") or ""
    sort = args.get("sort") if args.get("sort") in ("newest", "relevance") else "newest"
    errors = []
    since, until = (args.get("since") or "").strip(), (args.get("until") or "").strip()
    filters: dict[str, Any] = {}
    for name, value in (("since", since), ("until", until)):
        if value:
            valid = _valid_date(value)
            if valid is None:
                errors.append(f"“{value}” is not a date: use YYYY-MM-DD (for example 2024-05-01).")
            else:
                filters[name] = valid
    if filters.get("since") and filters.get("until") and filters["since"] > filters["until"]:
        errors.append("The start date is after the end date.")
    try:
        page = max(1, int(args.get("page") or 1))
    except ValueError:
        page = 1
    portals = [r[0] for r in await db.execute("select portal from articles group by portal order by portal")]
    if portal:
        if portal in portals:
            filters["portal"] = [portal]
        else:
            errors.append(f"No portal “{portal}” in this archive.")
    result = None
    if q and not errors:
        from govarchive.archive import Archive
        from govarchive.search import search

        def run(conn):
            return search(Archive.wrap(conn), q, filters=filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE,
                          sort=sort, mark=MARK)

        result = await db.execute_fn(run)
    hits = []
    if result is not None:
        for hit in result.hits:
            hits.append({
                "id": hit.id, "url": hit.url, "portal": hit.portal, "published": hit.published, "exact": hit.exact,
                "score": hit.score, "author": hit.author, "tags": hit.tags, "attachments": hit.attachments,
                "title": _marked(hit.title_highlighted), "snippet": _marked(hit.snippet),
                "href": datasette.urls.row(db.name, "articles", str(hit.id)),
            })

    def link(**changes: Any) -> str:
        params = {"q": q, "portal": portal, "since": since, "until": until, "sort": sort, "page": page}
        params.update(changes)
        from urllib.parse import urlencode

        return datasette.urls.path("/-/search") + "?" + urlencode({k: v for k, v in params.items() if v})

    context = {
        "q": q, "portal": portal, "portals": portals, "since": since, "until": until, "sort": sort, "page": page,
        "errors": errors, "result": result, "hits": hits, "database": db.name,
        "summary": result.summary() if result is not None else "",
        "engine_note": result.engine_note if result is not None else "",
        "interpreted": result.query.describe() if result is not None and not result.query.empty else "",
        "prev_url": link(page=page - 1) if result is not None and page > 1 else None,
        "next_url": link(page=page + 1) if result is not None and result.more else None,
        "feed_command": (f"govarchive feed {json.dumps(q, ensure_ascii=False)}" +
                         (f" --portal {portal}" if portal else "") + " -o feed.xml") if q else "",
    }
    return Response.html(await datasette.render_template("govarchive_search.html", context, request=request))


@hookimpl
def register_routes():
    return [(r"^/-/search$", search_page)]


# -- the article page ----------------------------------------------------------------------------------------------

_SAFE_SCHEMES = re.compile(r"^(https?:|/|#|mailto:)", re.I)


def sanitize_html(fragment: str | None) -> Markup:
    """Archived body HTML made safe to render: no scripts, styles, frames, forms, event handlers or
    ``javascript:`` links (lxml_html_clean, already a dependency of the crawler's cleaning step); links open in a
    new tab without a referrer; images load lazily."""
    if not fragment or not fragment.strip():
        return Markup("")
    import lxml.html
    from lxml_html_clean import Cleaner

    cleaner = Cleaner(scripts=True, javascript=True, comments=True, style=True, inline_style=True, links=True,
                      meta=True, page_structure=True, processing_instructions=True, embedded=True, frames=True,
                      forms=True, annoying_tags=True, remove_unknown_tags=True, safe_attrs_only=True)
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
        root = cleaner.clean_html(root)
    except (ValueError, lxml.etree.ParserError):
        return Markup(f"<pre>{escape(fragment)}</pre>")
    for element in root.iter("a"):
        href = element.get("href") or ""
        if href and not _SAFE_SCHEMES.match(href):
            element.attrib.pop("href", None)
        element.set("rel", "noopener noreferrer nofollow")
        element.set("target", "_blank")
    for element in root.iter("img"):
        element.set("loading", "lazy")
        element.set("referrerpolicy", "no-referrer")
    return Markup(lxml.html.tostring(root, encoding="unicode"))


def word_diff(old: str | None, new: str | None) -> Markup:
    """``new`` with the words removed since ``old`` in ``<del>`` and the words added in ``<ins>``."""
    a, b = (old or "").split(), (new or "").split()
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(html.escape(" ".join(a[i1:i2])))
        if op in ("delete", "replace"):
            out.append(f"<del>{html.escape(' '.join(a[i1:i2]))}</del>")
        if op in ("insert", "replace"):
            out.append(f"<ins>{html.escape(' '.join(b[j1:j2]))}</ins>")
    return Markup(" ".join(out))


def _json(value: Any, default: Any) -> Any:
    try:
        loaded = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return default
    return default if loaded is None else loaded


def article_context(conn, article_id: int, urls: Any, database: str) -> dict[str, Any] | None:
    """Everything the article page shows, read through the archive module on Datasette's connection."""
    from govarchive.archive import Archive

    archive = Archive.wrap(conn)
    row = archive.article_by_id(article_id)
    if row is None:
        return None
    tags = archive.article_tags(article_id)
    versions = archive.versions(article_id)
    chain = [*versions, row]  # oldest first, the current content last
    changes = []
    for before, after in itertools.pairwise(chain):
        fields = []
        for name in ("title", "summary", "body_text", "author", "published", "category"):
            if (before.get(name) or "") != (after.get(name) or ""):
                fields.append({"name": name, "diff": word_diff(before.get(name), after.get(name))})
        changes.append({"from": before["version"], "to": after["version"],
                        "when": before.get("superseded_at"), "fields": fields})
    files = archive.attachments(article_id, images=True) if "kind" in conn_columns(conn, "attachments") else (
        archive.attachments(article_id))
    for att in files:
        # a downloaded copy (pipelines/files.py) is served by `govarchive serve` under /files/ (--static)
        stored = att.get("path") and att.get("status", "stored") in (None, "stored")
        att["local"] = urls.path(f"/files/{att['path']}") if stored else None
        att["excerpt"] = (att.get("text") or "")[:600]
    attachments = [a for a in files if a.get("kind", "attachment") in (None, "attachment")]
    local_images = {a["url"]: a["local"] for a in files if a.get("kind") == "image" and a.get("local")}
    capture = archive.capture(row.get("capture_id")) if row.get("capture_id") else None
    citations = archive.citations(article_id)
    for c in citations:
        c["document_href"] = (urls.row(database, "articles", str(c["document_article_id"]))
                              if c.get("document_article_id") else None)
        c["facet_href"] = urls.table(database, "citation_links") + f"?number_key={c['number_key']}"
    return {
        "row": row,
        "tags": [{"name": t, "href": urls.table(database, "articles") + "?_facet_array=tags&tags__arraycontains="
                  + _quote(t)} for t in tags],
        "portal_href": urls.table(database, "articles") + "?portal=" + _quote(row["portal"]),
        "body": sanitize_html(row.get("body_html")),
        "paragraphs": [p for p in (row.get("body_text") or "").split("\n") if p.strip()],
        "images": [{**i, "local": local_images.get(i["url"])} for i in _json(row.get("images"), [])
                   if isinstance(i, dict) and i.get("url")],
        "attachments": attachments,
        "changes": list(reversed(changes)),
        "capture": capture,
        "citations": citations,
        "field_sources": _json(row.get("field_sources"), {}),
        "json_href": urls.row(database, "articles", str(article_id)) + ".json",
        "duplicate_href": urls.row(database, "articles", str(row["duplicate_of"])) if row.get("duplicate_of") else None,
    }


def conn_columns(conn, table: str) -> set[str]:
    return {r[1] for r in conn.execute(f"pragma table_info([{table}])")}


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


@hookimpl
def extra_template_vars(template, database, table, columns, view_name, request, datasette):
    async def inner():
        if view_name != "row" or table != "articles" or request is None:
            return {}
        pks = request.url_vars.get("pks", "")
        if not pks.isdigit():
            return {}
        db = datasette.get_database(database)
        article = await db.execute_fn(lambda conn: article_context(conn, int(pks), datasette.urls, database))
        return {"article": article} if article else {}

    return inner
