"""Vietnamese full-text search: query parsing, FTS5 expression building and result shaping.

No SQL here: :class:`govarchive.archive.Archive` runs the queries (``fts_count``, ``fts_search``...).

* **Words, not syllables.** A Vietnamese word is written as separate syllables, so syllables typed together
  (``Da Nang``, ``giai phong mat bang``) must appear *together*, in that order: ``Da Nang`` finds *Đà Nẵng* and
  not *đã … nâng*. Separate words with ``AND`` (or quote them separately) to find them anywhere in an article,
  with ``OR`` for either. The index stores adjacent syllable pairs as single terms (govarchive/searchtext.py), so
  a two-syllable word is one term and a longer one a short phrase of pair terms: cheap at any archive size.
* **With or without diacritics.** Items are ``fold()``ed and matched against the folded index, so ``Da Nang``
  finds ``Đà Nẵng``; a word typed without spaces (``danang``, ``hochiminh``) is also read as the syllables it
  can be split into, where the index holds them. When the query carries diacritics, the articles that match
  them exactly come first.
* **Any user string is safe.** Every item becomes an FTS5 string literal with inner quotes doubled, so
  ``NĐ-CP``, ``15/2024``, ``AND``, ``NEAR``, ``:`` or ``*`` never produce an FTS5 syntax error. A leading
  ``-word`` excludes; ``word*`` is a prefix (3+ letters).
* **Complete.** Totals are exact; newest-first and relevance (bm25 over *every* match) pages are reachable at any
  offset. Word segmentation with underthesea was evaluated and not used: its CRF model ships in the wheel and runs
  offline, but it segments unaccented input poorly (``quyet dinh bo nhiem`` -> four single syllables) and even
  official phrases (``Ủy ban nhân dân tỉnh`` -> ``Ủy | ban nhân dân | tỉnh``), so the same query typed with and
  without diacritics would match different articles; "syllables typed together stay together" is predictable.
"""

from __future__ import annotations

import itertools
import json
import re
import time
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from govarchive import searchtext
from govarchive.archive import SEARCH_KEY_ID_MASK, Archive, fold_text

DEFAULT_LIMIT = 20
INDEX_PREFIX = 3  # prefix length the folded index keeps (FTS_OPTIONS); longer prefixes are expanded to terms
MAX_PREFIX_TERMS = 64  # a longer prefix matching more indexed terms than this is left to FTS5's own prefix merge
MAX_ITEMS = 32  # query items kept; longer inputs are truncated (FTS5 expression depth stays small)
MAX_TOKENS = 24  # syllables kept per item
MAX_VARIANTS = 8  # readings of an item with words typed without spaces (danang -> da nang)
MIN_PREFIX = 3  # `ab*` with fewer folded characters is searched as the whole word `ab`
SORTS = ("newest", "relevance")
_WORD = re.compile(r"[^\W_]+")
# between two syllables of one word, as the index pairs them: spaces (no line break) or one of - / . :
_SEP = r"(?:[^\S\n]+|[-/.:])"


