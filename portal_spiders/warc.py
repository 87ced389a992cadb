"""Raw captures in WARC/1.1 files (ISO 28500), written with ``warcio``.

Every response the crawl receives is written as a ``request`` + ``response`` + ``metadata`` record triple, each
record its own gzip member, into ``<archive dir>/warc/`` (setting ``WARC_DIR``). :class:`WarcCaptureMiddleware` sits
next to the downloader (priority 950), so it sees the bytes as they came off the wire: still compressed when the
server sent ``Content-Encoding: gzip`` (HttpCompressionMiddleware decodes later, at 590), before redirects are
followed and before retries. Twisted has already removed chunked transfer coding, so ``Transfer-Encoding`` is renamed
``X-Govarchive-Orig-Transfer-Encoding`` and ``Content-Length`` set to the body as stored; every other header is kept.

The middleware puts a pointer to the response record in ``request.meta["warc"]`` (a plain dict, so it travels with
the item: :attr:`portal_spiders.items.ArticleItem.capture`): ``file`` (relative to the archive's folder when inside
it), ``offset`` and ``length`` of the gzip member, ``record_id``, ``digest`` (WARC-Payload-Digest), ``url``,
``status`` and ``date``.

Crash safety: a file being written is named ``*.warc.gz.open`` and holds an exclusive ``flock``; each record is
written and flushed to the kernel before its pointer exists, so a SIGKILL can only cut the record being written,
which nothing points to. On rotation or a clean close the file is renamed to ``*.warc.gz``. The next run finds
``.open`` files nobody holds, truncates them after the last complete gzip member, renames them and reports what it
cut (:func:`recover_directory`); the caller drops any archive pointer into the cut region.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import logging
import os
import socket
import struct
import threading
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from isal import isal_zlib
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

logger = logging.getLogger(__name__)

DEFAULT_MAX_SIZE = 1024**3  # rotate after 1 GiB
OPEN_SUFFIX = ".open"
# Gzip members are written with ISA-L (python-isal) rather than zlib: the output is ordinary gzip, which any WARC
# reader inflates, and compressing was most of the cost of a capture. benchmarks/bench_warc.py, zlib level 6 against
# ISA-L level 2: 0.56 -> 0.30 ms per HTML capture for 32.3% -> 34.9% of the page's size; 7.8 -> 1.8 ms per 300 KB
# of incompressible bytes (images, PDFs).
GZIP_LEVEL = 2
# Response bodies that are compressed already (JPEG, PNG, video, zip-based office files and archives, or a gzip/br
# content encoding): deflating them again gains a percent of size for most of a capture's CPU (1.8 ms per 300 KB at
# level 2), so their records are gzip members of stored blocks (CRC only; still ordinary gzip). PDFs are not in the
# list: many portals' PDFs have uncompressed streams.
STORED_TYPES = frozenset({
    "image/jpeg", "image/pjpeg", "image/png", "image/gif", "image/webp", "image/avif", "image/heic",
    "application/zip", "application/x-zip-compressed", "application/gzip", "application/x-gzip",
    "application/x-rar-compressed", "application/vnd.rar", "application/x-7z-compressed", "application/epub+zip",
})
STORED_PREFIXES = ("video/", "audio/", "application/vnd.openxmlformats-officedocument.",
                   "application/vnd.oasis.opendocument.")
SOFTWARE = "govarchive (Scrapy; warcio)"
# Hop-by-hop framing Twisted has already undone: kept under another name so the stored headers match the body.
_RENAMED = {"transfer-encoding": "X-Govarchive-Orig-Transfer-Encoding"}


def warc_dir_for(archive_db: str | Path, configured: str | Path | None = None) -> Path:
    """The WARC folder of an archive: ``configured`` or ``warc/`` beside the database file."""
    if configured:
        return Path(configured)
    return Path(archive_db).resolve().parent / "warc"


def pointer_path(file: str, archive_db: str | Path) -> Path:
    """Absolute path of a pointer's ``file`` (relative names are relative to the archive's folder)."""
    path = Path(file)
    return path if path.is_absolute() else Path(archive_db).resolve().parent / path


def existing_path(path: Path) -> Path:
    """``path``, or its ``.open`` twin while the file is still being written."""
    if path.exists():
        return path
    twin = path.with_name(path.name + OPEN_SUFFIX)
    return twin if twin.exists() else path


def _member(data: bytes, *, stored: bool = False) -> bytes:
    """``data`` as one gzip member (``stored``: in stored blocks, not deflated)."""
    if stored:
        return _stored_member(data)
    compressor = isal_zlib.compressobj(GZIP_LEVEL, isal_zlib.DEFLATED, isal_zlib.MAX_WBITS | 16)
    return compressor.compress(data) + compressor.flush()


_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, no name, no time, unknown OS (RFC 1952)


def _stored_member(data: bytes) -> bytes:
    """A gzip member holding ``data`` in stored deflate blocks (RFC 1951 §3.2.4): framing and a CRC. zlib at level
    0 makes the same bytes but pushes them through its window: 0.41 ms for 300 KB against 0.05 ms here."""
    view = memoryview(data)
    parts = [_GZIP_HEADER]
    size = len(data)
    for start in range(0, max(size, 1), 0xFFFF):
        block = view[start:start + 0xFFFF]
        final = start + 0xFFFF >= size
        parts.append(struct.pack("<BHH", 1 if final else 0, len(block), len(block) ^ 0xFFFF))
        parts.append(block)
    parts.append(struct.pack("<II", isal_zlib.crc32(data) & 0xFFFFFFFF, size & 0xFFFFFFFF))
    return b"".join(parts)


def compressed_already(headers: list[tuple[str, str]]) -> bool:
    """Whether a response with these headers carries a compressed body (see :data:`STORED_TYPES`)."""
    for name, value in headers:
        key = name.lower()
        if key == "content-type":
            kind = value.split(";", 1)[0].strip().lower()
            if kind in STORED_TYPES or kind.startswith(STORED_PREFIXES):
                return True
        elif key == "content-encoding" and \
                value.strip().lower() in ("gzip", "x-gzip", "br", "deflate", "zstd"):
            return True
    return False


@dataclass
class Exchange:
    """One HTTP exchange to record, in wire form (header names and values as bytes or text)."""

    url: str
    method: str
    request_headers: list[tuple[str, str]]
    request_body: bytes
    status: int
    reason: str
    protocol: str
    response_headers: list[tuple[str, str]]
    body: bytes
    ip_address: str | None = None
    fetched_at: datetime | None = None
    metadata: dict[str, str] | None = None


class WarcWriter:
    """Writes exchanges into size-rotated, gzip-per-record WARC/1.1 files in one folder (thread-safe).

    ``label`` goes into the file names: ``<label>-<UTC timestamp>-<serial>-<pid>-<host>.warc.gz`` (the IIPC naming
    convention). ``relative_to`` (the archive's folder) makes the pointers' ``file`` relative when possible.
    """

    def __init__(self, directory: str | Path, *, label: str = "govarchive", max_size: int = DEFAULT_MAX_SIZE,
                 relative_to: str | Path | None = None, info: dict[str, str] | None = None) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.label = "".join(c if c.isalnum() or c in "-_" else "-" for c in label) or "govarchive"
        self.max_size = max(1024, int(max_size))
        self.relative_to = Path(relative_to).resolve() if relative_to else None
        self.info = info or {}
        self.records = 0
        self.files_written: list[Path] = []
        self._serial = 0
        self._lock = threading.Lock()
        self._out: BinaryIO | None = None
        self._name: str | None = None
        self._size = 0
        self._ref: tuple[str, str] | None = None  # (file name, its pointer form), resolved once per file

    # -- files ---------------------------------------------------------------------------------------------

    def _open_next(self) -> None:
        self._serial += 1
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")[:17]
        host = socket.gethostname().split(".")[0] or "localhost"
        name = f"{self.label}-{stamp}-{self._serial:05d}-{os.getpid()}-{host}.warc.gz"
        path = self.directory / (name + OPEN_SUFFIX)
        out = open(path, "xb")  # noqa: SIM115 - held open across calls, closed by _close_current
        fcntl.flock(out.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._out, self._name, self._size = out, name, 0
        buf = io.BytesIO()
        writer = WARCWriter(buf, gzip=False, warc_version="1.1")
        fields = {"software": SOFTWARE, "format": "WARC File Format 1.1",
                  "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
                  "hostname": host, **self.info}
        writer.write_record(writer.create_warcinfo_record(name, fields))
        self._append(buf.getvalue())

    def _append(self, data: bytes, *, flush: bool = True, stored: bool = False) -> tuple[int, int]:
        assert self._out is not None
        member = _member(data, stored=stored)
        offset = self._size
        self._out.write(member)
        if flush:
            self._out.flush()  # in the kernel before anyone can point to it: a SIGKILL cannot lose it
        self._size += len(member)
        return offset, len(member)

    def _close_current(self) -> None:
        if self._out is None:
            return
        assert self._name is not None
        try:
            self._out.flush()
            os.fsync(self._out.fileno())
        except OSError as exc:  # a full disk or a file size limit: the file cannot be finished, nothing else is lost
            logger.error("WARC file %s could not be finished (%s): it stays as %s%s; its complete records are "
                         "readable, and the next writer's recovery cuts the rest", self._name, exc, self._name,
                         OPEN_SUFFIX)
            with contextlib.suppress(OSError):
                self._out.close()
            self._out = self._name = None
            self._size = 0
            return
        final = self.directory / self._name
        os.replace(self.directory / (self._name + OPEN_SUFFIX), final)
        self._out.close()  # releases the flock
        self.files_written.append(final)
        self._out = self._name = None
        self._size = 0

    def close(self) -> None:
        """Finish the current file (fsync, rename without ``.open``)."""
        with self._lock:
            self._close_current()

    def _file_ref(self) -> str:
        assert self._name is not None
        if self._ref is None or self._ref[0] != self._name:
            self._ref = (self._name, self._resolve_ref(self._name))
        return self._ref[1]

    def _resolve_ref(self, name: str) -> str:
        path = (self.directory / name).resolve()
        if self.relative_to is not None:
            try:
                return str(path.relative_to(self.relative_to))
            except ValueError:
                pass
        return str(path)

    # -- records -------------------------------------------------------------------------------------------

    def write(self, ex: Exchange) -> dict[str, Any]:
        """Write the request, response and metadata records of one exchange; returns the response's pointer."""
        when = ex.fetched_at or datetime.now(UTC)
        warc_date = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        out = io.BytesIO()
        builder = WARCWriter(out, gzip=False, warc_version="1.1")  # one writer per exchange: its set-up is not free
        response_id = f"<urn:uuid:{uuid.uuid4()}>"
        common = {"WARC-Date": warc_date}
        resp_headers = [(_RENAMED.get(k.lower(), k), v) for k, v in ex.response_headers]
        resp_headers = [(k, v) for k, v in resp_headers if k.lower() != "content-length"]
        resp_headers.append(("Content-Length", str(len(ex.body))))
        http = StatusAndHeaders(f"{ex.status} {ex.reason}".strip(), resp_headers, protocol=ex.protocol or "HTTP/1.1")
        extra = {"WARC-IP-Address": ex.ip_address} if ex.ip_address else {}
        response = builder.create_warc_record(
            ex.url, "response", payload=io.BytesIO(ex.body), length=len(ex.body), http_headers=http,
            warc_headers_dict={**common, **extra, "WARC-Record-ID": response_id})
        parts = urlsplit(ex.url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        req_headers = [(k, v) for k, v in ex.request_headers if k.lower() != "host"]
        req_headers.insert(0, ("Host", parts.netloc))
        request = builder.create_warc_record(
            ex.url, "request", payload=io.BytesIO(ex.request_body), length=len(ex.request_body),
            http_headers=StatusAndHeaders(f"{ex.method} {target} HTTP/1.1", req_headers, protocol="",
                                          is_http_request=True),
            warc_headers_dict={**common, "WARC-Concurrent-To": response_id})
        meta_body = "".join(f"{k}: {v}\r\n" for k, v in (ex.metadata or {}).items() if v is not None).encode()
        metadata = builder.create_warc_record(
            ex.url, "metadata", payload=io.BytesIO(meta_body), length=len(meta_body),
            warc_content_type="application/warc-fields",
            warc_headers_dict={**common, "WARC-Concurrent-To": response_id})
        blobs = []
        for record in (response, request, metadata):
            builder.write_record(record)
            blobs.append(out.getvalue())
            out.seek(0)
            out.truncate()
        with self._lock:
            if self._out is None or self._size >= self.max_size:
                self._close_current()
                self._open_next()
            offset, length = self._append(blobs[0], flush=False, stored=compressed_already(resp_headers))
            self._append(blobs[1], flush=False)
            self._append(blobs[2])  # one flush for the three records, before the pointer is handed out
            self.records += 3
            file_ref = self._file_ref()
        return {"file": file_ref, "offset": offset, "length": length, "record_id": response_id,
                "digest": response.rec_headers.get_header("WARC-Payload-Digest"), "url": ex.url,
                "status": ex.status, "date": warc_date}


# -- reading ---------------------------------------------------------------------------------------------------


@dataclass
class CapturedResponse:
    """A response record read back from a WARC file."""

    url: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes  # payload with Content-Encoding (gzip, deflate, br) undone, as Scrapy would have seen it
    record_id: str
    date: str
    digest: str | None

    def header(self, name: str) -> str | None:
        """First value of an HTTP header (case-insensitive)."""
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)


class WarcReadError(Exception):
    """The record is missing, truncated or not an HTTP response."""


def read_response(path: str | Path, offset: int) -> CapturedResponse:
    """The response record starting at ``offset`` in ``path`` (replays a pointer without scanning the file)."""
    path = existing_path(Path(path))
    try:
        with open(path, "rb") as fh:
            fh.seek(int(offset))
            for record in ArchiveIterator(fh):
                if record.rec_type != "response" or record.http_headers is None:
                    raise WarcReadError(f"{path}@{offset}: a {record.rec_type} record, not a response")
                body = record.content_stream().read()
                status = int(record.http_headers.get_statuscode() or 0)
                return CapturedResponse(
                    url=record.rec_headers.get_header("WARC-Target-URI"), status=status,
                    headers=list(record.http_headers.headers), body=body,
                    record_id=record.rec_headers.get_header("WARC-Record-ID"),
                    date=record.rec_headers.get_header("WARC-Date"),
                    digest=record.rec_headers.get_header("WARC-Payload-Digest"))
    except FileNotFoundError as exc:
        raise WarcReadError(f"WARC file not found: {path}") from exc
    except WarcReadError:
        raise
    except Exception as exc:
        raise WarcReadError(f"{path}@{offset}: {type(exc).__name__}: {exc}") from exc
    raise WarcReadError(f"{path}@{offset}: no record at this offset")


# -- crash recovery --------------------------------------------------------------------------------------------


@dataclass
class Recovery:
    """What :func:`recover_directory` did to one unfinished file."""

    path: Path  # the final name (without .open)
    good_end: int  # bytes kept: the end of the last complete record
    cut: int  # bytes removed after it (a partial record)


def complete_members_end(fh: BinaryIO, chunk: int = 1 << 20) -> int:
    """Offset just after the last complete gzip member of a file (members are checked, not trusted)."""
    fh.seek(0)
    good = pos = 0
    decomp = zlib.decompressobj(zlib.MAX_WBITS | 16)
    pending = b""
    while True:
        data = pending or fh.read(chunk)
        pending = b""
        if not data:
            return good
        try:
            decomp.decompress(data)
        except zlib.error:
            return good
        if decomp.eof:
            used = len(data) - len(decomp.unused_data)
            pos += used
            good = pos
            pending = decomp.unused_data
            decomp = zlib.decompressobj(zlib.MAX_WBITS | 16)
            if not pending:
                continue
        else:
            pos += len(data)


def _locked_by_someone(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return True
    os.close(fd)  # closing drops our probe lock
    return False


def recover_directory(directory: str | Path) -> list[Recovery]:
    """Finish every ``*.warc.gz.open`` file no live writer holds: cut a partial last record, drop ``.open``."""
    found: list[Recovery] = []
    directory = Path(directory)
    if not directory.is_dir():
        return found
    for path in sorted(directory.glob(f"*.warc.gz{OPEN_SUFFIX}")):
        if _locked_by_someone(path):
            continue
        with open(path, "r+b") as fh:
            size = os.fstat(fh.fileno()).st_size
            good = complete_members_end(fh)
            if good < size:
                fh.truncate(good)
            fh.flush()
            os.fsync(fh.fileno())
        final = path.with_name(path.name[: -len(OPEN_SUFFIX)])
        os.replace(path, final)
        found.append(Recovery(final, good, size - good))
        if size > good:
            logger.warning("WARC %s ended in a partial record (killed writer): cut %d bytes after offset %d",
                           final, size - good, good)
        else:
            logger.info("WARC %s was left open by a killed writer; complete, closed", final)
    return found


def iter_warc_files(directory: str | Path) -> Iterator[Path]:
    """Finished WARC files of a folder, oldest first."""
    yield from sorted(Path(directory).glob("*.warc.gz"))


# -- the Scrapy downloader middleware ----------------------------------------------------------------------------

_WRITERS: dict[str, tuple[WarcWriter, int]] = {}
_WRITERS_LOCK = threading.Lock()


def acquire_writer(directory: Path, **kwargs: Any) -> WarcWriter:
    """The process-wide writer of a folder (crawlers in one process share files, like they share the archive)."""
    key = str(directory.resolve())
    with _WRITERS_LOCK:
        writer, users = _WRITERS.get(key, (None, 0))
        if writer is None:
            writer = WarcWriter(directory, **kwargs)
        _WRITERS[key] = (writer, users + 1)
        return writer


def release_writer(writer: WarcWriter) -> None:
    """Give a writer back; the last user closes its file."""
    key = str(writer.directory.resolve())
    with _WRITERS_LOCK:
        _, users = _WRITERS.get(key, (writer, 1))
        if users <= 1:
            _WRITERS.pop(key, None)
            writer.close()
        else:
            _WRITERS[key] = (writer, users - 1)


def _headers(headers: Any) -> list[tuple[str, str]]:
    out = []
    for name, values in headers.items():
        key = name.decode("latin-1") if isinstance(name, bytes) else str(name)
        for value in values:
            out.append((key, value.decode("latin-1") if isinstance(value, bytes) else str(value)))
    return out


class WarcCaptureMiddleware:
    """Downloader middleware writing every response (and its request) to WARC; see the module docstring.

    Settings: ``WARC_ENABLED`` (default True), ``WARC_DIR`` (default: ``warc/`` beside ``ARCHIVE_DB``),
    ``WARC_MAX_SIZE`` (bytes, default 1 GiB). Requests with ``meta["dont_warc"]`` are not recorded.
    """

    def __init__(self, crawler: Any) -> None:
        from scrapy import signals
        from scrapy.exceptions import NotConfigured

        settings = crawler.settings
        if not settings.getbool("WARC_ENABLED", True):
            raise NotConfigured("WARC_ENABLED is off")
        self.crawler = crawler
        self.archive_db = settings.get("ARCHIVE_DB") or "data/archive.db"
        self.directory = warc_dir_for(self.archive_db, settings.get("WARC_DIR") or None)
        self.max_size = settings.getint("WARC_MAX_SIZE", DEFAULT_MAX_SIZE)
        self.replica = settings.get("REPLICA_URL") or ""
        self.writer: WarcWriter | None = None
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Any) -> WarcCaptureMiddleware:
        """Scrapy factory."""
        return cls(crawler)

    def spider_opened(self, spider: Any) -> None:
        """Recover files a killed run left open, then open this process's writer."""
        recovered = recover_directory(self.directory)
        cut = [r for r in recovered if r.cut]
        if recovered:
            self.crawler.stats.inc_value("govarchive/warc/recovered_files", len(recovered))
        if cut:
            self.crawler.stats.inc_value("govarchive/warc/truncated_bytes", sum(r.cut for r in cut))
            self._forget_cut_pointers(cut)
        stem = Path(self.archive_db).stem
        self.writer = acquire_writer(
            self.directory, label=f"govarchive-{stem}", max_size=self.max_size,
            relative_to=Path(self.archive_db).resolve().parent,
            info={"isPartOf": stem, **({"replica": self.replica} if self.replica else {})})

    def _forget_cut_pointers(self, cut: list[Recovery]) -> None:
        """Drop archive pointers into bytes a recovery removed (only possible after a power cut)."""
        from govarchive.archive import Archive

        if self.crawler.settings.get("GOVARCHIVE_CLUSTER"):  # a cluster worker never opens the archive
            logger.error("WARC recovery cut %s: pointers into the cut part stay in the archive (docs/scale.md)",
                         ", ".join(str(r.path) for r in cut))
            return

        with Archive(self.archive_db) as archive:
            for rec in cut:
                ref = rec.path.resolve()
                base = Path(self.archive_db).resolve().parent
                names = {str(ref)}
                with contextlib.suppress(ValueError):
                    names.add(str(ref.relative_to(base)))
                dropped = archive.forget_captures(sorted(names), from_offset=rec.good_end)
                if dropped:
                    logger.warning("dropped %d archive pointers into the cut part of %s", dropped, rec.path)

    def spider_closed(self, spider: Any) -> None:
        """Give the writer back (the last crawler of the process closes the file)."""
        if self.writer is not None:
            release_writer(self.writer)
            self.writer = None

    def process_response(self, request: Any, response: Any) -> Any:
        """Record the exchange as received; put the response record's pointer in ``request.meta["warc"]``."""
        if self.writer is None or request.meta.get("dont_warc") or "cached" in response.flags:
            return response
        from http import HTTPStatus

        try:
            reason = HTTPStatus(response.status).phrase
        except ValueError:
            reason = ""
        spider = self.crawler.spider
        metadata = {
            "via": request.headers.get("Referer", b"").decode("latin-1") or None,
            "fetchTimeMs": str(int(request.meta["download_latency"] * 1000))
            if request.meta.get("download_latency") is not None else None,
            "govarchive-portal": getattr(spider, "name", None),
            "govarchive-kind": _kind(request),
            "govarchive-redirected-from": (request.meta.get("redirect_urls") or [None])[0],
            "govarchive-replica": self.replica or None,
        }
        ip = getattr(response, "ip_address", None)
        try:
            pointer = self.writer.write(Exchange(
                url=response.url, method=request.method, request_headers=_headers(request.headers),
                request_body=request.body or b"", status=response.status, reason=reason,
                protocol=(response.protocol or "HTTP/1.1").upper(), response_headers=_headers(response.headers),
                body=response.body, ip_address=str(ip) if ip else None, fetched_at=datetime.now(UTC),
                metadata=metadata))
        except OSError as exc:  # a full disk must not lose the crawl: the item simply has no pointer
            logger.error("could not write WARC record for %s: %s", response.url, exc)
            self.crawler.stats.inc_value("govarchive/warc/write_errors")
            return response
        request.meta["warc"] = pointer
        self.crawler.stats.inc_value("govarchive/warc/records", 3)
        self.crawler.stats.inc_value("govarchive/warc/responses")
        return response


def _kind(request: Any) -> str:
    meta = request.meta
    if meta.get("govarchive_media"):
        return str(meta["govarchive_media"])
    if request.url.endswith("/robots.txt"):
        return "robots"
    if meta.get("listing"):
        return "listing"
    if meta.get("recheck_probe"):
        return "probe"
    return "article"
