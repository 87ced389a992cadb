"""Normalize: Unicode NFC, whitespace, legacy encodings and mojibake, dates to ISO 8601 +07:00, and size caps.

Every field has a cap (:data:`FIELD_CAPS`, :data:`LIST_CAPS`) far above what real articles need: a page that
stuffs a 10 MB ``<title>`` is archived with its title cut, and the cut is recorded in ``item.truncated``
(``{field: original length}``, the ``articles.truncated`` column), never silently.
"""

from __future__ import annotations

from typing import Any

from itemadapter import ItemAdapter

from portal_spiders.dates import parse_date_info
from portal_spiders.items import ArticleItem
from portal_spiders.text import clean_multiline, clean_text

SINGLE_LINE = ("title", "author", "category", "published_raw")
MULTI_LINE = ("summary", "body_text")

# Characters per text field. The longest real values seen: titles ~300, legal full texts ~1 MB of HTML.
FIELD_CAPS = {"title": 1_000, "author": 300, "category": 300, "published_raw": 300, "summary": 10_000,
              "body_text": 1_000_000, "body_html": 2_000_000}
# (entries, characters per name/caption) of list fields.
LIST_CAPS = {"tags": (100, 200), "attachments": (500, 1_000), "images": (500, 1_000)}
URL_CAP = 2_048


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
        cap_fields(item)
        if adapter.get("published_raw") and not adapter.get("published"):
            parsed = parse_date_info(adapter["published_raw"])
            if parsed is not None:
                adapter["published"] = parsed.isoformat()
                adapter["published_precision"] = parsed.precision
                item.field_sources.setdefault("published", "normalize:published_raw")
        return item


def cap_fields(item: ArticleItem) -> None:
    """Cut over-long fields at their caps, recording each cut field's original length in ``item.truncated``."""
    cut = item.truncated
    for name, cap in FIELD_CAPS.items():
        value = getattr(item, name)
        if isinstance(value, str) and len(value) > cap:
            cut[name] = len(value)
            setattr(item, name, value[:cap].rstrip())
    tags = item.tags
    entries, chars = LIST_CAPS["tags"]
    if len(tags) > entries or any(len(t) > chars for t in tags):
        cut["tags"] = len(tags)
        item.tags = list(dict.fromkeys(t[:chars] for t in tags[:entries]))
    for name, key in (("attachments", "name"), ("images", "caption")):
        values: list[dict[str, str]] = getattr(item, name)
        entries, chars = LIST_CAPS[name]
        kept = [v for v in values[:entries] if len(v.get("url") or "") <= URL_CAP]
        if len(kept) < len(values) or any(len(v.get(key) or "") > chars for v in kept):
            cut[name] = len(values)
            setattr(item, name, [{**v, key: (v.get(key) or "")[:chars]} for v in kept])
