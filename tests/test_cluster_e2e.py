"""Clusters for real: redis-server, the replica, `govarchive archiver` and `govarchive worker` processes.

The first test is `make demo-cluster`: two workers and one archiver crawl every replica portal while a worker and
then the archiver are SIGKILLed (on progress read from Redis); the archive must equal the single-machine demo's.
The others check that cluster runs read the archive through the archiver (incremental walks, failure retries)
and that nothing the archiver cannot store vanishes.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from govarchive.archive import Archive
from govarchive.cluster import CONSUMER_GROUP, OPEN, RunKeys, connect
from govarchive.cluster.codec import decode_item
from govarchive.cluster.demo import ARCHIVER_SETTINGS, WORKER_SETTINGS, ClusterDemo
from govarchive.replica.content import ReplicaArticle, generate_articles
from govarchive.replica.server import ReplicaServer, ReplicaState
from portal_spiders.warc import pointer_path, read_response
from tests.conftest import clean_env

pytestmark = pytest.mark.slow

SLUG = "laichau-dcs"
HOST = "laichau.dcs.vn"


def test_a_cluster_with_a_killed_worker_and_archiver_archives_what_one_machine_does(tmp_path: Path) -> None:
    demo = ClusterDemo(tmp_path, workers=2, chaos=True, say=lambda _: None)
    comparison = demo.run()
    report = comparison.report() + "\n" + "\n".join(demo.events)
    assert comparison.equal, report
    assert len(comparison.single) == 96 and comparison.cluster_url_rows == 96
    # the faults hit work in flight, and it was recovered
    assert demo.killed_leases > 0 and demo.requeued >= demo.killed_leases, report
    assert demo.killed_pending > 0, report
    with Archive(tmp_path / "cluster.db", readonly=True) as archive:
        assert archive.count("article_versions") == 0, "a re-delivered article is an unchanged re-visit"
        assert archive.count("failures") == 0
        # the raw-capture pointers the workers put on the items lead to their WARC records
        for article in archive.iter_articles():
            capture = archive.capture(article["capture_id"])
            assert capture, article["url"]
            record = read_response(pointer_path(capture["file"], tmp_path / "cluster.db"), capture["offset"])
            assert record.url == capture["url"] and record.status == 200
        cluster_files = _files(archive)
    with Archive(tmp_path / "single.db", readonly=True) as archive:
        assert cluster_files == _files(archive) and cluster_files, "attachments and images: same files, same bytes"
        single_runs = archive.runs()
        # the cluster's run rows count what one machine's do, although both kills interrupted work in flight
        assert ({r["portal"]: (r["items_new"], r["items_updated"], r["items_failed"]) for r in comparison.runs}
                == {r["portal"]: (r["items_new"], r["items_updated"], r["items_failed"]) for r in single_runs}), report
        for run in single_runs:
            assert run["items_new"] + run["items_unchanged"] >= 12, run
            assert run["requests"] and run["listing_pages"], "worker stats reach the run row"
            assert run["replica"] == 1, "the workers crawled the replica: a replica run, like `govarchive demo`'s"


def _files(archive: Archive) -> set[tuple[str, str, str | None, str | None]]:
    """(article URL, file URL, status, SHA-256) of every attachment and image of an archive."""
    return {(a["url"], f["url"], f["status"], f["sha256"]) for a in archive.iter_articles()
            for f in archive.attachments(a["id"], images=True)}


@pytest.fixture
def portal() -> Iterator[ReplicaServer]:
    server = ReplicaServer(ReplicaState.from_registry([SLUG])).start()
    yield server
    server.stop()


def _last_run(db: Path) -> dict:
    with Archive(db, readonly=True) as archive:
        return archive.runs(SLUG, limit=1)[0]


def _new_articles(count: int, *, after) -> list[ReplicaArticle]:
    fresh = generate_articles(f"{SLUG}-fresh", count, start_id=1000)
    return [replace(a, published=after + timedelta(hours=count - i), paragraphs=[*a.paragraphs, f"Tin mới {a.id}."])
            for i, a in enumerate(fresh)]


def test_cluster_runs_walk_incrementally_and_retry_failures_through_the_archiver(portal, redis_server,
                                                                                 tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    demo = ClusterDemo(tmp_path / "logs", workers=2, chaos=False, portals=[SLUG], say=lambda _: None)
    site = portal.state.site(SLUG)

    def crawl() -> dict:
        codes = demo.crawl_cluster(redis_server.url, portal.url, db)
        assert set(codes.values()) == {0}, codes
        return _last_run(db)

    first = crawl()
    assert (first["items_new"], first["complete"], first["mode"]) == (12, 1, "incremental")

    # nothing new: the archiver published what is archived, the workers stop at the first settled listing page
    mark = len(portal.state.log)
    second = crawl()
    paths = [path for _method, path, _status in portal.state.log[mark:]]
    assert not any("chi-tiet-tin" in p for p in paths), "no article page is fetched again"
    assert len(paths) <= len(site.portal.start_urls) + len(site.portal.sharepoint_lists) + 2, paths
    assert second["complete"] == 1 and (second["items_new"], second["items_failed"]) == (0, 0)

    # five new articles, one of which fails: recorded, and the run is still complete (an article, not a listing)
    fresh = _new_articles(5, after=site.articles[0].published)
    portal.state.add_articles(SLUG, fresh)
    broken = site.absolute(site.article_path(fresh[2]))
    portal.state.set_fault(broken, 404)
    third = crawl()
    assert (third["items_new"], third["items_failed"], third["complete"]) == (4, 1, 1)
    with Archive(db, readonly=True) as archive:
        assert [f["url"] for f in archive.failures(SLUG)] == [broken]

    # the next run retries it (the failure list came from the archiver) and clears it
    portal.state.clear_faults()
    fourth = crawl()
    assert (fourth["items_new"], fourth["items_failed"], fourth["complete"]) == (1, 0, 1)
    with Archive(db, readonly=True) as archive:
        assert archive.count("failures") == 0 and archive.count("articles") == 17
        assert len({r["id"] for r in archive.runs(SLUG)}) == 4


def test_an_entry_the_archiver_cannot_store_is_kept_and_the_run_is_not_complete(portal, redis_server,
                                                                                tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    client = connect(redis_server.url)

    def inject() -> None:  # once the run is open, a worker of another version pushes an item we cannot rebuild
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            token = client.hget(RunKeys.run_hash(SLUG), "token")
            if token and client.hget(RunKeys.run_hash(SLUG), "state") == OPEN.encode():
                keys = RunKeys(SLUG, token.decode())
                client.xadd(keys.items, {"type": "portal_spiders.items.ArticleItem",
                                         "data": '{"url": "https://laichau.dcs.vn/x", "portal": "laichau-dcs", '
                                                 '"video": "https://laichau.dcs.vn/x.mp4"}'})
                return
            time.sleep(0.01)

    injector = threading.Thread(target=inject)
    injector.start()
    # the worker is a plain `scrapy crawl laichau-dcs -s GOVARCHIVE_CLUSTER=...` this time
    demo = ClusterDemo(tmp_path / "logs", workers=1, chaos=False, portals=[SLUG], scrapy_workers=True,
                       say=lambda _: None)
    codes = demo.crawl_cluster(redis_server.url, portal.url, db)
    injector.join()
    assert codes["w1"] == 0 and codes["archiver"] == 1, codes
    run = _last_run(db)
    assert (run["finish_reason"], run["complete"], run["items_new"]) == ("items_lost", 0, 12)
    dead = [key for key in client.keys("govarchive:laichau-dcs:*:dead")]
    assert len(dead) == 1
    (_entry_id, fields), = client.xrange(dead[0])
    assert b"video" in fields[b"data"] and b"unknown to this archiver" in fields[b"error"]


def test_a_worker_started_with_other_arguments_does_not_join_a_run(portal, redis_server, tmp_path: Path) -> None:
    """A `full` worker must not walk an incremental run with its own rules (or the other way round)."""
    client = connect(redis_server.url)
    client.hset(RunKeys.run_hash(SLUG), mapping={"token": "t0", "state": OPEN, "mode": "incremental", "args": "{}",
                                                 "seeded": "0"})
    client.sadd(RunKeys.runs_set(), SLUG)
    log = tmp_path / "w.log"
    done = subprocess.run([sys.executable, "-m", "govarchive.cli", "worker", SLUG, "--cluster", redis_server.url,
                           "--replica", portal.url, "-a", "full=1", "--log-file", str(log)],
                          capture_output=True, text=True, timeout=120, check=False, env=clean_env())
    assert done.returncode == 1, done.stderr
    assert "start it with the same arguments" in log.read_text()
    assert "reason=cluster_arguments_differ" in done.stdout
    assert not portal.state.log, "nothing was fetched"


def test_a_replica_cluster_run_is_not_archived_into_an_archive_of_real_runs(portal, redis_server,
                                                                           tmp_path: Path) -> None:
    db = tmp_path / "real.db"
    with Archive(db) as archive:
        archive.finish_run(archive.start_run(SLUG, replica=False), finish_reason="finished", counts={}, coverage={})
    demo = ClusterDemo(tmp_path / "logs", workers=1, chaos=False, portals=[SLUG], say=lambda _: None)
    # the archiver refuses the run and says so; the worker gives up waiting for it to be opened
    codes = demo.crawl_cluster(redis_server.url, portal.url, db, "-s", "GOVARCHIVE_CLUSTER_WAIT=20")
    assert codes == {"w1": 1, "archiver": 1}
    assert not portal.state.log, "nothing was fetched"
    logs = "".join(p.read_text() for p in (tmp_path / "logs").glob("archiver*.log"))
    assert "will not write replica articles into this archive" in logs
    with Archive(db, readonly=True) as archive:
        assert archive.count("articles") == 0 and len(archive.runs()) == 1


# `govarchive archiver` that is SIGKILLed in the one window where a batch is committed but not acknowledged.
_COMMIT_THEN_DIE = """
import os, signal, sys
from govarchive.cluster.archiver import ArchiverSpiderMixin
from govarchive.cli import main

