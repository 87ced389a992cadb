"""Cluster components against a real redis-server: item codec, leases, the leased scheduler, the walk's hand-over,
the worker profile, and the commands' one-line errors. End-to-end runs are in test_cluster_e2e.py."""

from __future__ import annotations

import dataclasses
import gc
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
import scrapy
from scrapy.utils.test import get_crawler

import portal_spiders.items as items_module
from govarchive.cli import main
from govarchive.cluster import CRAWLED, OPEN, RunKeys, connect
from govarchive.cluster.codec import ItemDecodeError, decode_item, encode_item
from govarchive.cluster.leases import RunQueue
from portal_spiders.incremental import ListingWalk
from portal_spiders.items import ArticleItem, PageFailure
from tests.conftest import clean_env

SLUG = "laichau-dcs"


def _filled(cls: type) -> Any:
    """An instance of an item dataclass with every field set to a non-default value of its kind."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        kind = str(f.type)
        if "list" in kind:
            values[f.name] = [{"url": f"https://x.gov.vn/{f.name}.pdf", "name": "Tệp đính kèm"}] \
                if "dict" in kind else [f"thẻ {f.name}"]
        elif "dict" in kind:
            values[f.name] = {"nguồn": f.name, "n": 3}
        elif "int" in kind:
            values[f.name] = 7
        else:
            values[f.name] = f"{f.name}: Thứ Sáu, 22/3/2024 - 20:36 Đắk Lắk"
    return cls(**values)


@pytest.mark.parametrize("cls", [ArticleItem, PageFailure])
def test_items_cross_redis_field_by_field(cls: type) -> None:
    item = _filled(cls)
    assert decode_item(encode_item(item)) == item


def test_fields_added_to_an_item_class_travel_without_codec_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    @dataclasses.dataclass
    class ArticleWithCapture(ArticleItem):
        warc_record: dict[str, Any] | None = None  # the kind of pointer the WARC pipeline adds

    # as if another part of the project had added the field to ArticleItem itself
    ArticleWithCapture.__module__, ArticleWithCapture.__qualname__ = "portal_spiders.items", "ArticleItem"
    monkeypatch.setattr(items_module, "ArticleItem", ArticleWithCapture)
    item = ArticleWithCapture(url="https://x.gov.vn/a", portal=SLUG, title="T",
                              warc_record={"file": "w1-00001.warc.gz", "offset": 1234, "length": 987})
    back = decode_item(encode_item(item))
    assert type(back) is ArticleWithCapture and back == item


def test_the_archiver_refuses_what_it_cannot_rebuild_faithfully() -> None:
    fields = encode_item(ArticleItem(url="https://x.gov.vn/a", portal=SLUG, title="T"))
    data = json.loads(fields["data"])
    with pytest.raises(ItemDecodeError, match=r"warc_record.*unknown"):
        decode_item({**fields, "data": json.dumps({**data, "warc_record": {"offset": 1}})})
    with pytest.raises(ItemDecodeError, match="not one of"):
        decode_item({"type": "os.system", "data": "{}"})
    with pytest.raises(ItemDecodeError, match="not JSON"):
        decode_item({"type": "portal_spiders.items.ArticleItem", "data": "{"})


def _run(client: Any, token: str = "t1", *, state: str = OPEN, seeded: str = "1") -> RunQueue:
    keys = RunKeys(SLUG, token)
    client.hset(keys.run, mapping={"token": token, "state": state, "seeded": seeded})
    return RunQueue(client, keys)


def test_a_taken_request_is_leased_and_comes_back_when_its_worker_stops_beating(redis_server) -> None:
    client = connect(redis_server.url)
    queue = _run(client)
    assert queue.push(b"listing-1", fingerprint="f1", priority=0)
    assert queue.push(b"article-1", fingerprint="f2", priority=5)
    assert not queue.push(b"article-1-again", fingerprint="f2"), "same fingerprint: filtered"
    assert queue.push(b"retry-of-1", fingerprint="f2", dont_filter=True)

    client.set(RunKeys.heartbeat("w1"), "alive")
    lease, data = queue.pop("w1")
    assert data == b"article-1", "highest priority first"
    assert lease.startswith("w1#") and queue.leased() == 1 and queue.queued() == 2

    assert queue.reap() == {}, "a beating worker keeps its leases"
    client.delete(RunKeys.heartbeat("w1"))  # SIGKILL: the heartbeat key expires
    assert queue.reap() == {"w1": 1}
    assert queue.leased() == 0 and queue.queued() == 3
    assert int(client.get(RunKeys.counter("requeued"))) == 1
    # it comes back as it was (same bytes, same priority), although its fingerprint is marked seen
    assert queue.pop("w2")[1] == b"article-1"


def test_acknowledged_leases_are_gone_and_the_run_ends_only_when_nothing_is_queued_or_leased(redis_server) -> None:
    client = connect(redis_server.url)
    queue = _run(client, seeded="0")
    queue.push(b"r1", fingerprint="f1")
    lease, _ = queue.pop("w1")
    assert not queue.try_finish(), "not seeded yet"
    client.hset(queue.keys.run, "seeded", "1")
    assert not queue.try_finish(), "a lease is still held"
    assert queue.ack([lease]) == 1 and queue.ack([lease]) == 0
    assert queue.try_finish()
    assert client.hget(queue.keys.run, "state") == CRAWLED.encode()
    # a run the archiver closed already (hash gone or another token) is over for its workers too
    client.delete(queue.keys.run)
    assert queue.try_finish()


def _crawler(**settings: Any) -> Any:
    """A configured (not started) crawler of the portal with the project's settings plus ``settings``."""
    from govarchive.crawling import project_settings
    from portal_spiders.spiders.portals import SPIDERS

    project = {k: v for k, v in project_settings().copy_to_dict().items()
               if not k.startswith(("TWISTED_REACTOR", "ASYNCIO_EVENT_LOOP"))}  # get_crawler picks the reactor
    # never the checkout's data/archive.db: a user's README queries would read the empty archive it leaves
    project["ARCHIVE_DB"] = str(Path(tempfile.mkdtemp(prefix="govarchive-test-")) / "archive.db")
    return get_crawler(SPIDERS[SLUG], {**project, **settings})


