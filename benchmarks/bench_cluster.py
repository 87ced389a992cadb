"""Cluster sizing: what an article costs in SQLite and the frontier in Redis, and what one archiver drains.

    .venv/bin/python benchmarks/bench_cluster.py --write

* SQLite: N synthetic articles (bench_search's generator: real Vietnamese syllables, log-normal body lengths) are
  stored one by one through ``Archive.store_article`` (the crawl's write path: rows, tags, both FTS5 indexes,
  commits every 50), then the file size and the per-table split (``dbstat``) are read.
* Redis: a throw-away ``redis-server`` (the Debian package); ``used_memory`` before and after loading, per entry:
  fingerprints (the run's duplicate filter, Scrapy's fingerprinter), queued requests (real article requests of a
  portal spider, serialized as ``LeasedScheduler`` does), the same requests leased, published incremental state
  (``url -> first_run|published``), and items waiting in the stream (the synthetic articles, encoded as workers do).
* Worker kill: a worker is SIGKILLed mid-crawl and a second one resumes, with plain scrapy-redis and with leases;
  articles never archived are counted.
* Archiver: N items pushed to a run's stream, then ``govarchive archiver`` (a subprocess) drains them through
  normalize -> validate -> dedupe -> store; rate from the ``archived`` counter. Baseline, alternated with it in the
  same run on the same items: ``Archive.store_article`` alone in a loop (the SQLite floor: no Redis, no pipelines).

With --write, the section between the bench_cluster markers in docs/performance.md is replaced.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _report import clean_env, command_line, replace_section  # noqa: E402
from bench_search import machine, synthetic_articles  # noqa: E402

from govarchive.archive import Archive  # noqa: E402
from govarchive.cluster import REQUESTED, RunKeys, connect  # noqa: E402
from govarchive.cluster.codec import encode_item  # noqa: E402
from govarchive.cluster.leases import RunQueue  # noqa: E402
from govarchive.cluster.redis_server import RedisServer  # noqa: E402
from portal_spiders.items import ArticleItem  # noqa: E402

SLUG = "laichau-dcs"


def article_rows(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """Synthetic articles, all of one portal, with unique URLs of that portal's shape."""
    rows = []
    for i, row in enumerate(synthetic_articles(n, seed=seed)):
        row = {**row, "portal": SLUG, "url": f"https://laichau.dcs.vn/tin-tuc/bai-viet-so-{i}-{seed}.html"}
        row["content_hash"] = f"{seed:04x}{i:036x}"
        rows.append(row)
    return rows


def sqlite_cost(rows: list[dict[str, Any]], workdir: Path) -> dict[str, Any]:
    path = workdir / "sizing.db"
    archive = Archive(path)
    run_id = archive.start_run(SLUG)
    t0 = time.perf_counter()
    for row in rows:
        archive.store_article(row, content_hash=row["content_hash"], run_id=run_id)
    archive.commit()
    elapsed = time.perf_counter() - t0
    archive.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    split: dict[str, int] = {}
    for name, size in archive.db.execute("select name, sum(pgsize) from dbstat group by name"):
        group = "fts" if name.startswith("articles_fts") else "articles" if name.startswith(
            ("articles", "idx_articles", "sqlite_autoindex_articles")) else "other"
        split[group] = split.get(group, 0) + size
    archive.close()
    n = len(rows)
    text = statistics.mean(len((r["title"] or "") + (r["summary"] or "") + (r["body_text"] or "")) for r in rows)
    text_bytes = statistics.mean(len(((r["title"] or "") + (r["summary"] or "") + (r["body_text"] or ""))
                                     .encode()) for r in rows)
    return {"n": n, "file": path.stat().st_size, "per_article": path.stat().st_size / n,
            "split": {k: v / n for k, v in split.items()}, "text_chars": text, "text_bytes": text_bytes,
            "store_rate": n / elapsed}


