"""The Tantivy search index beside the archive: exact totals and full result pages at any archive size.

SQLite FTS5 answers every search correctly, but an exact count walks every posting of the query and bm25 ordering
scores every match before the first page comes back: at a million articles a common word took 0.8 s newest first
and 2.7 s by relevance (docs/performance.md). Tantivy (the Rust search library, through its ``tantivy`` Python
bindings) does the same work in 50-60 ms. This module keeps a Tantivy index in ``<archive>.search/`` and answers
the questions :mod:`govarchive.search` asks of an engine (``fts_count``, ``fts_search``, ``fts_prefix_terms``,
``fts_terms_present``), taking the same FTS5 expressions, so query building stays in one place and both engines
give the same matches.

* **Same text, same tokens.** Documents hold the very column values of the archive's FTS5 tables
  (``Archive.search_documents``: syllables then syllable pairs, one value per column so that no phrase spans two
  columns), split on whitespace only; the folded title again in its own field, so title matches rank first. Each
  text field comes as two: its syllables (``folded``) and its syllable pairs (``folded_pairs``), so that listing the
  syllables that start with a prefix (``hoac*``) does not walk the thousands of pairs that start with them too. A
  query phrase is all syllables or all pairs, and goes to the field that holds its kind.
* **Never behind the archive.** The archive writes a ``search_log`` row in the same transaction as each article it
  (re)indexes; this index records the last row it applied, and :meth:`TantivyIndex.catch_up` applies the newer
  ones before every search (delete the article's document, add it as it is now: applying a row twice is
  harmless). A crash between the index's commit and its state file only makes the next search apply a few rows
  again.
* **Never silently wrong.** A missing, foreign (built from another archive at this path), outdated or broken
  index raises :class:`SearchIndexUnavailable` with the reason; :func:`govarchive.search.search` then answers with
  FTS5 and says why.

No SQL here: the archive module reads the articles and the log.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from govarchive import searchtext
from govarchive.archive import SEARCH_INDEX_FORMAT, Archive, SearchDocument, fold_text, search_key_bounds

TEXT_FIELDS = ("folded", "exact", "title")
PAIRS = "_pairs"  # the field of a text field's syllable pairs: folded_pairs, exact_pairs, title_pairs
SUFFIX = ".search"  # <archive>.search/ holds the index
FORMAT = 2  # bump when what the index holds changes: an index of another format is rebuilt
STATE_FILE = "govarchive.json"
TOKENIZER = "govarchive_ws"  # the text is tokenized by govarchive.searchtext already: split on whitespace only
AUTO_BUILD_MAX = 50_000  # a search builds a missing index by itself for archives up to this many articles
TITLE_BOOST = 2.0  # relevance: a match in the title adds its title score, twice (FTS5 weighs the title 10:1)
LOG_CHUNK = 20_000  # log rows applied per commit while catching up
WRITER_HEAP = 200_000_000
LOCK_WAIT_S = 10.0  # a search waits this long for another process's catch-up before answering with FTS5


class SearchIndexUnavailable(Exception):
    """The Tantivy index cannot answer for this archive (missing, foreign, outdated, broken, busy); the reason."""


class SearchIndexBusy(SearchIndexUnavailable):
    """Another process is updating the index (it is fine: it just cannot be brought up to date now)."""


def index_dir(db: str | Path) -> Path:
    """Where the Tantivy index of the archive ``db`` lives."""
    return Path(f"{db}{SUFFIX}")


def archive_file(archive: Archive) -> Path | None:
    """The archive's database file (also for a connection opened by Datasette), or ``None`` in memory."""
    if str(archive.path) not in ("", ":memory:"):
        return archive.path
    for _seq, name, file in archive.db.execute("pragma database_list"):
        if name == "main" and file:
            return Path(file)
    return None


def _tantivy() -> Any:
    try:
        import tantivy
    except ImportError as exc:  # a broken install: say so, FTS5 still answers
        raise SearchIndexUnavailable(f"the tantivy package cannot be imported ({exc})") from exc
    return tantivy


