"""Portal slugs for the query commands: which exist, and "did you mean" for those that do not.

Reads the registry file directly (``tomllib``): loading it through ``portal_spiders.registry`` validates the
platforms and so imports Scrapy, which query commands must not.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Iterable
from functools import cache
from pathlib import Path


@cache
def registry_slugs() -> tuple[str, ...]:
    """Slugs of the portal registry (``$GOVARCHIVE_REGISTRY`` or the bundled ``portal_spiders/portals.toml``)."""
    custom = os.environ.get("GOVARCHIVE_REGISTRY")
    if custom:
        text = Path(custom).read_text(encoding="utf-8")
    else:
        import importlib.resources

        text = importlib.resources.files("portal_spiders").joinpath("portals.toml").read_text(encoding="utf-8")
    try:
        entries = tomllib.loads(text).get("portal") or []
    except tomllib.TOMLDecodeError:
        return ()
    return tuple(str(e["slug"]) for e in entries if isinstance(e, dict) and e.get("slug"))


def unknown_portals(requested: Iterable[str] | None, known: Iterable[str]) -> str | None:
    """An error line naming each requested slug that is neither in the registry nor in ``known`` (e.g. the
    archive's portals), with the closest existing slugs; ``None`` when all exist."""
    pool = sorted(set(registry_slugs()) | set(known))
    problems = []
    for slug in requested or []:
        if slug in pool:
            continue
        close = difflib.get_close_matches(slug, pool, n=3, cutoff=0.5)
        if not close:  # "hanoi" for "hanoi-gov": a slug that contains or is contained in the one typed
            close = [s for s in pool if slug in s or s in slug][:3]
        hint = f"; did you mean {', '.join(close)}?" if close else " (`govarchive stats` lists the archive's portals)"
        problems.append(f"unknown portal {slug!r}{hint}")
    return "; ".join(problems) or None
