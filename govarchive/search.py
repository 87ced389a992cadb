"""Vietnamese full-text search: query parsing, FTS5 expression building and result shaping.

No SQL here: :class:`govarchive.archive.Archive` runs the queries (``fts_search``, ``articles_by_ids``).

* **Any user string is safe.** Input is parsed into words and ``"quoted phrases"`` (an unbalanced quote runs to
  the end), ``word*`` prefixes, ``-word`` / ``NOT word`` exclusions and ``OR`` between items; every item becomes
  an FTS5 string literal with inner quotes doubled, so ``NĐ-CP``, ``15/2024``, ``AND``, ``NEAR``, ``:`` or ``*``
  can never produce an FTS5 syntax error (``NĐ-CP`` becomes the phrase ``"nd-cp"`` = tokens ``nd cp``).
* **With or without diacritics.** Items are ``fold()``ed and matched against the folded index, so ``Da Nang``
  finds ``Đà Nẵng``. When the query itself carries diacritics, matches of the exact (unfolded) index come first.
* **Bounded work at any archive size.** The FTS rowid is a recency key, so ``newest`` reads the first
  ``limit`` rowids in descending order. ``relevance`` ranks by bm25 among the newest
  :data:`RELEVANCE_CANDIDATES` matches, collected within :data:`RELEVANCE_BUDGET_S` (bm25 costs microseconds per
  matching row and a common word matches most of a million articles), and says so in
  :attr:`SearchResult.truncated`. Snippets are built only for the final page. Two query shapes FTS5 cannot stop
  early get their own paths: newest-first phrases of 3+ words walk rowid windows backwards within
  :data:`PHRASE_BUDGET_S` (``truncated`` when the budget ends the walk), and ``word*`` longer than the 3-character
  prefix index is expanded to the indexed terms it matches (an OR FTS5 reads lazily).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from govarchive.archive import SEARCH_KEY_ID_MASK, Archive, SearchQueryError, fold_text

DEFAULT_LIMIT = 20
RELEVANCE_CANDIDATES = 20_000  # newest matches ranked by bm25 (bm25 costs ~2-5 µs per matching row)
RELEVANCE_BUDGET_S = 0.25  # and at most this long collecting them (the rest of the page takes < 50 ms)
EXACT_BUDGET_S = 0.1  # time for finding which candidates also match the exact (unfolded) index
PHRASE_BUDGET_S = 0.06  # newest-first phrase search: windows scanned within this long (then `truncated`)
INDEX_PREFIX = 3  # prefix length the folded index keeps (FTS_OPTIONS); longer prefixes are expanded to terms
MAX_PREFIX_TERMS = 64  # a longer prefix matching more indexed terms than this is left to FTS5's own prefix merge
MAX_ITEMS = 32  # query items kept; longer inputs are truncated (FTS5 expression depth stays small)
MIN_PREFIX = 3  # `ab*` with fewer folded characters is searched as the whole word `ab`
SORTS = ("newest", "relevance")
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Item:
    """One query item: a word or a quoted phrase."""

    text: str  # NFC, as typed (without quotes / operators)
    negated: bool = False
    prefix: bool = False
    or_with_previous: bool = False

    @property
    def folded(self) -> str:
        return fold_text(self.text)

    @property
    def tokens(self) -> list[str]:
        """Folded tokens, as the unicode61 tokenizer would split them."""
        return _WORD.findall(self.folded)


@dataclass
class Query:
    """A parsed user query and its two FTS5 expressions (folded and exact)."""

    raw: str
    items: list[Item] = field(default_factory=list)

    @property
    def positive(self) -> list[Item]:
        return [i for i in self.items if not i.negated]

    @property
    def empty(self) -> bool:
        return not self.positive

    @property
    def has_diacritics(self) -> bool:
        """Whether exact-diacritic matching means anything for this query (ASCII queries fold to themselves)."""
        return any(fold_text(i.text) != i.text.lower() for i in self.positive)

    @property
    def phrased(self) -> bool:
        """Whether an item is a phrase of three or more tokens (searched window by window, newest first)."""
        return any(len(i.tokens) >= 3 for i in self.items)

    @property
    def exact_ranking(self) -> bool:
        """Rank exact-diacritic matches first: the query has diacritics and no prefix (``word*``) items."""
        return self.has_diacritics and not any(i.prefix for i in self.positive)

    def expression(self, *, exact: bool = False, terms: dict[str, list[str]] | None = None) -> str:
        """The FTS5 MATCH expression: each item a quoted string, ANDed (or ORed), exclusions as NOT.

        ``terms`` maps a folded prefix to the indexed terms it matches: ``prefix*`` then becomes their OR.
        """
        if self.empty:
            return ""
        groups: list[list[str]] = []
        for item in self.positive:
            literal = _literal(item, exact=exact, terms=terms)
            if item.or_with_previous and groups:
                groups[-1].append(literal)
            else:
                groups.append([literal])
        positive = " AND ".join("(" + " OR ".join(g) + ")" for g in groups)
        negated = [_literal(i, exact=exact, terms=terms) for i in self.items if i.negated]
        if negated:
            return f"({positive}) NOT ({' OR '.join(negated)})"
        return positive

    def highlight_pattern(self) -> re.Pattern[str] | None:
        """Regex over *folded* text matching any positive query token (prefix tokens as prefixes)."""
        parts = []
        for item in self.positive:
            tokens = item.tokens
            for n, token in enumerate(tokens):
                is_prefix = item.prefix and n == len(tokens) - 1 and len(token) >= MIN_PREFIX
                parts.append(re.escape(token) + (r"\w*" if is_prefix else ""))
        if not parts:
            return None
        parts.sort(key=len, reverse=True)
        return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)")


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _literal(item: Item, *, exact: bool, terms: dict[str, list[str]] | None = None) -> str:
    tokens = item.tokens
    is_prefix = item.prefix and tokens and len(tokens[-1]) >= MIN_PREFIX
    if is_prefix and not exact and terms and terms.get(tokens[-1]):
        return "(" + " OR ".join(_quoted(" ".join([*tokens[:-1], t])) for t in terms[tokens[-1]]) + ")"
    literal = _quoted(unicodedata.normalize("NFC", item.text) if exact else item.folded)
    return literal + " *" if is_prefix else literal


def _prefix_terms(archive: Archive, query: Query) -> dict[str, list[str]]:
    """Indexed terms of each prefix longer than the index keeps (``thuc*`` -> ``thuc``, ``thucs``...)."""
    out: dict[str, list[str]] = {}
    for item in query.items:
        tokens = item.tokens
        if item.prefix and tokens and len(tokens[-1]) > INDEX_PREFIX and tokens[-1] not in out:
            found = archive.fts_prefix_terms(tokens[-1], limit=MAX_PREFIX_TERMS)
            if found:
                out[tokens[-1]] = found
    return out


def _searchable(text: str) -> bool:
    return bool(_WORD.search(fold_text(text)))


def parse_query(raw: str) -> Query:
    """Parse any string into a :class:`Query` (never raises)."""
    text = unicodedata.normalize("NFC", raw or "")
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    query = Query(raw=raw or "")
    i, n = 0, len(text)
    negate_next = or_next = False
    while i < n and len(query.items) < MAX_ITEMS:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        negated = negate_next
        if ch in "-+" and i + 1 < n and not text[i + 1].isspace():
            negated = negated or ch == "-"
            i += 1
            ch = text[i]
        if ch == '"':
            end = text.find('"', i + 1)
            end = n if end < 0 else end
            body, i = text[i + 1:end], end + 1
            prefix = i < n and text[i] == "*"
            if prefix:
                i += 1
        else:
            start = i
            while i < n and not text[i].isspace() and text[i] != '"':
                i += 1
            body = text[start:i]
            if body == "OR" and query.items:
                or_next = True
                continue
            if body in ("AND", "NOT"):
                negate_next = negate_next or body == "NOT"
                continue
            prefix = body.endswith("*")
            body = body.rstrip("*")
        negate_next = False
        if not _searchable(body):
            or_next = False
            continue
        query.items.append(Item(text=body, negated=negated, prefix=prefix, or_with_previous=or_next and not negated))
        or_next = False
    if query.empty and query.items:  # only exclusions: search for the words instead
        query.items = [Item(text=i.text, prefix=i.prefix) for i in query.items]
    return query


def plain_query(raw: str) -> Query:
    """Fallback: every word of ``raw`` as a plain term, no operators at all."""
    words = _WORD.findall(unicodedata.normalize("NFC", raw or ""))
    return Query(raw=raw or "", items=[Item(text=w) for w in words[:MAX_ITEMS]])


# -- results --------------------------------------------------------------------------------------------------


@dataclass
class Hit:
    """One search result with its snippet."""

    id: int
    url: str
    portal: str
    title: str
    published: str | None
    author: str | None
    category: str | None
    tags: list[str]
    snippet: str
    title_highlighted: str
    exact: bool
    score: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "url": self.url, "portal": self.portal, "title": self.title, "published": self.published,
            "author": self.author, "category": self.category, "tags": self.tags, "snippet": self.snippet,
            "exact": self.exact, "score": self.score,
        }


@dataclass
class SearchResult:
    """A page of hits plus how it was obtained."""

    query: Query
    sort: str
    hits: list[Hit]
    more: bool = False  # more matches exist beyond the page
    candidates: int = 0  # matches ranked (relevance) or read (newest)
    truncated: bool = False  # relevance ranked only the newest matches / newest phrase search stopped early


def search(archive: Archive, raw: str, *, filters: dict[str, Any] | None = None, limit: int = DEFAULT_LIMIT,
           sort: str = "newest", mark: tuple[str, str] = ("[", "]"), snippet_width: int = 200,
           candidates: int = RELEVANCE_CANDIDATES, budget_s: float | None = RELEVANCE_BUDGET_S) -> SearchResult:
    """Search the archive; never raises on odd input (an unusable query gives no hits)."""
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}")
    query = parse_query(raw)
    try:
        return _search(archive, query, filters, limit, sort, mark, snippet_width, candidates, budget_s)
    except SearchQueryError:
        query = plain_query(raw)
        try:
            return _search(archive, query, filters, limit, sort, mark, snippet_width, candidates, budget_s)
        except SearchQueryError:
            return SearchResult(query=query, sort=sort, hits=[])


def _search(archive: Archive, query: Query, filters: dict[str, Any] | None, limit: int, sort: str,
            mark: tuple[str, str], snippet_width: int, candidates: int, budget_s: float | None) -> SearchResult:
    limit = max(1, int(limit))
    if query.empty:
        return SearchResult(query=query, sort=sort, hits=[])
    folded_expr = query.expression(terms=_prefix_terms(archive, query))
    exact_expr = query.expression(exact=True) if query.exact_ranking else None
    result = SearchResult(query=query, sort=sort, hits=[])
    exact_keys: set[int] = set()
    if sort == "newest" and query.phrased:
        folded, complete = archive.fts_search_windowed(folded_expr, filters=filters, limit=limit + 1,
                                                       budget_s=budget_s and PHRASE_BUDGET_S)
        result.truncated = not complete
        exact: list[tuple[int, Any]] = []
        if exact_expr and folded and (len(folded) <= limit or not complete):
            # an FTS5 rowid lookup of a long phrase costs ~10 ms each at 1M articles: check the texts instead
            texts = archive.articles_by_ids(k & SEARCH_KEY_ID_MASK for k, _ in folded)
            exact_keys = {k for k, _ in folded if _matches_exactly(query, texts.get(k & SEARCH_KEY_ID_MASK))}
        elif exact_expr and folded:  # as below: exact matches first, within their own (smaller) budget
            exact, _ = archive.fts_search_windowed(exact_expr, exact=True, filters=filters, limit=limit + 1,
                                                   budget_s=budget_s and PHRASE_BUDGET_S / 2)
            exact_keys = {k for k, _ in exact}
        ordered = exact + [m for m in folded if m[0] not in exact_keys] if exact else (
            [m for m in folded if m[0] in exact_keys] + [m for m in folded if m[0] not in exact_keys])
        result.candidates = len(ordered)
    elif sort == "newest":
        folded = archive.fts_search(folded_expr, filters=filters, limit=limit + 1)
        if exact_expr and len(folded) <= limit:
            # every match is in hand: which of them match exactly is a rowid lookup, not another scan
            exact_keys = {k for k, _ in archive.fts_search(exact_expr, exact=True, keys=[k for k, _ in folded],
                                                           limit=len(folded))}
            ordered = [m for m in folded if m[0] in exact_keys] + [m for m in folded if m[0] not in exact_keys]
        elif exact_expr:
            exact, _ = archive.fts_search_bounded(exact_expr, exact=True, filters=filters, limit=limit + 1,
                                                  budget_s=budget_s and EXACT_BUDGET_S)
            exact_keys = {k for k, _ in exact}
            ordered = exact + [m for m in folded if m[0] not in exact_keys]
        else:
            ordered = folded
        result.candidates = len(ordered)
    else:
        ranked, complete = archive.fts_search_bounded(folded_expr, filters=filters, limit=candidates + 1,
                                                      with_score=True, budget_s=budget_s)
        result.truncated = len(ranked) > candidates or not complete
        ranked = ranked[:candidates]
        result.candidates = len(ranked)
        if exact_expr and ranked:
            window = min(k for k, _ in ranked)
            found, _ = archive.fts_search_bounded(exact_expr, exact=True, filters=filters, limit=candidates + 1,
                                                  min_key=window, budget_s=budget_s and EXACT_BUDGET_S)
            exact_keys = {k for k, _ in found}
        # bm25 is negative: lower is better. Exact-diacritic matches first, then score, then recency.
        ordered = sorted(ranked, key=lambda ks: (ks[0] not in exact_keys, ks[1], -ks[0]))
    result.more = len(ordered) > limit
    page = ordered[:limit]
    rows = archive.articles_by_ids(k & SEARCH_KEY_ID_MASK for k, _ in page)
    pattern = query.highlight_pattern()
    for key, score in page:
        row = rows.get(key & SEARCH_KEY_ID_MASK)
        if row is None:
            continue
        source = row.get("body_text") or row.get("summary") or ""
        result.hits.append(Hit(
            id=row["id"], url=row["url"], portal=row["portal"], title=row["title"] or "",
            published=row["published"], author=row["author"], category=row["category"],
            tags=_tags(row.get("tags")),
            snippet=make_snippet(source, pattern, width=snippet_width, mark=mark) or
            make_snippet(row.get("summary") or "", pattern, width=snippet_width, mark=mark),
            title_highlighted=highlight(row["title"] or "", pattern, mark=mark),
            exact=key in exact_keys, score=None if score is None else round(float(score), 4),
        ))
    return result


def _matches_exactly(query: Query, row: dict[str, Any] | None) -> bool:
    """Whether an article matches ``query.expression(exact=True)``: tokens as the exact index splits them."""
    if row is None:
        return False
    texts = (row.get("title"), row.get("summary"), row.get("body_text"), "\n".join(_tags(row.get("tags"))))
    columns = [" " + " ".join(_WORD.findall(unicodedata.normalize("NFC", t or "").lower())) + " " for t in texts]

    def found(item: Item) -> bool:
        needle = " " + " ".join(_WORD.findall(unicodedata.normalize("NFC", item.text).lower())) + " "
        return any(needle in column for column in columns)

    groups: list[list[Item]] = []
    for item in query.positive:
        if item.or_with_previous and groups:
            groups[-1].append(item)
        else:
            groups.append([item])
    return all(any(found(i) for i in g) for g in groups) and not any(found(i) for i in query.items if i.negated)


def _tags(value: str | None) -> list[str]:
    import json

    try:
        tags = json.loads(value or "[]")
    except ValueError:
        return []
    return [str(t) for t in tags] if isinstance(tags, list) else []


# -- snippets -------------------------------------------------------------------------------------------------


def _aligned_fold(text: str) -> tuple[str, list[int] | None]:
    """Folded text and, when folding changed the length, a map from folded offsets to original offsets."""
    folded = fold_text(text)
    if len(folded) == len(text):
        return folded, None
    pieces, offsets = [], []
    for pos, ch in enumerate(text):
        f = fold_text(ch)
        pieces.append(f)
        offsets.extend([pos] * len(f))
    offsets.append(len(text))
    return "".join(pieces), offsets


def _spans(text: str, pattern: re.Pattern[str] | None) -> list[tuple[int, int]]:
    if pattern is None or not text:
        return []
    folded, offsets = _aligned_fold(text)
    spans = [(m.start(), m.end()) for m in pattern.finditer(folded)]
    if offsets is not None:
        spans = [(offsets[s], offsets[e - 1] + 1) for s, e in spans]
    return spans


def highlight(text: str, pattern: re.Pattern[str] | None, *, mark: tuple[str, str] = ("[", "]")) -> str:
    """``text`` with every query-token occurrence (diacritic-insensitive) wrapped in ``mark``."""
    out, last = [], 0
    for start, end in _spans(text, pattern):
        out += [text[last:start], mark[0], text[start:end], mark[1]]
        last = end
    out.append(text[last:])
    return "".join(out)


def make_snippet(text: str, pattern: re.Pattern[str] | None, *, width: int = 200,
                 mark: tuple[str, str] = ("[", "]")) -> str:
    """About ``width`` characters of ``text`` around the first match, highlighted; the start when no match."""
    if not text:
        return ""
    text = " ".join(text[:50_000].split())
    spans = _spans(text, pattern)
    start = 0
    if spans:
        start = max(0, spans[0][0] - width // 4)
        if start:
            space = text.find(" ", start)
            start = space + 1 if 0 <= space < spans[0][0] else start
    end = min(len(text), start + width)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start + width // 2 else end
    window = text[start:end]
    pieces, last = [], 0
    for s, e in spans:
        if s < start or e > end:
            continue
        pieces += [window[last:s - start], mark[0], window[s - start:e - start], mark[1]]
        last = e - start
    pieces.append(window[last:])
    return ("…" if start else "") + "".join(pieces) + ("…" if end < len(text) else "")


# -- CLI helpers shared by `search` and `export` ----------------------------------------------------------------


def iso_date(value: str) -> str:
    """argparse type for YYYY-MM-DD."""
    import argparse
    from datetime import date

    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {value!r}") from None


def add_filter_arguments(parser: Any) -> None:
    """``--portal``, ``--since``, ``--until``, ``--author``, ``--tag`` (portal and tag may repeat)."""
    parser.add_argument("--portal", action="append", metavar="NAME", help="only this portal (repeatable)")
    parser.add_argument("--since", type=iso_date, metavar="YYYY-MM-DD", help="published on or after this date")
    parser.add_argument("--until", type=iso_date, metavar="YYYY-MM-DD", help="published on or before this date")
    parser.add_argument("--author", metavar="TEXT", help="author contains TEXT (diacritics optional)")
    parser.add_argument("--tag", action="append", metavar="TAG", help="has this tag (diacritics optional; repeatable)")


def filters_from_args(args: Any) -> dict[str, Any]:
    """The filter dict understood by :meth:`Archive.fts_search` and :meth:`Archive.iter_export`."""
    return {k: getattr(args, k, None) for k in ("portal", "since", "until", "author", "tag")
            if getattr(args, k, None)}