def _schema() -> Any:
    tantivy = _tantivy()
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", stored=False, indexed=True)
    builder.add_integer_field("key", stored=True, indexed=True, fast=True)
    for name in TEXT_FIELDS:
        for field in (name, name + PAIRS):
            builder.add_text_field(field, stored=False, tokenizer_name=TOKENIZER, index_option="position")
    for name in ("portal", "author", "tag"):
        builder.add_text_field(name, stored=False, tokenizer_name="raw", index_option="basic")
    return builder.build()


def _open(path: Path, *, create: bool = False) -> Any:
    tantivy = _tantivy()
    if create:
        path.mkdir(parents=True)
    index = tantivy.Index(_schema(), path=str(path), reuse=not create)
    index.register_tokenizer(TOKENIZER, tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build())
    return index


def _document(doc: SearchDocument) -> Any:
    tantivy = _tantivy()
    out = tantivy.Document(id=doc.id, key=doc.key, portal=doc.portal)
    # one value per column (the portal's token, last, is a field of its own): Tantivy leaves a position gap
    # between values, so no phrase spans two columns, as in FTS5
    for field, values in (("folded", doc.folded[:-1]), ("exact", doc.exact[:-1]), ("title", doc.folded[:1])):
        for value in values:
            # searchtext.index_text: the syllables, a line break, the pairs
            syllables, _, pairs = value.partition("\n")
            if syllables:
                out.add_text(field, syllables)
            if pairs:
                out.add_text(field + PAIRS, pairs)
    if doc.author:
        out.add_text("author", fold_text(doc.author))
    for tag in doc.tags:
        out.add_text("tag", fold_text(tag))
    return out


