"""Search benchmark: synthetic Vietnamese archive, build time, size and search latency percentiles.

    .venv/bin/python benchmarks/bench_search.py --articles 1000000 --write

Builds (or reuses, with --reuse) a synthetic archive of N articles: Zipf-distributed real Vietnamese syllables,
varied body lengths, rare document numbers and place names. Articles are bulk-inserted, then the full-text index
is built in one go. Latency is measured through ``govarchive.search.search`` (the code path of
``govarchive search``), default newest-first and relevance-ranked, each with snippets. The baseline, in the same
run, is naive FTS5 ranking: bm25 over every match + snippets for the top 20 (no candidate cap).
With --write, the section between the bench_search markers in docs/performance.md is replaced.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import sqlite3
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _report import PERFORMANCE_DOC, replace_section  # noqa: E402

from govarchive.archive import FTS_FOLDED, Archive  # noqa: E402
from govarchive.search import (  # noqa: E402
    PHRASE_BUDGET_S,
    RELEVANCE_BUDGET_S,
    RELEVANCE_CANDIDATES,
    make_snippet,
    parse_query,
    search,
)

# Real Vietnamese syllables, roughly by frequency in government news (most frequent first).
SYLLABLES = """
và của các có được cho là trong với người những đã năm này không một đến khi nhà nước tỉnh thành phố
công tác phát triển kinh tế xã hội nhân dân chính phủ quyết định ban ủy thực hiện quản lý dự án đầu tư
theo tại về để trên từ ngày tháng số đồng chí hội nghị chủ tịch bộ trưởng thủ tướng cơ quan đơn vị
địa phương huyện sở ngành kế hoạch chương trình nhiệm vụ giải pháp triển khai kết quả đánh giá
tăng cường nâng cao hiệu quả chất lượng đảm bảo an ninh quốc phòng trật tự an toàn giao thông
văn bản chỉ đạo hướng dẫn tổ chức cán bộ công chức viên chức lao động việc làm doanh nghiệp
hợp tác quốc tế thương mại xuất khẩu nông nghiệp nông thôn mới sản xuất môi trường tài nguyên
đất đai xây dựng hạ tầng công trình giải phóng mặt bằng bồi thường hỗ trợ tái định cư
giáo dục đào tạo y tế sức khỏe văn hóa thể thao du lịch khoa học công nghệ thông tin truyền thông
chuyển đổi số cải cách hành chính thủ tục dịch vụ trực tuyến ngân sách tài chính thuế
phòng chống tham nhũng lãng phí thanh tra kiểm tra giám sát pháp luật tư pháp tòa án
biên giới biển đảo thiên tai bão lũ hạn hán dịch bệnh phòng ngừa ứng phó khắc phục
tiếp tục đẩy mạnh tập trung chủ động phối hợp chặt chẽ kịp thời nghiêm túc đầy đủ
ông bà anh chị em trẻ em người cao tuổi gia đình cộng đồng dân tộc thiểu số miền núi
điện nước sạch nhà ở đô thị quy hoạch phê duyệt điều chỉnh bổ sung sửa đổi ban hành
trung ương đảng bí thư đại hội nghị quyết chỉ thị thông tư nghị định luật hiến pháp
""".split()  # noqa: SIM905
PLACES = ("Hà Nội", "Hồ Chí Minh", "Đà Nẵng", "Hải Phòng", "Cần Thơ", "Điện Biên", "Lai Châu", "Sơn La",
          "Lào Cai", "Yên Bái", "Hà Giang", "Cao Bằng", "Bắc Kạn", "Lạng Sơn", "Tuyên Quang", "Thái Nguyên",
          "Phú Thọ", "Bắc Giang", "Quảng Ninh", "Bắc Ninh", "Hưng Yên", "Hải Dương", "Thái Bình", "Nam Định",
          "Ninh Bình", "Thanh Hóa", "Nghệ An", "Hà Tĩnh", "Quảng Bình", "Quảng Trị", "Thừa Thiên Huế",
          "Quảng Nam", "Quảng Ngãi", "Bình Định", "Phú Yên", "Khánh Hòa", "Ninh Thuận", "Bình Thuận", "Kon Tum",
          "Gia Lai", "Đắk Lắk", "Đắk Nông", "Lâm Đồng", "Bình Phước", "Tây Ninh", "Bình Dương", "Đồng Nai",
          "Bà Rịa Vũng Tàu", "Long An", "Tiền Giang", "Bến Tre", "Trà Vinh", "Vĩnh Long", "Đồng Tháp", "An Giang",
          "Kiên Giang", "Hậu Giang", "Sóc Trăng", "Bạc Liêu", "Cà Mau", "Hòa Bình", "Vĩnh Phúc", "Hà Nam")
DOC_SUFFIXES = ("NĐ-CP", "QĐ-TTg", "QĐ-UBND", "TT-BTC", "CT-TTg", "NQ-CP", "KH-UBND")
WEIGHTS = [1.0 / (rank + 1) ** 1.05 for rank in range(len(SYLLABLES))]
CUM = list(__import__("itertools").accumulate(WEIGHTS))


def doc_number(rng: random.Random, n_articles: int) -> str:
    pool = max(100, n_articles // 10)  # each document number appears in ~10 articles
    k = rng.randrange(pool)
    return f"{k % 9000 + 1}/{2015 + k % 11}/{DOC_SUFFIXES[k % len(DOC_SUFFIXES)]}"


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choices(SYLLABLES, cum_weights=CUM, k=words))


def synthetic_articles(n: int, seed: int = 7):
    rng = random.Random(seed)
    portals = [f"portal{p:02d}" for p in range(24)]
    start = datetime(2015, 1, 1, tzinfo=UTC)
    span = (datetime(2025, 11, 1, tzinfo=UTC) - start).total_seconds()
    for i in range(n):
        words = int(min(2500, max(40, rng.lognormvariate(math.log(380), 0.6))))
        body = sentence(rng, words)
        cut = rng.randrange(len(body))
        body = f"{body[:cut]} {rng.choice(PLACES)} {body[cut:]}"
        if rng.random() < 0.3:
            body += f" theo Nghị định số {doc_number(rng, n)}."
        # mostly chronological, with backfilled stragglers
        frac = i / n if rng.random() < 0.9 else rng.random()
        published = (start + timedelta(seconds=frac * span)).astimezone(
            __import__("datetime").timezone(timedelta(hours=7))).isoformat(timespec="seconds")
        yield {
            "url": f"https://{portals[i % 24]}.gov.vn/tin-tuc/{i}.htm",
            "portal": portals[int(rng.paretovariate(1.2)) % 24],
            "title": sentence(rng, rng.randint(8, 16)).capitalize(),
            "summary": sentence(rng, rng.randint(20, 40)),
            "body_text": body,
            "author": rng.choice(("Minh Anh", "Thu Hà", "Đức Thắng", "Ngọc Lan", None)),
            "category": rng.choice(("Thời sự", "Kinh tế", "Xã hội", "Văn bản", "Địa phương")),
            "published": published,
            "tags": rng.sample(PLACES, k=rng.randint(0, 2)),
            "content_hash": f"{i:040x}",
        }


def build(path: Path, n: int) -> dict[str, float]:
    if path.exists():
        path.unlink()
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    archive = Archive(path)
    t0 = time.perf_counter()
    archive.bulk_insert_articles(synthetic_articles(n), index=False, chunk=20_000)
    t1 = time.perf_counter()
    archive.rebuild_search_index(optimize=True)
    t2 = time.perf_counter()
    archive.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    archive.close()
    return {"insert_s": t1 - t0, "index_s": t2 - t1}


def query_sets(n: int, per_class: int, seed: int = 11) -> dict[str, list[str]]:
    rng = random.Random(seed)
    from govarchive.archive import fold_text

    def maybe_fold(q: str) -> str:
        return fold_text(q) if rng.random() < 0.5 else q

    common = SYLLABLES[:40]
    mid = SYLLABLES[60:200]
    long_syllables = [w for w in SYLLABLES[:150] if len(fold_text(w)) >= 5]
    phrases = ("giải phóng mặt bằng", "chuyển đổi số", "cải cách hành chính", "an toàn giao thông",
               "thủ tướng chính phủ")
    return {
        "rare": [doc_number(rng, n) for _ in range(per_class)],  # ~10 matching articles each
        "place+word": [maybe_fold(f'"{rng.choice(PLACES)}" {rng.choice(SYLLABLES[100:])}') for _ in range(per_class)],
        "common": [maybe_fold(rng.choice(common)) for _ in range(per_class)],
        "two-word": [maybe_fold(f"{rng.choice(common[:20])} {rng.choice(mid)}") for _ in range(per_class)],
        "phrase": [maybe_fold(f'"{rng.choice(phrases)}"') for _ in range(per_class)],
        "prefix-3": [maybe_fold(rng.choice(SYLLABLES[:150])[:3]) + "*" for _ in range(per_class)],
        "prefix-4": [maybe_fold(rng.choice(long_syllables)[:4]) + "*" for _ in range(per_class)],
    }


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * p
    lo, hi = math.floor(k), math.ceil(k)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def timed(fn, queries: list[str]) -> list[float]:
    out = []
    for q in queries:
        t = time.perf_counter()
        fn(q)
        out.append((time.perf_counter() - t) * 1000)
    return out


def baseline(archive: Archive, q: str) -> None:
    """Naive ranking: bm25 over every match, top 20, then the same snippets as the real path."""
    query = parse_query(q)
    expr = query.expression()
    rows = archive.db.execute(
        f"select rowid from [{FTS_FOLDED}] where [{FTS_FOLDED}] match ? order by bm25([{FTS_FOLDED}]) limit 20",
        [expr]).fetchall()
    pattern = query.highlight_pattern()
    for row in archive.articles_by_ids(r[0] & ((1 << 36) - 1) for r in rows).values():
        make_snippet(row["body_text"] or "", pattern)


def machine() -> dict[str, str]:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from importlib.metadata import version

    return {
        "cpu": cpu, "nproc": str(os.cpu_count()), "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
        "sqlite_utils": version("sqlite-utils"),
        "kernel": platform.release(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=30, help="queries per class (>= 30)")
    parser.add_argument("--db", type=Path, help="archive path (default /tmp/govarchive-bench/search-N.db)")
    parser.add_argument("--reuse", action="store_true", help="reuse an existing archive of the right size")
    parser.add_argument("--baseline-queries", type=int, default=10, help="baseline queries per class")
    parser.add_argument("--write", action="store_true", help="update docs/performance.md")
    parser.add_argument("--note", default="", help="a sentence to add to the report (e.g. how the archive was built)")
    args = parser.parse_args(argv)
    path = args.db or Path(f"/tmp/govarchive-bench/search-{args.articles}.db")
    path.parent.mkdir(parents=True, exist_ok=True)
    build_times: dict[str, float] | None = None
    sidecar = path.with_suffix(".build.json")
    if args.reuse and path.exists():
        print(f"reusing {path}", flush=True)
        if sidecar.exists():
            build_times = json.loads(sidecar.read_text())
    else:
        print(f"building {args.articles:,} articles in {path} …", flush=True)
        build_times = build(path, args.articles)
        sidecar.write_text(json.dumps(build_times))
        print(f"  insert {build_times['insert_s']:.0f}s, index {build_times['index_s']:.0f}s", flush=True)
    size = path.stat().st_size
    archive = Archive.open_existing(path)
    n = archive.count("articles")
    sets = query_sets(n, max(30, args.queries))
    results = []
    for cls, queries in sets.items():
        search(archive, queries[0])  # warm the page cache for this class
        row = {"class": cls, "n": len(queries)}
        for sort in ("newest", "relevance"):
            ms = timed(lambda q, s=sort: search(archive, q, sort=s, limit=20), queries)
            row[sort] = (pct(ms, 0.5), pct(ms, 0.95), pct(ms, 0.99))
        base = timed(lambda q: baseline(archive, q), queries[: args.baseline_queries])
        row["baseline"] = (pct(base, 0.5), pct(base, 0.95))
        results.append(row)
        print(f"  {cls:9} newest p50/p95/p99 {row['newest'][0]:7.1f} {row['newest'][1]:7.1f} {row['newest'][2]:7.1f}"
              f" | relevance {row['relevance'][0]:7.1f} {row['relevance'][1]:7.1f} {row['relevance'][2]:7.1f}"
              f" | baseline p50/p95 {row['baseline'][0]:7.1f} {row['baseline'][1]:7.1f} ms", flush=True)
    filt = timed(lambda q: search(archive, q, filters={"portal": ["portal05"], "since": "2024-01-01"}),
                 sets["common"])
    archive.close()
    report = render(args, n, size, build_times, results, filt)
    print(report)
    if args.write:
        replace_section(report, "<!-- bench_search:start -->", "<!-- bench_search:end -->")
        print(f"updated {PERFORMANCE_DOC}")
    return 0


def render(args, n, size, build_times, results, filt) -> str:
    m = machine()
    lines = [
        "<!-- bench_search:start -->",
        "## Full-text search (`benchmarks/bench_search.py`)",
        "",
        f"Command: `.venv/bin/python benchmarks/bench_search.py --articles {args.articles}"
        f"{' --reuse' if args.reuse else ''} --write`  ",
        f"Machine: {m['cpu']}, nproc {m['nproc']}, Linux {m['kernel']}; Python {m['python']}, SQLite {m['sqlite']}, "
        f"sqlite-utils {m['sqlite_utils']}; run {m['date']}.",
        "",
        f"Synthetic archive: {n:,} articles (Zipf-distributed real Vietnamese syllables, bodies 40–2,500 syllables, "
        f"log-normal around 380), file size {size / 1e9:.2f} GB ({size / max(n, 1) / 1024:.1f} KB per article, both "
        "FTS indexes included).",
    ]
    if build_times:
        lines.append(f"Build: bulk insert {build_times['insert_s']:.0f} s "
                     f"({n / build_times['insert_s']:,.0f} rows/s), full-text index in one go "
                     f"{build_times['index_s']:.0f} s ({n / build_times['index_s']:,.0f} articles/s, fold + 2 "
                     "FTS5 tables + optimize).")
    if args.note:
        lines.append(args.note)
    lines += [
        "",
        f"Latency in ms through `govarchive.search.search` (limit 20, snippets), {results[0]['n']} queries per class; "
        "half of the queries are typed without diacritics. Relevance ranks by bm25 among the newest "
        f"{RELEVANCE_CANDIDATES:,} matches collected within {RELEVANCE_BUDGET_S * 1000:.0f} ms. "
        "Baseline: naive bm25 over *all* matches (top 20), "
        f"{args.baseline_queries} queries per class.",
        "",
        "| query class | newest p50 | p95 | p99 | relevance p50 | p95 | p99 | baseline p50 | p95 "
        "| baseline p95 / relevance p95 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        nw, rl, bl = r["newest"], r["relevance"], r["baseline"]
        lines.append(f"| {r['class']} | {nw[0]:.1f} | {nw[1]:.1f} | {nw[2]:.1f} | {rl[0]:.1f} | {rl[1]:.1f} | "
                     f"{rl[2]:.1f} | {bl[0]:.1f} | {bl[1]:.1f} | {bl[1] / max(rl[1], 0.001):.1f}× |")
    worst_new = max(r["newest"][1] for r in results)
    worst_rel = max(r["relevance"][1] for r in results)
    lines += [
        "",
        f"Worst p95: default (newest) {worst_new:.1f} ms (target < 100 ms), relevance {worst_rel:.1f} ms "
        f"(target < 500 ms). Common words with `--portal portal05 --since 2024-01-01`: p50 "
        f"{pct(filt, 0.5):.1f} ms, p95 {pct(filt, 0.95):.1f} ms.",
        "",
        "Where the time goes: newest-first reads rowids in descending order and stops after 21, so single words, "
        "3-letter prefixes (served by the `prefix='3'` index) and AND queries cost milliseconds. A 4+-letter "
        "prefix is expanded to the indexed terms it matches (one seek per term in an `fts5vocab` table) and "
        "searched as their OR, which FTS5 reads lazily instead of merging every matching doclist first. "
        "SQLite 3.40's FTS5 pays for a descending scan of a phrase of 3+ words in proportion to the whole index "
        "whatever the LIMIT or rowid range, but for an ascending scan in proportion to the rowid range: phrases "
        f"are scanned in rowid windows, newest window first, within {PHRASE_BUDGET_S * 1000:.0f} ms, and the result "
        "says when the budget stopped the walk (older matches may be missing). In this random-syllable corpus the "
        "test phrases are rare (0–5 matches in the whole archive, a full scan costs 50–170 ms), so most phrase "
        "queries end at the budget. Relevance "
        "is capped by the candidate limit and time budget; the naive baseline grows with the number of matches.",
        "<!-- bench_search:end -->",
    ]
    return "\n".join(lines)




if __name__ == "__main__":
    sys.exit(main())
