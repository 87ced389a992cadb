"""Search engine benchmark: Tantivy against SQLite FTS5 on the same archive and the same queries (issue 13).

    .venv/bin/python benchmarks/bench_search_engine.py --articles 150000 --write

``bench_search.py`` showed that the search misses its 1M-article latency targets (newest first p95 < 100 ms, by
relevance p95 < 500 ms, exact totals) and that the time goes to FTS5 itself: an exact count walks every posting of
the query, and bm25 ordering scores every match before the first page can be returned. This benchmark measures
whether another engine removes that floor before anyone builds on it.

On one archive built by ``bench_search.py`` (synthetic articles of real Vietnamese words; ``--db``), it:

* builds a Tantivy index (tantivy-py, the Rust library's bindings) holding the same text as the archive's folded
  full-text index: the same ``searchtext.index_text`` tokens (syllables and syllable pairs), one value per column so
  that no phrase spans two columns, a whitespace tokenizer, positions, and the search key (publication minute and
  id) as a fast field for newest-first order;
* runs ``bench_search.py``'s query classes through both engines with the folded expression that
  ``govarchive.search`` builds (read into a Tantivy query by ``govarchive.searchindex.fts5_query``): FTS5 =
  ``Archive.fts_count`` + ``Archive.fts_search`` (the exact total and a page of 20), Tantivy = one search with the
  exact count and a page of 20, newest first (search key) or by BM25;
* checks that both engines give the same total for every query.

Engine time only: building the expression (the same for both), the exact-diacritics-first ordering and snippets are
left out. This is the engine alone; ``bench_search.py --engine tantivy`` measures ``govarchive search`` with the
Tantivy index beside the archive (govarchive/searchindex.py), which this benchmark led to.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import sys
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _report import command_line, replace_section
from bench_search import machine, pct, query_sets, synthetic_articles

from govarchive.archive import Archive, _fts_texts, attachments_search_text, search_key
from govarchive.search import expressions, parse_query
from govarchive.searchindex import PAIRS, field_for, fts5_query

COMPARED = ("<!-- bench_search_engine:start -->", "<!-- bench_search_engine:end -->")
ALONE = ("<!-- bench_search_engine_alone:start -->", "<!-- bench_search_engine_alone:end -->")
TARGET_NEWEST_MS, TARGET_RELEVANCE_MS = 100, 500
COLUMNS = ("title", "summary", "body", "tags", "attachments", "portal")
TOKENIZER = "govarchive_ws"  # the text is tokenized by govarchive.searchtext already: split on whitespace only
INDEX_FORMAT = 2  # bump when what the Tantivy index holds changes (2: syllables and pairs in two fields)


def tantivy_index(path: Path, *, create: bool = False) -> tuple[Any, Any]:
    """The Tantivy index at ``path`` and its schema (a new empty one with ``create``)."""
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("key", stored=True, indexed=True, fast=True)
    for field in ("folded", "folded" + PAIRS):  # as govarchive.searchindex: syllables, and their pairs apart
        builder.add_text_field(field, stored=False, tokenizer_name=TOKENIZER, index_option="position")
    schema = builder.build()
    if create:
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
    index = tantivy.Index(schema, path=str(path), reuse=not create)
    index.register_tokenizer(TOKENIZER, tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build())
    return index, schema


def archive_rows(db: Path) -> Iterator[tuple[int, tuple[str, ...]]]:
    """``(search key, folded column values)`` of every article of ``db``, as the archive indexes them."""
    archive = Archive.open_existing(db)
    try:
        for batch in archive.search_text_batches():
            for _id, key, _exact, folded in batch:
                yield key, folded
    finally:
        archive.close()


def synthetic_rows(n: int) -> Iterator[tuple[int, tuple[str, ...]]]:
    """The same for the articles ``bench_search.py`` would bulk-insert into a new archive (ids from 1)."""
    for article_id, article in enumerate(synthetic_articles(n), start=1):
        row = {**article, "id": article_id, "tags": json.dumps(article["tags"], ensure_ascii=False)}
        _exact, folded = _fts_texts(row, attachments_search_text(article["attachments"]))
        yield search_key(article["published"], article_id), folded


def build_tantivy(rows: Iterable[tuple[int, tuple[str, ...]]], path: Path, source: str) -> dict[str, Any]:
    """Index ``rows`` into a new Tantivy index at ``path``; the build's figures (``source`` names the rows)."""
    import tantivy

    index, _schema = tantivy_index(path, create=True)
    writer = index.writer(heap_size=500_000_000, num_threads=max(1, min(4, os.cpu_count() or 1)))
    wall, cpu = time.perf_counter(), time.process_time()
    done = 0
    for key, folded in rows:
        doc = tantivy.Document(key=key)
        for value in folded:  # one value per column: Tantivy leaves a gap between values, so no phrase spans two
            syllables, _, pairs = value.partition("\n")
            if syllables:
                doc.add_text("folded", syllables)
            if pairs:
                doc.add_text("folded" + PAIRS, pairs)
        writer.add_document(doc)
        done += 1
        if done % 100_000 == 0:
            print(f"  indexed {done:,}", flush=True)
    writer.commit()
    writer.wait_merging_threads()
    size = sum(f.stat().st_size for f in path.iterdir() if f.is_file())
    return {"articles": done, "build_s": time.perf_counter() - wall, "build_cpu_s": time.process_time() - cpu,
            "bytes": size, "format": INDEX_FORMAT, "source": source,
            "built_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}


class TantivyVocabulary:
    """The two vocabulary questions ``govarchive.search.expressions`` asks the archive, answered by the Tantivy
    index, for runs without an archive (``--synthetic``)."""

    def __init__(self, searcher: Any) -> None:
        self.searcher = searcher

    def fts_prefix_terms(self, prefix: str, *, limit: int = 64) -> list[str] | None:
        """Single-syllable terms starting with ``prefix``; ``None`` when more than ``limit``."""
        terms = [term for term, _count in self.searcher.terms_with_prefix("folded", prefix)]
        return terms if len(terms) <= limit else None

    def fts_terms_present(self, terms: Iterable[str]) -> set[str]:
        """Which of these terms the index holds."""
        return {t for t in dict.fromkeys(terms) if self.searcher.doc_freq(field_for("folded", [t]), t)}


def timed(fn: Any) -> tuple[float, Any]:
    """(milliseconds, result) of ``fn()``."""
    started = time.perf_counter()
    result = fn()
    return (time.perf_counter() - started) * 1000, result


def run(db: Path | None, n: int, index_dir: Path, per_class: int, reuse: bool) -> dict[str, Any]:
    """Build (or reuse) the Tantivy index and time every query class: on both engines when ``db`` (an archive) is
    given, else on Tantivy alone over ``n`` synthetic articles indexed without an archive."""
    from tantivy import Order

    source = str(db) if db else f"synthetic:{n}"
    record = Path(f"{index_dir}.build.json")
    info = json.loads(record.read_text()) if record.exists() else None
    if not (reuse and info and info.get("format") == INDEX_FORMAT and info.get("source") == source
            and index_dir.exists()):
        print(f"building the Tantivy index of {source} in {index_dir} …", flush=True)
        info = build_tantivy(archive_rows(db) if db else synthetic_rows(n), index_dir, source)
        record.write_text(json.dumps(info, indent=2))
    index, schema = tantivy_index(index_dir)
    index.reload()
    searcher = index.searcher()
    archive = Archive.open_existing(db) if db else None
    n = archive.count("articles") if archive else n
    assert info["articles"] == n, f"the Tantivy index holds {info['articles']} articles, the source {n}"
    vocabulary = archive or TantivyVocabulary(searcher)
    rows, mismatches = [], []
    for cls, queries in query_sets(n, per_class).items():
        row: dict[str, Any] = {"class": cls, "example": queries[0], "totals": []}
        prepared = []
        for q in queries:
            folded, _exact, _variants = expressions(vocabulary, parse_query(q))  # type: ignore[arg-type]
            prepared.append((q, folded, fts5_query(folded, schema, "folded")))
        for sort in ("newest", "relevance"):
            ranked = sort == "relevance"
            fts_ms: list[float] = []
            tv_ms: list[float] = []
            kwargs = {} if ranked else {"order_by_field": "key", "order": Order.Desc}
            # warm both engines' caches for this class, then alternate query by query
            searcher.search(prepared[0][2], limit=20, count=True, **kwargs)
            if archive:
                archive.fts_search(prepared[0][1], limit=20, ranked=ranked)
            for q, folded, query in prepared:
                ms, found = timed(lambda query=query, kwargs=kwargs: searcher.search(query, limit=20, count=True,
                                                                                     **kwargs))
                tv_ms.append(ms)
                if not ranked:
                    row["totals"].append(found.count)
                if archive is None:
                    continue
                ms, (total, page) = timed(lambda folded=folded, ranked=ranked: (
                    archive.fts_count(folded), archive.fts_search(folded, limit=20, ranked=ranked)))
                fts_ms.append(ms)
                if found.count != total or len(found.hits) != len(page):
                    mismatches.append(f"{q!r} ({sort}): FTS5 {total} / page {len(page)}, Tantivy {found.count} / "
                                      f"page {len(found.hits)}")
                elif not ranked and [searcher.doc(address)["key"][0] for _score, address in found.hits] != \
                        [k for k, _ in page]:
                    mismatches.append(f"{q!r}: the newest pages differ")
            row[sort] = {"fts5": fts_ms, "tantivy": tv_ms}
        rows.append(row)
        print(f"  {cls:18} Tantivy p95 newest {pct(row['newest']['tantivy'], 0.95):6.1f}, relevance "
              f"{pct(row['relevance']['tantivy'], 0.95):6.1f}"
              + (f" | FTS5 p95 newest {pct(row['newest']['fts5'], 0.95):8.1f}, relevance "
                 f"{pct(row['relevance']['fts5'], 0.95):8.1f}" if archive else ""), flush=True)
    fts_bytes = None
    if archive is not None:
        if _has_dbstat(archive):
            fts_bytes = archive.db.execute(
                "select coalesce(sum(pgsize), 0) from dbstat where name like 'articles_fts%' and name not like "
                "'articles_fts_exact%'").fetchone()[0]
        archive.close()
    return {"info": info, "n": n, "rows": rows, "mismatches": mismatches, "per_class": per_class,
            "fts_folded_bytes": fts_bytes, "compared": archive is not None}


def _has_dbstat(archive: Archive) -> bool:
    try:
        archive.db.execute("select 1 from dbstat limit 1").fetchall()
    except sqlite3.Error:
        return False
    return True


def render(result: dict[str, Any], command: str) -> str:
    """The markdown section (its markers: :data:`COMPARED` with an archive, :data:`ALONE` without)."""
    from importlib.metadata import version

    m, info, n, compared = machine(), result["info"], result["n"], result["compared"]
    start, end = COMPARED if compared else ALONE
    source = (f"the archive `{info['source']}` built by `bench_search.py`" if compared else
              "no archive: the articles `bench_search.py` would insert, indexed straight into Tantivy")
    lines = [
        start,
        "## Search engines: Tantivy " + ("against SQLite FTS5" if compared else f"alone at {n:,} articles")
        + " (`benchmarks/bench_search_engine.py`)",
        "",
        f"Command: `{command}`  ",
        f"Machine: {m['cpu']}, nproc {m['nproc']}, Linux {m['kernel']}; Python {m['python']}, SQLite {m['sqlite']}, "
        f"tantivy-py {version('tantivy')}; run {m['date']}, load average {m['load']} at the end.",
        "",
        f"{n:,} synthetic articles of `bench_search.py`'s generator; source: {source}. Tantivy index of their "
        "folded text (the archive's own index tokens: syllables and syllable pairs, in two fields; positions; one "
        "value per column; "
        f"the search key as a fast field): {info['bytes'] / 1e9:.2f} GB ({info['bytes'] / n / 1024:.1f} KB per "
        f"article), built in {info['build_s']:.0f} s on {info['built_at']} ({info['build_cpu_s']:.0f} s CPU in the "
        "Python process, which prepares the tokens; Tantivy's indexing threads are not counted)."
        + (f" The archive's folded FTS5 index takes {result['fts_folded_bytes'] / 1e9:.2f} GB."
           if result["fts_folded_bytes"] else ""),
        "",
        f"Latency in ms of the engine alone, {result['per_class']} queries per class (half typed without "
        "diacritics where the class allows), on the folded expression `govarchive.search` builds: "
        + ("FTS5 = `Archive.fts_count` + `Archive.fts_search` (exact total and a page of 20), Tantivy = one search "
           "with the exact count and a page of 20, alternately; " if compared else
           "one search with the exact count and a page of 20 (prefix and joined-syllable expansions looked up in "
           "Tantivy's term dictionary instead of the archive's); ")
        + "newest first by the search key, relevance by BM25 over every match"
        + (" (FTS5: bm25)." if compared else "."),
        "",
    ]
    if compared:
        lines += ["| query class | example | matches (median) | newest FTS5 p50 / p95 | Tantivy p50 / p95 | "
                  "relevance FTS5 p50 / p95 | Tantivy p50 / p95 | p95 FTS5 / Tantivy: newest, relevance |",
                  "|---|---|---:|---:|---:|---:|---:|---:|"]
    else:
        lines += ["| query class | example | matches (median) | newest p50 / p95 / max | relevance p50 / p95 / max |",
                  "|---|---|---:|---:|---:|"]
    worst = {"newest": 0.0, "relevance": 0.0}
    for row in result["rows"]:
        cells = []
        for sort in ("newest", "relevance"):
            f, t = row[sort]["fts5"], row[sort]["tantivy"]
            worst[sort] = max(worst[sort], pct(t, 0.95))
            if compared:
                cells += [f"{pct(f, 0.5):.1f} / {pct(f, 0.95):.1f}", f"{pct(t, 0.5):.1f} / {pct(t, 0.95):.1f}"]
            else:
                cells.append(f"{pct(t, 0.5):.1f} / {pct(t, 0.95):.1f} / {max(t):.1f}")
        if compared:
            ratios = [pct(row[s]["fts5"], 0.95) / max(pct(row[s]["tantivy"], 0.95), 1e-3)
                      for s in ("newest", "relevance")]
            cells.append(", ".join(f"{r:.0f}×" if r >= 10 else f"{r:.1f}×" for r in ratios))
        lines.append(f"| {row['class']} | `{row['example']}` | {statistics.median(row['totals']):,.0f} | "
                     + " | ".join(cells) + " |")
    mismatches = result["mismatches"]
    lines += [
        "",
        f"Worst Tantivy p95: newest first {worst['newest']:.1f} ms, by relevance {worst['relevance']:.1f} ms "
        f"(issue 13's targets at 1M articles: < {TARGET_NEWEST_MS:g} and < {TARGET_RELEVANCE_MS:g} ms)."
        + ("" if not compared else
           " Both engines gave the same exact total, the same page size and the same newest page for every query."
           if not mismatches else f" **{len(mismatches)} differences between the engines:** "
           + "; ".join(mismatches[:5]) + ("…" if len(mismatches) > 5 else "")),
        end,
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run, print the section and with ``--write`` replace it in docs/performance.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000,
                        help="articles: the bench_search archive of that size (its default, 100,000), or --synthetic")
    parser.add_argument("--db", type=Path, help="archive (default /tmp/govarchive-bench/search-N.db)")
    parser.add_argument("--synthetic", action="store_true",
                        help="no archive: index N generated articles straight into Tantivy, time Tantivy alone")
    parser.add_argument("--index", type=Path, help="Tantivy index folder (default <db>.tantivy)")
    parser.add_argument("--queries", type=int, default=30, help="queries per class")
    parser.add_argument("--reuse", action="store_true", help="reuse a Tantivy index this benchmark built earlier")
    parser.add_argument("--write", action="store_true", help="update docs/performance.md")
    args = parser.parse_args(argv)
    db = None if args.synthetic else args.db or Path(f"/tmp/govarchive-bench/search-{args.articles}.db")
    if db is not None and not db.exists():
        print(f"no archive at {db}: build it with `.venv/bin/python benchmarks/bench_search.py --articles "
              f"{args.articles}`, name one with --db, or use --synthetic", file=sys.stderr)
        return 2
    index = args.index or Path(f"{db}.tantivy" if db else f"/tmp/govarchive-bench/tantivy-{args.articles}")
    result = run(db, args.articles, index, max(1, args.queries), args.reuse)
    report = render(result, command_line(None if argv is None else [sys.argv[0], *argv]))
    print(report)
    if args.write:
        replace_section(report, *(COMPARED if result["compared"] else ALONE))
    return 1 if result["mismatches"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