@dataclass(frozen=True)
class Item:
    """One query item: syllables typed together (a word or phrase) or a quoted phrase."""

    text: str  # NFC, as typed (without quotes / operators)
    negated: bool = False
    prefix: bool = False
    or_with_previous: bool = False
    quoted: bool = False

    @property
    def folded(self) -> str:
        return fold_text(self.text)

    @property
    def tokens(self) -> list[str]:
        """Folded tokens, as the index splits them."""
        return _WORD.findall(self.folded)[:MAX_TOKENS]

    @property
    def exact_tokens(self) -> list[str]:
        return _WORD.findall(searchtext.exact_form(self.text))[:MAX_TOKENS]

    @property
    def is_prefix(self) -> bool:
        tokens = self.tokens
        return self.prefix and bool(tokens) and len(tokens[-1]) >= MIN_PREFIX


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
    def exact_ranking(self) -> bool:
        """Rank exact-diacritic matches first: the query has diacritics and no prefix (``word*``) items."""
        return self.has_diacritics and not any(i.prefix for i in self.positive)

    def groups(self) -> list[list[Item]]:
        """Positive items grouped by OR; the groups are ANDed."""
        groups: list[list[Item]] = []
        for item in self.positive:
            if item.or_with_previous and groups:
                groups[-1].append(item)
            else:
                groups.append([item])
        return groups

    def expression(self, *, exact: bool = False, terms: dict[str, list[str]] | None = None,
                   variants: dict[str, list[list[str]]] | None = None, negations: bool = True) -> str:
        """The FTS5 MATCH expression: each item a quoted term or phrase, ANDed (or ORed), exclusions as NOT
        (left out with ``negations=False``).

        ``terms`` maps a folded prefix to the indexed terms it matches (``prefix*`` becomes their OR);
        ``variants`` maps a folded token typed without spaces to the syllable readings the index holds.
        """
        if self.empty:
            return ""
        positive = " AND ".join(
            "(" + " OR ".join(_literal(i, exact=exact, terms=terms, variants=variants) for i in g) + ")"
            for g in self.groups())
        negated = [_literal(i, exact=exact, terms=terms, variants=variants) for i in self.items
                   if i.negated and negations]
        if negated:
            return f"({positive}) NOT ({' OR '.join(negated)})"
        return positive

    def describe(self) -> str:
        """How the query was read, for people: ``"đà nẵng" AND ("du lịch" OR biển) NOT "mưa"``."""
        def show(item: Item) -> str:
            words = " ".join(_WORD.findall(item.text))
            text = f'"{words}"' if len(_WORD.findall(words)) > 1 else words
            return text + ("*" if item.prefix else "")

        parts = []
        for group in self.groups():
            inner = " OR ".join(show(i) for i in group)
            parts.append(f"({inner})" if len(group) > 1 and len(self.groups()) > 1 else inner)
        text = " AND ".join(parts)
        negated = [show(i) for i in self.items if i.negated]
        return text + "".join(f" NOT {n}" for n in negated)

    def highlight_pattern(self, variants: dict[str, list[list[str]]] | None = None) -> re.Pattern[str] | None:
        """Regex over *folded* text matching each positive item as adjacent syllables (prefix items as prefixes)."""
        parts = []
        for item in self.positive:
            tokens = item.tokens
            if not tokens:
                continue
            for reading in _readings(tokens, variants):
                pieces = [re.escape(t) for t in reading]
                if item.is_prefix:
                    pieces[-1] += r"\w*"
                parts.append(_SEP.join(pieces))
        if not parts:
            return None
        parts.sort(key=len, reverse=True)
        return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)")


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _readings(tokens: list[str], variants: dict[str, list[list[str]]] | None) -> list[list[str]]:
    """The syllable sequences an item stands for: as typed, plus each token typed without spaces split up."""
    choices = [[[t], *(variants or {}).get(t, [])] for t in tokens]
    out = []
    for combo in itertools.islice(itertools.product(*choices), MAX_VARIANTS + 1):
        out.append([s for part in combo for s in part])
    return out


def _phrase(syllables: list[str], *, prefix: bool, broken: bool) -> str:
    if len(syllables) == 1 or broken:
        return _quoted(" ".join(syllables)) + (" *" if prefix else "")
    return _quoted(" ".join(searchtext.phrase_terms(syllables))) + (" *" if prefix else "")


def _literal(item: Item, *, exact: bool, terms: dict[str, list[str]] | None = None,
             variants: dict[str, list[list[str]]] | None = None) -> str:
    tokens = item.exact_tokens if exact else item.tokens
    prefix = item.is_prefix
    # punctuation the index does not pair across (a quoted "Hà Nội, Đà Nẵng"): a phrase of single syllables
    broken = searchtext.breaks_pairs(searchtext.exact_form(item.text))
    if prefix and not exact and len(tokens) == 1 and terms and terms.get(tokens[0]):
        return "(" + " OR ".join(_quoted(t) for t in terms[tokens[0]]) + ")"
    if exact or prefix or not variants:
        return _phrase(tokens, prefix=prefix, broken=broken)
    readings = _readings(tokens, variants)
    if len(readings) == 1:
        return _phrase(tokens, prefix=False, broken=broken)
    return "(" + " OR ".join(_phrase(r, prefix=False, broken=broken) for r in readings[:MAX_VARIANTS]) + ")"


