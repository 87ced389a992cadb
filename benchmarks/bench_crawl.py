"""Benchmark: CPU per article of a whole crawl against Scrapy fetching the same pages and doing nothing (issue 15).

For one replica portal of each platform, N articles per portal, politeness lifted (16 requests per host in flight, no
delay, no AutoThrottle), alternately ``--repeats`` times:

* ``full``: ``scrapy crawl <portal> -a full=1`` into a fresh archive (listings, feeds, article pages, attachments and
  images, WARC capture, parsing, pipelines, the archive);
* ``bare``: ``benchmarks/_bare_spider.py``, a spider requesting the same article URLs through the project's routing
  and download settings, without pipelines, extensions or WARC, dropping the responses.

CPU is user+sys of the crawl subprocess (``os.wait4``, its waited-for children included), peak RSS its
``ru_maxrss``. Each kind is also run once against a 1-article replica: that run's CPU is the fixed cost (start-up,
registry, archive creation, shutdown) subtracted in the *net* columns, which are shown beside the raw ones. What
each run fetched is counted twice: Scrapy's ``downloader/request_count`` and the replica's own request log, by kind.
The re-extraction rate (``benchmarks/bench_reextract.py``'s archive, a few hundred articles) is measured last.

Usage::

    .venv/bin/python benchmarks/bench_crawl.py            # print the markdown section
    .venv/bin/python benchmarks/bench_crawl.py --write    # also update docs/performance.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from _report import PERFORMANCE_DOC as DOC
from _report import command_line, publish
from bench_dates import _loadavg, cpu_model, nproc
from bench_listing import PORTALS
from bench_reextract import PORTALS as REEXTRACT_PORTALS

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
START, END = "<!-- bench_crawl:start -->", "<!-- bench_crawl:end -->"
# --no-files has a section of its own, so both runs stand side by side in docs/performance.md.
NO_FILES_MARKERS = ("<!-- bench_crawl_nofiles:start -->", "<!-- bench_crawl_nofiles:end -->")
BARE_SPIDER = Path(__file__).resolve().parent / "_bare_spider.py"
LIFTED = ["-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16", "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False",
          "-s", "RETRY_BACKOFF_BASE=0", "-s", "LOG_LEVEL=INFO"]
NO_FILES = ["-s", "ATTACHMENTS_DOWNLOAD=False", "-s", "IMAGES_DOWNLOAD=False"]
GOAL_MS, GOAL_RATIO = 6.0, 0.55
# Articles per listing page where a real portal's is known (the field guide: Liferay 7's asset publisher pages by
# ``delta=10``); the replica's defaults are small so that tests see several pages, and would bill the benchmark
# three times the listing pages a real Liferay portal serves.
REAL_PAGE_SIZES = {"liferay": 10}
REEXTRACT_PER_PORTAL = 75  # x 4 portals of bench_reextract.py
# A small interpreter between this process and the crawl: a child forked from this (large) process would count
# this process's pages in its ru_maxrss. It writes the crawl's rusage as JSON to argv[1].
RUSAGE = ("import json, os, subprocess, sys, time; t = time.perf_counter(); p = subprocess.Popen(sys.argv[2:]); "
          "_, status, u = os.wait4(p.pid, 0); json.dump({'cpu': u.ru_utime + u.ru_stime, 'wall': time.perf_counter() "
          "- t, 'maxrss_kib': u.ru_maxrss, 'code': os.waitstatus_to_exitcode(status)}, open(sys.argv[1], 'w'))")


@dataclass
class Run:
    """One crawl subprocess: its resources and what it fetched."""

    cpu_s: float
    wall_s: float
    peak_mib: float
    returncode: int
    requests: int  # Scrapy's downloader/request_count
    fetched: Counter[str] = field(default_factory=Counter)  # replica log: article / listing / file / robots
    articles: int = 0  # archived articles (full) or article pages answered 200 (bare)
    work: Path | None = None  # the run's folder: archive.db, warc/, crawl.log


def child_env() -> dict[str, str]:
    """This environment without the variables that configure govarchive or Scrapy at import time."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("GOVARCHIVE_", "SCRAPY_"))}