def _worker_crawler(url: str) -> Any:
    return _crawler(GOVARCHIVE_CLUSTER=url, GOVARCHIVE_CLUSTER_WORKER_ID="w1")


def test_the_worker_profile_swaps_scheduler_pipelines_and_extensions(redis_server) -> None:
    settings = _worker_crawler(redis_server.url).settings
    assert settings["SCHEDULER"] == "govarchive.cluster.worker.LeasedScheduler"
    pipelines = {scrapy.utils.misc.load_object(k).__name__ for k, v in settings.getdict("ITEM_PIPELINES").items()
                 if v is not None}
    assert pipelines == {"ClusterItemPipeline"}, "normalize/validate/dedupe/store run on the archiver"
    extensions = {scrapy.utils.misc.load_object(k).__name__ for k, v in settings.getdict("EXTENSIONS").items()
                  if v is not None}
    assert "ClusterWorkerExtension" in extensions
    assert not {"ArchiveLockExtension", "Spidermon"} & extensions, "a worker never touches the archive"

    plain = _crawler().settings
    assert plain["SCHEDULER"] == "scrapy.core.scheduler.Scheduler"
    assert "pipelines.store.StorePipeline" in plain.getdict("ITEM_PIPELINES")


def test_a_malformed_cluster_url_fails_at_start_naming_the_setting() -> None:
    with pytest.raises(ValueError, match="GOVARCHIVE_CLUSTER must be a redis:// URL"):
        _crawler(GOVARCHIVE_CLUSTER="localhost:6379")


@pytest.fixture
def scheduler(redis_server) -> Any:
    """A worker's LeasedScheduler, opened, in a run it has joined."""
    from govarchive.cluster.worker import LeasedScheduler, context_for

    crawler = _worker_crawler(redis_server.url)
    crawler.spider = crawler.spidercls.from_crawler(crawler)
    ctx = context_for(crawler)
    ctx.keys = RunKeys(SLUG, "t1")
    ctx.queue = _run(ctx.client)
    scheduler = LeasedScheduler.from_crawler(crawler)
    scheduler.open(crawler.spider)
    return scheduler


