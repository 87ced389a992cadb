"""Files: download an article's attachments and images into a content-addressed store, with their text.

Scrapy's :class:`~scrapy.pipelines.files.FilesPipeline`, subclassed:

* stored by SHA-256 of the bytes under ``FILES_STORE`` (default ``files/`` beside the archive), two-level fan-out:
  ``ab/cd/abcd…<64 hex>.pdf``; the extension comes from the type sniffed from the bytes (libmagic), never from the
  remote name, so identical files from any article or portal are stored once and no path is built from a URL;
* written atomically (temporary file, then rename), so a killed run never leaves a half file under a final name;
* per-type size caps (``FILES_MAX_SIZES``): the cap guessed from the URL limits the download, the cap of the sniffed
  type is checked after it;
* redirects followed (``MEDIA_ALLOW_REDIRECTS``), every hop through :mod:`portal_spiders.addressguard`;
* a file downloaded from the same URL within ``FILES_EXPIRES`` days is reused, not fetched again;
* text of PDF/DOCX/XLSX/DOC/XLS files extracted in a worker thread (:mod:`pipelines.filetext`).

Images go through the same pipeline rather than ImagesPipeline, which re-encodes every image to JPEG: an archive
keeps the bytes the portal served.

Results land in ``item.files`` (one dict per URL); the store writes them to the ``attachments`` table. A file that
fails is a ``status`` of ``failed``/``too-large``/``blocked`` with its ``error``; the article is stored regardless,
and the store records a ``failures`` row (stage ``attachment``) that later runs retry through the article.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import os
import re
import tempfile
import threading
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import Message
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

from scrapy import Request
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.pipelines.files import FilesPipeline, FSFilesStore
from twisted.internet import defer, reactor
from twisted.python.failure import Failure

from govarchive.archive import capture_pointer
from pipelines.filetext import TextExtractionError, can_extract, extract_text
from pipelines.store import acquire_archive, release_archive
from portal_spiders.items import ArticleItem

logger = logging.getLogger(__name__)

MiB = 1024 * 1024
# Defaults of FILES_MAX_SIZES: by sniffed MIME type, "image/*" for every image, "*" for the rest.
DEFAULT_MAX_SIZES: dict[str, int] = {
    "application/pdf": 100 * MiB,
    "application/zip": 200 * MiB,
    "application/x-rar": 200 * MiB,
    "application/vnd.rar": 200 * MiB,
    "application/x-7z-compressed": 200 * MiB,
    "image/*": 20 * MiB,
    "*": 50 * MiB,
}
EXTENSIONS = {  # sniffed type -> stored extension (browsing convenience only; the name is the hash)
    "application/pdf": ".pdf", "application/msword": ".doc", "application/vnd.ms-excel": ".xls",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
    "application/vnd.ms-powerpoint": ".ppt", "application/zip": ".zip", "application/x-rar": ".rar",
    "application/vnd.rar": ".rar", "application/x-7z-compressed": ".7z", "application/rtf": ".rtf",
    "text/rtf": ".rtf", "image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp",
    "image/svg+xml": ".svg", "image/bmp": ".bmp", "image/tiff": ".tif", "video/mp4": ".mp4", "audio/mpeg": ".mp3",
    "text/plain": ".txt", "application/vnd.oasis.opendocument.text": ".odt",
}
TEXT_TIMEOUT = 120.0  # seconds for one file's text (the thread is a daemon: a stuck parser cannot hang the crawl)


def files_dir_for(archive_db: str | Path, configured: str | None = None) -> Path:
    """The files store of an archive: ``configured`` or ``files/`` beside the database file."""
    return Path(configured) if configured else Path(archive_db).resolve().parent / "files"


def content_path(sha256: str, mime: str | None) -> str:
    """Store path of a file: ``ab/cd/<sha256><ext>`` (two-level fan-out, extension from the sniffed type)."""
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}{EXTENSIONS.get(mime or '', '')}"


def sniff_mime(data: bytes) -> str:
    """MIME type from the bytes (libmagic), ``application/octet-stream`` when unknown."""
    import magic

    try:
        return magic.from_buffer(data[: 4 * MiB], mime=True) or "application/octet-stream"
    except Exception:  # libmagic refuses some inputs; unknown is an honest answer
        return "application/octet-stream"


def max_size_for(mime: str | None, sizes: dict[str, int]) -> int:
    """The size cap of a MIME type from a ``FILES_MAX_SIZES``-style table."""
    mime = (mime or "").lower()
    if mime in sizes:
        return int(sizes[mime])
    if mime.startswith("image/") and "image/*" in sizes:
        return int(sizes["image/*"])
    return int(sizes.get("*", DEFAULT_MAX_SIZES["*"]))


_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]+")


def clean_filename(name: str | None) -> str | None:
    """A remote file name for display: percent-decoded, NFC, no path separators or controls, at most 255 chars."""
    if not name:
        return None
    name = unicodedata.normalize("NFC", unquote(name.strip().strip('"')))
    name = _UNSAFE.sub("_", PurePosixPath(name.replace("\\", "/")).name).strip(" .")
    return name[:255] or None


def content_disposition_name(value: bytes | str | None) -> str | None:
    """File name of a ``Content-Disposition`` header (RFC 6266/5987 ``filename*`` first, raw UTF-8 accepted)."""
    if not value:
        return None
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            value = value.decode("latin-1")
    msg = Message()
    msg["content-disposition"] = value
    try:
        name = msg.get_filename()
    except Exception:
        name = None
    return clean_filename(name)


def original_name(url: str, *, disposition: bytes | str | None, link_text: str | None) -> str | None:
    """The original file name: Content-Disposition, else the URL's last segment with an extension, else link text."""
    name = content_disposition_name(disposition)
    if name:
        return name
    segment = clean_filename(urlsplit(url).path.rsplit("/", 1)[-1])
    if segment and "." in segment:
        return segment
    return clean_filename(link_text) or segment