def _prefix_terms(archive: Any, query: Query) -> dict[str, list[str]]:
    """Indexed terms of each one-syllable prefix longer than the index keeps (``thuc*`` -> ``thuc``, ``thucs``...)."""
    out: dict[str, list[str]] = {}
    for item in query.items:
        tokens = item.tokens
        if item.is_prefix and len(tokens) == 1 and len(tokens[0]) > INDEX_PREFIX and tokens[0] not in out:
            found = archive.fts_prefix_terms(tokens[0], limit=MAX_PREFIX_TERMS)
            if found:
                out[tokens[0]] = found
    return out


def _joined_variants(archive: Any, query: Query) -> dict[str, list[list[str]]]:
    """Readings of tokens typed without spaces (``danang`` -> ``da nang``) whose syllable pairs the index holds."""
    out: dict[str, list[list[str]]] = {}
    for item in query.items:
        if item.prefix:
            continue
        for token in item.tokens:
            if token in out or searchtext.is_folded_syllable(token):
                continue
            splits = searchtext.syllable_splits(token)
            if not splits:
                continue
            needed = {t for s in splits for t in searchtext.phrase_terms(s)}
            present = archive.fts_terms_present(needed)
            found = [s for s in splits if all(t in present for t in searchtext.phrase_terms(s))]
            if found:
                out[token] = found[:MAX_VARIANTS]
    return out


def _searchable(text: str) -> bool:
    return bool(_WORD.search(fold_text(text)))


def parse_query(raw: str) -> Query:
    """Parse any string into a :class:`Query` (never raises).

    Plain words typed together form one item (their syllables must be adjacent); ``AND``, ``OR``, ``NOT``, quotes,
    a ``-``/``+`` prefix or a ``word*`` end the item.
    """
    text = unicodedata.normalize("NFC", raw or "")
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    query = Query(raw=raw or "")
    run: list[str] = []  # plain words typed together: one item
    run_negated = run_or = False
    pending_not = pending_or = False  # NOT / OR seen, applying to the next item

    def add(body: str, *, negated: bool, prefix: bool, or_previous: bool, quoted: bool) -> None:
        if len(query.items) >= MAX_ITEMS or not _searchable(body):
            return
        query.items.append(Item(text=body, negated=negated, prefix=prefix,
                                or_with_previous=or_previous and not negated and bool(query.items), quoted=quoted))

    def flush(prefix: bool = False) -> None:
        if run:
            add(" ".join(run), negated=run_negated, prefix=prefix, or_previous=run_or, quoted=False)
            run.clear()

    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        sign = None
        if ch in "-+" and i + 1 < n and not text[i + 1].isspace():
            sign = ch
            i += 1
            ch = text[i]
        if ch == '"':
            flush()
            end = text.find('"', i + 1)
            end = n if end < 0 else end
            body, i = text[i + 1:end], end + 1
            prefix = i < n and text[i] == "*"
            if prefix:
                i += 1
            add(body, negated=pending_not or sign == "-", prefix=prefix, or_previous=pending_or, quoted=True)
            pending_not = pending_or = False
            continue
        start = i
        while i < n and not text[i].isspace() and text[i] != '"':
            i += 1
        word = text[start:i]
        if sign is None and word in ("OR", "AND", "NOT"):
            flush()
            pending_or = pending_or or word == "OR"
            pending_not = pending_not or word == "NOT"
            continue
        body = word.rstrip("*")
        if not _searchable(body):
            continue
        if sign is not None or not run or pending_not or pending_or:
            flush()
            run_negated, run_or = pending_not or sign == "-", pending_or
            pending_not = pending_or = False
        run.append(body)
        if word.endswith("*"):
            flush(prefix=True)
    flush()
    if query.empty and query.items:  # only exclusions: search for the words instead
        query.items = [Item(text=i.text, prefix=i.prefix, quoted=i.quoted) for i in query.items]
    return query


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
    score: float | None  # relevance (bm25, higher is better), None when sorted newest first
    attachments: list[str] = field(default_factory=list)  # names of attachments whose text matches

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "url": self.url, "portal": self.portal, "title": self.title, "published": self.published,
            "author": self.author, "category": self.category, "tags": self.tags, "snippet": self.snippet,
            "exact": self.exact, "score": self.score, "matched_attachments": self.attachments,
        }