def test_the_scheduler_holds_a_lease_until_the_engine_lets_go_of_the_request(scheduler) -> None:
    crawler, ctx = scheduler.crawler, scheduler.ctx
    first = scrapy.Request("https://laichau.dcs.vn/tin-tuc/a-1.html", callback=crawler.spider.parse_article,
                           meta={"listing_date": "22/03/2024"})
    assert scheduler.enqueue_request(first)
    assert not scheduler.enqueue_request(first.replace()), "the run's fingerprint set filters it"

    request = scheduler.next_request()
    assert request is not None and request.url == first.url and request.callback == crawler.spider.parse_article
    assert request.meta["listing_date"] == "22/03/2024"
    assert ctx.queue.held_by(ctx.worker) and not scheduler.has_pending_requests()
    ctx.flush_acks()
    assert ctx.queue.leased() == 1, "still referenced: still being processed"
    del request
    gc.collect()
    assert ctx.flush_acks() == 1 and ctx.queue.leased() == 0


def test_a_closing_worker_gives_unfinished_leases_back(scheduler) -> None:
    crawler, ctx = scheduler.crawler, scheduler.ctx
    scheduler.enqueue_request(scrapy.Request("https://laichau.dcs.vn/a.html", callback=crawler.spider.parse_article))
    kept = scheduler.next_request()
    scheduler.close("shutdown")
    assert ctx.queue.leased() == 0 and ctx.queue.queued() == 1, "given back, not lost"
    assert kept is not None


def test_cluster_state_reads_what_the_archiver_published(redis_server) -> None:
    from govarchive.cluster.worker import ClusterState, context_for

    crawler = _worker_crawler(redis_server.url)
    ctx = context_for(crawler)
    ctx.keys = RunKeys(SLUG, "t1")
    client = ctx.client
    client.hset(ctx.keys.run, mapping={"token": "t1", "last_complete_run": "4"})
    client.hset(ctx.keys.state, mapping={"https://a/1": "3|2024-03-22T20:36:00+07:00", "https://a/2": "|"})
    client.rpush(ctx.keys.retry, json.dumps({"url": "https://a/9", "stage": "download"}))
    state = ClusterState(ctx)
    assert state.last_complete_run(SLUG) == {"id": 4}
    assert state.article_state("https://a/1") == (3, "2024-03-22T20:36:00+07:00")
    assert state.article_state("https://a/2") == (None, None)
    assert state.article_state("https://a/3") is None
    assert state.failures(SLUG) == [{"url": "https://a/9", "stage": "download"}]


def test_a_listing_walk_handed_from_worker_to_worker_decides_like_one_walk() -> None:
    archived = {f"u{i}": (1, "2024-03-01") for i in range(100)}
    pages = [["new1", "u1", "u2"], ["u3", "new2", "u4"], ["u5", "u6", "u7"], ["u8", "u9", "u10"]]

    def decisions(hand_over: bool) -> list[tuple[list[bool], bool]]:
        walks = [ListingWalk("incremental", lookup=archived.get, last_complete_run=1, stop_after=4)
                 for _ in range(2)]
        out, carried = [], None
        for n, page in enumerate(pages):
            walk = walks[n % 2] if hand_over else walks[0]
            if hand_over and carried:
                walk.resume("c", carried)
            wanted = [walk.wants("c", key) for key in page]
            out.append((wanted, walk.next_page("c", len(page))))
            carried = walk.snapshot("c")
        return out

    one = decisions(hand_over=False)
    assert one == decisions(hand_over=True)
    assert [go_on for _, go_on in one] == [True, True, False, False], "stops once 4 settled in a row"