def measure(cmd: list[str], log: Path) -> tuple[float, float, float, int]:
    """Run ``cmd`` from the checkout: (user+sys CPU s, wall s, peak RSS MiB, exit code), output into ``log``."""
    usage_file = log.with_suffix(".rusage.json")
    with log.open("wb") as out:
        subprocess.run([sys.executable, "-c", RUSAGE, str(usage_file), *cmd], cwd=ROOT, stdout=out,
                       stderr=subprocess.STDOUT, env=child_env(), check=False)
    usage = json.loads(usage_file.read_text(encoding="utf-8"))
    return usage["cpu"], usage["wall"], usage["maxrss_kib"] / 1024, usage["code"]


def classify(site: Any, key: str) -> str:
    """The kind of a replica request (``host/path?query`` of its log): article, file, robots or listing."""
    path = unquote(key[key.index("/"):])
    if site.article_at(path) is not None:
        return "article"
    bare_path = path.partition("?")[0]
    if bare_path == "/robots.txt":
        return "robots"
    if bare_path in site.index().attachments or bare_path.endswith((".png", ".jpg")) or \
            bare_path.startswith("/documents/"):  # Liferay's document library (files and images by uuid)
        return "file"
    return "listing"  # listing pages, feeds, sitemaps, the home page


def stat(log: Path, name: str) -> int:
    """An integer from the Scrapy stats dumped at the end of ``log`` (0 when absent)."""
    found = re.findall(rf"'{re.escape(name)}': (\d+)", log.read_text(encoding="utf-8", errors="replace"))
    return int(found[-1]) if found else 0


def crawl_once(kind: str, slug: str, articles: int, tmp: Path, *, files: bool = True) -> Run:
    """One ``full`` or ``bare`` run of ``slug`` against a fresh replica of ``articles`` articles.

    ``files=False``: the full crawl downloads no attachment or image."""
    from govarchive.replica.server import ReplicaServer, ReplicaState

    state = ReplicaState.from_registry([slug], articles_per_portal=articles, page_sizes=REAL_PAGE_SIZES)
    site = state.site(slug)
    work = Path(tempfile.mkdtemp(dir=tmp))
    db, log = work / "archive.db", work / "crawl.log"
    with ReplicaServer(state) as server:
        common = ["-s", f"REPLICA_URL={server.url}", "-s", f"ARCHIVE_DB={db}", *LIFTED]
        if kind == "full":
            cmd = [sys.executable, "-m", "scrapy", "crawl", slug, "-a", "full=1", "-a", "max_pages=100000", *common,
                   *([] if files else NO_FILES)]
        else:
            urls = work / "urls.txt"
            urls.write_text("\n".join(site.absolute(site.article_path(a)) for a in site.articles), encoding="utf-8")
            cmd = [sys.executable, "-m", "scrapy", "runspider", str(BARE_SPIDER), "-a", f"urls={urls}", *common]
        cpu, wall, peak, code = measure(cmd, log)
        entries = list(state.log)
    kinds = [(classify(site, key), status) for _method, key, status in entries]
    run = Run(cpu, wall, peak, code, stat(log, "downloader/request_count"), Counter(k for k, _status in kinds),
              work=work)
    if kind == "full" and db.exists():
        conn = sqlite3.connect(db)
        run.articles = conn.execute("select count(*) from articles").fetchone()[0]
        conn.close()
    else:
        run.articles = sum(1 for k, status in kinds if status == 200 and k == "article")
    return run


@dataclass
class Stages:
    """CPU ms per archived article of the project's own stages, replayed in this process on one full run's pages."""

    tree: float  # parse_html of every listing and article page: the least any extraction needs
    parse: float  # the platform parser on the same pages (listings and articles, tree included)
    pipelines: float  # normalize, validate and the content hash
    store: float  # the store pipeline's archive writes (rows, both full-text indexes, commits every 50)
    warc: float  # WarcWriter.write of every response the run captured
    pages: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> float:
        """Everything measured here."""
        return self.parse + self.pipelines + self.store + self.warc