def floor_rate(rows: list[dict[str, Any]], workdir: Path) -> float:
    """Baseline: ``store_article`` alone on a fresh archive, commit every 50 (articles/s)."""
    path = workdir / "floor.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    with Archive(path) as archive:
        run_id = archive.start_run(SLUG)
        t0 = time.perf_counter()
        for row in rows:
            archive.store_article(row, content_hash=row["content_hash"], run_id=run_id)
        archive.commit()
        return len(rows) / (time.perf_counter() - t0)


def _spider_requests(url: str, n: int) -> tuple[list[bytes], list[str]]:
    """n article requests as a portal spider makes them, serialized like LeasedScheduler, and their fingerprints."""
    from scrapy.utils.test import get_crawler
    from scrapy_redis import picklecompat

    from portal_spiders.platforms.base import ListingEntry
    from portal_spiders.spiders.portals import SPIDERS

    crawler = get_crawler(SPIDERS[SLUG], {"GOVARCHIVE_CLUSTER": url})
    spider = SPIDERS[SLUG].from_crawler(crawler)
    data, fps = [], []
    for i in range(n):
        request = spider.article_request(
            ListingEntry(url=f"https://laichau.dcs.vn/tin-tuc/hoi-nghi-ban-chap-hanh-dang-bo-tinh-lan-thu-{i}.html",
                         published="22/03/2024 20:36"),
            listing_url=f"https://laichau.dcs.vn/tin-tuc/thoi-su?page={i // 20 + 1}")
        data.append(picklecompat.dumps(request.to_dict(spider=spider)))
        fps.append(crawler.request_fingerprinter.fingerprint(request).hex())
    return data, fps


