"""Benchmark: ``govarchive reextract`` articles/s, against parsing the same pages from memory.

An archive of N replica articles (four platforms, real templates) is built with its WARC captures (gzip-encoded
bodies, as servers send them), then re-extracted: read each record at its offset, undo the encoding, parse with the
platform parser, normalise, compare with the archive. The baseline is the parser alone on the same pages already in
memory, timed alternately in the same run. Reported: median articles/s over the repeats, the ratio to the baseline,
and what that means for 100,000 articles.

    .venv/bin/python benchmarks/bench_reextract.py            # print the table
    .venv/bin/python benchmarks/bench_reextract.py --write    # also update docs/performance.md
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, unquote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

START, END = "<!-- bench_reextract:start -->", "<!-- bench_reextract:end -->"
PORTALS = ("laichau-dcs", "dienbien-gov", "pbgdpl-laichau", "laichau-gov")


def build(tmp: Path, per_portal: int) -> tuple[Path, list[tuple[str, str, bytes, str]]]:
    """The archive, its WARC files and the pages: ``[(portal, url, html bytes, platform)]``."""
    from govarchive.archive import Archive
    from govarchive.reextract import Reextractor
    from govarchive.replica.server import ReplicaState
    from pipelines.dedupe import article_hash
    from portal_spiders.warc import Exchange, WarcWriter, read_response

    state = ReplicaState.from_registry(list(PORTALS), articles_per_portal=per_portal)
    db = tmp / "bench.db"
    writer = WarcWriter(tmp / "warc", label="bench", relative_to=tmp)
    pages = []
    with Archive(db, batch_size=500) as archive:
        extractor = Reextractor(archive)
        for slug in PORTALS:
            site = state.site(slug)
            for art in site.articles:
                path, _, query = site.article_path(art).partition("?")
                reply = site.handle("GET", unquote(path), parse_qs(query), {})
                url = site.absolute(site.article_path(art))
                pointer = writer.write(Exchange(
                    url=url, method="GET", request_headers=[("Accept-Encoding", "gzip")], request_body=b"",
                    status=200, reason="OK", protocol="HTTP/1.1",
                    response_headers=[("Content-Type", reply.content_type), ("Content-Encoding", "gzip")],
                    body=gzip.compress(reply.body), fetched_at=datetime.now(UTC)))
                captured = read_response(tmp / pointer["file"], pointer["offset"])
                item = extractor.item_from_capture(captured, slug, site.platform)
                data = {**item.__dict__, "capture": pointer}
                archive.store_article(data, content_hash=article_hash(item))
                pages.append((slug, url, reply.body, site.platform))
    writer.close()
    return db, pages


def steady_state(changed: list[int]) -> str:
    """What the new versions each reextract run stored say: nothing changed only when every run stored none."""
    if not any(changed):
        return f"new versions per run: {changed}, i.e. nothing changed"
    return (f"new versions per run: {changed}, i.e. re-extraction changed stored articles: the runs are not all "
            "the steady state, whose work is read, parse and compare only")


def run(per_portal: int, repeats: int, command: str) -> str:
    """Build the archive, time reextract against the parse-only baseline, and return the report section."""
    import platform as platform_mod

    from bench_dates import _loadavg, cpu_model, nproc

    from govarchive.archive import Archive
    from govarchive.reextract import Reextractor
    from pipelines.normalize import NormalizePipeline
    from portal_spiders.offline import make_response

    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        t0 = time.perf_counter()
        db, pages = build(tmp, per_portal)
        build_s = time.perf_counter() - t0
        n = len(pages)
        warc_mb = sum(p.stat().st_size for p in (tmp / "warc").glob("*.warc.gz")) / 1e6
        load_before = _loadavg()

        def baseline() -> float:
            archive = Archive(db)
            extractor = Reextractor(archive)
            started = time.perf_counter()
            for slug, url, body, platform in pages:
                item = extractor.parser(slug, platform).parse_article(make_response(url, body), portal=slug)
                NormalizePipeline().process_item(item)
            elapsed = time.perf_counter() - started
            archive.close()
            return n / elapsed

        def reextract() -> tuple[float, int]:
            archive = Archive(db)
            started = time.perf_counter()
            result = Reextractor(archive).run()
            elapsed = time.perf_counter() - started
            archive.close()
            done = result.counts["changed"] + result.counts["unchanged"]
            assert done == n and not result.counts["failed"] and not result.counts["unreadable"], result.counts
            return n / elapsed, result.counts["changed"]

        baseline()  # warm-up: imports, registry, parser caches
        base_rates, rates, ratios, changed = [], [], [], []
        for _ in range(repeats):
            b = baseline()
            r, c = reextract()
            base_rates.append(b)
            rates.append(r)
            ratios.append(r / b)
            changed.append(c)
        load_after = _loadavg()

    rate, base = statistics.median(rates), statistics.median(base_rates)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return "\n".join([
        START,
        "## Re-extraction from WARC: `govarchive reextract`",
        "",
        f"Generated by `{command}` on {stamp}.",
        "",
        f"* machine: `{platform_mod.platform()}`, CPU `{cpu_model()}`, nproc {nproc()}; load average {load_before} "
        f"before, {load_after} after",
        f"* archive: {n} replica articles of {len(PORTALS)} portals ({', '.join(PORTALS)}), one WARC capture each "
        f"(gzip Content-Encoding as servers send it; {warc_mb:.1f} MB of WARC); built in {build_s:.1f} s",
        f"* reextract: read each response record at its offset, undo the encoding, parse, normalise, compare with the "
        f"archive ({steady_state(changed)}); baseline: the same "
        "parsers and normalisation on the same pages already in memory",
        f"* median of {repeats} repeats, baseline and reextract timed alternately",
        "",
        "| | articles/s | ms/article |",
        "|---|---|---|",
        f"| parse only (baseline) | {base:,.0f} | {1000 / base:.2f} |",
        f"| `govarchive reextract` | {rate:,.0f} | {1000 / rate:.2f} |",
        "",
        f"**reextract runs at {statistics.median(ratios):.2f}× the parse-only rate** (range "
        f"{min(ratios):.2f}–{max(ratios):.2f}); at this rate 100,000 archived articles take "
        f"{100_000 / rate / 60:.1f} minutes on one core.",
        END,
    ])


def main() -> None:
    """Run the benchmark, print its section and, with ``--write``, replace it in docs/performance.md."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-portal", type=int, default=500, help="articles per portal (default 500)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="update docs/performance.md")
    args = parser.parse_args()
    from _report import command_line, replace_section

    section = run(args.per_portal, args.repeats, command_line())
    print(section)
    if args.write:
        replace_section(section, START, END)


if __name__ == "__main__":
    main()