class TantivyIndex:
    """The Tantivy index of one archive. Open it with :meth:`open` (or build it with :meth:`build`)."""

    name = "tantivy"
    counts_with_pages = True  # a page's exact total costs nothing more than the page (one pass over the matches)

    def __init__(self, archive: Archive, path: Path, index: Any, state: dict[str, Any]) -> None:
        self.archive = archive
        self.path = path
        self.index = index
        self.schema = index.schema
        self.state = state  # the state file as read when opened (``applied``: the last log row applied)
        self._searcher: Any = None

    # -- opening, building, catching up ---------------------------------------------------------------

    @classmethod
    def open(cls, archive: Archive, *, build: bool | None = None, catch_up: bool = True,
             progress: Callable[[int, int], None] | None = None) -> TantivyIndex:
        """The archive's index, caught up with the archive (unless ``catch_up`` is false: :meth:`pending` then says
        how far behind it is). A missing or unusable index is (re)built when ``build`` is true, or when ``build``
        is ``None`` and the archive has at most :data:`AUTO_BUILD_MAX` articles; otherwise
        :class:`SearchIndexUnavailable` says why."""
        db, _uid = _identity(archive)
        path = index_dir(db)
        try:
            return cls._checked(archive, path, progress, catch_up=catch_up)
        except SearchIndexBusy:
            raise
        except SearchIndexUnavailable as exc:
            articles = archive.count("articles")
            if build is False or (build is None and articles > AUTO_BUILD_MAX):
                raise SearchIndexUnavailable(f"{exc}; build it with `govarchive index --db {db}` (about 25 minutes "
                                             "per million articles)") from exc
            return cls.build(archive, progress=progress)

    @classmethod
    def _checked(cls, archive: Archive, path: Path, progress: Callable[[int, int], None] | None = None, *,
                 catch_up: bool = True) -> TantivyIndex:
        _db, uid = _identity(archive)
        state = _read_state(path)
        if state is None:
            raise SearchIndexUnavailable("the Tantivy index is missing")
        if state.get("archive_uid") != uid:
            raise SearchIndexUnavailable("the Tantivy index was built from another archive")
        if state.get("format") != FORMAT or state.get("search_index_format") != SEARCH_INDEX_FORMAT:
            raise SearchIndexUnavailable("the Tantivy index was made by another govarchive version")
        applied = int(state.get("applied") or 0)
        if applied > archive.search_log_position() or (
                applied and archive.search_log_entry(applied) != state.get("applied_entry")):
            # the log row the index applied last is kept (trimming stops before it): gone or different, the archive
            # is not the one the index followed (restored from a backup, or replaced by a copy)
            raise SearchIndexUnavailable("the Tantivy index has followed changes this archive does not have (was "
                                         "the archive restored from a backup?)")
        try:
            index = _open(path)
        except (ValueError, OSError) as exc:
            raise SearchIndexUnavailable(f"the Tantivy index cannot be opened ({exc})") from exc
        self = cls(archive, path, index, state)
        if catch_up:
            self.catch_up(progress=progress)
        return self

    @classmethod
    def build(cls, archive: Archive, *, progress: Callable[[int, int], None] | None = None) -> TantivyIndex:
        """Build the index from every article into a new directory, then put it in place of the old one (a search
        meanwhile uses the old one, or FTS5). Changes the archive gets during the build are applied after it."""
        db, uid = _identity(archive)
        path = index_dir(db)
        if path.exists() and not path.is_dir():
            raise SearchIndexUnavailable(f"{path} is in the way of the Tantivy index: it is not a directory")
        with _locked(path):
            cls._build(archive, path, uid, progress)
        return cls._checked(archive, path)

    @staticmethod
    def _build(archive: Archive, path: Path, uid: str, progress: Callable[[int, int], None] | None) -> None:
        work = path.with_name(f"{path.name}.build-{os.getpid()}")
        shutil.rmtree(work, ignore_errors=True)
        writer = None
        try:
            # the log position first: every article read below is at least as new as it, and any later change
            # has a later log row
            applied = archive.search_log_position()
            total = archive.count("articles")
            index = _open(work, create=True)
            writer = index.writer(heap_size=WRITER_HEAP, num_threads=max(1, min(4, os.cpu_count() or 1)))
            done = 0
            for batch in archive.search_documents():
                for doc in batch:
                    writer.add_document(_document(doc))
                done += len(batch)
                if progress and total > LOG_CHUNK:  # a build of one chunk is over before a report would help
                    progress(done, total)
            writer.commit()
            writer.wait_merging_threads()
            writer = None
            _write_state(work, {"format": FORMAT, "search_index_format": SEARCH_INDEX_FORMAT, "archive_uid": uid,
                                "applied": applied, "applied_entry": archive.search_log_entry(applied)})
            old = path.with_name(f"{path.name}.old-{os.getpid()}")
            if path.exists():
                path.rename(old)
            work.rename(path)
            shutil.rmtree(old, ignore_errors=True)
        except BaseException as exc:
            if writer is not None:
                # stop the indexing threads first: they would go on writing files into the directory removed below
                with suppress(Exception):
                    writer.rollback()
                del writer
            shutil.rmtree(work, ignore_errors=True)
            if isinstance(exc, ValueError | OSError):
                raise SearchIndexUnavailable(f"the Tantivy index could not be built in {path} ({exc})") from exc
            raise

    def pending(self) -> int:
        """Log rows the archive has written since this index applied its last (0: in step)."""
        return max(0, self.archive.search_log_position() - int(self.state.get("applied") or 0))

    def catch_up(self, *, progress: Callable[[int, int], None] | None = None) -> int:
        """Apply the archive's ``search_log`` rows this index has not applied yet; returns the articles updated.
        ``progress(rows applied, rows to apply)`` is called after each committed chunk of a long catch-up."""
        if not self.pending():
            return 0
        with _locked(self.path):
            return self._catch_up(progress)

    def _catch_up(self, progress: Callable[[int, int], None] | None) -> int:
        # another process may have caught up, or rebuilt the index, while we waited for the lock
        state = _read_state(self.path) or {}
        try:
            self.index = _open(self.path)
        except (ValueError, OSError) as exc:
            raise SearchIndexUnavailable(f"the Tantivy index cannot be opened ({exc})") from exc
        self.schema, self._searcher = self.index.schema, None
        position = self.archive.search_log_position()
        writer = self._writer()
        try:
            applied = start = int(state.get("applied") or 0)
            updated = 0
            while True:
                ids, last = self.archive.search_log_changes(applied, limit=LOG_CHUNK)
                if not ids:
                    break
                for article_id in ids:
                    writer.delete_documents_by_term("id", article_id)
                for batch in self.archive.search_documents(ids=ids):
                    for doc in batch:
                        writer.add_document(_document(doc))
                writer.commit()
                applied = last
                state = {**state, "applied": applied, "applied_entry": self.archive.search_log_entry(applied)}
                _write_state(self.path, state)
                self.state = state
                updated += len(ids)
                if progress and position - start > LOG_CHUNK:
                    progress(applied - start, position - start)
        except (ValueError, OSError) as exc:
            raise SearchIndexUnavailable(f"the Tantivy index could not be updated ({exc})") from exc
        finally:
            del writer  # releases the index's writer lock
        self.archive.trim_search_log(applied)
        self.index.reload()
        self._searcher = None
        return updated

    def _writer(self) -> Any:
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                return self.index.writer(heap_size=50_000_000, num_threads=1)
            except ValueError as exc:
                if "lock" not in str(exc).lower():
                    raise SearchIndexUnavailable(f"the Tantivy index cannot be written ({exc})") from exc
                if time.monotonic() > deadline:
                    raise SearchIndexBusy("the Tantivy index is being updated by another process") from exc
                time.sleep(0.1)

    @property
    def searcher(self) -> Any:
        if self._searcher is None:
            self._searcher = self.index.searcher()
        return self._searcher

    def count(self) -> int:
        """Documents in the index (one per article when it is in step)."""
        return int(self.searcher.num_docs)

    # -- the engine interface of govarchive.search (the same as Archive's fts_* methods) --------------

    def fts_count(self, expression: str, *, exact: bool = False, filters: dict[str, Any] | None = None,
                  exclude: tuple[str, bool] | None = None) -> int:
        """Exact number of articles matching an FTS5 expression (see :meth:`Archive.fts_count`)."""
        return self.fts_page(expression, exact=exact, filters=filters, exclude=exclude, limit=0)[0]

    def fts_search(self, expression: str, *, exact: bool = False, filters: dict[str, Any] | None = None,
                   limit: int = 20, offset: int = 0, ranked: bool = False,
                   exclude: tuple[str, bool] | None = None) -> list[tuple[int, float | None]]:
        """``(search key, score or None)`` of a page of matches, newest first or by relevance; scores follow
        FTS5's bm25 sign (negative, lower is better) so both engines' pages read the same."""
        return self.fts_page(expression, exact=exact, filters=filters, limit=limit, offset=offset, ranked=ranked,
                             exclude=exclude, count=False)[1]

    def fts_page(self, expression: str, *, exact: bool = False, filters: dict[str, Any] | None = None,
                 limit: int = 20, offset: int = 0, ranked: bool = False, exclude: tuple[str, bool] | None = None,
                 count: bool = True) -> tuple[int, list[tuple[int, float | None]]]:
        """``(exact total or 0 without count, page)`` in one pass over the matches."""
        from tantivy import Occur, Order, Query

        field = "exact" if exact else "folded"
        main = fts5_query(expression, self.schema, field)
        clauses = [(Occur.Must, main), *((Occur.Must, q) for q in self._filters(filters))]
        if exclude:
            clauses.append((Occur.MustNot, fts5_query(exclude[0], self.schema, "exact" if exclude[1] else "folded")))
        if ranked and not exact:
            title = fts5_query(expression, self.schema, "title", positive_only=True)
            if title is not None:
                clauses.append((Occur.Should, Query.boost_query(title, TITLE_BOOST)))
        query = clauses[0][1] if len(clauses) == 1 else Query.boolean_query(clauses)
        searcher = self.searcher
        limit = max(0, int(limit))
        if limit == 0:
            if not count:
                return 0, []
            # Tantivy's collectors need a limit of at least 1 (0 panics)
            return int(searcher.search(query, limit=1, count=True).count or 0), []
        offset = max(0, int(offset))
        if ranked:
            found = searcher.search(query, limit=limit, count=count, offset=offset)
            page = [(int(searcher.doc(address)["key"][0]), -float(score)) for score, address in found.hits]
        else:
            found = searcher.search(query, limit=limit, count=count, offset=offset, order_by_field="key",
                                    order=Order.Desc)
            page = [(int(key), None) for key, _address in found.hits]
        return (int(found.count or 0) if count else 0), page

    def fts_prefix_terms(self, prefix: str, *, limit: int = 64) -> list[str] | None:
        """Single-syllable indexed terms starting with ``prefix`` (pairs too when it holds one); ``None`` when
        more than ``limit`` (see :meth:`Archive.fts_prefix_terms`)."""
        if not prefix:
            return None
        field = "folded" + PAIRS if searchtext.PAIR_JOIN in prefix else "folded"
        terms = sorted(term for term, _n in self.searcher.terms_with_prefix(field, prefix))
        return terms if len(terms) <= limit else None

    def fts_terms_present(self, terms: Iterable[str]) -> set[str]:
        """Which of these terms the folded field holds."""
        return {t for t in dict.fromkeys(terms) if self.searcher.doc_freq(field_for("folded", [t]), t)}

    def _filters(self, filters: dict[str, Any] | None) -> list[Any]:
        from tantivy import FieldType, Query

        filters = filters or {}
        out = []
        portals = filters.get("portal")
        portals = [portals] if isinstance(portals, str) else list(portals or [])
        if portals:
            out.append(Query.term_set_query(self.schema, "portal", portals))
        lo, hi = search_key_bounds(filters.get("since"), filters.get("until"))
        if lo is not None or hi is not None:
            out.append(Query.range_query(self.schema, "key", FieldType.Integer, lo,
                                         None if hi is None else hi - 1))
        author = fold_text(filters.get("author") or "")
        if author:  # a substring of the folded author, as the FTS5 path's instr()
            out.append(Query.regex_query(self.schema, "author", ".*" + _regex_literal(author) + ".*"))
        tags = filters.get("tag")
        for tag in [tags] if isinstance(tags, str) else list(tags or []):
            wanted = fold_text(tag).strip()
            out.append(Query.term_query(self.schema, "tag", wanted) if wanted else Query.empty_query())
        return out