def _atomic_write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ContentAddressedStore(FSFilesStore):
    """FSFilesStore that writes atomically and never rewrites a file it already holds (same path, same bytes)."""

    def persist_file(self, path: Any, buf: Any, info: Any, meta: Any = None, headers: Any = None) -> None:
        target = self._get_filesystem_path(path)
        data = buf.getvalue()
        if target.exists() and target.stat().st_size == len(data):
            return
        _atomic_write(target, data)


class FileRefused(Exception):
    """A download that arrived but is not kept: ``status`` is ``failed`` (HTTP error, empty) or ``too-large``."""

    def __init__(self, status: str, message: str, http_status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.http_status = http_status


def _in_daemon_thread(func: Callable[[], Any], timeout: float) -> defer.Deferred:
    """Run ``func`` in a daemon thread; the Deferred fails with TimeoutError after ``timeout`` seconds."""
    d: defer.Deferred = defer.Deferred()

    def fire(method: Callable[[Any], Any], value: Any) -> None:
        if not d.called:
            method(value)

    def run() -> None:
        try:
            result = func()
        except BaseException:
            failure = Failure()
            reactor.callFromThread(fire, d.errback, failure)
        else:
            reactor.callFromThread(fire, d.callback, result)

    threading.Thread(target=run, name="govarchive-filetext", daemon=True).start()
    d.addTimeout(timeout, reactor)
    return d


class ArchiveFilesPipeline(FilesPipeline):
    """Attachments and images of :class:`ArticleItem` into the content-addressed store; see the module docstring.

    Settings: ``FILES_STORE`` (default ``files/`` beside ``ARCHIVE_DB``), ``FILES_EXPIRES`` (days, Scrapy's default
    90), ``FILES_MAX_SIZES`` ({MIME type, ``image/*`` or ``*``: bytes}), ``ATTACHMENTS_DOWNLOAD`` and
    ``IMAGES_DOWNLOAD`` (both True), ``ATTACHMENT_TEXT`` (True: extract text).
    """

    STORE_SCHEMES: ClassVar[dict[str, Any]] = {**FilesPipeline.STORE_SCHEMES, "": ContentAddressedStore,
                                               "file": ContentAddressedStore}
    LOG_FAILED_RESULTS = False  # item_completed logs one warning per file, without a traceback

    def __init__(self, store_uri: str, *, crawler: Any) -> None:
        super().__init__(store_uri, crawler=crawler)
        settings = crawler.settings
        self.store_dir = Path(store_uri)
        self.archive_db = settings.get("ARCHIVE_DB")
        self.attachments_on = settings.getbool("ATTACHMENTS_DOWNLOAD", True)
        self.images_on = settings.getbool("IMAGES_DOWNLOAD", True)
        self.text_on = settings.getbool("ATTACHMENT_TEXT", True)
        self.max_sizes = {**DEFAULT_MAX_SIZES, **(settings.getdict("FILES_MAX_SIZES") or {})}
        self.archive: Any = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> ArchiveFilesPipeline:
        """Scrapy factory: the store defaults to ``files/`` beside the archive."""
        settings = crawler.settings
        if not (settings.getbool("ATTACHMENTS_DOWNLOAD", True) or settings.getbool("IMAGES_DOWNLOAD", True)):
            raise NotConfigured("ATTACHMENTS_DOWNLOAD and IMAGES_DOWNLOAD are off")
        cls._update_stores(settings)
        store = str(files_dir_for(settings.get("ARCHIVE_DB") or "data/archive.db", settings.get("FILES_STORE")))
        return cls(store, crawler=crawler)

    def open_spider(self, spider: Any = None) -> None:
        """Open the media bookkeeping and the archive (to reuse files already downloaded)."""
        super().open_spider()
        self.archive = acquire_archive(self.archive_db)

    def close_spider(self, spider: Any = None) -> None:
        """Give the archive back."""
        if self.archive is not None:
            release_archive(self.archive)
            self.archive = None

    # -- which files --------------------------------------------------------------------------------------------

    def _wanted(self, item: ArticleItem) -> list[tuple[str, str, str | None]]:
        """``(url, kind, link text)`` of the item's files, each URL once, attachments first."""
        out: dict[str, tuple[str, str, str | None]] = {}
        if self.attachments_on:
            for att in item.attachments or []:
                if att.get("url"):
                    out.setdefault(att["url"], (att["url"], "attachment", att.get("name")))
        if self.images_on:
            for img in item.images or []:
                url = img.get("url") or ""
                if url and not url.startswith("data:"):
                    out.setdefault(url, (url, "image", img.get("caption")))
        return list(out.values())

    def get_media_requests(self, item: Any, info: Any) -> list[Request]:
        """One request per downloadable file URL of an article (other items have none)."""
        if not isinstance(item, ArticleItem):
            return []
        requests = []
        for url, kind, text in self._wanted(item):
            if urlsplit(url).scheme not in ("http", "https"):
                continue
            guessed = mimetypes.guess_type(urlsplit(url).path)[0]
            cap = max_size_for(guessed or ("image/*" if kind == "image" else None), self.max_sizes)
            requests.append(Request(url, headers={"Referer": item.final_url or item.url}, meta={
                "govarchive_media": kind, "allow_offsite": True, "download_maxsize": cap,
                "govarchive_link_text": text}))
        return requests

    # -- downloading ----------------------------------------------------------------------------------------------

    def media_to_download(self, request: Request, info: Any, *, item: Any = None) -> Any:
        """Reuse a file downloaded from this URL within ``FILES_EXPIRES`` days (and still in the store)."""
        if self.archive is None:
            return None
        known = self.archive.known_file(request.url, max_age_days=self.expires)
        if not known or not known.get("path") or not (self.store_dir / known["path"]).exists():
            return None
        self.inc_stats("uptodate")
        capture = self.archive.capture(known.get("capture_id"))
        return {"url": request.url, "path": known["path"], "checksum": known["sha256"], "status": "uptodate",
                "govarchive": {**{k: known[k] for k in ("filename", "sha256", "path", "mime", "size", "fetched_at",
                                                         "text")}, "status": "stored",
                               "capture": capture_pointer(capture)}}

    def file_path(self, request: Request, response: Any = None, info: Any = None, *, item: Any = None) -> str:
        """``ab/cd/<sha256><ext>`` of the downloaded bytes (never derived from the URL)."""
        found = request.meta.get("govarchive_file")
        if found:
            return found["path"]
        if response is None:  # only asked before a download, which media_to_download answers itself
            return f"pending/{hashlib.sha256(request.url.encode()).hexdigest()}"
        return content_path(hashlib.sha256(response.body).hexdigest(), sniff_mime(response.body))

    async def media_downloaded(self, response: Any, request: Request, info: Any, *, item: Any = None) -> Any:
        """Check status and size, sniff, store, extract text; the result carries everything the archive keeps."""
        if response.status != 200:
            raise FileRefused("failed", f"HTTP {response.status}", response.status)
        if not response.body:
            raise FileRefused("failed", "empty file", response.status)
        body = response.body
        mime = sniff_mime(body)
        cap = max_size_for(mime, self.max_sizes)
        if len(body) > cap:
            self.inc_stats("too-large")
            raise FileRefused("too-large", f"{len(body)} bytes of {mime} (cap {cap})", response.status)
        sha256 = hashlib.sha256(body).hexdigest()
        details: dict[str, Any] = {
            "filename": original_name(request.url, disposition=response.headers.get("Content-Disposition"),
                                      link_text=request.meta.get("govarchive_link_text")),
            "sha256": sha256, "path": content_path(sha256, mime), "mime": mime, "size": len(body),
            "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"), "status": "stored", "text": None,
            "capture": request.meta.get("warc"),
        }
        request.meta["govarchive_file"] = details
        result = await super().media_downloaded(response, request, info, item=item)
        if self.text_on and can_extract(mime):
            details["text"], text_error = await self._text(body, mime)
            if text_error:
                details["error"] = f"text: {text_error}"
        result["govarchive"] = details
        return result

    async def _text(self, body: bytes, mime: str) -> tuple[str | None, str | None]:
        from scrapy.utils.defer import maybe_deferred_to_future

        try:
            return await maybe_deferred_to_future(_in_daemon_thread(lambda: extract_text(body, mime),
                                                                    TEXT_TIMEOUT)), None
        except TextExtractionError as exc:
            self.inc_stats("text-failed")
            return None, str(exc)
        except defer.TimeoutError:
            self.inc_stats("text-failed")
            return None, f"text extraction timed out after {TEXT_TIMEOUT:.0f} s"

    def media_failed(self, failure: Failure, request: Request, info: Any) -> Any:
        """Keep the real reason (Scrapy's own turns every error into an anonymous FileException)."""
        failure.raiseException()

    def file_downloaded(self, response: Any, request: Request, info: Any, *, item: Any = None) -> str:
        """Persist the bytes under their content address; the checksum is the SHA-256."""
        from io import BytesIO

        details = request.meta["govarchive_file"]
        self.store.persist_file(details["path"], BytesIO(response.body), info)
        return details["sha256"]

    def inc_stats(self, status: str) -> None:
        """Count files by outcome under ``govarchive/files/``."""
        self.crawler.stats.inc_value("govarchive/files/count")
        self.crawler.stats.inc_value(f"govarchive/files/{status}")

    # -- results --------------------------------------------------------------------------------------------------

    def item_completed(self, results: list[tuple[bool, Any]], item: Any, info: Any) -> Any:
        """Put every file's outcome in ``item.files``; a failure never drops the article."""
        if not isinstance(item, ArticleItem):
            return item
        wanted = [w for w in self._wanted(item) if urlsplit(w[0]).scheme in ("http", "https")]
        files: dict[str, dict[str, Any]] = {}
        for (url, kind, _text), (ok, value) in zip(wanted, results, strict=False):
            if ok and isinstance(value, dict) and value.get("govarchive"):
                files[url] = {"url": url, "kind": kind, **value["govarchive"]}
                continue
            exc = value.value if isinstance(value, Failure) else None
            if isinstance(exc, FileRefused):
                status, error, http_status = exc.status, str(exc), exc.http_status
            elif isinstance(exc, IgnoreRequest) and "blocked" in str(exc):
                status, error, http_status = "blocked", str(exc), None
            elif exc is not None and ("maxsize" in str(exc).lower() or "max size" in str(exc).lower()):
                status, error, http_status = "too-large", f"{type(exc).__name__}: {exc}", None
            else:
                status, error, http_status = "failed", f"{type(exc).__name__}: {exc}" if exc else "unknown", None
            self.crawler.stats.inc_value(f"govarchive/files/{status}")
            logger.warning("%s %s of %s not archived: %s", kind, url, item.url, error)
            files[url] = {"url": url, "kind": kind, "status": status, "error": error, "http_status": http_status}
        for url, kind, _text in self._wanted(item):
            files.setdefault(url, {"url": url, "kind": kind, "status": "failed", "error": "not an http(s) URL"})
        item.files = list(files.values())
        return item