def redis_cost(rows: list[dict[str, Any]], n_small: int, n_requests: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with RedisServer() as server:
        client = connect(server.url)
        out["redis_version"] = client.info("server")["redis_version"]

        def used() -> int:
            return int(client.info("memory")["used_memory"])

        def batched(calls: list[Any]) -> None:
            for start in range(0, len(calls), 1000):
                with client.pipeline(transaction=False) as pipe:
                    for call in calls[start:start + 1000]:
                        call(pipe)
                    pipe.execute()

        data, fps = _spider_requests(server.url, n_requests)
        out["request_bytes"] = statistics.mean(len(d) for d in data)

        keys = RunKeys(SLUG, "fingerprints")
        more_fps = [f"{i:040x}" for i in range(n_small)]  # same length as real ones (SHA1 hex)
        before = used()
        batched([lambda p, fp=fp: p.sadd(keys.dupefilter, fp) for fp in more_fps])
        out["fingerprint"] = (used() - before) / n_small

        queue = RunQueue(client, RunKeys(SLUG, "requests"))
        before = used()
        for d, fp in zip(data, fps, strict=True):
            queue.push(d, fingerprint=fp)
        out["queued_with_fp"] = (used() - before) / n_requests
        before = used()
        for _ in range(n_requests):
            queue.pop("worker-1@laichau-dcs")
        out["leased_minus_queued"] = (used() - before) / n_requests

        keys = RunKeys(SLUG, "state")
        before = used()
        batched([lambda p, i=i: p.hset(keys.state, f"https://laichau.dcs.vn/tin-tuc/bai-viet-so-{i}.html",
                                       f"{i % 500}|2024-03-22T20:36:00+07:00") for i in range(n_small)])
        out["state_entry"] = (used() - before) / n_small

        keys = RunKeys(SLUG, "items")
        encoded = [encode_item(ArticleItem(**{k: v for k, v in r.items() if k in ArticleItem.__dataclass_fields__}))
                   for r in rows]
        out["item_json"] = statistics.mean(len(e["data"].encode()) for e in encoded)
        before = used()
        batched([lambda p, e=e: p.xadd(keys.items, e) for e in encoded])
        out["stream_item"] = (used() - before) / len(encoded)
    return out


def archiver_rate(rows: list[dict[str, Any]], workdir: Path) -> float:
    """One ``govarchive archiver`` process draining ``rows`` (articles/s, from the first commit to the last)."""
    db = workdir / "archiver.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    with RedisServer() as server:
        client = connect(server.url)
        keys = RunKeys(SLUG, "bench")
        client.hset(keys.run, mapping={"token": "bench", "state": REQUESTED, "mode": "full", "seeded": "0"})
        client.sadd(RunKeys.runs_set(), SLUG)
        for start in range(0, len(rows), 500):
            with client.pipeline(transaction=False) as pipe:
                for r in rows[start:start + 500]:
                    pipe.xadd(keys.items, encode_item(ArticleItem(
                        **{k: v for k, v in r.items() if k in ArticleItem.__dataclass_fields__ and k != "content_hash"}
                    )))
                pipe.execute()
        proc = subprocess.Popen([sys.executable, "-m", "govarchive.cli", "archiver", "--cluster", server.url, "--db",
                                 str(db), "--exit-when-idle", "--log-level", "WARNING",
                                 "--log-file", str(workdir / "archiver.log")],
                                stdout=subprocess.DEVNULL, cwd=ROOT, env=_env())
        while client.hget(keys.run, "state") == REQUESTED.encode():
            time.sleep(0.01)
        client.hset(keys.run, "seeded", "1")
        RunQueue(client, keys).try_finish()
        counter = RunKeys.counter("archived")
        first = None
        while True:
            done = int(client.get(counter) or 0)
            if done and first is None:
                first = (time.perf_counter(), done)
            if done >= len(rows):
                last = time.perf_counter()
                break
            if proc.poll() is not None:
                raise RuntimeError(f"archiver exited early, see {workdir / 'archiver.log'}")
            time.sleep(0.005)
        proc.wait(timeout=120)
    assert first is not None
    return (len(rows) - first[1]) / (last - first[0])


def frontier_loss(articles: int, kill_after: int, workdir: Path) -> dict[str, dict[str, Any]]:
    """SIGKILL a worker mid-crawl, resume with a second one: what plain scrapy-redis loses, and what leases do.

    One replica portal of ``articles`` articles, a ``full`` crawl. The first worker is killed once the replica has
    served ``kill_after`` article pages, a second one finishes the crawl from Redis. Plain scrapy-redis (its
    scheduler, duplicate filter and persistent queue, the archive written by the worker itself with a commit per
    article, so only the frontier can lose anything) against ``govarchive worker`` + ``govarchive archiver``.
    """
    from govarchive.replica.server import ReplicaServer, ReplicaState

    common = ["-a", "full=1", "-s", "DOWNLOAD_DELAY=0.05", "-s", "AUTOTHROTTLE_ENABLED=0", "-s",
              "RETRY_BACKOFF_BASE=0", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8", "-s", "LOG_LEVEL=INFO"]
    results: dict[str, dict[str, Any]] = {}
    for variant in ("scrapy-redis", "leases"):
        db = workdir / f"loss-{variant}.db"
        with RedisServer() as server, ReplicaServer(ReplicaState.from_registry(
                [SLUG], articles_per_portal=articles)) as replica:
            client = connect(server.url)
            if variant == "scrapy-redis":
                worker = [sys.executable, "-m", "scrapy", "crawl", SLUG, "-s", "REPLICA_URL=" + replica.url,
                          "-s", "SCHEDULER=scrapy_redis.scheduler.Scheduler", "-s", "SCHEDULER_PERSIST=True",
                          "-s", "DUPEFILTER_CLASS=scrapy_redis.dupefilter.RFPDupeFilter",
                          "-s", "REDIS_URL=" + server.url, "-s", f"ARCHIVE_DB={db}", "-s", "ARCHIVE_BATCH_SIZE=1"]
                archiver = None
            else:
                worker = [sys.executable, "-m", "govarchive.cli", "worker", SLUG, "--cluster", server.url,
                          "--replica", replica.url, "-s", "GOVARCHIVE_CLUSTER_HEARTBEAT=0.5",
                          "-s", "GOVARCHIVE_CLUSTER_LEASE_TTL=3"]
                archiver = subprocess.Popen([sys.executable, "-m", "govarchive.cli", "archiver", "--cluster",
                                             server.url, "--db", str(db), "--exit-when-idle", "--log-file",
                                             str(workdir / "loss-archiver.log")], stdout=subprocess.DEVNULL, cwd=ROOT,
                                            env=_env())
            env = _env()
            log = open(workdir / f"loss-{variant}-1.log", "wb")  # noqa: SIM115
            first = subprocess.Popen([*worker, *common], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

            def served() -> int:
                return sum("chi-tiet-tin" in path for _m, path, _s in list(replica.state.log))

            while served() < kill_after and first.poll() is None:
                time.sleep(0.005)
            if variant == "leases":
                in_flight = sum(int(client.hlen(k)) for k in client.keys("govarchive:*:leases"))
            else:
                in_flight = None
            first.kill()
            first.wait()
            log.close()
            done = subprocess.run([*worker, *common], cwd=ROOT, env=env, capture_output=True, timeout=600,
                                  check=False)
            if archiver is not None:
                archiver.wait(timeout=600)
            with Archive.open_existing(db) as archive:
                archived = archive.count("articles")
                last = archive.runs(SLUG, limit=1)[0]
        results[variant] = {"articles": articles, "archived": archived, "lost": articles - archived,
                            "complete": bool(last["complete"]), "in_flight": in_flight,
                            "resume_rc": done.returncode, "served_at_kill": kill_after}
    return results


def render(args: argparse.Namespace, command: str, info: dict[str, str], sq: dict[str, Any], rd: dict[str, Any],
           ar: dict[str, Any], fl: dict[str, dict[str, Any]]) -> str:
    """The docs/performance.md section of one run, headed by the ``command`` that ran it."""
    kb = 1024
    lines = [
        "<!-- bench_cluster:start -->",
        "## Cluster sizing (`benchmarks/bench_cluster.py`)",
        "",
        f"Command: `{command}`  ",
        f"Machine: {info['cpu']}, nproc {info['nproc']}, Linux {info['kernel']}; Python {info['python']}, "
        f"SQLite {info['sqlite']}, sqlite-utils {info['sqlite_utils']}, redis-server {rd['redis_version']}; "
        f"run {info['date']}.",
        "",
        f"**SQLite, crawl write path** (`store_article` one by one, both FTS5 indexes, commit every 50): "
        f"{sq['n']:,} synthetic articles averaging {sq['text_chars']:,.0f} characters of title + lead + body "
        f"({sq['text_bytes']:,.0f} bytes UTF-8).",
        "",
        "| | bytes per article |",
        "|---|---:|",
        f"| whole file | {sq['per_article']:,.0f} ({sq['per_article'] / kb:.1f} KiB) |",
        f"| `articles` table + its indexes | {sq['split'].get('articles', 0):,.0f} |",
        f"| full-text indexes (`articles_fts*`) | {sq['split'].get('fts', 0):,.0f} |",
        f"| everything else (tags, attachments, runs, ...) | {sq['split'].get('other', 0):,.0f} |",
        "",
        "**Redis** (`used_memory` delta / entries; jemalloc, no persistence):",
        "",
        "| entry | bytes each | entries loaded |",
        "|---|---:|---:|",
        f"| fingerprint in a run's duplicate filter (40-hex SHA1, set) | {rd['fingerprint']:,.0f} | {args.keys:,} |",
        f"| queued request, with its fingerprint (pickled article request, {rd['request_bytes']:,.0f} bytes; "
        f"sorted set) | {rd['queued_with_fp']:,.0f} | {args.requests:,} |",
        f"| the same request once leased (hash instead of sorted set): change | {rd['leased_minus_queued']:+,.0f} "
        f"| {args.requests:,} |",
        f"| published incremental state (`url -> first_run\\|published`, hash) | {rd['state_entry']:,.0f} | "
        f"{args.keys:,} |",
        f"| item waiting in the stream (JSON of an article, {rd['item_json']:,.0f} bytes) | {rd['stream_item']:,.0f} "
        f"| {args.articles:,} |",
        "",
        f"**One archiver** draining {args.articles:,} queued articles (normalize -> validate -> dedupe -> store, "
        f"commit + acknowledge every 50), alternated {args.repeats}x with the baseline, `store_article` alone on the "
        f"same articles; medians: archiver **{statistics.median(ar['archiver']):,.0f} articles/s**, baseline "
        f"{statistics.median(ar['floor']):,.0f} articles/s; median ratio **{statistics.median(ar['ratio']):.2f}** "
        f"(runs: archiver {', '.join(f'{r:,.0f}' for r in ar['archiver'])}; baseline "
        f"{', '.join(f'{r:,.0f}' for r in ar['floor'])}; load average {ar['load'][0]} before, {ar['load'][1]} "
        "after).",
        "",
        f"**A worker SIGKILLed mid-crawl**, then a second worker resumes from Redis (`full` crawl of one replica "
        f"portal of {fl['leases']['articles']} articles, the first worker killed once {fl['leases']['served_at_kill']} "
        "article pages were served; the archive is written with a commit per article, so only the frontier can lose "
        "anything):",
        "",
        "| frontier | articles never archived | last run marked complete | leased requests at the kill |",
        "|---|---:|---|---:|",
        *(f"| {name} | {r['lost']} of {r['articles']} | {'yes' if r['complete'] else 'no'} | "
          f"{'-' if r['in_flight'] is None else r['in_flight']} |" for name, r in fl.items()),
        "<!-- bench_cluster:end -->",
    ]
    return "\n".join(lines)


def _env() -> dict[str, str]:
    """A subprocess's environment: the shell's whitelisted basics and the project's Scrapy settings, nothing else."""
    return clean_env(SCRAPY_SETTINGS_MODULE="portal_spiders.settings")


def _load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=5000, help="articles for SQLite, the stream and the archiver")
    parser.add_argument("--keys", type=int, default=200_000, help="fingerprints and state entries in Redis")
    parser.add_argument("--requests", type=int, default=20_000, help="queued requests in Redis")
    parser.add_argument("--repeats", type=int, default=3, help="archiver/baseline alternations")
    parser.add_argument("--loss-articles", type=int, default=150, help="articles of the worker-kill measurement")
    parser.add_argument("--write", action="store_true", help="replace the section in docs/performance.md")
    args = parser.parse_args(argv)
    info = machine()
    rows = article_rows(args.articles)
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        sq = sqlite_cost(rows, Path(tmp))
        rd = redis_cost(rows, args.keys, args.requests)
        drained = article_rows(args.articles, seed=11)
        ar: dict[str, Any] = {"archiver": [], "floor": [], "ratio": [], "load": [_load()]}
        for _ in range(args.repeats):
            ar["floor"].append(floor_rate(drained, Path(tmp)))
            ar["archiver"].append(archiver_rate(drained, Path(tmp)))
            ar["ratio"].append(ar["archiver"][-1] / ar["floor"][-1])
        ar["load"].append(_load())
        fl = frontier_loss(args.loss_articles, args.loss_articles // 3, Path(tmp))
    command = command_line() if argv is None else command_line([sys.argv[0], *argv])
    section = render(args, command, info, sq, rd, ar, fl)
    print(section)
    if args.write:
        replace_section(section, "<!-- bench_cluster:start -->", "<!-- bench_cluster:end -->")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "portal_spiders.settings")
    sys.exit(main())