@dataclass
class SearchResult:
    """A page of hits, the exact number of matches and how long it took."""

    query: Query
    sort: str
    hits: list[Hit]
    total: int = 0  # articles matching (exact count)
    # of which match the diacritics as typed: 0 when the query has none, None when not counted (a full page of them)
    exact_total: int | None = 0
    offset: int = 0
    limit: int = DEFAULT_LIMIT
    elapsed_s: float = 0.0
    engine: str = "fts5"  # which engine answered: "tantivy" or "fts5"
    engine_note: str = ""  # why FTS5 answered when the Tantivy index could not

    @property
    def more(self) -> bool:
        """Matches exist beyond this page."""
        return self.offset + len(self.hits) < self.total

    def summary(self) -> str:
        """``3 of 1,204 matches (1,180 with the exact diacritics), newest first, 41 ms``."""
        if not self.total:
            shown = "no matches"
        elif self.hits:
            first = self.offset + 1
            shown = f"{first:,}–{self.offset + len(self.hits):,} of {self.total:,} matches"
        else:
            shown = f"none of {self.total:,} matches at offset {self.offset:,}"
        if self.exact_total is None:
            shown += " (those with the exact diacritics first)"
        elif self.exact_total and self.exact_total != self.total:
            shown += f" ({self.exact_total:,} with the exact diacritics, listed first)"
        order = "newest first" if self.sort == "newest" else "by relevance"
        return f"{shown}, {order}, {self.elapsed_s * 1000:.0f} ms"


ENGINES = ("auto", "tantivy", "fts5")


def search(archive: Archive, raw: str, *, filters: dict[str, Any] | None = None, limit: int = DEFAULT_LIMIT,
           offset: int = 0, sort: str = "newest", mark: tuple[str, str] = ("[", "]"),
           snippet_width: int = 200, engine: str = "auto",
           progress: Callable[[int, int], None] | None = None) -> SearchResult:
    """Search the archive. Never raises on odd input (an unusable query gives no hits); SQLite errors of any other
    kind propagate (they are faults, not queries).

    ``engine``: ``auto`` searches the Tantivy index beside the archive (:mod:`govarchive.searchindex`; built on
    first use for archives of up to 50,000 articles) and falls back to SQLite FTS5 when it cannot answer, saying
    why in ``engine_note``; ``tantivy`` raises :class:`~govarchive.searchindex.SearchIndexUnavailable` instead;
    ``fts5`` uses FTS5 only. Both engines give the same matches, totals and newest-first pages. ``progress(done,
    total)`` follows a long build or catch-up of the Tantivy index.
    """
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}")
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}")
    started = time.perf_counter()
    query = parse_query(raw)
    backend, note = search_engine(archive, engine, progress=progress) if not query.empty else (archive, "")
    args = (query, filters, max(1, int(limit)), max(0, int(offset)), sort, mark, snippet_width)
    try:
        result = _search(archive, backend, *args)
    except BaseException as exc:
        # a Tantivy index that opened but fails while searching (damaged files; pyo3 raises Rust panics as a
        # BaseException): FTS5 answers, and says why
        panic = type(exc).__name__ == "PanicException"  # pyo3's, not importable by name
        if backend is archive or engine == "tantivy" or not (isinstance(exc, Exception) or panic):
            raise
        backend, note = archive, f"searched with SQLite FTS5: the Tantivy index failed ({type(exc).__name__}: {exc})"
        result = _search(archive, backend, *args)
    result.engine, result.engine_note = backend.name, note
    result.elapsed_s = time.perf_counter() - started
    return result


def search_engine(archive: Archive, choice: str = "auto", *,
                  progress: Callable[[int, int], None] | None = None) -> tuple[Any, str]:
    """``(engine, note)``: the engine that answers ``choice`` (see :func:`search`) and, when ``auto`` had to fall
    back to FTS5, why."""
    if choice == "fts5":
        return archive, ""
    from govarchive.searchindex import SearchIndexUnavailable, TantivyIndex

    try:
        return TantivyIndex.open(archive, progress=progress), ""
    except SearchIndexUnavailable as exc:
        if choice == "tantivy":
            raise
        return archive, f"searched with SQLite FTS5: {exc}"


