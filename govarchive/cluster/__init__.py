"""Scale-out: any number of Scrapy workers share one Redis frontier per portal run; one archiver owns SQLite.

How the pieces fit (``docs/scale.md`` is the operator's guide):

* **Workers** are ordinary crawls with ``-s GOVARCHIVE_CLUSTER=redis://...`` (or ``govarchive worker``). The
  :class:`~govarchive.cluster.worker.ClusterAddon` swaps in scrapy-redis' scheduler and duplicate filter, adapted
  so that a request a worker takes is *leased* (:mod:`govarchive.cluster.leases`) and goes back to the queue when
  the worker's heartbeat stops, and pushes items to a Redis stream instead of writing SQLite.
* **The archiver** (``govarchive archiver``, :mod:`govarchive.cluster.archiver`) opens the ``crawl_runs`` row of
  each cluster run, publishes what the incremental walk needs (last complete run, archived URLs, failures to
  retry), drains the run's item stream through the project's own normalize → validate → dedupe → files → store
  pipelines, and acknowledges stream entries only after the SQLite transaction that stored them committed.

Every key of a run lives under ``<prefix>:<portal>:<token>:``; the run itself is the hash ``<prefix>:<portal>:run``.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from typing import Any

PREFIX = "govarchive"
CONSUMER_GROUP = "archiver"

# Run states, in order: a worker asks for a run, the archiver opens it (crawl_runs row + published state), the
# last worker to go idle with nothing queued or leased marks it crawled, the archiver closes it once drained.
REQUESTED, OPEN, CRAWLED = "requested", "open", "crawled"


def connect(url: str, **kwargs: Any) -> Any:
    """A redis-py client for ``url`` (``redis://host:port/db``); raises ``ValueError`` for a malformed URL."""
    import redis

    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(f"GOVARCHIVE_CLUSTER must be a redis:// URL, got {url!r}")
    return redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=10, retry_on_timeout=True, **kwargs)


def new_worker_id() -> str:
    """A worker identity unique across machines: host, pid and a random suffix (no ``#``: lease ids use it)."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}".replace("#", "-")


@dataclass(frozen=True)
class RunKeys:
    """Redis keys of one portal's cluster run."""

    portal: str
    token: str
    prefix: str = PREFIX

    @staticmethod
    def run_hash(portal: str, prefix: str = PREFIX) -> str:
        """The hash describing the portal's current run (token, state, mode, archive run id ...)."""
        return f"{prefix}:{portal}:run"

    @staticmethod
    def runs_set(prefix: str = PREFIX) -> str:
        """The set of portals that have a run the archiver has not closed yet."""
        return f"{prefix}:runs"

    @staticmethod
    def heartbeat(worker: str, prefix: str = PREFIX) -> str:
        """A worker's heartbeat key (expires when the worker stops refreshing it)."""
        return f"{prefix}:worker:{worker}"

    @staticmethod
    def counter(name: str, prefix: str = PREFIX) -> str:
        """A cluster-wide counter: ``archived`` (stream entries committed), ``requeued`` (leases of dead workers
        given back)."""
        return f"{prefix}:count:{name}"

    def _key(self, name: str) -> str:
        return f"{self.prefix}:{self.portal}:{self.token}:{name}"

    @property
    def run(self) -> str:
        """See :meth:`run_hash`."""
        return self.run_hash(self.portal, self.prefix)

    @property
    def queue(self) -> str:
        """Sorted set of serialized requests (scrapy-redis' priority queue layout)."""
        return self._key("requests")

    @property
    def dupefilter(self) -> str:
        """Set of request fingerprints seen in this run."""
        return self._key("dupefilter")

    @property
    def leases(self) -> str:
        """Hash ``<worker>#<n>`` -> ``<score>\\n<request>`` of requests taken by workers and not yet done."""
        return self._key("leases")

    @property
    def lease_seq(self) -> str:
        """Counter for lease ids."""
        return self._key("lease-seq")

    @property
    def items(self) -> str:
        """Stream of items (articles and failures) for the archiver."""
        return self._key("items")

    @property
    def dead(self) -> str:
        """Stream of items the archiver could not decode (kept for a replay; the run is not complete)."""
        return self._key("dead")

    @property
    def stats(self) -> str:
        """Hash of crawl stats summed over the workers."""
        return self._key("stats")

    @property
    def state(self) -> str:
        """Hash canonical URL -> ``first_run_id|published`` of archived articles (published by the archiver)."""
        return self._key("state")

    @property
    def retry(self) -> str:
        """List of JSON failures (url, stage) recorded by earlier runs, for workers to retry."""
        return self._key("retry")

    def all(self) -> list[str]:
        """Every run-scoped key (deleted when the archiver closes the run)."""
        return [self.queue, self.dupefilter, self.leases, self.lease_seq, self.items, self.stats, self.state,
                self.retry]
