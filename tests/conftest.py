"""Shared fixtures: the replica portal server and a helper that runs a real crawl in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: What a test subprocess inherits from the environment pytest runs in. Everything else (GOVARCHIVE_*, SCRAPY_*,
#: proxies, PYTHONPATH, SSL_CERT_FILE ...) stays out, so a developer's shell cannot change a test's outcome.
INHERITED_ENV = frozenset({"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR"})
INHERITED_ENV_PREFIXES = ("COV_CORE_", "COVERAGE_")  # pytest-cov measures subprocesses through these
#: Removed from pytest's own process before collection: they configure govarchive and Scrapy at import time
#: (portal_spiders/settings.py reads GOVARCHIVE_DB, GOVARCHIVE_REPLICA_URL, GOVARCHIVE_LOG_LEVEL ...), and proxies
#: would route the tests' requests to 127.0.0.1 elsewhere.
SCRUBBED_PREFIXES = ("GOVARCHIVE_", "SCRAPY_")
SCRUBBED_NAMES = frozenset({"http_proxy", "https_proxy", "all_proxy", "no_proxy"})


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a test subprocess: the :data:`INHERITED_ENV` whitelist plus ``extra``.

    Every ``subprocess`` call in the tests passes ``env=clean_env(...)`` (tests/test_hygiene.py checks it).
    """
    env = {k: v for k, v in os.environ.items() if k in INHERITED_ENV or k.startswith(INHERITED_ENV_PREFIXES)}
    env.update(extra)
    return env


def pytest_configure(config: pytest.Config) -> None:
    """Run the in-process tests without the developer's govarchive/Scrapy/proxy variables too."""
    for name in list(os.environ):
        if name.startswith(SCRUBBED_PREFIXES) or name.lower() in SCRUBBED_NAMES:
            del os.environ[name]


@pytest.fixture
def replica() -> Iterator[object]:
    """A fresh replica (all ``replica = true`` portals) on a free 127.0.0.1 port."""
    from govarchive.replica.server import ReplicaServer

    server = ReplicaServer().start()
    try:
        yield server
    finally:
        server.stop()


def run_crawl(slug: str, db: Path, replica_url: str, *args: str, timeout: int = 300,
              env: dict[str, str] | None = None, python: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    """``scrapy crawl <slug>`` against the replica, in a subprocess (Twisted reactors don't restart).

    ``python`` replaces the interpreter command (a wrapper measuring the crawl, say)."""
    cmd = [*(python or [sys.executable]), "-m", "scrapy", "crawl", slug, "-s", f"ARCHIVE_DB={db}",
           "-s", f"REPLICA_URL={replica_url}",
           "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "RETRY_BACKOFF_BASE=0",
           "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8",
           "-s", "LOG_LEVEL=INFO", *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env=clean_env(**(env or {})), check=False)


def open_store_pipeline(db: Path, slug: str = "laichau-dcs", settings: dict[str, Any] | None = None) -> Any:
    """A :class:`pipelines.store.StorePipeline` opened on ``db`` for a portal's spider, outside a crawl.

    ``settings`` are more Scrapy settings for the crawler (``REPLICA_URL`` ...).

    Close it like Scrapy would: ``store.close_spider()`` then ``store.spider_closed(store.crawler.spider, reason)``.
    """
    from scrapy.utils.test import get_crawler

    from pipelines.store import StorePipeline
    from portal_spiders.spiders.portals import SPIDERS

    spidercls = SPIDERS[slug]
    crawler = get_crawler(spidercls, {"ARCHIVE_DB": str(db), **(settings or {})})
    crawler.spider = spidercls.from_crawler(crawler)
    crawler.stats.open_spider()
    store = StorePipeline.from_crawler(crawler)
    store.open_spider()
    return store


@pytest.fixture
def crawl():
    """The :func:`run_crawl` helper as a fixture."""
    return run_crawl


@pytest.fixture
def redis_server() -> Iterator[object]:
    """A throw-away ``redis-server`` on a free 127.0.0.1 port (Debian package; ``make setup`` installs it)."""
    from govarchive.cluster.redis_server import RedisServer

    with RedisServer() as server:
        yield server
