"""Platform parsers, one module per CMS family.

Every module in this package that defines a :class:`~portal_spiders.platforms.base.Platform` subclass with a
``name`` is registered automatically: adding a platform is adding one module.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from portal_spiders.platforms.base import ExtractionError, ListingEntry, ListingPage, Platform

__all__ = ["ExtractionError", "ListingEntry", "ListingPage", "Platform", "detect_platform", "get_platform",
           "platforms"]


@cache
def platforms() -> dict[str, type[Platform]]:
    """All known platforms by name, in detection order (specific fingerprints first, generic last)."""
    found: dict[str, type[Platform]] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name in {"base"} or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, Platform) and obj is not Platform \
                    and obj.__module__ == module.__name__ and obj.name != "base":
                found[obj.name] = obj
    return dict(sorted(found.items(), key=lambda kv: (getattr(kv[1], "detect_priority", 50), kv[0])))


def get_platform(name: str) -> type[Platform]:
    """The platform class called ``name``; ``KeyError`` with the known names otherwise."""
    try:
        return platforms()[name]
    except KeyError:
        raise KeyError(f"unknown platform {name!r} (known: {', '.join(platforms())})") from None


def detect_platform(html: str) -> type[Platform] | None:
    """The first platform whose fingerprint matches the raw HTML, or ``None``."""
    for cls in platforms().values():
        if cls.detect(html):
            return cls
    return None
