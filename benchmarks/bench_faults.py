"""Benchmark: peak memory and time of real crawls under the faults that cost memory (issue 10 item 7).

Each scenario crawls the replica of ``laichau-dcs`` (24 articles) with ``scrapy crawl`` in a subprocess, against
the fault-injecting replica (``govarchive/replica/faults.py``), and reports the crawl process's peak RSS (the
kernel's ``ru_maxrss`` of the child) and its wall time:

* ``clean``: no fault (the baseline, measured in the same run);
* ``refused``: every article page is 30 MB (half with a ``Content-Length``, half streamed without one), i.e. over
  the page cap; all must end as failures naming their size;
* ``largest accepted``: every article page is 4,000,000 bytes, just under the 4 MiB cap, 16 requests in flight;
* ``huge fields``: every article has a 1,000,000-character title (cut at its cap, the cut recorded);
* ``20,000 links``: both listing pages carry 20,000 extra links.

Usage::

    .venv/bin/python benchmarks/bench_faults.py           # print the markdown section
    .venv/bin/python benchmarks/bench_faults.py --write   # also update docs/reliability.md
"""

from __future__ import annotations

import argparse
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _report import command_line, publish
from bench_dates import _loadavg, cpu_model, nproc

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "reliability.md"
START, END = "<!-- bench_faults:start -->", "<!-- bench_faults:end -->"
SLUG = "laichau-dcs"
ARTICLES = 24
PEAK_RSS = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL, "
            "stderr=subprocess.DEVNULL); open(sys.argv[1], 'w').write(str(resource.getrusage("
            "resource.RUSAGE_CHILDREN).ru_maxrss)); sys.exit(r.returncode)")


def scenarios() -> list[tuple[str, Callable[[Any], None], list[str]]]:
    """(name, fault setup on the FaultState, extra scrapy settings)."""
    from govarchive.replica.faults import Huge, HugeField, Rewrite

    def article_urls(state: Any) -> list[tuple[Any, str]]:
        site = state.site(SLUG)
        return [(a, site.absolute(site.article_path(a))) for a in site.articles]

    def refused(state: Any) -> None:
        for i, (_a, url) in enumerate(article_urls(state)):
            state.add_rule(url, Huge(30_000_000, content_length=i % 2 == 0))

    def largest(state: Any) -> None:
        for _a, url in article_urls(state):
            state.add_rule(url, Huge(4_000_000))

    def fields(state: Any) -> None:
        for a, url in article_urls(state):
            state.add_rule(url, HugeField(a.title, 1_000_000))

    def links(state: Any) -> None:
        padding = "".join(f'<li><a href="/Pages/tag.aspx?tag=chu-de-{i}">Chủ đề {i}</a> <span>{1 + i % 28:02d}'
                          f"/03/2024</span></li>" for i in range(20_000))
        for url in state.site(SLUG).portal.start_urls:
            state.add_rule(url, Rewrite(lambda page, _ctx: page.replace(
                '<div class="list-news">', f'<div class="list-news"><ul>{padding}</ul>')))

    return [("clean", lambda _state: None, []), ("refused: 30 MB pages", refused, []),
            ("largest accepted: 4,000,000-byte pages, 16 in flight", largest,
             ["-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16"]),
            ("huge fields: 1,000,000-character titles", fields, []),
            ("20,000 extra links on each listing page", links, [])]


def crawl(setup: Callable[[Any], None], extra: list[str]) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from govarchive.replica.faults import FaultServer, FaultState

    state = FaultState.from_registry([SLUG], articles_per_portal=ARTICLES)
    setup(state)
    with tempfile.TemporaryDirectory() as tmp, FaultServer(state) as server:
        db, peak = Path(tmp) / "a.db", Path(tmp) / "rss"
        cmd = [sys.executable, "-c", PEAK_RSS, str(peak), sys.executable, "-m", "scrapy", "crawl", SLUG,
               "-s", f"ARCHIVE_DB={db}", "-s", f"REPLICA_URL={server.url}", "-s", "DOWNLOAD_DELAY=0",
               "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "RETRY_BACKOFF_BASE=0", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8",
               *extra]
        started = time.perf_counter()
        code = subprocess.run(cmd, cwd=ROOT, check=False).returncode
        elapsed = time.perf_counter() - started
        conn = sqlite3.connect(db)
        articles = conn.execute("select count(*) from articles").fetchone()[0]
        failures = dict(conn.execute("select substr(reason, 1, 15), count(*) from failures group by 1").fetchall())
        conn.close()
        return {"rc": code, "seconds": elapsed, "peak_mib": int(peak.read_text()) / 1024, "articles": articles,
                "failures": failures}


def run(command: str) -> str:
    load_before = _loadavg()
    results = [(name, crawl(setup, extra)) for name, setup, extra in scenarios()]
    load_after = _loadavg()
    base = results[0][1]
    lines = [
        START,
        "### Measured: peak memory and time of crawls under faults (`benchmarks/bench_faults.py`)",
        "",
        f"Generated by `{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; machine `{platform.platform()}`, CPU "
        f"`{cpu_model()}`, nproc {nproc()}, Python {platform.python_version()}; load average {load_before} before, "
        f"{load_after} after.",
        "",
        f"`scrapy crawl {SLUG}` of a {ARTICLES}-article replica; peak RSS of the crawl process (`ru_maxrss`), "
        "wall time, and the end state of the archive. The clean crawl is the baseline of the same run.",
        "",
        "| scenario | peak RSS | vs clean | wall time | archived | failure rows |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in results:
        failures = ", ".join(f"{n} × “{reason.strip()}…”" for reason, n in sorted(r["failures"].items())) or "0"
        lines.append(f"| {name} | {r['peak_mib']:.0f} MiB | {r['peak_mib'] / base['peak_mib']:.2f}× | "
                     f"{r['seconds']:.1f} s | {r['articles']} | {failures} |")
    lines += ["", END]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--write", action="store_true", help=f"replace the bench_faults section of {DOC}")
    args = ap.parse_args(argv)
    section = run(command_line(None if argv is None else [sys.argv[0], *argv]))
    publish(section, START, END, write=args.write, doc=DOC)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