def stage_costs(slug: str, db: Path, warc_dir: Path, passes: int = 3) -> Stages:
    """Replay a crawl of ``slug`` (its archive ``db`` and WARC folder) through the project's stages, each timed
    alone (medians of ``passes``).

    The pages are the crawl's own WARC response records: ``slug``'s article pages (the archive's captures), HTML
    listing pages (every other HTML response but robots.txt and other portals' articles) and the rest (feeds, JSON
    lists, files), which only the WARC stage sees. Scratch archives go into ``db``'s folder."""
    from itemadapter import ItemAdapter
    from warcio.archiveiterator import ArchiveIterator

    from govarchive.archive import Archive
    from govarchive.reextract import Reextractor, capture_time, response_for
    from pipelines.dedupe import article_hash
    from pipelines.normalize import NormalizePipeline
    from pipelines.validate import ValidatePipeline
    from portal_spiders.platforms.base import parse_html
    from portal_spiders.warc import Exchange, WarcWriter, read_response

    conn = sqlite3.connect(db)
    captured = list(conn.execute("select a.portal, c.url from articles a join captures c on c.id = a.capture_id"))
    platform_name = conn.execute("select platform from articles where portal = ? limit 1", [slug]).fetchone()[0]
    conn.close()
    article_urls = {url for portal, url in captured if portal == slug}
    elsewhere = {url for portal, url in captured if portal != slug}
    work = db.parent
    captures = []
    for path in sorted(warc_dir.glob("*.warc.gz")):
        with path.open("rb") as fh:
            records = ArchiveIterator(fh)
            offsets = [records.get_record_offset() for rec in records if rec.rec_type == "response"]
        captures += [read_response(path, offset) for offset in offsets]
    listings, articles, exchanges = [], [], []
    pages: Counter[str] = Counter()
    for cap in captures:
        exchanges.append(Exchange(url=cap.url, method="GET", request_headers=[("User-Agent", "govarchive")],
                                  request_body=b"", status=cap.status, reason="OK", protocol="HTTP/1.1",
                                  response_headers=cap.headers, body=cap.body, fetched_at=datetime.now(UTC)))
        if cap.url in article_urls:
            articles.append((response_for(cap), capture_time(cap.date)))
            pages["article"] += 1
        elif "html" in (cap.header("Content-Type") or "") and not cap.url.endswith("/robots.txt") and \
                cap.url not in elsewhere:
            listings.append(response_for(cap))
            pages["listing"] += 1
        else:
            pages["other"] += 1
    parser = Reextractor(None).parser(slug, platform_name)  # type: ignore[arg-type]
    responses = [*listings, *(r for r, _now in articles)]
    timings: dict[str, list[float]] = {name: [] for name in ("tree", "parse", "pipelines", "store", "warc")}

    def lap(name: str, started: float) -> None:
        timings[name].append((time.process_time() - started) * 1000 / len(articles))

    for _ in range(passes):
        _fresh(responses)  # each stage decodes and parses the bodies again, as the crawl did once
        started = time.process_time()
        for response in responses:
            parse_html(response.text)
        lap("tree", started)
        _fresh(responses)
        started = time.process_time()
        for response in listings:
            parser.parse_listing(response)
        items = [parser.parse_article(r, portal=slug, now=now) for r, now in articles]
        lap("parse", started)
        normalize, validate = NormalizePipeline(), ValidatePipeline()
        started = time.process_time()
        for item in items:
            validate.process_item(normalize.process_item(item))
            item.content_hash = article_hash(item)
        lap("pipelines", started)
        scratch = Path(tempfile.mkdtemp(dir=work))  # a new archive each pass: every article is new to it
        archive = Archive(scratch / "stages.db")
        started = time.process_time()
        for item in items:  # what StorePipeline.process_item does with an article
            archive.store_article(dict(ItemAdapter(item).items()), content_hash=item.content_hash or "")
            for url in {item.url, item.source_url, item.final_url}:
                if url:
                    archive.clear_failure(url)
        archive.commit()
        lap("store", started)
        archive.close()
        writer = WarcWriter(scratch / "warc")
        started = time.process_time()
        for exchange in exchanges:
            writer.write(exchange)
        lap("warc", started)
        writer.close()
    return Stages(**{name: statistics.median(values) for name, values in timings.items()}, pages=pages)


