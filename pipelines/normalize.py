"""Normalize: Unicode NFC, whitespace, legacy encodings and mojibake, and dates to ISO 8601 +07:00."""

from __future__ import annotations

from typing import Any

from itemadapter import ItemAdapter

from portal_spiders.dates import parse_date_info
from portal_spiders.items import ArticleItem
from portal_spiders.text import clean_multiline, clean_text

SINGLE_LINE = ("title", "author", "category", "published_raw")
MULTI_LINE = ("summary", "body_text")


class NormalizePipeline:
    """Clean every text field of an :class:`ArticleItem`; other items pass through untouched."""

    def process_item(self, item: Any) -> Any:
        """Normalize one item in place and return it."""
        if not isinstance(item, ArticleItem):
            return item
        adapter = ItemAdapter(item)
        for name in SINGLE_LINE:
            adapter[name] = clean_text(adapter.get(name)) or None
        for name in MULTI_LINE:
            adapter[name] = clean_multiline(adapter.get(name)) or None
        adapter["tags"] = list(dict.fromkeys(t for t in (clean_text(x) for x in adapter.get("tags") or []) if t))
        adapter["attachments"] = [
            {"url": a["url"].strip(), "name": clean_text(a.get("name")) or a["url"].rsplit("/", 1)[-1]}
            for a in adapter.get("attachments") or [] if a.get("url")
        ]
        adapter["images"] = [
            {"url": i["url"].strip(), "caption": clean_text(i.get("caption")) or ""}
            for i in adapter.get("images") or [] if i.get("url")
        ]
        if adapter.get("published_raw") and not adapter.get("published"):
            parsed = parse_date_info(adapter["published_raw"])
            if parsed is not None:
                adapter["published"] = parsed.isoformat()
                adapter["published_precision"] = parsed.precision
                item.field_sources.setdefault("published", "normalize:published_raw")
        return item
