"""Validate: an article without URL or title becomes a recorded failure instead of vanishing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from portal_spiders.items import ArticleItem, PageFailure

REQUIRED = ("url", "title")


class ValidatePipeline:
    """Turn invalid articles into :class:`PageFailure` items (the store pipeline records them)."""

    def process_item(self, item: Any) -> Any:
        """Return the article if valid, otherwise a failure naming the missing fields."""
        if not isinstance(item, ArticleItem):
            return item
        missing = [name for name in REQUIRED if not getattr(item, name)]
        if not missing:
            return item
        return PageFailure(
            url=item.final_url or item.source_url or item.url or "(unknown url)",
            portal=item.portal,
            stage="validate",
            reason=f"missing required field(s): {', '.join(missing)}",
            failed_at=datetime.now(UTC).isoformat(timespec="seconds"),
            extra={"field_sources": item.field_sources, "platform": item.platform},
        )