def expressions(engine: Any, query: Query) -> tuple[str, str | None, dict[str, list[list[str]]]]:
    """``(folded expression, exact expression or None, joined-word readings)`` of a parsed query; ``engine`` (an
    :class:`Archive` or a :class:`~govarchive.searchindex.TantivyIndex`) answers the vocabulary lookups.

    The exact expression holds the positive items only: exclusions are applied through the folded index (see
    :func:`_exclusions`), so that every exact match is also a folded match.
    """
    variants = _joined_variants(engine, query)
    folded = query.expression(terms=_prefix_terms(engine, query), variants=variants)
    exact = query.expression(exact=True, negations=False) if query.exact_ranking else None
    return folded, exact, variants


def _exclusions(query: Query, variants: dict[str, list[list[str]]]) -> tuple[str, bool] | None:
    """The folded expression of the excluded items, as ``Archive.fts_search(exclude=...)`` takes it."""
    negated = [_literal(i, exact=False, variants=variants) for i in query.items if i.negated]
    return (" OR ".join(negated), False) if negated else None


def _search(archive: Archive, engine: Any, query: Query, filters: dict[str, Any] | None, limit: int, offset: int,
            sort: str, mark: tuple[str, str], snippet_width: int) -> SearchResult:
    result = SearchResult(query=query, sort=sort, hits=[], offset=offset, limit=limit)
    if query.empty:
        return result
    folded_expr, exact_expr, variants = expressions(engine, query)
    ranked = sort == "relevance"
    page: list[tuple[int, Any]] = []
    exact_keys: set[int] = set()
    if exact_expr:
        # exact-diacritic matches first (newest first or by relevance), then the rest of the folded matches. With
        # FTS5 the exact matches are counted only when the page needs their number: a full page of them does not
        # (a count of a word found in most of a million articles costs as much as the rest of the search).
        excluded = _exclusions(query, variants)
        counted = engine.counts_with_pages
        if counted:
            # Tantivy releases the GIL while it searches: the folded total and the exact page walk their matches
            # side by side (40-45% less time for common phrases at a million articles)
            with ThreadPoolExecutor(max_workers=1) as pool:
                total = pool.submit(engine.fts_count, folded_expr, filters=filters)
                exact_total, page = engine.fts_page(exact_expr, exact=True, filters=filters, limit=limit,
                                                    offset=offset, ranked=ranked, exclude=excluded, count=True)
                result.total = total.result()
        else:
            result.total = engine.fts_count(folded_expr, filters=filters)
            if not result.total:
                return result
            exact_total, page = engine.fts_page(exact_expr, exact=True, filters=filters, limit=limit, offset=offset,
                                                ranked=ranked, exclude=excluded, count=False)
        if not result.total:
            return result
        exact_keys = {k for k, _ in page}
        if counted:
            result.exact_total = exact_total
        elif page and len(page) < limit:
            result.exact_total = offset + len(page)
        elif not page:
            result.exact_total = engine.fts_count(exact_expr, exact=True, filters=filters, exclude=excluded)
        else:
            result.exact_total = None  # a full page of exact matches: not counted
        if len(page) < limit and (result.exact_total or 0) < result.total:
            page += engine.fts_search(folded_expr, filters=filters, limit=limit - len(page),
                                      offset=max(0, offset - (result.exact_total or 0)), ranked=ranked,
                                      exclude=(exact_expr, True) if result.exact_total else None)
    else:
        result.total, page = engine.fts_page(folded_expr, filters=filters, limit=limit, offset=offset, ranked=ranked)
        if not result.total:
            return result
    rows = archive.articles_by_ids(k & SEARCH_KEY_ID_MASK for k, _ in page)
    attachments = archive.search_attachments(k & SEARCH_KEY_ID_MASK for k, _ in page)
    pattern = query.highlight_pattern(variants)
    for key, score in page:
        article_id = key & SEARCH_KEY_ID_MASK
        row = rows.get(article_id)
        if row is None:
            continue
        result.hits.append(_hit(row, attachments.get(article_id, []), pattern, mark, snippet_width,
                                exact=key in exact_keys, score=None if score is None else _positive(score)))
    return result


