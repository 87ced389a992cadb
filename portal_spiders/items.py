"""Item types yielded by the spiders.

Items are plain dataclasses and every component handles them through :class:`itemadapter.ItemAdapter`.
A missing field is ``None`` (or an empty list), never an invented value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ArticleItem:
    """One article page as extracted from a portal.

    ``field_sources`` records, per field, which signal produced the value (``label:Tác giả``,
    ``meta:article:published_time``, ``css:.detail-title``, ``heuristic:largest-text-block`` ...), so a
    layout change shows up as a field falling back to a weaker source instead of silently emptying.
    """

    url: str  # canonical URL, the archive's identity for the article
    portal: str  # registry slug
    title: str | None = None
    published: str | None = None  # ISO 8601 in +07:00
    published_raw: str | None = None  # the string the date was read from, verbatim
    published_precision: str | None = None  # month | day | minute | second
    author: str | None = None
    summary: str | None = None  # sapo / lead
    body_text: str | None = None
    body_html: str | None = None  # cleaned: no scripts, styles, comments or hidden chrome
    tags: list[str] = field(default_factory=list)
    attachments: list[dict[str, str]] = field(default_factory=list)  # [{"url": ..., "name": ...}]
    images: list[dict[str, str]] = field(default_factory=list)  # [{"url": ..., "caption": ...}]
    category: str | None = None
    fetched_at: str | None = None  # ISO 8601 UTC instant of the fetch
    source_url: str | None = None  # the URL as requested, before canonicalisation
    final_url: str | None = None  # the URL after redirects
    platform: str | None = None
    field_sources: dict[str, str] = field(default_factory=dict)
    truncated: dict[str, int] = field(default_factory=dict)  # {field: length before it was cut at its cap}
    content_hash: str | None = None  # set by the dedupe pipeline
    # Legal-document pages (văn bản) only: {"number", "doc_type", "issuer", "signer", "issued", "effective",
    # "status", "fields"}; archived in the `documents` table (govarchive/archive.py). None for news articles.
    document: dict[str, Any] | None = None
    # Pointer to the WARC response record the item was read from (portal_spiders/warc.py): {file, offset, length,
    # record_id, digest, url, status, date}. A plain dict, so it travels with the item (queues, Redis).
    capture: dict[str, Any] | None = None
    # Downloaded attachments and images (pipelines/files.py), one per URL: {url, kind, status, error, filename,
    # sha256, path, mime, size, fetched_at, text, capture}; the store writes them to the `attachments` table.
    files: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class PageFailure:
    """A URL that could not be turned into an article: recorded, never silently dropped."""

    url: str
    portal: str
    stage: str  # download | parse | validate | store
    reason: str
    status: int | None = None  # HTTP status when there was one
    failed_at: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ArticleRemoval:
    """An archived article its portal took down: 404/410, a redirect to the home or a listing page, or emptied.

    The store pipeline marks it ``removed_at`` at the end of the run, unless the run saw the whole portal failing
    (an outage is not a takedown; see docs/archive.md).
    """

    url: str  # canonical URL of the archived article
    portal: str
    reason: str  # http-404 | http-410 | redirect-home | redirect-listing | emptied
    status: int | None = None
    final_url: str | None = None  # where a redirect ended
    capture: dict[str, Any] | None = None  # WARC pointer of the answer
    requested_url: str | None = None  # the URL as requested (earlier failures are recorded under it)


ARTICLE_FIELDS: tuple[str, ...] = tuple(ArticleItem.__dataclass_fields__)
