"""Shared fixtures: the replica portal server and a helper that runs a real crawl in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


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
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``scrapy crawl <slug>`` against the replica, in a subprocess (Twisted reactors don't restart)."""
    cmd = [sys.executable, "-m", "scrapy", "crawl", slug, "-s", f"ARCHIVE_DB={db}", "-s", f"REPLICA_URL={replica_url}",
           "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "RETRY_BACKOFF_BASE=0",
           "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8",
           "-s", "LOG_LEVEL=INFO", *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, check=False)


@pytest.fixture
def crawl():
    """The :func:`run_crawl` helper as a fixture."""
    return run_crawl
