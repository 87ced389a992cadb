"""The project's spider loader: a malformed registry is one line naming the file, entry and key.

Scrapy builds its spider loader before any command runs (``scrapy list``, ``scrapy crawl``), importing the spider
modules, which read the registry (``portals.toml``). Scrapy would print the :class:`RegistryError` as a 47-line
traceback; this loader prints its message and exits with code 2, like every other bad input.
"""

from __future__ import annotations

import sys
from typing import Any

from scrapy.spiderloader import SpiderLoader

from govarchive.checks import EXIT_ERROR
from portal_spiders.registry import RegistryError


class PortalSpiderLoader(SpiderLoader):
    """Scrapy's loader; a :class:`RegistryError` ends the process with one line."""

    def __init__(self, settings: Any) -> None:
        try:
            super().__init__(settings)
        except RegistryError as exc:
            sys.stderr.write(f"scrapy: error: {exc}\n")
            raise SystemExit(EXIT_ERROR) from None
