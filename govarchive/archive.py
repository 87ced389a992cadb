"""The SQLite archive: the one module that speaks SQL.

Pipelines, the CLI and the query commands all go through :class:`Archive`. The schema lives here, in
:data:`TABLES` and :data:`INDEXES`; ``docs/archive.md`` documents it for analysts.

Write pattern: the crawler keeps one transaction open and commits every ``batch_size`` articles or
``batch_seconds`` seconds (WAL + ``synchronous=NORMAL``), so a SIGKILL loses at most the uncommitted batch
and never leaves half an article: each article's rows are written inside one savepoint.

A failed write (disk full, ``ulimit -f``, an I/O error) loses the whole open batch, whoever's items are in it:
crawlers of one process share the connection (:mod:`pipelines.store`). The archive rolls the batch back and
tells every run that had items in it (:meth:`Archive.watch`), so each of them can count only what was committed,
mark itself incomplete and record what it lost, which the next run re-fetches. See ``docs/reliability.md``.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import sqlite_utils

from govarchive import searchtext

SCHEMA_VERSION = 1  # the table layout of release 0.1.0; later changes are named MIGRATIONS (below)

# Columns that define an article's content: a change in any of them makes a new version.
CONTENT_FIELDS = ("title", "summary", "body_text", "author", "published", "category")

TABLES: dict[str, dict[str, Any]] = {
    "articles": {
        "columns": {
            "id": int,
            "url": str,  # canonical URL: identity
            "portal": str,
            "source_url": str,
            "final_url": str,
            "platform": str,
            "title": str,
            "summary": str,
            "body_text": str,
            "body_html": str,
            "author": str,
            "category": str,
            "published": str,  # ISO 8601 +07:00
            "published_raw": str,
            "published_precision": str,
            "tags": str,  # JSON list, denormalised copy of article_tags for convenience
            "images": str,  # JSON list of {url, caption}
            "field_sources": str,  # JSON {field: source}
            "truncated": str,  # JSON {field: length before it was cut at its size cap}, NULL when nothing was cut
            "content_hash": str,
            "version": int,
            "duplicate_of": int,  # id of an earlier article with the same content at another portal
            "first_seen_at": str,
            "last_seen_at": str,
            "updated_at": str,  # when the content last changed
            "fetched_at": str,
            "run_id": int,  # the last run that stored or re-confirmed the article
            "first_run_id": int,  # the run that first archived it (incremental crawls trust complete runs only)
            # -- archival fidelity (docs/archive.md) --
            "capture_id": int,  # captures.id: the WARC response record the current content was read from
            "origin": str,  # how the current version was made: fetch | reextract
            "removed_at": str,  # set when the portal took the article down (never deleted); null while present
            "removed_reason": str,  # http-404 | http-410 | redirect-home | redirect-listing | emptied
        },
        "pk": "id",
        "not_null": {"url", "portal", "title", "content_hash", "version", "first_seen_at"},
    },
    "article_versions": {
        "columns": {
            "id": int,
            "article_id": int,
            "version": int,
            "content_hash": str,
            "title": str,
            "summary": str,
            "body_text": str,
            "body_html": str,
            "author": str,
            "category": str,
            "published": str,
            "published_raw": str,
            "tags": str,
            "attachments": str,
            "fetched_at": str,
            "superseded_at": str,
            "run_id": int,
            "capture_id": int,  # captures.id this version's content was read from
            "origin": str,  # fetch | reextract
        },
        "pk": "id",
        "foreign_keys": [("article_id", "articles", "id")],
        "not_null": {"article_id", "version", "content_hash"},
    },
    "tags": {
        "columns": {"id": int, "name": str},
        "pk": "id",
        "not_null": {"name"},
    },
    "article_tags": {
        "columns": {"article_id": int, "tag_id": int, "position": int},
        "pk": ("article_id", "tag_id"),
        "foreign_keys": [("article_id", "articles", "id"), ("tag_id", "tags", "id")],
    },
    "attachments": {
        "columns": {
            "id": int, "article_id": int, "url": str, "name": str, "position": int,
            "text": str,  # text extracted from the file (PDF, DOC/DOCX, XLS/XLSX), searchable
            # -- the downloaded file (pipelines/files.py; docs/archive.md) --
            "kind": str,  # attachment | image
            "filename": str,  # original file name: Content-Disposition, else the URL's last segment (decoded, NFC)
            "sha256": str,  # content address: the file is files/<sha256[:2]>/<sha256[2:4]>/<sha256><.ext>
            "path": str,  # that path, relative to the files store
            "mime": str,  # sniffed from the bytes (libmagic), not taken from the server
            "size": int,  # bytes
            "fetched_at": str,  # when the bytes were downloaded
            "status": str,  # stored | failed | too-large | blocked
            "error": str,  # why a download failed
            "capture_id": int,  # captures.id of the file's response
        },
        "pk": "id",
        "foreign_keys": [("article_id", "articles", "id")],
        "not_null": {"article_id", "url"},
    },
    "documents": {
        # One row per legal-document page (văn bản): the article row holds its name, dates and text.
        "columns": {
            "article_id": int,
            "number": str,  # Số ký hiệu as printed: "1009/QĐ-UBND"
            "number_key": str,  # portal_spiders.text.document_number_key(number): "1009/QD-UBND", for linking
            "doc_type": str,  # Loại văn bản: Quyết định, Nghị định, Công văn ...
            "issuer": str,  # Cơ quan ban hành
            "signer": str,  # Người ký
            "issued": str,  # Ngày ban hành, ISO date
            "effective": str,  # Ngày hiệu lực, ISO date
            "status": str,  # Tình trạng hiệu lực, as printed
            "fields": str,  # JSON {label: value} of every other labelled property
        },
        "pk": "article_id",
        "foreign_keys": [("article_id", "articles", "id")],
    },
    "captures": {
        # One row per WARC response record the archive points to (portal_spiders/warc.py).
        "columns": {
            "id": int,
            "record_id": str,  # WARC-Record-ID, <urn:uuid:...>
            "file": str,  # the WARC file, relative to the archive's folder when inside it
            "offset": int,  # byte offset of the record's gzip member
            "length": int,  # its compressed length
            "digest": str,  # WARC-Payload-Digest, sha1:BASE32
            "url": str,  # WARC-Target-URI
            "status": int,  # HTTP status
            "date": str,  # WARC-Date (UTC)
        },
        "pk": "id",
        "not_null": {"record_id", "file", "offset"},
    },
    "article_removals": {
        # Every time the portal took an article down (and, when it came back, when that was seen).
        "columns": {
            "id": int,
            "article_id": int,
            "detected_at": str,
            "reason": str,  # http-404 | http-410 | redirect-home | redirect-listing | emptied
            "status": int,  # HTTP status of the answer that showed it
            "final_url": str,  # where a redirect ended
            "capture_id": int,  # captures.id of that answer
            "run_id": int,
            "restored_at": str,  # when the article was found present again (null while removed)
        },
        "pk": "id",
        "foreign_keys": [("article_id", "articles", "id")],
        "not_null": {"article_id", "detected_at", "reason"},
    },
    "citations": {
        # Legal-document numbers cited in an article's title, summary or body (govarchive/citations.py).
        "columns": {
            "id": int,
            "article_id": int,
            "number": str,  # as printed: "1009/QĐ-UBND"
            "number_key": str,  # document_number_key(number): joins documents.number_key
            "doc_type_code": str,  # folded type code: QD, ND, TT, CT, NQ ... CV (công văn)
            "doc_type": str,  # Quyết định, Nghị định ...
            "issuer_code": str,  # folded issuer code: UBND, CP, TTG, QH15 ...
            "year": int,
            "occurrences": int,  # times cited in the article
            "position": int,  # character offset of the first citation (title, summary, body joined)
        },
        "pk": "id",
        "foreign_keys": [("article_id", "articles", "id")],
        "not_null": {"article_id", "number", "number_key"},
    },
    "crawl_runs": {
        "columns": {
            "id": int,
            "portal": str,
            "spider": str,
            "started_at": str,
            "finished_at": str,
            "finish_reason": str,
            "complete": int,  # 1: finished normally, no listing page failed, every fetched article stored
            "mode": str,  # incremental | full | since
            "requests": int,
            "responses": int,
            "listing_pages": int,
            "items_new": int,
            "items_updated": int,
            "items_unchanged": int,
            "items_failed": int,
            "coverage": str,  # JSON {field: share of stored items with the field}
            "stats": str,  # JSON of selected Scrapy stats
            "monitor_results": str,  # JSON of the per-run spidermon checks (portal_spiders/monitors.py)
            # 1: every request went to an offline replica (REPLICA_URL), 0: to the real portals; NULL: recorded
            # before runs said which (0.1.0 archives), so unknown. An archive never mixes 1 and 0 (start_run).
            "replica": int,
            "cause": str,  # what went wrong, in words: "DNS lookup failed for x.gov.vn" (portal_spiders/diagnosis.py)
        },
        "pk": "id",
        "not_null": {"portal", "started_at"},
    },
    "failures": {
        "columns": {
            "id": int,
            "url": str,
            "portal": str,
            "stage": str,  # download | parse | validate | store
            "reason": str,
            "status": int,
            "attempts": int,
            "first_failed_at": str,
            "last_failed_at": str,
            "run_id": int,
            "extra": str,
        },
        "pk": "id",
        "not_null": {"url", "portal", "stage", "reason"},
    },
    "meta": {
        "columns": {"key": str, "value": str},
        "pk": "key",
    },
    # One row per article (re)indexed, written in the same transaction as the article: the Tantivy search index
    # beside the archive (govarchive/searchindex.py) applies the rows after the last `seq` it applied, so it is
    # never behind the archive when it answers. Trimmed by that index (the newest row always stays, so `seq`
    # never goes back).
    "search_log": {
        "columns": {"seq": int, "article_id": int, "token": int},  # token: random(), tells a restored log apart
        "pk": "seq",
        "not_null": {"article_id"},
    },
}

INDEXES: list[tuple[str, list[str], bool]] = [
    ("articles", ["url"], True),
    ("articles", ["portal", "published"], False),
    ("articles", ["published"], False),
    ("articles", ["content_hash"], False),
    ("article_versions", ["article_id", "version"], True),
    ("tags", ["name"], True),
    ("article_tags", ["tag_id"], False),
    ("attachments", ["article_id", "url"], True),
    ("attachments", ["url"], False),
    ("attachments", ["sha256"], False),
    ("captures", ["record_id"], True),
    ("captures", ["file", "offset"], False),
    ("article_removals", ["article_id"], False),
    ("article_removals", ["detected_at"], False),
    ("article_versions", ["superseded_at"], False),
    ("documents", ["number_key"], False),
    ("citations", ["article_id", "number_key"], True),
    ("citations", ["number_key"], False),
    ("citations", ["doc_type_code"], False),
    ("citations", ["issuer_code"], False),
    ("crawl_runs", ["portal", "started_at"], False),
    ("failures", ["url"], True),
    ("failures", ["portal"], False),
]

VIEWS: dict[str, str] = {
    # Each citation with its article and, when the cited document's own page is archived, that page's article id.
    "citation_links": (
        "select c.id, c.article_id, a.portal, a.published, a.title, c.number, c.number_key, c.doc_type, "
        "c.doc_type_code, c.issuer_code, c.year, c.occurrences, "
        "(select min(d.article_id) from documents d where d.number_key = c.number_key) as document_article_id "
        "from citations c join articles a on a.id = c.article_id"),
}

# -- full-text search (query building lives in govarchive/search.py, index text in govarchive/searchtext.py) ----
# Two contentless FTS5 tables, written by store_article (no triggers: the crawl path and bulk rebuilds stay
# batched). FTS5's remove_diacritics never folds đ/Đ, so FTS_FOLDED indexes fold()ed text ("Đà Nẵng" -> "da nang")
# and FTS_EXACT the text as published (lower case), so exact-diacritic hits rank first. Each column holds its
# syllable tokens followed by every pair of adjacent syllables ("da_nang"): a two-syllable word is one term, a
# longer word a phrase of pair terms (see govarchive/searchtext.py). Columns: title, summary, body, tags, the names
# and extracted text of the attachments, and one token naming the portal (`portal : "_hanoi"` filters in FTS5).
# Their shared rowid is the *search key* (:func:`search_key`): published wall-clock minutes in the high bits and
# the article id in the low SEARCH_KEY_ID_BITS bits, so `ORDER BY rowid DESC LIMIT n` is newest-first at any
# archive size and --since/--until are rowid ranges. Article id = rowid & SEARCH_KEY_ID_MASK.
FTS_FOLDED = "articles_fts"
FTS_EXACT = "articles_fts_exact"
FTS_TABLES = (FTS_FOLDED, FTS_EXACT)
FTS_COLUMNS = ("title", "summary", "body", "tags", "attachments", "portal")
FTS_TOKENIZERS = {
    FTS_FOLDED: "unicode61 remove_diacritics 2 tokenchars '_'",
    FTS_EXACT: "unicode61 remove_diacritics 0 tokenchars '_'",
}
# A 3-character prefix index on the folded table, so `thu*` is one doclist, not a merge of hundreds.
FTS_OPTIONS = {FTS_FOLDED: ", prefix='3'", FTS_EXACT: ""}
FTS_WEIGHTS = (10.0, 4.0, 1.0, 6.0, 0.5, 0.0)  # bm25 column weights, in FTS_COLUMNS order
FTS_BUILD = {table: f"{table}_build" for table in FTS_TABLES}  # a rebuild fills these, then renames them
SEARCH_INDEX_FORMAT = 2  # 1: syllables only (release 0.1.0); 2: + syllable pairs, attachments, portal
SEARCH_KEY_ID_BITS = 36
SEARCH_KEY_ID_MASK = (1 << SEARCH_KEY_ID_BITS) - 1
_SEARCH_KEY_EPOCH = datetime(1900, 1, 1)
_SEARCH_KEY_MAX_MINUTES = (1 << (63 - SEARCH_KEY_ID_BITS)) - 1


def fold_text(text: str | None) -> str:
    """``portal_spiders.text.fold`` (accent/đ folding, lowercase), imported on first use."""
    return searchtext.fold(text)


def portal_token(slug: str) -> str:
    """The one token of an article's portal in the ``portal`` FTS column (``laichau-dcs`` -> ``_laichau_dcs``).

    It starts with ``_``, so no query word or syllable pair (``p hanoi`` -> ``p_hanoi``) can ever equal it.
    """
    return "_" + "".join(ch if ch.isascii() and ch.isalnum() else "_" for ch in slug.lower())


def _minutes(wall_clock: datetime) -> int:
    minutes = int((wall_clock - _SEARCH_KEY_EPOCH).total_seconds() // 60) + 1
    return max(1, min(minutes, _SEARCH_KEY_MAX_MINUTES))


def search_key(published: str | None, article_id: int) -> int:
    """FTS rowid of an article: published wall-clock minute (as written, +07:00) << 36 | id; undated sorts last."""
    minutes = 0
    if published:
        try:
            minutes = _minutes(datetime.fromisoformat(published[:16] if len(published) >= 16 else published[:10]))
        except ValueError:
            minutes = 0
    return (minutes << SEARCH_KEY_ID_BITS) | (article_id & SEARCH_KEY_ID_MASK)


def search_key_bounds(since: str | None, until: str | None) -> tuple[int | None, int | None]:
    """Rowid range ``[lo, hi)`` for published dates ``since..until`` (YYYY-MM-DD, both inclusive)."""
    lo = _minutes(datetime.combine(date.fromisoformat(since), datetime.min.time())) if since else None
    hi = None
    if until:
        hi = _minutes(datetime.combine(date.fromisoformat(until) + timedelta(days=1), datetime.min.time()))
    return (
        None if lo is None else lo << SEARCH_KEY_ID_BITS,
        None if hi is None else hi << SEARCH_KEY_ID_BITS,
    )


def attachments_search_text(attachments: Iterable[dict[str, Any]]) -> str:
    """What the ``attachments`` FTS column holds for an article: each attachment's name, then its extracted text."""
    parts = []
    for att in attachments:
        for value in (att.get("name"), att.get("text")):
            if value:
                parts.append(str(value))
    return "\n".join(parts)


