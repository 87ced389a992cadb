"""A whole cluster on one machine, with faults: what ``make demo-cluster`` shows and the slow test asserts.

1. ``govarchive demo`` crawls the replica into a single-machine archive (the reference).
2. A throw-away ``redis-server``, the replica, one ``govarchive archiver`` and N ``govarchive worker`` processes
   crawl the same portals into a second archive.
3. With ``chaos``: once worker 1 holds leased requests and the archiver has committed some entries, worker 1 is
   SIGKILLed; once the archiver has committed more (with runs still open), the archiver is SIGKILLed too and a new one
   started. Both kills are triggered by progress read from Redis, not by timers.
4. The two archives are compared: same canonical URLs, same content hashes, each URL once; every cluster run
   complete, one ``crawl_runs`` row per portal.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from govarchive.cluster import RunKeys, connect

# Replica pages are served at once; a small delay keeps the crawl long enough for the faults to land mid-run.
# The archiver downloads attachments from the replica as `govarchive demo` does: without the polite delays.
ARCHIVER_SETTINGS = {"DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_ENABLED": "0", "RETRY_BACKOFF_BASE": "0",
                     "CONCURRENT_REQUESTS_PER_DOMAIN": "8"}
WORKER_SETTINGS = {"DOWNLOAD_DELAY": "0.5", "AUTOTHROTTLE_ENABLED": "0", "RETRY_BACKOFF_BASE": "0",
                   "CONCURRENT_REQUESTS_PER_DOMAIN": "2", "GOVARCHIVE_CLUSTER_HEARTBEAT": "0.5",
                   "GOVARCHIVE_CLUSTER_LEASE_TTL": "3", "LOG_LEVEL": "INFO"}


@dataclass
class Comparison:
    """Single-machine archive vs cluster archive."""

    single: dict[str, str]  # url -> content hash
    cluster: dict[str, str]
    cluster_url_rows: int  # article rows in the cluster archive (== len(cluster) when each URL is there once)
    runs: list[dict[str, Any]]  # the cluster archive's crawl_runs rows
    events: list[str] = field(default_factory=list)  # what happened, in order (printed as it happened)

    @property
    def missing(self) -> list[str]:
        """URLs of the single-machine archive the cluster did not archive."""
        return sorted(set(self.single) - set(self.cluster))

    @property
    def extra(self) -> list[str]:
        """URLs only the cluster archived."""
        return sorted(set(self.cluster) - set(self.single))

    @property
    def different(self) -> list[str]:
        """URLs archived by both with different content hashes."""
        return sorted(u for u in set(self.single) & set(self.cluster) if self.single[u] != self.cluster[u])

    @property
    def runs_ok(self) -> bool:
        """One complete, finished run per portal."""
        portals = [r["portal"] for r in self.runs]
        return (len(portals) == len(set(portals)) and
                all(r["complete"] == 1 and r["finish_reason"] == "finished" for r in self.runs))

    @property
    def equal(self) -> bool:
        """Same URLs, same hashes, each once, honest runs."""
        return (not self.missing and not self.extra and not self.different
                and self.cluster_url_rows == len(self.cluster) and self.runs_ok)

    def report(self) -> str:
        """The comparison, as printed by ``make demo-cluster``."""
        lines = [f"single-machine archive: {len(self.single)} articles",
                 f"cluster archive:        {len(self.cluster)} articles in {self.cluster_url_rows} rows, "
                 f"{len(self.runs)} runs ({sum(r['complete'] == 1 for r in self.runs)} complete)",
                 f"missing from cluster:   {len(self.missing)}", f"only in cluster:        {len(self.extra)}",
                 f"different content hash: {len(self.different)}"]
        lines += [f"  - {u}" for u in (self.missing + self.extra + self.different)[:20]]
        lines.append("RESULT: the archives are equal" if self.equal else "RESULT: the archives DIFFER")
        return "\n".join(lines)


def archive_hashes(db: Path) -> tuple[dict[str, str], int, list[dict[str, Any]]]:
    """(url -> content hash, article rows, crawl_runs rows) of an archive."""
    from govarchive.archive import Archive

    with Archive.open_existing(db) as archive:
        rows = [(a["url"], a["content_hash"]) for a in archive.iter_articles()]
        runs = archive.runs(limit=10_000)
    return dict(rows), len(rows), runs


class ClusterDemo:
    """Run the demo in ``workdir`` (archives and logs land there)."""

    def __init__(self, workdir: Path, *, workers: int = 2, chaos: bool = True, portals: list[str] | None = None,
                 scrapy_workers: bool = False, say: Callable[[str], None] = print, timeout: float = 600.0) -> None:
        self.workdir = Path(workdir)
        self.workers = workers
        self.chaos = chaos
        self.portals = portals or []  # none: every replica portal
        # workers as `scrapy crawl <portal> -s GOVARCHIVE_CLUSTER=...` (one portal) instead of `govarchive worker`
        self.scrapy_workers = scrapy_workers
        if scrapy_workers and len(self.portals) != 1:
            raise ValueError("scrapy_workers needs exactly one portal")
        self.say = say
        self.timeout = timeout
        self.events: list[str] = []
        self.govarchive = [sys.executable, "-m", "govarchive.cli"]
        self.runs = 0
        # what the faults hit, for the report and the test: leases worker 1 held when killed, entries the archiver
        # had been delivered but not acknowledged when killed, leases given back to the queue in the end
        self.killed_leases = self.killed_pending = self.requeued = 0

    def _event(self, text: str) -> None:
        self.events.append(text)
        self.say(text)

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = open(self.workdir / f"{name}-{self.runs}.out", "ab")  # noqa: SIM115 - the process owns it
        command = [sys.executable, "-m", "scrapy"] if args[0] == "crawl" else self.govarchive
        return subprocess.Popen([*command, *args], stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, "PYTHONUNBUFFERED": "1",
                                     "SCRAPY_SETTINGS_MODULE": "portal_spiders.settings"})

    def run(self) -> Comparison:
        """Crawl both ways and compare."""
        from govarchive.cluster.redis_server import RedisServer
        from govarchive.replica.server import ReplicaServer

        self.workdir.mkdir(parents=True, exist_ok=True)
        single, clustered = self.workdir / "single.db", self.workdir / "cluster.db"
        for path in self.workdir.glob("*"):
            if path.is_file() and path.suffix in (".db", ".out", ".log", ".lock", ".db-wal", ".db-shm"):
                path.unlink()
        self._event(f"1. single machine: govarchive demo --db {single}")
        done = subprocess.run([*self.govarchive, "demo", "--db", str(single)], capture_output=True, text=True,
                              timeout=self.timeout, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"govarchive demo failed:\n{done.stdout}\n{done.stderr}")
        with RedisServer() as redis, ReplicaServer() as replica:
            self._event(f"2. cluster: redis-server at {redis.url}, replica at {replica.url}, "
                        f"1 archiver + {self.workers} workers -> {clustered}")
            self.crawl_cluster(redis.url, replica.url, clustered)
        hashes, rows, runs = archive_hashes(clustered)
        reference, _, _ = archive_hashes(single)
        return Comparison(reference, hashes, rows, runs, self.events)

    def _archiver(self, url: str, db: Path, n: int) -> subprocess.Popen[bytes]:
        log = str(self.workdir / f"archiver{n}-{self.runs}.log")
        settings = [x for k, v in ARCHIVER_SETTINGS.items() for x in ("-s", f"{k}={v}")]
        return self._spawn(f"archiver{n}", ["archiver", "--cluster", url, "--db", str(db), "--exit-when-idle",
                                            "--idle-timeout", "120", "--log-file", log, *settings])

    def crawl_cluster(self, url: str, replica: str, db: Path, *worker_args: str) -> dict[str, int]:
        """One cluster crawl of the portals into ``db`` (faults if ``chaos``); returns each process's exit code.

        ``worker_args`` go to every ``govarchive worker`` (``-a full=1``, ``-s KEY=VALUE`` ...).
        """
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.runs += 1
        client = connect(url)
        archiver = self._archiver(url, db, 1)
        # The workers' WARC files go beside the archive (WARC_DIR defaults to warc/ beside ARCHIVE_DB), as they would
        # to storage shared with the archive's machine; a worker never opens the database itself.
        settings = [x for k, v in {**WORKER_SETTINGS, "ARCHIVE_DB": str(db)}.items() for x in ("-s", f"{k}={v}")]
        workers = {}
        for i in range(1, self.workers + 1):
            log = str(self.workdir / f"w{i}-{self.runs}.log")
            if self.scrapy_workers:
                args = ["crawl", self.portals[0], "-s", f"GOVARCHIVE_CLUSTER={url}", "-s",
                        f"GOVARCHIVE_CLUSTER_WORKER_ID=w{i}", "-s", f"REPLICA_URL={replica}", "-s", f"LOG_FILE={log}"]
            else:
                args = ["worker", *self.portals, "--cluster", url, "--worker-id", f"w{i}", "--replica", replica,
                        "--log-file", log]
            workers[f"w{i}"] = self._spawn(f"w{i}", [*args, *settings, *worker_args])
        codes: dict[str, int] = {}
        deadline = time.monotonic() + self.timeout
        try:
            if self.chaos:
                self._wait(lambda: self._leases_of(client, "w1") > 0 and self._pushed(client) >= 10,
                           deadline, "worker w1 to hold leases after the workers pushed some items",
                           {"archiver": archiver, **workers})
                workers["w1"].send_signal(signal.SIGKILL)
                workers["w1"].wait()
                # counted once it is dead (before its heartbeat expires and the leases are given back)
                held = self.killed_leases = self._leases_of(client, "w1")
                self._event(f"   SIGKILL worker w1 while it held {held} leased request(s) "
                            f"({self._pushed(client)} items pushed, {self._count(client, 'archived')} archived so far)")
                archived = self._count(client, "archived")
                while True:
                    self._wait(lambda: self._count(client, "archived") >= archived + 10 and self._pending(client) > 0,
                               deadline, "the archiver to commit 10 more entries and hold delivered ones",
                               {"archiver": archiver})
                    # stopped, it cannot acknowledge what it holds between this check and the kill
                    archiver.send_signal(signal.SIGSTOP)
                    if self._pending(client) > 0:
                        break
                    archiver.send_signal(signal.SIGCONT)
                archiver.send_signal(signal.SIGKILL)
                archiver.wait()
                pending = self.killed_pending = self._pending(client)
                self._event(f"   SIGKILL the archiver with {self._open_runs(client)} run(s) open and {pending} "
                            f"entries delivered but not acknowledged ({self._count(client, 'archived')} archived)")
                archiver = self._archiver(url, db, 2)
                self._event("   started a new archiver")
            for name, proc in workers.items():
                codes[name] = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
                if not (self.chaos and name == "w1"):
                    self._event(f"   worker {name} exited with {codes[name]}")
            codes["archiver"] = archiver.wait(timeout=max(1.0, deadline - time.monotonic()))
            self.requeued = self._count(client, "requeued")
            self._event(f"   archiver exited with {codes['archiver']}; {self.requeued} leased request(s) of dead "
                        "workers were given back to the queue")
        finally:
            for proc in [archiver, *workers.values()]:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        return codes

    def _wait(self, condition: Callable[[], bool], deadline: float, what: str,
              procs: dict[str, subprocess.Popen[bytes]]) -> None:
        while not condition():
            for name, proc in procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode} while waiting for {what} "
                                       f"(logs in {self.workdir})")
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for {what} (logs in {self.workdir})")
            time.sleep(0.02)

    @staticmethod
    def _count(client: Any, name: str) -> int:
        return int(client.get(RunKeys.counter(name)) or 0)

    @staticmethod
    def _runs(client: Any) -> list[RunKeys]:
        runs = []
        for portal in client.smembers(RunKeys.runs_set()):
            token = client.hget(RunKeys.run_hash(portal.decode()), "token")
            if token:
                runs.append(RunKeys(portal.decode(), token.decode()))
        return runs

    def _open_runs(self, client: Any) -> int:
        return len(self._runs(client))

    def _leases_of(self, client: Any, worker: str) -> int:
        return sum(1 for keys in self._runs(client) for lease in client.hkeys(keys.leases)
                   if lease.decode().startswith(f"{worker}@"))

    def _pushed(self, client: Any) -> int:
        """Items the workers pushed so far: archived, or still in a run's stream."""
        return self._count(client, "archived") + sum(int(client.xlen(keys.items)) for keys in self._runs(client))

    def _pending(self, client: Any) -> int:
        total = 0
        for keys in self._runs(client):
            try:
                total += int(client.xpending(keys.items, "archiver")["pending"])
            except Exception:  # no group yet
                continue
        return total