settle, batches = ArchiverSpiderMixin._settle, []

async def commit_then_die(self, store, ids):
    batches.append(ids)
    if len(batches) == 2:  # the acknowledgement is the first Redis pipeline after the commit
        self.client.pipeline = lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL)
    await settle(self, store, ids)

ArchiverSpiderMixin._settle = commit_then_die
sys.exit(main(sys.argv[1:]))
"""

# `govarchive worker` that reports every SQLite connection it opens (the audit event of sqlite3.connect).
_REPORT_SQLITE = """
import sys
from govarchive.cli import main

def report(event, args):
    if event == "sqlite3.connect":
        sys.stderr.write(f"SQLITE-CONNECT {args[0]!r}\\n")

sys.addaudithook(report)
sys.exit(main(sys.argv[1:]))
"""


def _settings(values: dict[str, str]) -> list[str]:
    return [x for key, value in values.items() for x in ("-s", f"{key}={value}")]


def test_a_batch_committed_by_a_killed_archiver_is_stored_and_counted_once_and_workers_never_open_sqlite(
        portal, redis_server, tmp_path: Path) -> None:
    db, client = tmp_path / "a.db", connect(redis_server.url)
    procs: dict[str, subprocess.Popen[bytes]] = {}

    def spawn(name: str, head: list[str], args: list[str]) -> subprocess.Popen[bytes]:
        with open(tmp_path / f"{name}.out", "wb") as out:
            procs[name] = subprocess.Popen([sys.executable, *head, *args, "--log-file", str(tmp_path / f"{name}.log")],
                                           stdout=out, stderr=subprocess.STDOUT, env=clean_env(PYTHONUNBUFFERED="1"))
        return procs[name]

    archiver_args = ["archiver", "--cluster", redis_server.url, "--db", str(db), "--exit-when-idle",
                     *_settings({**ARCHIVER_SETTINGS, "GOVARCHIVE_ARCHIVER_BATCH": "3"})]
    try:
        first = spawn("archiver1", ["-c", _COMMIT_THEN_DIE], archiver_args)
        worker = spawn("w1", ["-c", _REPORT_SQLITE], ["worker", SLUG, "--cluster", redis_server.url, "--worker-id",
                                                      "w1", "--replica", portal.url,
                                                      *_settings({**WORKER_SETTINGS, "ARCHIVE_DB": str(db)})])
        assert first.wait(timeout=180) == -signal.SIGKILL, (tmp_path / "archiver1.out").read_text()
        # the killed archiver left its second batch pending, and that batch is in the archive already
        keys = RunKeys(SLUG, client.hget(RunKeys.run_hash(SLUG), "token").decode())
        pending = [row["message_id"] for row in client.xpending_range(keys.items, CONSUMER_GROUP, "-", "+", 100)]
        urls = sorted(decode_item(client.xrange(keys.items, entry, entry)[0][1]).url for entry in pending)
        assert urls, "the killed archiver had a delivered batch"
        with Archive(db, readonly=True) as archive:
            assert sorted(a["url"] for a in archive.iter_articles() if a["url"] in urls) == urls, "and committed it"
        second = spawn("archiver2", ["-c", _REPORT_SQLITE], archiver_args)
        codes = (worker.wait(timeout=300), second.wait(timeout=300))
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    outputs = {name: (tmp_path / f"{name}.out").read_text() for name in procs}
    assert codes == (0, 0), outputs
    assert "SQLITE-CONNECT" in outputs["archiver2"], "the audit hook sees the connections the archiver opens"
    assert "SQLITE-CONNECT" not in outputs["w1"], "a worker never opens a database"
    assert "resuming run" in (tmp_path / "archiver2.log").read_text()
    with Archive(db, readonly=True) as archive:
        assert archive.count("articles") == 12 and archive.count("article_versions") == 0
        assert len({a["url"] for a in archive.iter_articles()}) == 12
        (run,) = archive.runs(SLUG)
    assert (run["items_new"], run["items_updated"], run["items_unchanged"], run["items_failed"]) == (12, 0, 0, 0)
    assert (run["complete"], run["finish_reason"]) == (1, "finished")