def test_commands_report_a_missing_or_unreachable_cluster_in_one_line(capsys, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOVARCHIVE_CLUSTER", raising=False)
    assert main(["worker", SLUG]) == 2
    assert capsys.readouterr().err.strip().endswith("or set GOVARCHIVE_CLUSTER")
    assert main(["worker", SLUG, "--cluster", "redis://127.0.0.1:9/0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("govarchive worker: cannot reach Redis at redis://127.0.0.1:9/0") and "\n" not in err
    assert main(["archiver", "--cluster", "http://x", "--db", str(tmp_path / "a.db")]) == 2
    assert "must be a redis:// URL" in capsys.readouterr().err
    assert not (tmp_path / "a.db").exists()


def test_cluster_systemd_units_run_the_real_cli(tmp_path: Path) -> None:
    import os
    import shutil
    import subprocess
    import sys

    from govarchive.cli import build_parser
    from tests.test_operations import DEPLOY, _govarchive_argv, _unit

    archiver = _unit(DEPLOY / "systemd/govarchive-archiver.service")
    worker = _unit(DEPLOY / "systemd/govarchive-worker@.service")
    timer = _unit(DEPLOY / "systemd/govarchive-worker@.timer")
    assert archiver["Service"]["Type"] == "simple" and archiver["Service"]["Restart"] == "on-failure"
    assert worker["Service"]["Type"] == "oneshot" and timer["Timer"]["OnCalendar"]
    (argv,) = _govarchive_argv(archiver["Service"]["ExecStart"])
    args = build_parser().parse_args(argv)
    assert args.command == "archiver" and args.db and args.log_file
    (argv,) = _govarchive_argv(worker["Service"]["ExecStart"].replace("%H-%i", "host-1").replace("%i", "1"))
    args = build_parser().parse_args(argv)
    assert args.command == "worker" and args.all and args.worker_id == "host-1" and args.warc_dir
    if shutil.which("systemd-analyze") is None:
        if os.environ.get("CI"):
            pytest.fail("systemd-analyze is required in CI (apt-get install -y systemd; .ci/run does)")
        pytest.skip("systemd-analyze not installed: checked the keys with configparser only")
    real = Path(sys.executable).with_name("govarchive")
    names = ("govarchive-archiver.service", "govarchive-worker@.service", "govarchive-worker@.timer")
    for name in names:
        text = (DEPLOY / "systemd" / name).read_text(encoding="utf-8")
        text = text.replace("/opt/govarchive/.venv/bin/govarchive", str(real)).replace(
            "EnvironmentFile=/etc/govarchive/env", "EnvironmentFile=-/etc/govarchive/env")
        (tmp_path / name.replace("@.", "@1.")).write_text(text, encoding="utf-8")
    result = subprocess.run(["systemd-analyze", "verify", *(str(tmp_path / n.replace("@.", "@1.")) for n in names)],
                            capture_output=True, text=True, timeout=60, check=False, env=clean_env())
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_one_archiver_per_cluster(redis_server, tmp_path: Path, capsys) -> None:
    import os
    import signal
    import socket
    import subprocess
    import sys

    client = connect(redis_server.url)
    alive = f"{socket.gethostname()}|{os.getpid()}|/srv/other/archive.db"
    client.set("govarchive:archiver", alive, px=30_000)
    assert main(["archiver", "--cluster", redis_server.url, "--db", str(tmp_path / "a.db"), "--exit-when-idle"]) == 3
    # the command leaves the process's signals alone: SIGPIPE at its default would kill a process (this test run)
    # that writes to a socket whose peer has gone
    assert signal.getsignal(signal.SIGPIPE) == signal.SIG_IGN
    err = capsys.readouterr().err.strip()
    assert err == (f"govarchive archiver: another archiver (pid {os.getpid()} on {socket.gethostname()}, archive "
                   "/srv/other/archive.db) serves this cluster; one archiver per cluster")

    dead = subprocess.Popen([sys.executable, "-c", "pass"], env=clean_env())
    dead.wait()  # a killed archiver on this host: replaced at once, not after its lock expires
    client.set("govarchive:archiver", f"{socket.gethostname()}|{dead.pid}|/x.db", px=30_000)
    done = subprocess.run([sys.executable, "-m", "govarchive.cli", "archiver", "--cluster", redis_server.url, "--db",
                           str(tmp_path / "a.db"), "--exit-when-idle", "--idle-timeout", "0"],
                          capture_output=True, text=True, timeout=120, check=False, env=clean_env())
    assert done.returncode == 0, done.stderr
    assert client.get("govarchive:archiver") is None, "released on exit"