def _fts_texts(row: dict[str, Any], attachment_text: str = "") -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(exact, folded) FTS column values of an article row; deterministic, as contentless deletes need."""
    try:
        tags = json.loads(row.get("tags") or "[]")
    except ValueError:
        tags = []
    tag_text = "\n".join(str(t) for t in tags if t) if isinstance(tags, list) else ""
    sources = (row.get("title"), row.get("summary"), row.get("body_text"), tag_text, attachment_text)
    exact = tuple(searchtext.index_text(searchtext.exact_form(v)) for v in sources)
    folded = tuple(searchtext.index_text(fold_text(v)) for v in sources)
    portal = portal_token(row.get("portal") or "")
    return (*exact, portal), (*folded, portal)


#: ``(article id, search key, exact column values, folded column values)``: one article as the full-text indexes
#: hold it (see :meth:`Archive.search_text_batches`).
SearchText = tuple[int, int, tuple[str, ...], tuple[str, ...]]

# An article written to the full-text index, for the search index beside the archive (see TABLES["search_log"]).
_SEARCH_LOG_INSERT = "insert into search_log (article_id, token) values (?, random())"


@dataclass(frozen=True)
class SearchDocument:
    """One article as the search indexes hold it: the full-text column values (exact and folded, the portal's
    token last) and the fields searches filter on."""

    id: int
    key: int  # search_key()
    portal: str
    author: str | None
    tags: list[str]
    exact: tuple[str, ...]
    folded: tuple[str, ...]


def _json_list(value: str | None) -> list[str]:
    try:
        items = json.loads(value or "[]")
    except ValueError:
        return []
    return [str(t) for t in items if t] if isinstance(items, list) else []


class ArchiveError(Exception):
    """The archive file is missing, unreadable or not a govarchive database."""


class ReplicaMixError(ArchiveError):
    """A replica crawl into an archive with real runs, or the other way round (see :meth:`Archive.check_run_origin`)."""


class SearchQueryError(ValueError):
    """SQLite rejected a full-text expression (govarchive.search quotes user input so this stays internal)."""


def _as_list(value: Any) -> list[Any]:
    if not value:
        return []
    return [value] if isinstance(value, str) else list(value)


logger = logging.getLogger(__name__)

# The files that make up an archive besides the database itself (SQLite's WAL and shared memory, the rollback
# journal, and the crawl lock's pid file, govarchive.locking).
SIDECAR_SUFFIXES = ("-wal", "-shm", "-journal", ".lock")
# SQLite errors after which the open transaction cannot be trusted: the whole batch is rolled back and reported.
_WRITE_FAILURES = ("SQLITE_FULL", "SQLITE_IOERR", "SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_NOMEM",
                   "SQLITE_CORRUPT", "SQLITE_NOTADB", "SQLITE_PROTOCOL", "SQLITE_BUSY", "SQLITE_LOCKED")


def describe_write_error(exc: BaseException) -> str:
    """A plain sentence for a failed SQLite write: "disk full", "the write failed (disk I/O error)" ..."""
    name = str(getattr(exc, "sqlite_errorname", "") or "")
    if name == "SQLITE_FULL":
        return f"disk full ({exc})"
    if name.startswith("SQLITE_IOERR"):
        return (f"the write failed: disk I/O error ({name}; a file size limit such as ulimit -f, a failing disk "
                f"or a lost network mount)")
    if name.startswith("SQLITE_READONLY"):
        return f"the archive became read-only ({name})"
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return f"the archive was locked by another writer ({exc})"
    return f"the write failed ({name or type(exc).__name__}: {exc})"


def unreadable_archive(path: str | Path, exc: sqlite3.DatabaseError) -> ArchiveError:
    """The one-line error for a file SQLite cannot read as a database: a damaged archive (SQLITE_CORRUPT: the
    header is SQLite's, pages are not) says so and how to check and recover it; any other file is not SQLite."""
    if str(getattr(exc, "sqlite_errorname", "") or "").startswith("SQLITE_CORRUPT"):
        return ArchiveError(f"the archive {path} cannot be read ({exc}); it may be damaged: check it with "
                            f"`sqlite3 {path} 'pragma integrity_check'` and restore a backup")
    return ArchiveError(f"{path} is not a SQLite database: {exc}")


def is_write_failure(exc: BaseException) -> bool:
    """Whether a SQLite error means the open transaction (batch) is lost or cannot be trusted."""
    name = str(getattr(exc, "sqlite_errorname", "") or "")
    return isinstance(exc, sqlite3.Error) and name.startswith(_WRITE_FAILURES)


@dataclass
class PendingWrite:
    """One item written into the open batch: an article or a failure record of a run, not yet committed."""

    run_id: int | None
    kind: str  # "article" | "failure"
    url: str  # the URL to fetch again if the batch is lost (for articles: the listed URL)
    portal: str
    outcome: str | None = None  # new | updated | unchanged (articles)
    note: Any = None  # the caller's data, handed back on commit or loss


class RunWatcher(Protocol):
    """What :meth:`Archive.watch` calls back: the run's writes were committed, or lost with their batch."""

    def committed(self, writes: list[PendingWrite]) -> None: ...

    def lost(self, writes: list[PendingWrite], reason: str) -> None: ...


class ArchiveWriteError(ArchiveError):
    """A write failed and the open batch was rolled back; ``lost`` lists its items (every run's), ``reason`` why."""

    def __init__(self, reason: str, lost: list[PendingWrite]) -> None:
        super().__init__(f"archive write failed: {reason}; {len(lost)} uncommitted item(s) rolled back")
        self.reason = reason
        self.lost = lost


def refuse_archive_output(db: str | Path, output: str | Path, *, option: str = "--output") -> None:
    """Raise :class:`ArchiveError` when ``output`` names the archive or one of its sidecars (under any name:
    symlinks and hard links too), or any other SQLite database: only :class:`Archive` writes archives."""
    out = Path(output)
    db_path = Path(db)

    def same(a: Path, b: Path) -> bool:
        if Path(os.path.realpath(a)) == Path(os.path.realpath(b)):
            return True
        return a.exists() and b.exists() and os.path.samefile(a, b)

    what = "the archive" if same(out, db_path) else None
    for suffix in SIDECAR_SUFFIXES:
        if what is None and str(out).endswith(suffix):
            stem = Path(str(out)[: -len(suffix)])
            if same(stem, db_path):  # the sidecar of the archive, or of another name of the same file
                what = f"the archive's {suffix} file"
    if what is not None:
        raise ArchiveError(f"refusing to write {option} {output}: it is {what} ({db}); choose another file")
    if out.is_file():
        with open(out, "rb") as fh:
            if fh.read(16) == b"SQLite format 3\x00":
                raise ArchiveError(f"refusing to overwrite {option} {output}: it is a SQLite database; "
                                   "choose another file")


def _identity(path: Path) -> tuple[int, int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def utcnow() -> str:
    """Current UTC instant as ISO 8601 with seconds precision."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def capture_pointer(capture: dict[str, Any] | None) -> dict[str, Any] | None:
    """A ``captures`` row back as a WARC pointer dict."""
    if not capture:
        return None
    return {k: capture.get(k) for k in ("record_id", "file", "offset", "length", "digest", "url", "status", "date")}


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=isinstance(value, dict))


class Archive:
    """A govarchive SQLite database.

    ``Archive(path)`` creates the file and schema when missing; ``Archive.open_existing(path)`` refuses
    to create anything and raises :class:`ArchiveError` with a clear message instead (for query commands).
    """

    name = "fts5"  # as a search engine (the fts_* methods): SQLite FTS5
    counts_with_pages = False  # an exact total is a walk of its own

    def __init__(
        self,
        path: str | Path,
        *,
        batch_size: int = 50,
        batch_seconds: float = 5.0,
        readonly: bool = False,
        index_progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self.immutable = False  # read-only open of a snapshot (read-only directory, no -wal): see _connect_readonly
        self._snapshot: tuple[Any, Any] | None = None  # (database, -wal) identities of an immutable open
        self.batch_size = batch_size
        self.batch_seconds = batch_seconds
        self._pending = 0
        self._batch_started = time.monotonic()
        # called as (articles indexed, articles) while a search-index build runs (see rebuild_search_index)
        self.index_progress = index_progress
        self._batch: list[PendingWrite] = []
        # Full-text writes of the open batch, applied in order just before it commits (see _atomic).
        self._fts_queue: list[tuple[int, tuple[str, ...], tuple[str, ...], bool]] = []
        self._commit_hooks: dict[object, Callable[[], None]] = {}  # see before_commit
        self._watchers: dict[int, RunWatcher] = {}
        # Written as soon as the disk allows (after the next successful commit, or at close): run rows whose final
        # update failed, and failure records of items lost with a batch (record_failure keyword arguments).
        self._unwritten_runs: dict[int, dict[str, Any]] = {}
        self._unwritten_failures: list[dict[str, Any]] = []
        self.write_errors: list[str] = []
        if readonly:
            self.db = sqlite_utils.Database(self._connect_readonly())
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite_utils.Database(self.path)
            try:
                self._refuse_foreign_database()
                self.db.execute("PRAGMA journal_mode=WAL")
            except sqlite3.DatabaseError as exc:
                self.db.close()
                raise self._open_error(exc) from exc
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA busy_timeout=10000")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.ensure_schema()

    def _open_error(self, exc: sqlite3.DatabaseError) -> ArchiveError:
        if str(getattr(exc, "sqlite_errorname", "") or "").startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
            return unreadable_archive(self.path, exc)
        if is_write_failure(exc) and not str(getattr(exc, "sqlite_errorname", "")).startswith("SQLITE_READONLY"):
            return ArchiveError(f"cannot open {self.path}: {describe_write_error(exc)}")
        name = str(getattr(exc, "sqlite_errorname", "") or "")
        if name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")):
            return ArchiveError(f"cannot write to {self.path}: {exc} (a read-only file or directory? query commands "
                                "read such archives; crawls need write access)")
        return unreadable_archive(self.path, exc)

    def _refuse_foreign_database(self) -> None:
        """Refuse to add the archive's tables to a SQLite file that is something else."""
        names = set(self.db.table_names())  # raises DatabaseError for a file that is not SQLite at all
        if names and not {"articles", "meta"} <= names:
            shown = ", ".join(sorted(names)[:8]) + (" ..." if len(names) > 8 else "")
            raise ArchiveError(f"{self.path} is a SQLite database but not a govarchive archive (its tables: {shown}); "
                               "refusing to add the archive's tables to it. Choose another --db.")

    def _connect_readonly(self) -> sqlite3.Connection:
        """A read-only connection; an immutable snapshot when the archive's directory is read-only for us.

        A reader of a WAL database needs its ``-shm`` file. In a directory we cannot write, SQLite cannot create
        it: when no ``-wal`` file exists, every committed transaction is in the database file, so it is read with
        ``immutable=1``, which needs no ``-shm``. Immutable is only safe while nobody writes: a writer would need
        to create the ``-wal`` file, and :meth:`close` checks that the file did not change while it was read.
        With a ``-wal`` present (a crawl running, or one that died) the normal read-only open works when the
        ``-shm`` exists; otherwise the archive cannot be read consistently without write access, and we say so.
        """
        resolved = self.path.resolve()
        conn = sqlite3.connect(f"{resolved.as_uri()}?mode=ro", uri=True, check_same_thread=False)
        try:
            conn.execute("select count(*) from sqlite_master").fetchone()
            return conn
        except sqlite3.OperationalError as exc:
            conn.close()
            if not str(getattr(exc, "sqlite_errorname", "")).startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN")):
                raise
            reason = exc
        wal = Path(f"{resolved}-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise ArchiveError(
                f"cannot read {self.path} consistently: its directory is read-only for you ({reason}) and it has "
                f"a write-ahead log ({wal.name}) that only a writer can merge. Ask its owner to run any govarchive "
                "command on it once, or copy the archive together with its -wal file to a writable directory.")
        self._snapshot = (_identity(resolved), _identity(wal))
        self.immutable = True
        return sqlite3.connect(f"{resolved.as_uri()}?mode=ro&immutable=1", uri=True, check_same_thread=False)

    def snapshot_changed(self) -> bool:
        """For an immutable (read-only directory) open: whether the file changed or a writer appeared since."""
        if not self.immutable:
            return False
        resolved = self.path.resolve()
        return (_identity(resolved), _identity(Path(f"{resolved}-wal"))) != self._snapshot

    # -- opening -------------------------------------------------------------------------------------

    @classmethod
    def open_existing(cls, path: str | Path, *, readonly: bool = True) -> Archive:
        """Open an archive that must already exist (used by query commands)."""
        p = Path(path)
        if not p.exists():
            raise ArchiveError(f"archive not found: {p} (run a crawl or `govarchive demo` first, or pass --db)")
        try:
            archive = cls(p, readonly=True) if readonly else cls(p)
            names = set(archive.db.table_names())
        except sqlite3.DatabaseError as exc:
            name = str(getattr(exc, "sqlite_errorname", "") or "")
            if name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN")):
                raise ArchiveError(f"cannot open {p}: {exc}") from exc
            raise unreadable_archive(p, exc) from exc
        missing = {"articles", "crawl_runs", "meta"} - names
        if missing:
            archive.close()
            raise ArchiveError(f"{p} is not a govarchive archive (missing tables: {', '.join(sorted(missing))})")
        return archive

    @classmethod
    def wrap(cls, conn: sqlite3.Connection, path: str | Path = ":memory:") -> Archive:
        """A read-only :class:`Archive` over a connection someone else opened (Datasette's), schema unchecked."""
        archive = cls.__new__(cls)
        archive.path = Path(path)
        archive.readonly = True
        archive.db = sqlite_utils.Database(conn)
        archive.batch_size, archive.batch_seconds, archive._pending = 1, 0.0, 0
        archive._batch_started = time.monotonic()
        archive.index_progress = None
        archive._fts_queue = []  # never filled: a wrapped archive writes nothing
        archive._commit_hooks = {}
        return archive

    def ensure_schema(self) -> None:
        """Create every table and index that does not exist yet, then run pending :data:`MIGRATIONS` (idempotent)."""
        existing = set(self.db.table_names())
        fresh = "articles" not in existing
        for name, spec in TABLES.items():
            if name in existing:
                # Archives made by an older schema get the columns added since (nullable, so no backfill).
                have = set(self.db[name].columns_dict)
                for column, kind in spec["columns"].items():
                    if column not in have:
                        self.db[name].add_column(column, kind)
                continue
            self.db[name].create(
                spec["columns"],
                pk=spec["pk"],
                not_null=spec.get("not_null"),
                foreign_keys=spec.get("foreign_keys"),
            )
        for table, cols, unique in INDEXES:
            self.db[table].create_index(cols, unique=unique, if_not_exists=True)
        for name, sql in VIEWS.items():
            self.db.execute(f"create view if not exists [{name}] as {sql}")
        self.db["meta"].upsert({"key": "schema_version", "value": str(SCHEMA_VERSION)}, pk="key")
        if self._meta_json("archive_uid") is None:
            self._set_meta("archive_uid", uuid.uuid4().hex)
        self.db.commit()
        self._run_migrations(fresh=fresh)
        self._ensure_search_index()

    def applied_migrations(self) -> list[str]:
        """Names of the :data:`MIGRATIONS` this archive has been through, in order."""
        if "schema_migrations" not in self.db.table_names():
            return []
        return [r[0] for r in self.db.execute("select name from schema_migrations order by rowid")]

    def pending_migrations(self) -> list[str]:
        """Names of the :data:`MIGRATIONS` this archive still needs (a read-only open cannot run them)."""
        done = set(self.applied_migrations())
        return [name for name, _ in MIGRATIONS if name not in done]

    def _run_migrations(self, *, fresh: bool) -> None:
        """Run each pending migration in its own transaction and record it in ``schema_migrations``.

        A fresh archive is created with the current layout, so its migrations are recorded without running.
        """
        self.db.execute("create table if not exists schema_migrations (name text primary key, applied_at text)")
        self.db.commit()
        done = set(self.applied_migrations())
        for name, migrate in MIGRATIONS:
            if name in done:
                continue
            self.db.execute("begin immediate")  # explicit: Python's sqlite3 opens no transaction for DDL
            try:
                if not fresh:
                    migrate(self)
                self.db.execute("insert into schema_migrations (name, applied_at) values (?, ?)", [name, utcnow()])
            except BaseException:
                self.db.conn.rollback()
                raise
            self.db.commit()

    # -- transactions --------------------------------------------------------------------------------

    # The per-article write path uses these instead of sqlite-utils' table helpers: ``db[name]`` asks
    # sqlite_master for views on every call, ``update`` reads the row first, and ``atomic`` names each savepoint
    # randomly, so no statement text repeats and sqlite3's statement cache never hits. These issue the same SQL
    # every time.

    @contextmanager
    def _atomic(self) -> Iterator[None]:
        """A savepoint inside the open batch (or a transaction of its own), rolled back if the block raises.

        Full-text writes made with ``defer=True`` inside the block wait in a queue until the batch commits, and
        leave it again if the block raises. FTS5 writes its pending terms to disk as a new segment at every
        savepoint once it is part of the transaction: indexed inside its own savepoint, each article made a segment
        of its own, and the savepoint statements took 0.39 ms per article (replica articles), against 0.01 ms now;
        the queued rows cost about 0.25 ms more at commit, so an article is about 0.13 ms cheaper to store.
        """
        conn = self.db.conn
        mark = len(self._fts_queue)
        try:
            if not conn.in_transaction:
                with self.db.atomic():
                    yield
                    self._flush_fts()
                return
            conn.execute("SAVEPOINT article")
            try:
                yield
            except BaseException:
                if conn.in_transaction:  # SQLITE_FULL or an I/O error may have ended the transaction already
                    conn.execute("ROLLBACK TO SAVEPOINT article")
                    conn.execute("RELEASE SAVEPOINT article")
                raise
            conn.execute("RELEASE SAVEPOINT article")
        except BaseException:
            del self._fts_queue[mark:]
            raise

    def _insert_row(self, table: str, row: dict[str, Any]) -> int:
        """Insert one row; returns its rowid."""
        cols = ", ".join(f"[{k}]" for k in row)
        marks = ", ".join("?" * len(row))
        return int(self.db.conn.execute(f"insert into [{table}] ({cols}) values ({marks})",
                                        list(row.values())).lastrowid)

    def _update_row(self, table: str, row_id: int, values: dict[str, Any]) -> None:
        """Set ``values`` on the row with this ``id``."""
        sets = ", ".join(f"[{k}] = ?" for k in values)
        self.db.conn.execute(f"update [{table}] set {sets} where id = ?", [*values.values(), row_id])

    def _row(self, sql: str, params: Iterable[Any]) -> dict[str, Any] | None:
        """The first row of a query as a dict, or ``None``."""
        cur = self.db.conn.execute(sql, list(params))
        values = cur.fetchone()
        if values is None:
            return None
        return dict(zip([d[0] for d in cur.description], values, strict=True))

    def _touch(self) -> None:
        """Count one write; commit when the batch is full or old enough."""
        if not self.db.conn.in_transaction:
            self.db.begin()
            self._batch_started = time.monotonic()
        self._pending += 1
        if self._pending >= self.batch_size or time.monotonic() - self._batch_started >= self.batch_seconds:
            self.commit()

    def before_commit(self, key: object, hook: Callable[[], None] | None) -> None:
        """Call ``hook()`` inside every batch transaction just before it commits (``None``: stop calling it).

        Several runs can share one archive (the cluster archiver): any of them may commit the others' pending
        writes, and a run that checkpoints its progress must do it in whichever transaction commits them."""
        if hook is None:
            self._commit_hooks.pop(key, None)
        else:
            self._commit_hooks[key] = hook

    def watch(self, run_id: int, watcher: RunWatcher) -> None:
        """Tell ``watcher`` when writes of ``run_id`` are committed or lost with a failed batch."""
        self._watchers[run_id] = watcher

    def unwatch(self, run_id: int) -> None:
        """Stop calling the run's watcher."""
        self._watchers.pop(run_id, None)

    def _notify(self, writes: list[PendingWrite], reason: str | None) -> None:
        by_run: dict[int | None, list[PendingWrite]] = {}
        for write in writes:
            by_run.setdefault(write.run_id, []).append(write)
        for run_id, group in by_run.items():
            watcher = self._watchers.get(run_id) if run_id is not None else None
            if watcher is None:
                continue
            if reason is None:
                watcher.committed(group)
            else:
                watcher.lost(group, reason)

    def _write_failed(self, exc: BaseException, current: PendingWrite | None = None) -> ArchiveWriteError:
        """Roll the open batch back, tell every run that lost items, and return the error to raise."""
        try:
            if self.db.conn.in_transaction:
                self.db.conn.rollback()
        except sqlite3.Error:
            logger.exception("rollback after a failed write failed too")
        lost = self._batch + ([current] if current is not None else [])
        self._batch, self._pending = [], 0
        self._fts_queue.clear()
        reason = describe_write_error(exc)
        self.write_errors.append(reason)
        logger.error("archive write failed (%s): %d uncommitted item(s) of runs %s rolled back", reason, len(lost),
                     sorted({w.run_id for w in lost if w.run_id is not None}))
        self._notify(lost, reason)
        return ArchiveWriteError(reason, lost)

    @contextmanager
    def _guard(self, current: PendingWrite | None = None) -> Iterator[None]:
        """Turn a write failure inside the block into a rolled-back batch and :class:`ArchiveWriteError`.

        After SQLITE_FULL or an I/O error SQLite may already have rolled the whole transaction back, so the batch
        is treated as lost whatever state it is in. Other errors (a constraint) only undo the statement or the
        article's savepoint; they propagate unchanged unless they also ended the transaction.
        """
        try:
            yield
        except sqlite3.Error as exc:
            if is_write_failure(exc) or (self._batch and not self.db.conn.in_transaction):
                raise self._write_failed(exc, current) from exc
            raise

    def commit(self) -> None:
        """Commit the open batch; raises :class:`ArchiveWriteError` (batch rolled back, runs told) if it fails."""
        if self.readonly:
            return
        with self._guard():
            try:
                if self.db.conn.in_transaction:
                    for hook in list(self._commit_hooks.values()):
                        hook()
                self._flush_fts()
            except sqlite3.Error as exc:  # whatever it is, the batch's index would be out of step: all of it goes
                raise self._write_failed(exc) from exc
            self.db.commit()
        batch, self._batch, self._pending = self._batch, [], 0
        self._notify(batch, None)
        if self._unwritten_runs or self._unwritten_failures:
            self._write_unwritten()

    def close(self) -> None:
        """Commit what is pending and close the connection (a failed last commit is logged, not raised)."""
        try:
            if not self.readonly:
                with suppress(ArchiveWriteError):  # logged, and the runs concerned were told
                    self.commit()
                if (self._unwritten_runs or self._unwritten_failures) and not self._write_unwritten():
                    logger.error("could not write the final record of run(s) %s nor %d failure record(s): those runs "
                                 "stay unfinished (incomplete), so the next run walks past what they lost",
                                 sorted(self._unwritten_runs), len(self._unwritten_failures))
            elif self.snapshot_changed():
                logger.warning("%s changed while it was read as a snapshot from a read-only directory (a crawl "
                               "started?); results may be incomplete: run the command again", self.path)
        finally:
            self.db.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _begin_if_needed(self) -> None:
        if not self.db.conn.in_transaction:
            self.db.begin()
            self._batch_started = time.monotonic()

    # -- runs ----------------------------------------------------------------------------------------

    def start_run(self, portal: str, *, spider: str | None = None, mode: str = "incremental",
                  replica: bool | None = None) -> int:
        """Insert a ``crawl_runs`` row and commit it at once, so a killed run still leaves a trace.

        ``replica`` says whether the run's requests go to an offline replica; a run that would mix replica and
        real runs in one archive raises :class:`ReplicaMixError` before anything is written.
        """
        if replica is not None:
            self.check_run_origin(replica=replica)
        self.commit()
        table = self.db["crawl_runs"]
        with self._guard():
            table.insert(
                {"portal": portal, "spider": spider or portal, "started_at": utcnow(), "mode": mode, "complete": 0,
                 "replica": None if replica is None else int(replica)}
            )
            self.db.commit()
        return int(table.last_pk)

    def finish_run(self, run_id: int, *, finish_reason: str, counts: dict[str, int], coverage: dict[str, float],
                   stats: dict[str, Any] | None = None, monitor_results: dict[str, Any] | None = None,
                   complete: bool | None = None, cause: str | None = None) -> bool:
        """Close a run row with its counts, coverage, finish reason and monitor results; commit everything.

        ``complete`` (default: ``finish_reason == "finished"``) must be true only when the run walked everything
        it meant to and stored everything it fetched: incremental crawls stop at articles of complete runs.
        Returns False when the row could not be written (the disk is full): it is tried again after the next
        successful commit of this connection, and until then the run stays unfinished, i.e. incomplete.
        """
        try:
            self.commit()
        except ArchiveWriteError:
            complete = False  # this connection's batch, maybe with this run's last items, was just lost
        if complete is None:
            complete = finish_reason == "finished"
        row = {
            "finished_at": utcnow(),
            "finish_reason": finish_reason,
            "complete": 1 if complete else 0,
            "coverage": _json(coverage),
            "stats": _json(stats or {}),
            "monitor_results": _json(monitor_results) if monitor_results is not None else None,
            "cause": cause,
        }
        row.update({k: int(v) for k, v in counts.items()})
        self._unwritten_runs[run_id] = row
        return self._write_unwritten()

    def record_failures_when_possible(self, records: list[dict[str, Any]]) -> bool:
        """Record failures (:meth:`record_failure` keyword arguments) now, or after the next successful commit
        if the disk refuses them; True when they are written."""
        self._unwritten_failures.extend(records)
        return self._write_unwritten()

    def _write_unwritten(self) -> bool:
        """Write the run rows and failure records that could not be written yet; True when none is left."""
        try:
            with self._guard():
                self._begin_if_needed()
                for run_id, row in list(self._unwritten_runs.items()):
                    self.db["crawl_runs"].update(run_id, row)
                for record in self._unwritten_failures:
                    self._upsert_failure(**record)
                    if record.get("run_id") is not None:  # counted in its run, even one already closed
                        self.db.execute("update crawl_runs set items_failed = coalesce(items_failed, 0) + 1 "
                                        "where id = ?", [record["run_id"]])
                self.db.commit()
        except ArchiveWriteError:
            return False
        self._unwritten_runs.clear()
        self._unwritten_failures.clear()
        return True

    def run_origins(self) -> dict[str, int]:
        """How many runs went to a replica, to the real portals, or were recorded before runs said which."""
        counts = {"replica": 0, "real": 0, "unknown": 0}
        if "replica" not in self.db["crawl_runs"].columns_dict:  # a read-only open of a 0.1.0 archive
            counts["unknown"] = self.count("crawl_runs")
            return counts
        for value, n in self.db.execute("select replica, count(*) from crawl_runs group by replica"):
            counts["unknown" if value is None else "replica" if value else "real"] += n
        return counts

    def check_run_origin(self, *, replica: bool) -> None:
        """Refuse to mix replica and real runs in this archive (:class:`ReplicaMixError`, a one-line reason).

        Replica articles carry the real portals' URLs, so in an archive with real runs they would pass for
        archived articles. A replica run needs an archive whose runs are all replica runs; runs recorded before
        runs said which (``replica`` NULL) may be real, so they count against it. A real run needs an archive
        without replica runs; the unknown ones are allowed (a real archive made by 0.1.0 keeps working).
        """
        origins = self.run_origins()
        if replica and (origins["real"] or origins["unknown"]):
            if origins["real"]:
                why = f"it holds {origins['real']} run(s) of the real portals"
            else:
                why = (f"it holds {origins['unknown']} run(s) recorded before govarchive noted whether a run went to "
                       f"a replica, so they may be real crawls (if you know they were all demo runs: sqlite-utils "
                       f"{self.path} \"update crawl_runs set replica = 1 where replica is null\")")
            raise ReplicaMixError(f"{self.path}: will not write replica articles into this archive: {why}. "
                                  "Use another archive for the replica (the demo's is data/demo.db).")
        if not replica and origins["replica"]:
            raise ReplicaMixError(
                f"{self.path}: will not crawl the real portals into this archive: it holds {origins['replica']} "
                "replica run(s), whose articles carry the real portals' URLs and would pass for archived ones. "
                "Crawl the real portals into another archive (data/archive.db by default).")

    def runs(self, portal: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Latest runs first."""
        where, params = ("portal = ?", [portal]) if portal else (None, [])
        return list(self.db["crawl_runs"].rows_where(where, params, order_by="id desc", limit=limit))

    def last_complete_run(self, portal: str) -> dict[str, Any] | None:
        """The newest run of ``portal`` that finished normally."""
        rows = list(self.db["crawl_runs"].rows_where(  # a recheck walks no listing: it settles nothing
            "portal = ? and complete = 1 and coalesce(mode, '') != 'recheck'", [portal], order_by="id desc", limit=1))
        return rows[0] if rows else None

    def get_run(self, run_id: int) -> dict[str, Any] | None:
        """The ``crawl_runs`` row with this id, or ``None``."""
        rows = list(self.db["crawl_runs"].rows_where("id = ?", [run_id], limit=1))
        return rows[0] if rows else None

    def pending_writes(self, run_id: int | None) -> list[PendingWrite]:
        """The run's writes in the open batch: what the next :meth:`commit` makes durable (and reports to the
        run's watcher)."""
        return [write for write in self._batch if write.run_id == run_id]

    def checkpoint_run(self, run_id: int, *, counts: dict[str, int], stats: dict[str, Any]) -> None:
        """Write a running run's counts and stats into its row, inside the open batch (no commit).

        The cluster archiver calls it just before each commit, so the row always matches what is committed and a
        restarted archiver resumes the run's counts from it; :meth:`finish_run` overwrites both at the end.
        """
        self._begin_if_needed()
        self.db["crawl_runs"].update(run_id, {**{k: int(v) for k, v in counts.items()}, "stats": _json(stats)})

    def article_states(self, portal: str) -> Iterator[tuple[str, int | None, str | None]]:
        """``(url, first_run_id, published)`` of every archived article of a portal (a cursor), as
        :meth:`article_state` gives them one by one."""
        yield from self.db.execute("select url, first_run_id, published from articles where portal = ?", [portal])

    def clear_listing_failures(self, portal: str, *, before_run: int) -> int:
        """Forget listing-page failures of runs before ``before_run`` (a complete run walked every listing)."""
        self._begin_if_needed()
        with self._guard():
            cur = self.db.execute("delete from failures where portal = ? and stage = 'listing' and "
                                  "coalesce(run_id, 0) < ?", [portal, before_run])
        return cur.rowcount

    # -- articles ------------------------------------------------------------------------------------

    def get_article(self, url: str) -> dict[str, Any] | None:
        """The article row with this canonical URL, or ``None``."""
        return self._row("select * from articles where url = ? limit 1", [url])

    def known_urls(self, portal: str) -> set[str]:
        """Canonical URLs archived for a portal."""
        return {r[0] for r in self.db.execute("select url from articles where portal = ?", [portal])}

    def is_known(self, url: str) -> bool:
        """Whether an article with this canonical URL is archived."""
        return self.db.execute("select 1 from articles where url = ? limit 1", [url]).fetchone() is not None

    def article_state(self, url: str) -> tuple[int | None, str | None] | None:
        """``(first_run_id, published)`` of the archived article with this canonical URL, or ``None``.

        The crawler's incremental walk uses it: an article counts as settled only when ``first_run_id`` is at
        most the id of the portal's last complete run (see :meth:`last_complete_run`).
        """
        row = self.db.execute("select first_run_id, published from articles where url = ?", [url]).fetchone()
        return (row[0], row[1]) if row else None

    def store_article(self, item: dict[str, Any], *, content_hash: str, run_id: int | None = None,
                      note: Any = None) -> str:
        """Insert or update one article; returns ``"new"``, ``"updated"`` or ``"unchanged"``.

        Same URL and hash: only ``last_seen_at`` moves. Same URL and a new hash: the previous content goes
        to ``article_versions`` and the row shows the latest. The same hash at another portal sets
        ``duplicate_of`` (syndication is linked, never deleted).

        The article joins the open batch; the run's watcher (:meth:`watch`) hears when it is committed (with
        ``note``) or lost. A failed write raises :class:`ArchiveWriteError` after rolling the batch back.
        """
        now = utcnow()
        pending = PendingWrite(run_id, "article", item.get("source_url") or item["url"], item["portal"], note=note)
        self._begin_if_needed()
        previous_attachments = ""
        with self._guard(pending), self._atomic():
            existing = self.get_article(item["url"])
            capture_id = self._capture_id(item.get("capture"))
            if existing is not None and existing["content_hash"] == content_hash:
                seen: dict[str, Any] = {"last_seen_at": now, "run_id": run_id}
                if capture_id is not None:
                    seen["capture_id"] = capture_id
                self._update_row("articles", existing["id"], seen)
                before = self._attachment_text(existing["id"])
                self._update_files(existing["id"], item)
                self._reindex_attachments(existing, before, defer=True)
                self._restore(existing, now)
                article_id = existing["id"]
                outcome = "unchanged"
            else:
                row = {k: item.get(k) for k in (
                    "url", "portal", "source_url", "final_url", "platform", "title", "summary", "body_text",
                    "body_html", "author", "category", "published", "published_raw", "published_precision",
                    "fetched_at")}
                row.update(
                    tags=_json(item.get("tags") or []),
                    images=_json(item.get("images") or []),
                    field_sources=_json(item.get("field_sources") or {}),
                    truncated=_json(item.get("truncated") or None),
                    content_hash=content_hash,
                    last_seen_at=now,
                    updated_at=now,
                    run_id=run_id,
                    capture_id=capture_id,
                    origin="fetch",
                )
                if existing is None:
                    row.update(version=1, first_seen_at=now, first_run_id=run_id,
                               duplicate_of=self._syndication_source(content_hash, item["portal"]))
                    article_id = self._insert_row("articles", row)
                    outcome = "new"
                else:
                    article_id = existing["id"]
                    previous_attachments = self._attachment_text(article_id)
                    self._save_version(existing, now, run_id)
                    row.update(version=existing["version"] + 1)
                    self._update_row("articles", article_id, row)
                    self._restore(existing, now)
                    outcome = "updated"
                self._write_tags(article_id, item.get("tags") or [])
                self._write_attachments(article_id, item.get("attachments") or [], item.get("images") or [],
                                        item.get("files"))
                self._write_citations(article_id, row)
                self._index_article(article_id, row, previous=existing, defer=True,
                                    previous_attachments=previous_attachments if existing else "")
            if item.get("document"):  # legal documents: the properties can change (status) while the text does not
                self._write_document(article_id, item["document"])
        pending.outcome = outcome
        self._batch.append(pending)
        self._touch()
        return outcome

    def _write_document(self, article_id: int, document: dict[str, Any]) -> None:
        from portal_spiders.text import document_number_key

        row = {key: document.get(key) for key in ("number", "doc_type", "issuer", "signer", "issued", "effective",
                                                   "status")}
        row.update(article_id=article_id, number_key=document_number_key(document.get("number")),
                   fields=_json(document.get("fields") or {}))
        self.db["documents"].upsert(row, pk="article_id")

    def document(self, article_id: int) -> dict[str, Any] | None:
        """The legal-document row of an article (``None`` for news)."""
        rows = list(self.db["documents"].rows_where("article_id = ?", [article_id]))
        return rows[0] if rows else None

    def _syndication_source(self, content_hash: str, portal: str) -> int | None:
        row = self.db.execute(
            "select id from articles where content_hash = ? and portal != ? order by id limit 1",
            [content_hash, portal],
        ).fetchone()
        return row[0] if row else None

    def _save_version(self, existing: dict[str, Any], now: str, run_id: int | None) -> None:
        attachments = [
            {"url": r["url"], "name": r["name"], **({"sha256": r["sha256"]} if r.get("sha256") else {})}
            for r in self.attachments(existing["id"])
        ]
        self._insert_row("article_versions", {
            "article_id": existing["id"],
            "version": existing["version"],
            "content_hash": existing["content_hash"],
            **{k: existing[k] for k in ("title", "summary", "body_text", "body_html", "author", "category",
                                        "published", "published_raw", "tags", "fetched_at")},
            "attachments": _json(attachments),
            "superseded_at": now,
            "run_id": run_id,
            "capture_id": existing.get("capture_id"),
            "origin": existing.get("origin") or "fetch",
        })

    # -- archival fidelity: WARC pointers, files, removals (docs/archive.md) ---------------------------------

    def _capture_id(self, pointer: dict[str, Any] | None) -> int | None:
        """The ``captures`` row of a WARC pointer (portal_spiders/warc.py), inserted on first use."""
        if not pointer or not pointer.get("record_id") or pointer.get("file") is None:
            return None
        cur = self.db.conn.execute(
            "insert or ignore into captures (record_id, file, offset, length, digest, url, status, date) "
            "values (?, ?, ?, ?, ?, ?, ?, ?)",
            [pointer["record_id"], pointer["file"], int(pointer["offset"]), pointer.get("length"),
             pointer.get("digest"), pointer.get("url"), pointer.get("status"), pointer.get("date")])
        if cur.rowcount == 1:
            return int(cur.lastrowid)
        row = self.db.conn.execute("select id from captures where record_id = ?", [pointer["record_id"]]).fetchone()
        return int(row[0])

    def capture(self, capture_id: int | None) -> dict[str, Any] | None:
        """A ``captures`` row by id."""
        if capture_id is None:
            return None
        rows = list(self.db["captures"].rows_where("id = ?", [capture_id], limit=1))
        return rows[0] if rows else None

    def forget_captures(self, files: list[str], *, from_offset: int) -> int:
        """Drop pointers into ``files`` at or after ``from_offset`` (bytes a WARC recovery cut); returns how many."""
        self.commit()
        marks = ", ".join("?" * len(files))
        ids = [r[0] for r in self.db.execute(
            f"select id from captures where file in ({marks}) and offset >= ?", [*files, from_offset])]
        if not ids:
            return 0
        id_marks = ", ".join("?" * len(ids))
        with self.db.conn:
            for table in ("articles", "article_versions", "attachments", "article_removals"):
                self.db.execute(f"update [{table}] set capture_id = null where capture_id in ({id_marks})", ids)
            self.db.execute(f"delete from captures where id in ({id_marks})", ids)
        return len(ids)

    _FILE_COLUMNS = ("filename", "sha256", "path", "mime", "size", "fetched_at", "status", "error", "text")

    def _file_values(self, info: dict[str, Any] | None) -> dict[str, Any]:
        """``attachments`` columns of one downloaded file (an entry of ``ArticleItem.files``)."""
        info = info or {}
        values = {k: info.get(k) for k in self._FILE_COLUMNS}
        values["capture_id"] = self._capture_id(info.get("capture"))
        return values

    def _update_files(self, article_id: int, item: dict[str, Any]) -> None:
        """Record files downloaded for an unchanged article (a retried attachment, an expired copy)."""
        for info in item.get("files") or []:
            if info.get("url") and info.get("status"):
                values = self._file_values(info)
                sets = ", ".join(f"{k} = ?" for k in values)
                self.db.execute(f"update attachments set {sets} where article_id = ? and url = ?",
                                [*values.values(), article_id, info["url"]])

    def _restore(self, existing: dict[str, Any] | None, now: str) -> None:
        """An article marked removed answered with its content again: close the removal."""
        if existing is None or not existing.get("removed_at"):
            return
        self._update_row("articles", existing["id"], {"removed_at": None, "removed_reason": None})
        self.db.execute("update article_removals set restored_at = ? where article_id = ? and restored_at is null",
                        [now, existing["id"]])

    def mark_removed(self, url: str, *, reason: str, status: int | None = None, final_url: str | None = None,
                     capture: dict[str, Any] | None = None, run_id: int | None = None) -> bool:
        """Mark an archived article as taken down by its portal (never deleted); False if unknown or already so."""
        self._begin_if_needed()
        with self._guard(), self.db.atomic():
            row = self.get_article(url)
            if row is None or row.get("removed_at"):
                return False
            now = utcnow()
            self.db["article_removals"].insert({
                "article_id": row["id"], "detected_at": now, "reason": reason, "status": status,
                "final_url": final_url, "capture_id": self._capture_id(capture), "run_id": run_id})
            self.db["articles"].update(row["id"], {"removed_at": now, "removed_reason": reason})
        self._touch()
        return True

    def removals(self, article_id: int) -> list[dict[str, Any]]:
        """Takedowns of an article, oldest first."""
        return list(self.db["article_removals"].rows_where("article_id = ?", [article_id], order_by="id"))

    def known_file(self, url: str, *, max_age_days: float | None = None) -> dict[str, Any] | None:
        """The newest stored file downloaded from ``url`` (within ``max_age_days``), or ``None``."""
        where, params = "url = ? and sha256 is not null", [url]
        if max_age_days is not None:
            where += " and fetched_at >= ?"
            params.append((datetime.now(UTC) - timedelta(days=max_age_days)).isoformat(timespec="seconds"))
        return self._row("select filename, sha256, path, mime, size, fetched_at, status, text, capture_id "
                         f"from attachments where {where} order by fetched_at desc limit 1", params)

    def file_stats(self) -> dict[str, int]:
        """Distinct stored files, their bytes, attachment rows that failed, and WARC records pointed to."""
        files, size = self.db.execute(
            "select count(*), coalesce(sum(size), 0) from (select sha256, max(size) as size from attachments "
            "where sha256 is not null group by sha256)").fetchone()
        failed = self.count("attachments", "status is not null and status != 'stored'")
        return {"files": int(files), "bytes": int(size), "failed": failed, "captures": self.count("captures")}

    # -- re-extraction (govarchive reextract) ------------------------------------------------------------------

    def reextract_targets(self, *, portals: Iterable[str] = (), since: str | None = None,
                          platform: str | None = None) -> tuple[int, Iterator[dict[str, Any]]]:
        """``(count, rows)`` of archived articles with a WARC capture, in WARC file/offset order (sequential reads).

        Filters: ``portals``, ``since`` (published on or after, YYYY-MM-DD), ``platform``. Each row carries the
        article's id, url, portal, platform and its capture's ``file``, ``offset``, ``date``.
        """
        where, params = ["a.capture_id is not null"], []
        portals = list(portals)
        if portals:
            where.append(f"a.portal in ({', '.join('?' * len(portals))})")
            params.extend(portals)
        if since:
            where.append("a.published >= ?")
            params.append(since)
        if platform:
            where.append("a.platform = ?")
            params.append(platform)
        sql_where = " and ".join(where)
        total = int(self.db.execute(f"select count(*) from articles a where {sql_where}", params).fetchone()[0])
        cursor = self.db.conn.cursor()  # its own cursor: the caller writes through self.db meanwhile
        cursor.execute(
            "select a.id, a.url, a.portal, a.platform, c.file, c.offset, c.date from articles a "
            f"join captures c on c.id = a.capture_id where {sql_where} order by c.file, c.offset", params)

        def rows() -> Iterator[dict[str, Any]]:
            names = [d[0] for d in cursor.description]
            while batch := cursor.fetchmany(500):
                for values in batch:
                    yield dict(zip(names, values, strict=True))

        return total, rows()

    REEXTRACT_FIELDS = ("title", "summary", "body_text", "author", "category", "published", "published_raw",
                        "published_precision")

    def reextract_differs(self, article: dict[str, Any], item: dict[str, Any]) -> list[str]:
        """Fields whose re-extracted value differs from the archived one (text fields, tags, attachments, images)."""
        changed = [k for k in self.REEXTRACT_FIELDS if (article.get(k) or None) != (item.get(k) or None)]
        if self.article_tags(article["id"]) != list(dict.fromkeys(t for t in item.get("tags") or [] if t)):
            changed.append("tags")
        rows = self.attachments(article["id"], images=True)
        have = [(r["kind"] or "attachment", r["url"], r["name"] or None) for r in rows]
        want = [("attachment", a["url"], a.get("name") or None) for a in item.get("attachments") or []]
        want += [("image", i["url"], i.get("caption") or None) for i in item.get("images") or []]
        seen: set[str] = set()
        want = [w for w in want if w[1] and not (w[1] in seen or seen.add(w[1]))]  # type: ignore[func-returns-value]
        if have != want:
            changed.append("attachments")
        return changed

    def store_reextracted(self, article: dict[str, Any], item: dict[str, Any], *, content_hash: str) -> None:
        """A new version of ``article`` from re-extraction of its archived capture (origin ``reextract``).

        The capture, fetch time and downloaded files stay; the previous content goes to ``article_versions``.
        """
        now = utcnow()
        self._begin_if_needed()
        with self._guard(), self.db.atomic():
            existing = self.get_article(article["url"])
            if existing is None:
                return
            files = [{"url": r["url"], **{k: r[k] for k in self._FILE_COLUMNS},
                      "capture": capture_pointer(self.capture(r["capture_id"]))}
                     for r in self.attachments(existing["id"], images=True)]
            self._save_version(existing, now, existing.get("run_id"))
            row = {k: item.get(k) for k in (*self.REEXTRACT_FIELDS, "body_html")}
            row.update(tags=_json(item.get("tags") or []), images=_json(item.get("images") or []),
                       field_sources=_json(item.get("field_sources") or {}), content_hash=content_hash,
                       version=existing["version"] + 1, updated_at=now, origin="reextract")
            self.db["articles"].update(existing["id"], row)
            self._write_tags(existing["id"], item.get("tags") or [])
            self._write_attachments(existing["id"], item.get("attachments") or [], item.get("images") or [], files)
            self._index_article(existing["id"], {**existing, **row}, previous=existing)
        self._touch()

    # -- edits and removals (govarchive changes) --------------------------------------------------------------

    def changes(self, *, since: str | None = None, portals: Iterable[str] = (), kinds: Iterable[str] = (),
                limit: int | None = None) -> list[dict[str, Any]]:
        """Edits, re-extractions and takedowns, newest first: ``{kind, at, article_id, portal, url, title, ...}``.

        ``edited``: a fetch found new content (version ``from_version`` -> ``to_version``); ``reextracted``: today's
        parsers read an archived capture differently; ``removed``: the portal took the article down (``reason``,
        ``restored_at`` when it came back).
        """
        kinds = set(kinds) or {"edited", "removed", "reextracted"}
        portals = list(portals)
        portal_sql = f" and a.portal in ({', '.join('?' * len(portals))})" if portals else ""
        out: list[dict[str, Any]] = []
        if kinds & {"edited", "reextracted"}:
            # archives opened read-only before their upgrade have no origin columns: everything was fetched
            origin = ("coalesce((select w.origin from article_versions w where w.article_id = v.article_id and "
                      "w.version = v.version + 1), a.origin)" if "origin" in self.db["articles"].columns_dict
                      else "'fetch'")
            sql = ("select 'version' as kind, v.superseded_at as at, a.id as article_id, a.portal, a.url, a.title, "
                   f"v.version as from_version, v.version + 1 as to_version, {origin} "
                   "as origin from article_versions v join articles a on a.id = v.article_id where 1"
                   + (" and v.superseded_at >= ?" if since else "") + portal_sql)
            cur = self.db.execute(sql, [*([since] if since else []), *portals])
            names = [d[0] for d in cur.description]
            for values in cur:
                row = dict(zip(names, values, strict=True))
                row["kind"] = "reextracted" if row.pop("origin") == "reextract" else "edited"
                if row["kind"] in kinds:
                    out.append(row)
        if "removed" in kinds and "article_removals" in self.db.table_names():
            sql = ("select 'removed' as kind, r.detected_at as at, a.id as article_id, a.portal, a.url, a.title, "
                   "r.reason, r.status, r.final_url, r.restored_at from article_removals r "
                   "join articles a on a.id = r.article_id where 1"
                   + (" and r.detected_at >= ?" if since else "") + portal_sql)
            cur = self.db.execute(sql, [*([since] if since else []), *portals])
            names = [d[0] for d in cur.description]
            out.extend(dict(zip(names, values, strict=True)) for values in cur)
        out.sort(key=lambda r: (r["at"] or "", r["article_id"]), reverse=True)
        return out[:limit] if limit else out

    def version_texts(self, article_id: int) -> list[dict[str, Any]]:
        """Every version of an article, oldest first (current last): version, title, summary, body_text, origin, at."""
        rows = [{"version": v["version"], "title": v["title"], "summary": v["summary"], "body_text": v["body_text"],
                 "origin": v.get("origin") or "fetch", "fetched_at": v["fetched_at"], "until": v["superseded_at"]}
                for v in self.versions(article_id)]
        current = self.article_by_id(article_id)
        if current is not None:
            rows.append({"version": current["version"], "title": current["title"], "summary": current["summary"],
                         "body_text": current["body_text"], "origin": current.get("origin") or "fetch",
                         "fetched_at": current["fetched_at"], "until": None})
        return rows

    def _write_tags(self, article_id: int, tags: Iterable[str]) -> None:
        self.db.execute("delete from article_tags where article_id = ?", [article_id])
        for position, name in enumerate(dict.fromkeys(t for t in tags if t)):
            self.db.execute("insert or ignore into tags (name) values (?)", [name])
            tag_id = self.db.execute("select id from tags where name = ?", [name]).fetchone()[0]
            self.db.execute(
                "insert or ignore into article_tags (article_id, tag_id, position) values (?, ?, ?)",
                [article_id, tag_id, position],
            )

    def _write_attachments(self, article_id: int, attachments: Iterable[dict[str, Any]],
                           images: Iterable[dict[str, Any]] = (), files: Iterable[dict[str, Any]] | None = None
                           ) -> None:
        self.db.execute("delete from attachments where article_id = ?", [article_id])
        by_url = {f["url"]: f for f in files or [] if f.get("url")}
        seen: set[str] = set()
        rows = [(att, "attachment", att.get("name")) for att in attachments]
        rows += [(img, "image", img.get("caption")) for img in images]
        for position, (att, kind, name) in enumerate(rows):
            if not att.get("url") or att["url"] in seen:
                continue
            seen.add(att["url"])
            values = self._file_values(by_url.get(att["url"]))
            if values.get("text") is None and att.get("text"):
                values["text"] = att["text"]  # text handed over with the item (imports, tests)
            self._insert_row("attachments", {"article_id": article_id, "url": att["url"], "name": name or None,
                                             "position": position, "kind": kind, **values})

    def _write_citations(self, article_id: int, row: dict[str, Any]) -> None:
        """Replace the legal-document numbers cited by an article (see govarchive/citations.py)."""
        from govarchive.citations import extract_citations

        self.db.execute("delete from citations where article_id = ?", [article_id])
        for c in extract_citations(row.get("title"), row.get("summary"), row.get("body_text")):
            self.db.execute(
                "insert into citations (article_id, number, number_key, doc_type_code, doc_type, issuer_code, year, "
                "occurrences, position) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [article_id, c.number, c.number_key, c.doc_type_code, c.doc_type, c.issuer_code, c.year,
                 c.occurrences, c.position])

    def citations(self, article_id: int) -> list[dict[str, Any]]:
        """Document numbers cited by an article, with the archived document page's article id when there is one
        (none on an archive read before its upgrade added them)."""
        if "citation_links" not in self.db.view_names():
            return []
        return list(self.db["citation_links"].rows_where("article_id = ?", [article_id], order_by="id"))

    def versions(self, article_id: int) -> list[dict[str, Any]]:
        """Earlier versions of an article, oldest first."""
        return list(self.db["article_versions"].rows_where(
            "article_id = ?", [article_id], order_by="version"))

    def attachments(self, article_id: int, *, images: bool = False) -> list[dict[str, Any]]:
        """Attachments of an article in page order (with ``images``: its downloaded images too)."""
        where = "article_id = ?" + ("" if images else f" and {self._attachment_kind_sql()}")
        return list(self.db["attachments"].rows_where(where, [article_id], order_by="position"))

    def _attachment_kind_sql(self) -> str:
        """SQL condition for attachment rows that are not images (archives not yet upgraded have no ``kind``)."""
        if getattr(self, "_has_kind", None) is None:
            self._has_kind = "kind" in self.db["attachments"].columns_dict
        return "coalesce(kind, 'attachment') = 'attachment'" if self._has_kind else "1"

    # -- failures ------------------------------------------------------------------------------------

    def record_failure(self, *, url: str, portal: str, stage: str, reason: str, status: int | None = None,
                       run_id: int | None = None, extra: dict[str, Any] | None = None) -> None:
        """Record (or bump) a failed URL; later runs retry it and :meth:`clear_failure` removes it.

        Batched like articles: the run's watcher hears of its commit or loss (see :meth:`store_article`).
        """
        pending = PendingWrite(run_id, "failure", url, portal,
                               note={"stage": stage, "reason": reason, "status": status, "extra": extra})
        self._begin_if_needed()
        with self._guard(pending):
            self._upsert_failure(url=url, portal=portal, stage=stage, reason=reason, status=status, run_id=run_id,
                                 extra=extra)
        self._batch.append(pending)
        self._touch()

    def _upsert_failure(self, *, url: str, portal: str, stage: str, reason: str, status: int | None = None,
                        run_id: int | None = None, extra: dict[str, Any] | None = None) -> None:
        now = utcnow()
        self.db.execute(
            """
            insert into failures (url, portal, stage, reason, status, attempts, first_failed_at, last_failed_at,
                                  run_id, extra)
            values (?, ?, ?, ?, ?, 1, ?, ?, ?, ?)
            on conflict(url) do update set
                portal = excluded.portal, stage = excluded.stage, reason = excluded.reason,
                status = excluded.status, attempts = failures.attempts + 1,
                last_failed_at = excluded.last_failed_at, run_id = excluded.run_id, extra = excluded.extra
            """,
            [url, portal, stage, reason[:2000], status, now, now, run_id, _json(extra or {})],
        )

    def clear_failure(self, url: str) -> None:
        """Forget a failure once its URL has been archived."""
        self._begin_if_needed()
        with self._guard():
            self.db.execute("delete from failures where url = ?", [url])

    def failures(self, portal: str | None = None) -> list[dict[str, Any]]:
        """Open failures, newest first."""
        where, params = ("portal = ?", [portal]) if portal else (None, [])
        return list(self.db["failures"].rows_where(where, params, order_by="last_failed_at desc"))

    # -- reading -------------------------------------------------------------------------------------

    def count(self, table: str = "articles", where: str | None = None, params: Iterable[Any] = ()) -> int:
        """Row count of a table, optionally filtered."""
        sql = f"select count(*) from [{table}]" + (f" where {where}" if where else "")
        return int(self.db.execute(sql, list(params)).fetchone()[0])

    def iter_articles(self, where: str | None = None, params: Iterable[Any] = (),
                      order_by: str = "id") -> Iterator[dict[str, Any]]:
        """Stream article rows (a cursor, not a list)."""
        yield from self.db["articles"].rows_where(where, list(params), order_by=order_by)

    def article_tags(self, article_id: int) -> list[str]:
        """Tag names of an article in page order."""
        return [r[0] for r in self.db.execute(
            "select t.name from article_tags at join tags t on t.id = at.tag_id where at.article_id = ? "
            "order by at.position", [article_id])]

    def portals(self) -> list[str]:
        """Portals that have articles in the archive."""
        return [r[0] for r in self.db.execute("select portal from articles group by portal order by portal")]

    def portal_summary(self) -> list[dict[str, Any]]:
        """Per-portal article counts and newest publication time."""
        cur = self.db.execute(
            "select portal, count(*) as articles, max(published) as newest, max(last_seen_at) as last_seen "
            "from articles group by portal order by portal")
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur]

    # -- full-text search -------------------------------------------------------------------------------------

    def _meta_json(self, key: str) -> Any:
        row = self.db.execute("select value from meta where key = ?", [key]).fetchone()
        if row is None:
            return None
        try:
            return json.loads(row[0])
        except (TypeError, ValueError):
            return None

    def _set_meta(self, key: str, value: Any) -> None:
        if value is None:
            self.db.execute("delete from meta where key = ?", [key])
        else:
            self.db.execute("insert into meta (key, value) values (?, ?) on conflict(key) do update set "
                            "value = excluded.value", [key, json.dumps(value)])

    def _create_fts_table(self, name: str, kind: str) -> None:
        self.db.execute(
            f"create virtual table [{name}] using fts5({', '.join(FTS_COLUMNS)}, content='', "
            f'tokenize="{FTS_TOKENIZERS[kind]}"{FTS_OPTIONS[kind]})')

    def _ensure_search_index(self) -> None:
        """Create the FTS5 tables of a new archive; (re)build the index of one whose index is not ready.

        An interrupted build resumes where it stopped (see :meth:`rebuild_search_index`).
        """
        status, _ = self.search_index_status()
        if status == "ready":
            return
        if not self.count("articles"):
            self.db.execute("begin immediate")
            try:
                for table in (*FTS_TABLES, *FTS_BUILD.values()):
                    self.db.execute(f"drop table if exists [{table}]")
                for table in FTS_TABLES:
                    self._create_fts_table(table, table)
                self._set_meta("search_index", {"format": SEARCH_INDEX_FORMAT, "built_at": utcnow(), "articles": 0})
                self._set_meta("search_index_build", None)
            except BaseException:
                self.db.conn.rollback()
                raise
            self.db.conn.commit()
            return
        self.rebuild_search_index(progress=self.index_progress)

    def search_index_status(self) -> tuple[str, str]:
        """``(state, explanation)``: ``ready``, ``missing``, ``building`` (an interrupted build), ``outdated`` (made
        by an older format) or ``stale`` (articles were added without being indexed).

        Cheap at any size: the format is a ``meta`` row, and staleness is checked on the newest article.
        """
        self._flush_fts()  # this connection's queued index rows count too
        names = set(self.db.table_names())
        build = self._meta_json("search_index_build") if "meta" in names else None
        if isinstance(build, dict) and all(t in names for t in FTS_BUILD.values()):
            done = self.count("articles", "id <= ?", [int(build.get("after") or 0)])
            return "building", (f"a build of the full-text index was interrupted after {done:,} of "
                                f"{self.count('articles'):,} articles")
        if any(t not in names for t in FTS_TABLES):
            return "missing", "the archive has no full-text index"
        meta = self._meta_json("search_index")
        if not isinstance(meta, dict) or meta.get("format") != SEARCH_INDEX_FORMAT:
            return "outdated", "the full-text index was made by an older govarchive and must be rebuilt"
        newest = self.db.execute("select id, published from articles order by id desc limit 1").fetchone()
        if newest is not None:
            key = search_key(newest[1], newest[0])
            if self.db.execute(f"select 1 from [{FTS_FOLDED}_docsize] where id = ?", [key]).fetchone() is None:
                return "stale", "articles were added to the archive without being indexed"
        return "ready", ""

    def mark_search_index_outdated(self) -> None:
        """Make the next writable open rebuild the full-text index (``govarchive index --rebuild``)."""
        self.commit()
        self._set_meta("search_index", None)
        self.db.conn.commit()

    def search_index_ready(self) -> bool:
        """Whether the full-text index is complete and current (see :meth:`search_index_status`)."""
        return self.search_index_status()[0] == "ready"

    def indexed_count(self) -> int:
        """Rows in the full-text index (one per article when it is in step; a full scan of its size table)."""
        self._flush_fts()  # this connection's queued index rows count too
        if FTS_FOLDED not in self.db.table_names():
            return 0
        return int(self.db.execute(f"select count(*) from [{FTS_FOLDED}_docsize]").fetchone()[0])

    def _fts_write(self, key: int, exact: tuple[str, ...], folded: tuple[str, ...], *, delete: bool = False,
                   tables: tuple[str, str] = FTS_TABLES, defer: bool = False) -> None:
        """Add (or, with ``delete``, remove) one row of both full-text tables.

        ``defer``: queue it until the batch commits (only inside :meth:`_atomic`). Any other write first applies
        the queue, so rows are always written in the order they were asked for (a contentless delete must find
        the row it deletes).
        """
        if defer:
            self._fts_queue.append((key, exact, folded, delete))
            return
        self._flush_fts()
        cols = ", ".join(FTS_COLUMNS)
        marks = ", ".join("?" * len(FTS_COLUMNS))
        if not delete and tables == FTS_TABLES:
            self.db.conn.execute(_SEARCH_LOG_INSERT, [key & SEARCH_KEY_ID_MASK])
        for table, values in ((tables[1], exact), (tables[0], folded)):
            if delete:
                sql = f"insert into [{table}] ([{table}], rowid, {cols}) values ('delete', ?, {marks})"
            else:
                sql = f"insert into [{table}] (rowid, {cols}) values (?, {marks})"
            self.db.execute(sql, [key, *values])

    def _flush_fts(self) -> None:
        """Apply the queued full-text writes of the open batch, in order."""
        queue, self._fts_queue = self._fts_queue, []  # emptied first: each write below flushes (nothing) again
        # FTS5 writes its pending terms out as a new segment whenever a rowid is lower than the previous one, and
        # listings run newest first (descending keys): in key order a batch is one segment, not one per article.
        # The sort is stable, so the writes of one key (delete, then insert) keep their order.
        queue.sort(key=lambda write: write[0])
        for key, exact, folded, delete in queue:
            self._fts_write(key, exact, folded, delete=delete)

    def _attachment_text(self, article_id: int) -> str:
        """What the ``attachments`` FTS column holds for this article now (its attachments, not its images)."""
        cur = self.db.conn.execute(
            f"select name, text from attachments where article_id = ? and {self._attachment_kind_sql()} "
            "order by position", [article_id])
        return attachments_search_text({"name": name, "text": text} for name, text in cur)

    def _reindex_attachments(self, article: dict[str, Any], before: str, *, defer: bool = False) -> None:
        """Replace an article's index row when its attachments' text changed from ``before`` (a contentless index
        row can only be deleted with the values it was made from). ``defer``: see :meth:`_fts_write`."""
        after = self._attachment_text(article["id"])
        if after != before:
            key = search_key(article.get("published"), article["id"])
            self._fts_write(key, *_fts_texts(article, before), delete=True, defer=defer)
            self._fts_write(key, *_fts_texts(article, after), defer=defer)

    def _index_article(self, article_id: int, row: dict[str, Any], *, previous: dict[str, Any] | None,
                       previous_attachments: str = "", defer: bool = False) -> None:
        """Keep the FTS tables in step with one stored article. ``defer``: see :meth:`_fts_write`."""
        if previous is not None:
            # Contentless FTS5 deletes need the values that were indexed: rebuilt from the stored row.
            self._fts_write(search_key(previous.get("published"), article_id),
                            *_fts_texts(previous, previous_attachments), delete=True, defer=defer)
        self._fts_write(search_key(row.get("published"), article_id), *_fts_texts(row, self._attachment_text(
            article_id)), defer=defer)

    def set_attachment_text(self, article_id: int, url: str, text: str | None) -> None:
        """Store the text extracted from one attachment and re-index its article, so searches find it.

        The full-text index is contentless: its rows can only be replaced with the exact values they were made
        from. Every change of ``attachments.text`` must therefore go through here (or through
        :meth:`store_article`), never through a bare UPDATE.
        """
        article = self.article_by_id(article_id)
        if article is None:
            raise KeyError(f"no article with id {article_id}")
        self._begin_if_needed()
        with self.db.atomic():
            before = self._attachment_text(article_id)
            self.db.execute("update attachments set text = ? where article_id = ? and url = ?",
                            [text, article_id, url])
            self._reindex_attachments(article, before)
        self._touch()

    def search_text_batches(self, *, after: int = 0, chunk: int = 20_000) -> Iterator[list[SearchText]]:
        """Every article with an id above ``after``, ``chunk`` at a time in id order, as the full-text indexes hold
        it: ``(id, search key, exact column values, folded column values)``, attachments' text included.
        :meth:`rebuild_search_index` writes these."""
        for batch in self.search_documents(after=after, chunk=chunk):
            yield [(d.id, d.key, d.exact, d.folded) for d in batch]

    def search_documents(self, *, after: int = 0, ids: Iterable[int] | None = None,
                         chunk: int = 20_000) -> Iterator[list[SearchDocument]]:
        """Articles as the search indexes hold them (:class:`SearchDocument`), ``chunk`` at a time in id order:
        every article with an id above ``after``, or only these ``ids`` (those that exist)."""
        conn = self.db.conn
        columns = "id, portal, published, title, summary, body_text, tags, author"
        wanted = sorted({int(i) for i in ids}) if ids is not None else None
        while True:
            if wanted is None:
                batch = conn.execute(f"select {columns} from articles where id > ? order by id limit ?",
                                     [after, chunk]).fetchall()
            else:
                part, wanted = wanted[:chunk], wanted[chunk:]
                batch = conn.execute(f"select {columns} from articles where id in ({', '.join('?' * len(part))}) "
                                     "order by id", part).fetchall() if part else []
                if not batch and wanted:
                    continue
            if not batch:
                return
            if wanted is None:
                which, params = "between ? and ?", [batch[0][0], batch[-1][0]]
            else:  # scattered ids: a range would read the attachments of every article in between
                which, params = f"in ({', '.join('?' * len(batch))})", [values[0] for values in batch]
            texts: dict[int, list[dict[str, Any]]] = {}
            for article_id, name, text in conn.execute(
                    f"select article_id, name, text from attachments where article_id {which} and "
                    f"{self._attachment_kind_sql()} order by article_id, position", params):
                texts.setdefault(article_id, []).append({"name": name, "text": text})
            docs = []
            for values in batch:
                row = dict(zip(("id", "portal", "published", "title", "summary", "body_text", "tags", "author"),
                               values, strict=True))
                exact, folded = _fts_texts(row, attachments_search_text(texts.get(row["id"], [])))
                docs.append(SearchDocument(
                    id=row["id"], key=search_key(row["published"], row["id"]), portal=row["portal"] or "",
                    author=row["author"], tags=_json_list(row["tags"]), exact=exact, folded=folded))
            yield docs
            after = batch[-1][0]

    def search_log_position(self) -> int:
        """The newest ``search_log`` sequence number (0 when empty or, in an archive not yet upgraded, absent)."""
        try:
            row = self.db.execute("select max(seq) from search_log").fetchone()
        except sqlite3.OperationalError:
            return 0
        return int(row[0] or 0)

    def search_log_changes(self, after: int, *, limit: int = 50_000) -> tuple[list[int], int]:
        """``(article ids, last seq)`` of up to ``limit`` log rows after ``after`` (ids deduplicated, in order)."""
        rows = self.db.execute("select seq, article_id from search_log where seq > ? order by seq limit ?",
                               [int(after), int(limit)]).fetchall()
        if not rows:
            return [], int(after)
        return list(dict.fromkeys(r[1] for r in rows)), int(rows[-1][0])

    def search_log_entry(self, seq: int) -> list[int] | None:
        """``[article id, random token]`` of log row ``seq`` (``None`` when there is no such row): which change
        that row recorded, in this archive's history and no other's."""
        row = self.db.execute("select article_id, token from search_log where seq = ?", [int(seq)]).fetchone()
        return None if row is None else [int(row[0]), int(row[1] or 0)]

    def trim_search_log(self, applied: int) -> None:
        """Forget the log rows before ``applied`` (an index has applied them); no-op on a read-only archive."""
        if self.readonly:
            return
        self.commit()
        with suppress(sqlite3.OperationalError):  # busy: trimmed next time
            self.db.execute("delete from search_log where seq < ?", [int(applied)])
            self.db.conn.commit()

    def archive_uid(self) -> str | None:
        """A random id given to the archive file when it was made (or upgraded): tells a search index beside it
        whether it was built from this archive or from another one at the same path."""
        value = self._meta_json("archive_uid")
        return value if isinstance(value, str) else None

    def rebuild_search_index(self, *, optimize: bool = True, chunk: int = 5000,
                             progress: Callable[[int, int], None] | None = None) -> int:
        """Build the full-text index from ``articles``; returns the articles indexed.

        Resumable and atomic: rows go into separate build tables in committed chunks of ``chunk`` articles (id
        order, each chunk sorted by search key so FTS5 appends), with the position kept in ``meta``; an
        interrupted build (Ctrl-C, kill, crash) continues from its last chunk at the next writable open. Only a
        finished build replaces the live index, in one transaction, so searches see the old index or the new one,
        never a half-built one. ``optimize`` merges each index into one segment afterwards (faster queries).
        ``progress(done, total)`` is called after each chunk.
        """
        self.commit()
        state = self._meta_json("search_index_build")
        names = set(self.db.table_names())
        if (not isinstance(state, dict) or state.get("format") != SEARCH_INDEX_FORMAT
                or any(t not in names for t in FTS_BUILD.values())):
            self.db.execute("begin immediate")
            try:
                for table in FTS_BUILD.values():
                    self.db.execute(f"drop table if exists [{table}]")
                for table, build in FTS_BUILD.items():
                    self._create_fts_table(build, table)
                state = {"format": SEARCH_INDEX_FORMAT, "after": 0}
                self._set_meta("search_index_build", state)
            except BaseException:
                self.db.conn.rollback()
                raise
            self.db.conn.commit()
        conn = self.db.conn
        after = int(state.get("after") or 0)
        total = self.count("articles")
        done = self.count("articles", "id <= ?", [after])
        build_tables = (FTS_BUILD[FTS_FOLDED], FTS_BUILD[FTS_EXACT])
        cols = ", ".join(FTS_COLUMNS)
        marks = ", ".join("?" * len(FTS_COLUMNS))
        if progress:
            progress(done, total)
        for batch in self.search_text_batches(after=after, chunk=chunk):
            exact_rows = sorted((key, *exact) for _id, key, exact, _folded in batch)
            folded_rows = sorted((key, *folded) for _id, key, _exact, folded in batch)
            conn.execute("begin immediate")
            try:
                conn.executemany(f"insert into [{build_tables[1]}] (rowid, {cols}) values (?, {marks})", exact_rows)
                conn.executemany(f"insert into [{build_tables[0]}] (rowid, {cols}) values (?, {marks})", folded_rows)
                after = batch[-1][0]
                self._set_meta("search_index_build", {"format": SEARCH_INDEX_FORMAT, "after": after})
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
            done += len(batch)
            if progress:
                progress(done, total)
        conn.execute("begin immediate")
        try:
            # articles stored while this process was building (none: writers hold the crawl lock) would be in
            # neither index; the swap re-checks the count so a mismatch is reported, not hidden
            for table, build in FTS_BUILD.items():
                conn.execute(f"drop table if exists [{table}]")
                conn.execute(f"alter table [{build}] rename to [{table}]")
            self._set_meta("search_index", {"format": SEARCH_INDEX_FORMAT, "built_at": utcnow(), "articles": done})
            self._set_meta("search_index_build", None)
        except BaseException:
            conn.rollback()
            raise
        conn.commit()
        if optimize:
            for table in FTS_TABLES:
                conn.execute("begin immediate")
                try:
                    conn.execute(f"insert into [{table}] ([{table}]) values ('optimize')")
                except BaseException:
                    conn.rollback()
                    raise
                conn.commit()
        return done

    def bulk_insert_articles(self, rows: Iterable[dict[str, Any]], *, index: bool = True, chunk: int = 5000) -> int:
        """Insert many *new* articles fast (imports, synthetic data, benchmarks); returns the number inserted.

        No versioning or syndication lookup: every row must have a new ``url``. ``tags`` (list) and
        ``attachments`` (list of {url, name, text}) are written to their tables. Commits every ``chunk`` rows.
        With ``index=False`` the FTS tables are left alone (the index is then ``stale``): call
        :meth:`rebuild_search_index` afterwards (faster for millions of rows).
        """
        self.commit()
        now = utcnow()
        cols = [c for c in TABLES["articles"]["columns"] if c != "id"]
        insert_sql = f"insert into articles ({', '.join(cols)}) values ({', '.join('?' * len(cols))})"
        conn = self.db.conn
        tag_ids = {name: tag_id for tag_id, name in conn.execute("select id, name from tags")}
        count = 0
        pending: list[tuple[int, tuple[str, ...], tuple[str, ...]]] = []

        def flush() -> None:
            for key, exact, folded in sorted(pending):
                self._fts_write(key, exact, folded)
            pending.clear()
            conn.commit()

        for item in rows:
            row = dict(item)
            tags = [t for t in dict.fromkeys(row.get("tags") or []) if t]
            attachments = row.pop("attachments", None) or []
            row["tags"] = _json(tags)
            for key in ("images", "field_sources"):
                if row.get(key) is not None and not isinstance(row[key], str):
                    row[key] = _json(row[key])
            row.setdefault("version", 1)
            row.setdefault("first_seen_at", now)
            row.setdefault("last_seen_at", row["first_seen_at"])
            row.setdefault("updated_at", row["first_seen_at"])
            article_id = int(conn.execute(insert_sql, [row.get(c) for c in cols]).lastrowid)
            for position, name in enumerate(tags):
                if name not in tag_ids:
                    tag_ids[name] = int(conn.execute("insert into tags (name) values (?)", [name]).lastrowid)
                conn.execute("insert or ignore into article_tags (article_id, tag_id, position) values (?, ?, ?)",
                             [article_id, tag_ids[name], position])
            for position, att in enumerate(attachments):
                conn.execute("insert or ignore into attachments (article_id, url, name, position, text) "
                             "values (?, ?, ?, ?, ?)",
                             [article_id, att["url"], att.get("name"), position, att.get("text")])
            self._write_citations(article_id, row)
            if index:
                pending.append((search_key(row.get("published"), article_id),
                                *_fts_texts(row, attachments_search_text(attachments))))
            else:  # logged by _fts_write when indexed
                conn.execute(_SEARCH_LOG_INSERT, [article_id])
            count += 1
            if count % chunk == 0:
                flush()
        flush()
        return count

    def _article_filters(self, filters: dict[str, Any] | None, *, dates: bool,
                         portals: bool = True) -> tuple[list[str], list[Any]]:
        """SQL conditions on alias ``a`` (articles) for portal / author / tag (and date) filters."""
        filters = filters or {}
        where: list[str] = []
        params: list[Any] = []
        portal_list = _as_list(filters.get("portal"))
        if portals and portal_list:
            where.append(f"a.portal in ({', '.join('?' * len(portal_list))})")
            params.extend(portal_list)
        if filters.get("author"):
            if not getattr(self, "_fold_sql_registered", False):
                self.db.conn.create_function("govarchive_fold", 1, fold_text, deterministic=True)
                self._fold_sql_registered = True
            where.append("instr(govarchive_fold(a.author), ?) > 0")
            params.append(fold_text(filters["author"]))
        for tag in _as_list(filters.get("tag")):
            wanted = fold_text(tag).strip()
            ids = [tid for tid, name in self.db.execute("select id, name from tags") if fold_text(name) == wanted]
            where.append(
                f"a.id in (select article_id from article_tags where tag_id in ({', '.join('?' * len(ids))}))"
                if ids else "0")
            params.extend(ids)
        if dates and filters.get("since"):
            where.append("a.published >= ?")
            params.append(filters["since"])
        if dates and filters.get("until"):
            where.append("a.published < ?")
            params.append((date.fromisoformat(filters["until"]) + timedelta(days=1)).isoformat())
        return where, params

    def _fts_sql(self, select: str, expression: str, exact: bool, filters: dict[str, Any] | None, *,
                 min_key: int | None = None, max_key: int | None = None,
                 join_articles: bool = False) -> tuple[str, list[Any]]:
        """``select ... from <fts> [join articles a] where match ... and filters`` (no ORDER BY / LIMIT)."""
        table = FTS_EXACT if exact else FTS_FOLDED
        filters = filters or {}
        portal_list = _as_list(filters.get("portal"))
        if portal_list:
            tokens = " OR ".join('"' + portal_token(p) + '"' for p in portal_list)
            expression = f"({expression}) AND portal : ({tokens})"
        lo, hi = search_key_bounds(filters.get("since"), filters.get("until"))
        if min_key is not None:
            lo = min_key if lo is None else max(lo, min_key)
        if max_key is not None:
            hi = max_key if hi is None else min(hi, max_key)
        where, params = [f"[{table}] match ?"], [expression]
        if lo is not None:
            where.append(f"[{table}].rowid >= ?")
            params.append(lo)
        if hi is not None:
            where.append(f"[{table}].rowid < ?")
            params.append(hi)
        conditions, extra = self._article_filters(filters, dates=False, portals=False)
        join = (f" join articles a on a.id = ([{table}].rowid & {SEARCH_KEY_ID_MASK})"
                if conditions or join_articles else "")
        select = select.replace("{t}", f"[{table}]")
        return f"select {select} from [{table}]{join} where {' and '.join(where + conditions)}", params + extra

    def _fts_execute(self, sql: str, params: list[Any]) -> sqlite3.Cursor:
        self._flush_fts()  # this connection's queued index rows count too
        try:
            return self.db.execute(sql, params)
        except sqlite3.OperationalError as exc:
            if "fts5" in str(exc) or "syntax" in str(exc) or "no such column" in str(exc):
                raise SearchQueryError(str(exc)) from exc
            raise

    def _exclusion(self, sql: str, params: list[Any], table: str, exclude: tuple[str, bool] | None,
                   filters: dict[str, Any] | None) -> tuple[str, list[Any]]:
        """``sql`` restricted to rows *not* matching ``exclude = (expression, in the exact index)``."""
        if not exclude:
            return sql, params
        keep = {k: v for k, v in (filters or {}).items() if k in ("since", "until", "portal")}
        sub, sub_params = self._fts_sql("{t}.rowid", exclude[0], exclude[1], keep)
        return f"{sql} and [{table}].rowid not in ({sub})", params + sub_params

    def fts_count(self, expression: str, *, exact: bool = False, filters: dict[str, Any] | None = None,
                  exclude: tuple[str, bool] | None = None) -> int:
        """Exact number of articles matching an FTS5 expression (with filters), less those matching ``exclude``
        (``(expression, exact index?)``). Raises :class:`SearchQueryError`."""
        sql, params = self._fts_sql("count(*)", expression, exact, filters)
        sql, params = self._exclusion(sql, params, FTS_EXACT if exact else FTS_FOLDED, exclude, filters)
        return int(self._fts_execute(sql, params).fetchone()[0])

    def fts_search(self, expression: str, *, exact: bool = False, filters: dict[str, Any] | None = None,
                   limit: int = 20, offset: int = 0, ranked: bool = False, keys: Iterable[int] | None = None,
                   exclude: tuple[str, bool] | None = None) -> list[tuple[int, float | None]]:
        """``(search_key, bm25 or None)`` of matching articles: newest first, or by bm25 (lower = better) when
        ``ranked``, ``limit`` rows after ``offset`` (``limit=-1``: all). ``keys`` restricts to these search keys
        (rowid lookups); ``exclude = (expression, exact index?)`` leaves out the articles matching it.
        Raises :class:`SearchQueryError` for an invalid expression.
        """
        weights = ", ".join(map(str, FTS_WEIGHTS))
        score = f"bm25({{t}}, {weights})" if ranked else "null"
        sql, params = self._fts_sql(f"{{t}}.rowid, {score}", expression, exact, filters)
        table = FTS_EXACT if exact else FTS_FOLDED
        if keys is not None:
            keys = [int(k) for k in keys]
            if not keys:
                return []
            sql += f" and [{table}].rowid in ({', '.join('?' * len(keys))})"
            params += keys
        sql, params = self._exclusion(sql, params, table, exclude, filters)
        sql += " order by 2, 1 desc" if ranked else " order by 1 desc"
        sql += " limit ? offset ?"
        return [(int(k), v) for k, v in self._fts_execute(sql, [*params, int(limit), max(0, int(offset))])]

    def fts_page(self, expression: str, *, exact: bool = False, filters: dict[str, Any] | None = None,
                 limit: int = 20, offset: int = 0, ranked: bool = False, exclude: tuple[str, bool] | None = None,
                 count: bool = True) -> tuple[int, list[tuple[int, float | None]]]:
        """``(exact total, or 0 without count; page)``: :meth:`fts_count` and :meth:`fts_search` together (the
        engine interface :mod:`govarchive.search` shares with :class:`govarchive.searchindex.TantivyIndex`)."""
        total = self.fts_count(expression, exact=exact, filters=filters, exclude=exclude) if count else 0
        if limit == 0 or (count and total <= offset):
            return total, []
        return total, self.fts_search(expression, exact=exact, filters=filters, limit=limit, offset=offset,
                                      ranked=ranked, exclude=exclude)

    def fts_iter(self, expression: str, *, exact: bool = False,
                 filters: dict[str, Any] | None = None) -> Iterator[int]:
        """Search keys of matching articles, newest first, streamed from one cursor (for merging two indexes)."""
        sql, params = self._fts_sql("{t}.rowid", expression, exact, filters)
        for (key,) in self._fts_execute(sql + " order by 1 desc", params):
            yield int(key)

    def _vocabulary(self, table: str = FTS_FOLDED) -> str:
        self._flush_fts()  # this connection's queued index rows count too
        name = f"{table}_terms"
        self.db.execute(f"create virtual table if not exists temp.[{name}] using fts5vocab(main, '{table}', "
                        "'instance')")
        return f"temp.[{name}]"

    def fts_prefix_terms(self, prefix: str, *, limit: int = 64) -> list[str] | None:
        """Single-syllable terms of the folded index that start with ``prefix``; ``None`` when more than ``limit``.

        One seek per term in FTS5's ``instance`` vocabulary (the first instance only), so the cost follows the
        number of terms, not the size of their doclists; ``prefix*`` can then be searched as an OR of whole terms,
        which FTS5 reads lazily in rowid order instead of merging every matching doclist first. Pair terms
        (``thu_tuong``) are skipped in one seek each syllable.
        """
        if not prefix:
            return None
        vocabulary = self._vocabulary()
        terms: list[str] = []
        start = prefix
        pairs = searchtext.PAIR_JOIN in prefix
        while len(terms) <= limit:
            # no `term < upper bound` in SQL: the vocabulary would read every instance of the first term past it
            row = self.db.execute(f"select term from {vocabulary} where term >= ? limit 1", [start]).fetchone()
            if row is None or not row[0].startswith(prefix):
                return terms
            term = row[0]
            if not pairs and searchtext.PAIR_JOIN in term:
                # skip every pair that starts with this syllable: '`' is the character after '_'
                start = term.split(searchtext.PAIR_JOIN, 1)[0] + "`"
                continue
            terms.append(term)
            start = term + "\x01"  # the smallest string after every instance of this term
        return None

    def fts_terms_present(self, terms: Iterable[str]) -> set[str]:
        """Which of these terms the folded index holds (one seek each)."""
        vocabulary = self._vocabulary()
        return {t for t in dict.fromkeys(terms)
                if self.db.execute(f"select 1 from {vocabulary} where term = ? limit 1", [t]).fetchone()}

    def search_attachments(self, article_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
        """Attachments (url, name, filename, text) of these articles, in page order, keyed by article id.

        ``name`` is the link text, ``filename`` the original file name (``None`` in archives not yet upgraded).
        """
        ids = list(article_ids)
        out: dict[int, list[dict[str, Any]]] = {}
        if not ids:
            return out
        filename = "filename" if "filename" in self.db["attachments"].columns_dict else "null"
        cur = self.db.execute(f"select article_id, url, name, {filename}, text from attachments where article_id in "
                              f"({', '.join('?' * len(ids))}) and {self._attachment_kind_sql()} "
                              "order by article_id, position", ids)
        for article_id, url, name, file_name, text in cur:
            out.setdefault(article_id, []).append({"url": url, "name": name, "filename": file_name, "text": text})
        return out

    def articles_by_ids(self, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """Rows (without ``body_html``) of these article ids, keyed by id."""
        ids = list(ids)
        if not ids:
            return {}
        cur = self.db.execute(
            "select id, url, portal, title, summary, body_text, author, category, published, tags, version "
            f"from articles where id in ({', '.join('?' * len(ids))})", ids)
        names = [d[0] for d in cur.description]
        return {r[0]: dict(zip(names, r, strict=True)) for r in cur}

    def find_article(self, urls: Iterable[str]) -> dict[str, Any] | None:
        """The first article whose canonical, source or final URL is one of ``urls`` (in that order)."""
        urls = list(urls)
        if not urls:
            return None
        marks = ", ".join("?" * len(urls))
        for column in ("url", "source_url", "final_url"):
            rows = list(self.db["articles"].rows_where(f"[{column}] in ({marks})", urls, order_by="id", limit=1))
            if rows:
                return rows[0]
        return None

    def article_by_id(self, article_id: int) -> dict[str, Any] | None:
        """The article row with this id, or ``None``."""
        rows = list(self.db["articles"].rows_where("id = ?", [article_id], limit=1))
        return rows[0] if rows else None

    def export_columns(self, *, include_html: bool = False) -> list[str]:
        """Article columns an export carries: every column of ``articles`` (``body_html`` on request)."""
        return [c for c in self.db["articles"].columns_dict if include_html or c != "body_html"]

    def iter_export(self, filters: dict[str, Any] | None = None, *, expression: str | None = None,
                    include_html: bool = False) -> Iterator[dict[str, Any]]:
        """Stream articles for export (a cursor: constant memory): every article column, plus ``tags``,
        ``attachments`` (every attachment column but the extracted text), ``citations`` (document numbers) and
        ``document`` (the legal-document fields, for document pages) as JSON text.

        Without ``expression``: filtered articles in id order. With an FTS5 ``expression`` (folded index): the
        matches, newest first.
        """
        columns = self.export_columns(include_html=include_html)
        tables = set(self.db.table_names())  # an archive read before its upgrade may lack the newer tables
        att_cols = [c for c in self.db["attachments"].columns_dict if c not in ("article_id", "text")]
        select = ", ".join(f"a.[{c}]" for c in columns if c != "tags") + (
            ", (select json_group_array(name) from (select t.name from article_tags at join tags t"
            " on t.id = at.tag_id where at.article_id = a.id order by at.position)) as tags"
            ", (select json_group_array(json_object(" + ", ".join(f"'{c}', [{c}]" for c in att_cols) + "))"
            f" from (select * from attachments where article_id = a.id and {self._attachment_kind_sql()}"
            " order by position)) as attachments")
        select += (", (select json_group_array(number) from (select number from citations where article_id = a.id"
                   " order by position)) as citations" if "citations" in tables else ", '[]' as citations")
        if "documents" in tables:
            doc_cols = [c for c in self.db["documents"].columns_dict if c != "article_id"]
            select += (", (select json_object(" + ", ".join(f"'{c}', d.[{c}]" for c in doc_cols) + ") from "
                       "documents d where d.article_id = a.id) as document")
        else:
            select += ", null as document"
        if expression:
            sql, params = self._fts_sql(select, expression, False, filters, join_articles=True)
            sql += f" order by [{FTS_FOLDED}].rowid desc"
        else:
            conditions, params = self._article_filters(filters, dates=True)
            sql = f"select {select} from articles a" + (f" where {' and '.join(conditions)}" if conditions else "")
            sql += " order by a.id"
        cursor = self._fts_execute(sql, params)
        names = [d[0] for d in cursor.description]
        for values in cursor:
            yield dict(zip(names, values, strict=True))

    def latest_runs(self) -> list[dict[str, Any]]:
        """The newest crawl run of each portal."""
        return list(self.db["crawl_runs"].rows_where(
            "id in (select max(id) from crawl_runs group by portal)", order_by="portal"))

    def open_failures_by_portal(self) -> dict[str, int]:
        """Open (not yet recovered) failures per portal."""
        return dict(self.db.execute("select portal, count(*) from failures group by portal order by portal"))

    def newest_article(self) -> dict[str, Any] | None:
        """The article with the latest ``published`` time."""
        rows = list(self.db["articles"].rows_where(
            "published is not null", select="id, portal, title, published, url", order_by="published desc", limit=1))
        return rows[0] if rows else None


# -- schema migrations ---------------------------------------------------------------------------------------
# Upgrades of an existing archive beyond what ensure_schema does by itself (it adds missing tables, nullable
# columns and indexes from TABLES/INDEXES). Each entry is (unique name, function(archive)); it runs once, inside one
# transaction, on archives made before it, in list order, and is recorded in `schema_migrations`. Append only:
# never rename, reorder or remove an entry that has shipped. tests/data/archive-0.1.0.db is an archive made by
# release 0.1.0 (the demo), which tests/test_migrations.py upgrades in place.
MIGRATIONS: list[tuple[str, Callable[[Archive], None]]] = []


def _archival_fidelity(archive: Archive) -> None:
    """Issue 11: content from before it came from fetches; attachment rows before it were all attachments."""
    archive.db.execute("update articles set origin = 'fetch' where origin is null")
    archive.db.execute("update article_versions set origin = 'fetch' where origin is null")
    archive.db.execute("update attachments set kind = 'attachment' where kind is null")


MIGRATIONS.append(("0002-archival-fidelity", _archival_fidelity))


def _migrate_search_index_v2(archive: Archive) -> None:
    """Drop the syllable-only index of release 0.1.0: the next step of the open rebuilds it with syllable pairs,
    attachment text and the portal column (resumable; see :meth:`Archive.rebuild_search_index`)."""
    for table in (*FTS_TABLES, *FTS_BUILD.values()):
        archive.db.execute(f"drop table if exists [{table}]")
    archive.db.execute("delete from meta where key in ('search_index', 'search_index_build')")


def _backfill_citations(archive: Archive) -> None:
    """Extract the document numbers cited by every archived article into ``citations``."""
    cursor = archive.db.conn.execute("select id, title, summary, body_text from articles order by id")
    while batch := cursor.fetchmany(2000):
        for article_id, title, summary, body in batch:
            archive._write_citations(article_id, {"title": title, "summary": summary, "body_text": body})


MIGRATIONS.append(("search_index_v2_syllable_pairs", _migrate_search_index_v2))
MIGRATIONS.append(("citations_backfill", _backfill_citations))