def _fresh(responses: list[Any]) -> None:
    """Forget the decoded text and selector Scrapy caches on each response."""
    for response in responses:
        response._cached_ubody = response._cached_selector = None


def reextract_rate(tmp: Path) -> tuple[int, float, float]:
    """(articles, articles/s of CPU, articles/s of wall) of ``govarchive reextract`` on bench_reextract's archive."""
    from bench_reextract import build

    from govarchive.archive import Archive
    from govarchive.reextract import Reextractor

    db, pages = build(tmp, REEXTRACT_PER_PORTAL)
    archive = Archive(db)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    result = Reextractor(archive).run()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    archive.close()
    done = result.counts["changed"] + result.counts["unchanged"]
    assert done == len(pages) and not result.counts["failed"], result.counts
    return done, done / cpu, done / wall


def fetched_words(run: Run) -> str:
    """What a run fetched, by kind (replica log) and in total (Scrapy stats)."""
    parts = [f"{run.fetched[k]} {k}" for k in ("article", "listing", "file", "robots") if run.fetched[k]]
    return f"{run.requests} ({', '.join(parts)})"


def run(articles: int, repeats: int, command: str, *, files: bool = True) -> str:
    """Run the benchmark and return the markdown section."""
    from scrapy import __version__ as scrapy_version

    from portal_spiders.registry import default_registry

    registry = default_registry()
    load_before = _loadavg()
    started = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for slug in PORTALS:
            runs: dict[str, list[Run]] = {"full": [], "bare": []}
            fixed_runs: dict[str, list[Run]] = {"full": [], "bare": []}
            for _ in range(repeats):
                for kind in ("full", "bare"):
                    runs[kind].append(crawl_once(kind, slug, articles, tmp, files=files))
                    fixed_runs[kind].append(crawl_once(kind, slug, 1, tmp, files=files))
            fixed = {kind: statistics.median(r.cpu_s for r in fixed_runs[kind]) for kind in fixed_runs}
            last = runs["full"][-1]
            stages = stage_costs(slug, last.work / "archive.db", last.work / "warc") if last.work and last.articles \
                else None
            rows.append((slug, registry[slug].platform, fixed, runs, stages))
            full, bare = runs["full"][-1], runs["bare"][-1]
            print(f"{slug}: full {statistics.median(r.cpu_s for r in runs['full']):.2f} s CPU, "
                  f"bare {statistics.median(r.cpu_s for r in runs['bare']):.2f} s CPU; fetched "
                  f"{fetched_words(full)} / {fetched_words(bare)}", file=sys.stderr)
        crawl_s = time.perf_counter() - started
        reextracted, reextract_cpu_rate, reextract_wall_rate = reextract_rate(tmp / "reextract")
    load_after = _loadavg()

    def med(values: list[float]) -> float:
        return statistics.median(values)

    start, end = (START, END) if files else NO_FILES_MARKERS
    lines = [
        start,
        "## Crawl: CPU per article against bare fetching (`benchmarks/bench_crawl.py`"
        + ("" if files else ", without attachments and images") + ")",
        "",
        f"Generated by `{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        f"* machine: `{platform.platform()}`, CPU `{cpu_model()}`, nproc {nproc()}; Python "
        f"{platform.python_version()}, Scrapy {scrapy_version}; load average {load_before} before, {load_after} after",
        f"* one replica portal per platform, {articles} articles each, served by the in-process replica "
        "(its CPU is not counted), listing pages of the replica's size except where a real portal's is known ("
        + ", ".join(f"{platform_name} {size}" for platform_name, size in REAL_PAGE_SIZES.items())
        + " articles per page); politeness lifted: `CONCURRENT_REQUESTS_PER_DOMAIN=16`, `DOWNLOAD_DELAY=0`, "
        "`AUTOTHROTTLE_ENABLED=False`",
        "* full = `scrapy crawl <portal> -a full=1 -a max_pages=100000` into a fresh archive (listings and feeds, "
        + ("article pages, attachments (with their text) and images, " if files else
           "article pages but no attachment or image (`--no-files`: "
           "`-s ATTACHMENTS_DOWNLOAD=False -s IMAGES_DOWNLOAD=False`), ")
        + "WARC capture, parsing, pipelines, the archive); "
        "bare = `scrapy runspider benchmarks/_bare_spider.py` requesting the same article URLs through the same "
        "routing and download settings, without pipelines, project extensions or WARC, dropping every response",
        f"* CPU = user+sys of the crawl subprocess (`os.wait4`, its children included); medians of {repeats} runs, "
        "full and bare alternately; peak RSS = its `ru_maxrss`",
        "* fixed cost = median CPU of the same command against a 1-article replica (start-up, shutdown), run after "
        "each timed run; *net* ms/article = (CPU − fixed cost) / articles; raw = CPU / articles, nothing subtracted; "
        "ratio = bare ms/article / full ms/article; the goal is judged on the net figures",
        "* articles/s = articles archived (full) or article pages answered (bare) / wall time of the subprocess, "
        "start-up included",
        "* requests = Scrapy's `downloader/request_count` (retries and robots.txt included), then the replica's log "
        "of the same run by kind: article pages, listing pages and feeds, files (attachments and images), robots.txt",
        "",
        "| portal (platform) | full: requests | bare: requests | full CPU ms/article net (raw) | "
        "bare CPU ms/article net (raw) | fixed cost full / bare | ratio bare/full net (raw) | articles/s full / bare | "
        "peak RSS full / bare | goal |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    verdicts = []
    breakdown = [
        "",
        "Where the full crawl's net CPU goes, per archived article. *Scrapy* = the bare spider's net ms per request "
        "× the full run's requests per article (listings, feeds and robots.txt included"
        + (", files too" if files else "") + "): what fetching alone costs if each request costs what a bare one "
        "does. The project's stages are replayed in this process on the last full run's own pages (its WARC "
        "response records), each timed alone, medians of 3 passes: *tree* = building the HTML tree of every listing "
        "and article page (the least any extraction needs), *parse* = the platform parser on the same pages (tree "
        "included), *pipelines* = normalize, validate and the content hash, *store* = the store pipeline's archive "
        "writes (rows, both full-text indexes, a commit every 50), *WARC* = writing every captured response. "
        "*Other* = full net − all of these (Scrapy's handling of items and of the extra requests' callbacks, the "
        "project's middlewares and extensions, feed and JSON-list parsing"
        + (", attachment text" if files else "") + "). *Ceiling* = the best ratio the goal's definition allows "
        "with other at zero: bare / (Scrapy + the stages as they are), and with field extraction free as well: "
        "bare / (Scrapy + tree + store + WARC). *Left by the goal* = bare / "
        f"{GOAL_RATIO} − Scrapy: the whole budget that a ratio of {GOAL_RATIO} leaves for the project's work.",
        "",
        "| portal | full net | Scrapy | tree | parse | pipelines | store | WARC | other | ceiling: now / extraction "
        "free | left by the goal, against the stages |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for slug, plat, fixed, runs, stages in rows:
        full, bare = runs["full"], runs["bare"]
        n_full = med([r.articles for r in full])
        n_bare = med([r.articles for r in bare])
        full_net = (med([r.cpu_s for r in full]) - fixed["full"]) / n_full * 1000
        bare_net = (med([r.cpu_s for r in bare]) - fixed["bare"]) / n_bare * 1000
        full_raw = med([r.cpu_s for r in full]) / n_full * 1000
        bare_raw = med([r.cpu_s for r in bare]) / n_bare * 1000
        ratio = bare_net / full_net
        if full_net <= 0 or bare_net <= 0:  # the run-to-run noise of the fixed cost exceeds the articles' cost
            missed = ["net CPU ≤ 0, too few --articles to tell"]
        else:
            missed = ([f"{full_net:.1f} ms > {GOAL_MS:g}"] if full_net > GOAL_MS else []) + \
                ([f"ratio {ratio:.2f} < {GOAL_RATIO}"] if ratio < GOAL_RATIO else [])
        ok = not missed
        verdicts.append((slug, ok))
        bad = [f"exit {r.returncode}" for r in full + bare if r.returncode]
        bad += [f"{r.articles} of {articles} archived" for r in full if r.articles != articles]
        lines.append(
            f"| {slug} ({plat}) | {fetched_words(full[-1])} | {fetched_words(bare[-1])} | "
            f"{full_net:.1f} ({full_raw:.1f}) | {bare_net:.1f} ({bare_raw:.1f}) | "
            f"{fixed['full']:.2f} s / {fixed['bare']:.2f} s | {ratio:.2f} ({bare_raw / full_raw:.2f}) | "
            f"{med([r.articles / r.wall_s for r in full]):.0f} / {med([r.articles / r.wall_s for r in bare]):.0f} | "
            f"{med([r.peak_mib for r in full]):.0f} / {med([r.peak_mib for r in bare]):.0f} MiB | "
            f"{'met' if ok else 'not met: ' + ', '.join(missed)}"
            f"{' (' + ', '.join(sorted(set(bad))) + ')' if bad else ''} |")
        if stages is not None and bare_net > 0:
            scrapy = bare_net * full[-1].requests / full[-1].articles
            other = full_net - scrapy - stages.total
            free = scrapy + stages.tree + stages.store + stages.warc
            left = bare_net / GOAL_RATIO - scrapy
            breakdown.append(
                f"| {slug} | {full_net:.2f} | {scrapy:.2f} | {stages.tree:.2f} | {stages.parse:.2f} | "
                f"{stages.pipelines:.2f} | {stages.store:.2f} | {stages.warc:.2f} | {other:.2f} | "
                f"{bare_net / (scrapy + stages.total):.2f} / {bare_net / free:.2f} | {left:.2f} against "
                f"{stages.total:.2f} |")
    met = [slug for slug, ok in verdicts if ok]
    lines += [
        "",
        f"Goal: ≤ {GOAL_MS:g} ms CPU per article on every platform, ratio ≥ {GOAL_RATIO}. "
        + ("**Met on every platform.**" if len(met) == len(verdicts) else
           f"**Met on {len(met)} of {len(verdicts)} platforms**"
           + (f" ({', '.join(met)})" if met else "") + "."),
        *breakdown,
        "",
        f"Re-extraction (`govarchive reextract` on `benchmarks/bench_reextract.py`'s archive of {reextracted} articles "
        f"of {len(REEXTRACT_PORTALS)} portals, in this process): **{reextract_cpu_rate:,.0f} articles/s per core** "
        f"(CPU time), {reextract_wall_rate:,.0f} articles/s wall. The crawls took {crawl_s / 60:.1f} minutes.",
        end,
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run, print the section and with ``--write`` replace it in docs/performance.md."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--articles", type=int, default=150, help="articles per portal (default 150)")
    ap.add_argument("--repeats", type=int, default=3, help="full/bare pairs per portal (medians are reported)")
    ap.add_argument("--no-files", action="store_true", help="the full crawl downloads no attachment or image")
    ap.add_argument("--write", action="store_true", help=f"replace the bench_crawl section of {DOC}")
    args = ap.parse_args(argv)
    section = run(args.articles, max(1, args.repeats), command_line(None if argv is None else [sys.argv[0], *argv]),
                  files=not args.no_files)
    publish(section, *((START, END) if not args.no_files else NO_FILES_MARKERS), write=args.write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
