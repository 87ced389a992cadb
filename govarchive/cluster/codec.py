"""Items on the wire: any item dataclass of :mod:`portal_spiders.items`, field by field through ItemAdapter.

Nothing here names a field, so fields other parts of the project add to :class:`~portal_spiders.items.ArticleItem`
(WARC record pointers, files, document data ...) travel without a change. Only classes of the item modules are
rebuilt (the stream is data, not code), and a field the archiver's version does not know is an error, never
silently dropped: the archiver sets such an entry aside (see :mod:`govarchive.cluster.archiver`).
"""

from __future__ import annotations

import dataclasses
import importlib
import json
from typing import Any

from itemadapter import ItemAdapter

ITEM_MODULES = ("portal_spiders.items",)


class ItemDecodeError(ValueError):
    """A stream entry that is not an item this archiver can rebuild."""


def _default(value: Any) -> Any:
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(f"cannot send {type(value).__name__} through Redis")


def encode_item(item: Any) -> dict[str, str]:
    """Stream entry fields of an item: its class path and its fields as JSON."""
    cls = type(item)
    return {
        "type": f"{cls.__module__}.{cls.__qualname__}",
        "data": json.dumps(ItemAdapter(item).asdict(), ensure_ascii=False, default=_default),
    }


def decode_item(fields: dict[Any, Any]) -> Any:
    """Rebuild the item of a stream entry; raises :class:`ItemDecodeError` naming what is wrong."""
    fields = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
              for k, v in fields.items()}
    path = fields.get("type", "")
    module, _, name = path.rpartition(".")
    if module not in ITEM_MODULES:
        raise ItemDecodeError(f"item type {path!r} is not one of {', '.join(ITEM_MODULES)}")
    cls = getattr(importlib.import_module(module), name, None)
    if cls is None or not dataclasses.is_dataclass(cls):
        raise ItemDecodeError(f"unknown item type {path!r}")
    try:
        data = json.loads(fields.get("data", ""))
    except ValueError as exc:
        raise ItemDecodeError(f"{path}: data is not JSON ({exc})") from exc
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ItemDecodeError(f"{path}: field(s) {', '.join(unknown)} unknown to this archiver (upgrade it)")
    try:
        return cls(**data)
    except TypeError as exc:
        raise ItemDecodeError(f"{path}: {exc}") from exc