def _regex_literal(text: str) -> str:
    """``text`` as a literal in Tantivy's (Rust) regex syntax: ASCII punctuation as ``\\x{..}`` escapes (Python's
    ``re.escape`` writes escapes such as ``\\ `` that the Rust syntax rejects)."""
    return "".join(ch if ch.isalnum() or not ch.isascii() else f"\\x{{{ord(ch):x}}}" for ch in text)


_FTS5_TOKEN = re.compile(r'\s*(?:(?P<phrase>"(?:[^"]|"")*")(?P<star>\s*\*)?|(?P<op>AND|OR|NOT)\b|(?P<paren>[()]))')


def fts5_query(expression: str, schema: Any, field: str, *, positive_only: bool = False) -> Any:
    """The Tantivy query of an FTS5 expression as :mod:`govarchive.search` writes them, on one field: quoted
    phrases (a trailing ``*``: prefix), parentheses, ``AND``/``OR``/``NOT`` with FTS5's precedence (NOT, then AND,
    then OR; two operands side by side are ANDed). Not Tantivy's own query parser: it reads ``"cua" *`` as "every
    document" and would need FTS5's syntax re-quoted anyway. ``positive_only`` drops the ``NOT`` parts (and
    returns ``None`` when nothing is left)."""
    from tantivy import Occur, Query

    tokens, pos = [], 0
    text = expression.rstrip()
    while pos < len(text):
        match = _FTS5_TOKEN.match(text, pos)
        if match is None:
            raise ValueError(f"unexpected FTS5 syntax at {text[pos:pos + 20]!r}")
        tokens.append(match)
        pos = match.end()

    def peek() -> str | None:
        return (tokens[0].group("op") or tokens[0].group("paren") or "phrase") if tokens else None

    def primary() -> Any:
        token = tokens.pop(0)
        if token.group("paren") == "(":
            inner = disjunction()
            tokens.pop(0)  # ")"
            return inner
        words = token.group("phrase")[1:-1].replace('""', '"').split()
        if not words:
            return Query.empty_query()
        name = field_for(field, words)
        if token.group("star"):
            if len(words) == 1:
                return Query.regex_query(schema, name, _regex_literal(words[0]) + ".*")
            return Query.phrase_prefix_query(schema, name, words)
        if len(words) == 1:
            return Query.term_query(schema, name, words[0])
        return Query.phrase_query(schema, name, words)

    def negation() -> Any:
        query = primary()
        while peek() == "NOT":
            tokens.pop(0)
            excluded = primary()
            if not positive_only:
                query = Query.boolean_query([(Occur.Must, query), (Occur.MustNot, excluded)])
        return query

    def conjunction() -> Any:
        parts = [negation()]
        while peek() in ("AND", "phrase", "("):
            if peek() == "AND":
                tokens.pop(0)
            parts.append(negation())
        return parts[0] if len(parts) == 1 else Query.boolean_query([(Occur.Must, q) for q in parts])

    def disjunction() -> Any:
        parts = [conjunction()]
        while peek() == "OR":
            tokens.pop(0)
            parts.append(conjunction())
        return parts[0] if len(parts) == 1 else Query.boolean_query([(Occur.Should, q) for q in parts])

    if not tokens:
        return None if positive_only else Query.empty_query()
    return disjunction()


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold ``<index>.lock``: one process at a time builds or updates the index (Tantivy's own writer lock would not
    cover the swap of a rebuilt directory, nor the state file)."""
    try:
        fd = os.open(path.with_name(f"{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise SearchIndexUnavailable(f"the Tantivy index cannot be updated here ({exc.strerror})") from exc
    try:
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise SearchIndexBusy("the Tantivy index is being updated by another process") from None
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)  # releases the lock


def field_for(field: str, words: list[str]) -> str:
    """The field holding these query words: the pairs field when they are syllable pairs (``da_nang``, or the
    ``_`` that breaks a chain of pairs), else the syllables field. A prefix of one syllable (``cua*``) goes to the
    syllables: every article with a pair starting ``cua`` has a syllable starting ``cua``, so the matches are the
    same as FTS5's, where syllables and pairs share one column."""
    return field + PAIRS if any(searchtext.PAIR_JOIN in w for w in words) else field


def _identity(archive: Archive) -> tuple[Path, str]:
    """``(database file, archive_uid)`` of the archive an index follows; :class:`SearchIndexUnavailable` when it
    has none (in memory, or made before the search log)."""
    db = archive_file(archive)
    if db is None:
        raise SearchIndexUnavailable("the archive is in memory")
    uid = archive.archive_uid()
    if uid is None:
        raise SearchIndexUnavailable(f"the archive predates the search log: run `govarchive index --db {db}` once")
    return db, uid


def _read_state(path: Path) -> dict[str, Any] | None:
    try:
        state = json.loads((path / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def _write_state(path: Path, state: dict[str, Any]) -> None:
    tmp = path / f"{STATE_FILE}.tmp"
    tmp.write_text(json.dumps(state))
    os.replace(tmp, path / STATE_FILE)
