"""Re-extraction: read archived responses back from the WARC files and parse them with today's parsers.

No network: each article's capture (``captures`` row: WARC file and offset) is read, decoded as the crawler would have
(the Content-Encoding undone, the charset from Content-Type), parsed by the platform of the article's portal with
the capture's own date as "now" (so ``2 giờ trước`` means two hours before the fetch), normalised, and compared with
what the archive holds. Only a difference in the extracted content (text fields, tags, attachments, images) makes a
new version, marked ``origin = 'reextract'``; running it again changes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from govarchive.archive import Archive
from portal_spiders.warc import CapturedResponse, WarcReadError, pointer_path, read_response

VN = timezone(timedelta(hours=7))


@dataclass
class ReextractResult:
    """Counts of one re-extraction run and the first few problems."""

    counts: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    def problem(self, kind: str, message: str) -> None:
        """Count a problem and keep its message (the first 20)."""
        self.counts[kind] += 1
        if len(self.problems) < 20:
            self.problems.append(message)


def response_for(captured: CapturedResponse) -> Any:
    """The Scrapy response a crawl would have built from this capture (headers give the charset)."""
    from scrapy import Request
    from scrapy.http import Headers
    from scrapy.responsetypes import responsetypes

    headers = Headers([(k, v) for k, v in captured.headers
                       if k.lower() not in ("content-encoding", "transfer-encoding", "content-length")])
    cls = responsetypes.from_args(headers=headers, url=captured.url, body=captured.body[:4096])
    return cls(url=captured.url, status=captured.status, headers=headers, body=captured.body,
               request=Request(captured.url))


def capture_time(warc_date: str | None) -> datetime | None:
    """A WARC-Date as an aware datetime in +07:00 (the parsers' "now" for relative dates)."""
    if not warc_date:
        return None
    try:
        return datetime.fromisoformat(warc_date.replace("Z", "+00:00")).astimezone(VN)
    except ValueError:
        return None


class Reextractor:
    """Re-parse captures of one archive; keeps one platform parser per portal."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self._parsers: dict[tuple[str, str | None], Any] = {}

    def parser(self, portal: str, platform: str | None) -> Any:
        """The platform parser a crawl of ``portal`` would use (registry entry, else the stored platform name)."""
        key = (portal, platform)
        if key not in self._parsers:
            from portal_spiders.platforms import get_platform
            from portal_spiders.registry import default_registry

            cfg = default_registry().get(portal)
            if cfg is not None:
                self._parsers[key] = get_platform(cfg.platform)(cfg.selectors)
            else:
                self._parsers[key] = get_platform(platform or "generic")()
        return self._parsers[key]

    def item_from_capture(self, captured: CapturedResponse, portal: str, platform: str | None) -> Any:
        """Parse and normalise one capture into an :class:`~portal_spiders.items.ArticleItem`."""
        from pipelines.normalize import NormalizePipeline

        parser = self.parser(portal, platform)
        item = parser.parse_article(response_for(captured), portal=portal, now=capture_time(captured.date))
        NormalizePipeline().process_item(item)
        return item

    def run(self, *, portals: list[str] | None = None, since: str | None = None, platform: str | None = None,
            on_progress: Callable[[int, int], None] | None = None) -> ReextractResult:
        """Re-extract every matching article; ``on_progress(done, total)`` after each one."""
        from itemadapter import ItemAdapter

        from pipelines.dedupe import article_hash

        result = ReextractResult()
        total, rows = self.archive.reextract_targets(portals=portals or (), since=since, platform=platform)
        result.counts["total"] = total
        result.counts["without_capture"] = self.archive.count("articles", "capture_id is null")
        done = 0
        for row in rows:  # in WARC file/offset order: each file is read front to back
            done += 1
            try:
                captured = read_response(pointer_path(row["file"], self.archive.path), row["offset"])
            except WarcReadError as exc:
                result.problem("unreadable", f"{row['url']}: {exc}")
                _tick(on_progress, done, total)
                continue
            try:
                item = self.item_from_capture(captured, row["portal"], row["platform"])
            except Exception as exc:  # a parser that fails on an archived page is reported, never raised
                result.problem("failed", f"{row['url']}: {type(exc).__name__}: {exc}")
                _tick(on_progress, done, total)
                continue
            data = ItemAdapter(item).asdict()
            article = self.archive.article_by_id(row["id"])
            if article is None or not data.get("title"):
                result.problem("failed", f"{row['url']}: no title in the archived page with today's parser")
            elif self.archive.reextract_differs(article, data):
                self.archive.store_reextracted(article, data, content_hash=article_hash(item))
                result.counts["changed"] += 1
            else:
                result.counts["unchanged"] += 1
            _tick(on_progress, done, total)
        self.archive.commit()
        return result


def _tick(callback: Callable[[int, int], None] | None, done: int, total: int) -> None:
    if callback is not None:
        callback(done, total)

