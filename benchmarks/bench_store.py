"""Store cost against the size of the archive: CPU per article of ``Archive.store_article`` into an empty archive and
into one that already holds N articles (issue 15: within +25% at 150,000 and more).

    .venv/bin/python benchmarks/bench_store.py --write

``store_article`` is the crawl's whole write path: the lookup of the URL (versioning), the syndication lookup,
the row, tags, attachments with their text, cited document numbers, both full-text indexes (syllables and syllable
pairs, folded and exact) and the batched commits (``ARCHIVE_BATCH_SIZE`` articles each, as in a crawl).

The filled archive is ``bench_search.py``'s synthetic archive (real Vietnamese words, bodies of 40 to 2,500
syllables, 10% with an attachment's text), bulk-inserted and indexed in one go, kept in /tmp/govarchive-bench
(``--dir``) and reused when it is there (``--rebuild`` makes it again). The measured articles are more of the same
generator under other URLs, stored one by one into both archives in alternating chunks, so a slow minute of this
shared machine falls on both; the figures are medians over the chunks. The filled archive is copied for the run and
never changed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _report import command_line, publish  # noqa: E402
from bench_search import machine, synthetic_articles  # noqa: E402

from govarchive.archive import SEARCH_INDEX_FORMAT, Archive  # noqa: E402

START, END = "<!-- bench_store:start -->", "<!-- bench_store:end -->"
BATCH_SIZE = 50  # portal_spiders/settings.py ARCHIVE_BATCH_SIZE
GOAL = 1.25


def filled_archive(n: int, *, rebuild: bool, directory: Path) -> tuple[Path, dict]:
    """The archive of ``n`` synthetic articles (built, or reused with the figures of its build)."""
    path = directory / f"store-{n}.db"
    sidecar = Path(f"{path}.build.json")
    info = json.loads(sidecar.read_text()) if sidecar.exists() else None
    if (not rebuild and path.exists() and isinstance(info, dict) and info.get("articles") == n
            and info.get("search_index_format") == SEARCH_INDEX_FORMAT):
        return path, {**info, "reused": True}
    path.parent.mkdir(parents=True, exist_ok=True)
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        p.unlink(missing_ok=True)
    print(f"building an archive of {n:,} articles in {path} ...", flush=True)
    t0 = time.perf_counter()
    archive = Archive(path)
    archive.bulk_insert_articles(synthetic_articles(n), index=False, chunk=20_000)
    archive.rebuild_search_index(optimize=False, chunk=20_000)
    archive.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    archive.close()
    info = {"articles": n, "build_s": round(time.perf_counter() - t0, 1), "size": path.stat().st_size,
            "built_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "search_index_format": SEARCH_INDEX_FORMAT}
    sidecar.write_text(json.dumps(info))
    return path, {**info, "reused": False}


def measured_articles(m: int) -> list[tuple[dict, str]]:
    """``m`` new articles (URLs no filled archive holds) and their content hashes."""
    out = []
    for row in synthetic_articles(m, seed=99):
        content_hash = row.pop("content_hash")
        row["url"] = row["url"].replace("/tin-tuc/", "/bench-store/")
        out.append((row, f"store-{content_hash}"))
    return out


def store_chunk(archive: Archive, rows: list[tuple[dict, str]], run_id: int) -> float:
    """CPU seconds to store ``rows`` (the last batch committed)."""
    t0 = time.process_time()
    for row, content_hash in rows:
        outcome = archive.store_article(row, content_hash=content_hash, run_id=run_id)
        assert outcome == "new", outcome
    archive.commit()
    return time.process_time() - t0


def run(n: int, m: int, chunk: int, rebuild: bool, directory: Path = Path("/tmp/govarchive-bench")) -> str:
    filled, info = filled_archive(n, rebuild=rebuild, directory=directory)
    articles = measured_articles(m)
    work = Path(tempfile.mkdtemp(prefix="bench-store-"))
    try:
        big_path = work / "filled.db"
        shutil.copyfile(filled, big_path)
        archives = {"empty": Archive(work / "empty.db", batch_size=BATCH_SIZE),
                    "filled": Archive(big_path, batch_size=BATCH_SIZE)}
        runs = {name: a.start_run("bench-store") for name, a in archives.items()}
        times: dict[str, list[float]] = {name: [] for name in archives}
        chunks = [articles[i:i + chunk] for i in range(0, len(articles), chunk)]
        for k, rows in enumerate(chunks):
            order = list(archives) if k % 2 == 0 else list(reversed(archives))
            for name in order:
                times[name].append(1000 * store_chunk(archives[name], rows, runs[name]) / len(rows))
        sizes = {name: a.count("articles") for name, a in archives.items()}
        for a in archives.values():
            a.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    med = {name: statistics.median(v) for name, v in times.items()}
    mean = {name: statistics.fmean(v) for name, v in times.items()}
    ratio = med["filled"] / med["empty"]
    mean_ratio = mean["filled"] / mean["empty"]
    # FTS5 merges its segments now and then (a few chunks pay for many): the median resists the machine's noise,
    # the mean counts the merges in full; the goal is met only if both are within it
    verdict = "met" if max(ratio, mean_ratio) <= GOAL else "not met"
    built = (f"reused the archive built on {info['built_at']} in {info['build_s']:.0f} s" if info["reused"]
             else f"built for this run in {info['build_s']:.0f} s")
    lines = [
        START,
        "## Store cost against the size of the archive (`benchmarks/bench_store.py`)",
        "",
        f"Generated by `{command_line()}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        "* machine: " + ", ".join(f"{k} {v}" for k, v in machine().items()),
        f"* filled archive: {n:,} synthetic articles of `bench_search.py`'s generator, "
        f"{info['size'] / 1e9:.2f} GB ({built}); empty archive: a new file",
        f"* measured: {m:,} more articles of the same generator under new URLs, stored one by one with "
        f"`Archive.store_article` (versioning and syndication lookups, tags, attachments, citations, both full-text "
        f"indexes) in batches of {BATCH_SIZE}, into both archives in alternating chunks of {chunk}; CPU time of this "
        f"process; medians over the {len(times['empty'])} chunks",
        "",
        "| archive | articles before | articles after | CPU ms/article (median) | mean | chunks (ms/article) |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, before in (("empty", 0), ("filled", n)):
        lines.append(f"| {name} | {before:,} | {sizes[name]:,} | {med[name]:.2f} | {mean[name]:.2f} | "
                     f"{', '.join(f'{t:.2f}' for t in times[name])} |")
    lines += [
        "",
        f"Filled / empty: **{ratio:.2f}** on the medians, **{mean_ratio:.2f}** on the means, which count the "
        f"full-text index's occasional segment merges in full (goal ≤ {GOAL:.2f} on both at 150,000 articles and "
        f"more: {verdict}).",
        END,
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--articles", type=int, default=150_000, help="articles in the filled archive (default 150000)")
    ap.add_argument("--measure", type=int, default=3_000, help="articles stored into each archive (default 3000)")
    ap.add_argument("--chunk", type=int, default=250, help="articles per timed chunk (default 250)")
    ap.add_argument("--rebuild", action="store_true", help="build the filled archive again even if it exists")
    ap.add_argument("--dir", type=Path, default=Path("/tmp/govarchive-bench"),
                    help="where the filled archive is kept (default /tmp/govarchive-bench)")
    ap.add_argument("--write", action="store_true", help="replace the bench_store section of docs/performance.md")
    args = ap.parse_args(argv)
    publish(run(args.articles, args.measure, args.chunk, args.rebuild, args.dir), START, END, write=args.write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