def _hit(row: dict[str, Any], attachments: list[dict[str, Any]], pattern: re.Pattern[str] | None,
         mark: tuple[str, str], width: int, *, exact: bool, score: float | None) -> Hit:
    tags = _tags(row.get("tags"))
    snippet, found = _snippet(row.get("body_text") or "", pattern, width, mark)
    if not found:
        snippet, found = _snippet(row.get("summary") or "", pattern, width, mark) if row.get("summary") else (
            snippet, False)
    matched = [a for a in attachments if pattern is not None and pattern.search(
        fold_text(f"{a.get('name') or ''}\n{(a.get('text') or '')[:200_000]}"))]
    if matched and not found and not _spans(" ".join([row.get("title") or "", *tags]), pattern):
        # the words are only in an attachment: show them there, and name the file
        att = matched[0]
        name = attachment_label(att)
        inner, in_text = _snippet(att.get("text") or "", pattern, width, mark)
        snippet = f"[{name}] {inner}" if in_text else f"[{highlight(name, pattern, mark=mark)}]"
    return Hit(
        id=row["id"], url=row["url"], portal=row["portal"], title=row["title"] or "", published=row["published"],
        author=row["author"], category=row["category"], tags=tags, snippet=snippet,
        title_highlighted=highlight(row["title"] or "", pattern, mark=mark), exact=exact, score=score,
        attachments=[attachment_label(a) for a in matched],
    )


def attachment_label(att: dict[str, Any]) -> str:
    """How a hit names an attachment: its original file name, with the link text when that says something else.

    Portals often link a file as "Tải về" or "Xem chi tiết", so the link text alone does not name the file; the
    file name (Content-Disposition, else the URL) does. Rows without a downloaded file fall back to the link
    text, then the URL.
    """
    filename = (att.get("filename") or "").strip()
    name = (att.get("name") or "").strip()
    if filename and name and name != filename:
        return f"{filename} ({name})"
    return filename or name or att.get("url") or ""


def _positive(bm25: float) -> float:
    """FTS5's bm25 is negative (lower is better): shown negated, to 4 significant digits (a word found in most
    articles scores about 1e-6, never 0)."""
    return float(f"{-float(bm25):.4g}")


def _tags(value: str | None) -> list[str]:
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
    """``text`` with every query-word occurrence (diacritic-insensitive) wrapped in ``mark``."""
    out, last = [], 0
    for start, end in _spans(text, pattern):
        out += [text[last:start], mark[0], text[start:end], mark[1]]
        last = end
    out.append(text[last:])
    return "".join(out)


def make_snippet(text: str, pattern: re.Pattern[str] | None, *, width: int = 200,
                 mark: tuple[str, str] = ("[", "]")) -> str:
    """About ``width`` characters of ``text`` around the first match, highlighted; the start when no match."""
    return _snippet(text, pattern, width, mark)[0]


def _snippet(text: str, pattern: re.Pattern[str] | None, width: int, mark: tuple[str, str]) -> tuple[str, bool]:
    """(snippet, whether the text matched): one fold of (at most the first 50,000 characters of) the text."""
    if not text:
        return "", False
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
    return ("…" if start else "") + "".join(pieces) + ("…" if end < len(text) else ""), bool(spans)


# -- CLI helpers shared by `search`, `export` and `feed` ----------------------------------------------------------


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
    parser.add_argument("--portal", action="append", metavar="SLUG", help="only this portal (repeatable)")
    parser.add_argument("--since", type=iso_date, metavar="YYYY-MM-DD", help="published on or after this date")
    parser.add_argument("--until", type=iso_date, metavar="YYYY-MM-DD", help="published on or before this date")
    parser.add_argument("--author", metavar="TEXT", help="author contains TEXT (diacritics optional)")
    parser.add_argument("--tag", action="append", metavar="TAG", help="has this tag (diacritics optional; repeatable)")


def filters_from_args(args: Any) -> dict[str, Any]:
    """The filter dict understood by :meth:`Archive.fts_search` and :meth:`Archive.iter_export`."""
    return {k: getattr(args, k, None) for k in ("portal", "since", "until", "author", "tag")
            if getattr(args, k, None)}
