"""Search benchmark: a synthetic Vietnamese archive, its build time and index size, and search latency percentiles.

    .venv/bin/python benchmarks/bench_search.py --articles 1000000 --write

Builds (or, with --reuse, reuses) a synthetic archive of N articles written in real Vietnamese *words* (one to four
syllables each, Zipf-distributed, so two-syllable words are adjacent as in real text), with place names, document
numbers and attachments. Articles are bulk-inserted, then the full-text index is built in one go
(``Archive.rebuild_search_index``). The build's figures are stored beside the archive (``<db>.build.json``: date,
commit, command, times, sizes) and a reuse reports them as coming from that build.

Latency is measured through ``govarchive.search.search`` (the code path of ``govarchive search``: exact total,
exact-diacritics-first ordering, one page of 20 with snippets), newest-first and by relevance (bm25 over every
match). The baseline, in the same run on the same archive, is what the pair terms replace: the exact count and the
newest page of each multi-syllable query as a phrase of single syllables. Every sentence of the report is computed
from the run; with --write, the section between the bench_search markers in docs/performance.md is replaced.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta, timezone
from itertools import accumulate
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _report import PERFORMANCE_DOC, command_line, replace_section  # noqa: E402

from govarchive.archive import FTS_FOLDED, SEARCH_INDEX_FORMAT, Archive, fold_text  # noqa: E402
from govarchive.search import SearchResult, parse_query  # noqa: E402
from govarchive.search import search as govarchive_search  # noqa: E402
from govarchive.searchindex import TantivyIndex, index_dir  # noqa: E402

# Real Vietnamese words of government news, roughly by frequency (most frequent first), comma-separated.
WORDS = [w.strip() for w in """
và, của, các, có, được, cho, là, trong, với, người, những, đã, năm, này, không, một, đến, khi, nhà nước, tỉnh,
thành phố, công tác, phát triển, kinh tế, xã hội, nhân dân, chính phủ, quyết định, ủy ban, thực hiện, quản lý,
dự án, đầu tư, theo, tại, về, để, trên, từ, ngày, tháng, số, đồng chí, hội nghị, chủ tịch, bộ trưởng, thủ tướng,
cơ quan, đơn vị, địa phương, huyện, sở, ngành, kế hoạch, chương trình, nhiệm vụ, giải pháp, triển khai, kết quả,
đánh giá, tăng cường, nâng cao, hiệu quả, chất lượng, đảm bảo, an ninh, quốc phòng, trật tự, an toàn, giao thông,
văn bản, chỉ đạo, hướng dẫn, tổ chức, cán bộ, công chức, viên chức, lao động, việc làm, doanh nghiệp, hợp tác,
quốc tế, thương mại, xuất khẩu, nông nghiệp, nông thôn mới, sản xuất, môi trường, tài nguyên, đất đai, xây dựng,
hạ tầng, công trình, giải phóng mặt bằng, bồi thường, hỗ trợ, tái định cư, giáo dục, đào tạo, y tế, sức khỏe,
văn hóa, thể thao, du lịch, khoa học, công nghệ, thông tin, truyền thông, chuyển đổi số, cải cách hành chính,
thủ tục, dịch vụ, trực tuyến, ngân sách, tài chính, thuế, phòng chống, tham nhũng, lãng phí, thanh tra, kiểm tra,
giám sát, pháp luật, tư pháp, tòa án, biên giới, biển đảo, thiên tai, bão lũ, hạn hán, dịch bệnh, phòng ngừa,
ứng phó, khắc phục, tiếp tục, đẩy mạnh, tập trung, chủ động, phối hợp, chặt chẽ, kịp thời, nghiêm túc, đầy đủ,
ông, bà, anh, chị, em, trẻ em, người cao tuổi, gia đình, cộng đồng, dân tộc thiểu số, miền núi, điện, nước sạch,
nhà ở, đô thị, quy hoạch, phê duyệt, điều chỉnh, bổ sung, sửa đổi, ban hành, trung ương, đảng, bí thư, đại hội,
nghị quyết, chỉ thị, thông tư, nghị định, luật, hiến pháp, đã, nâng, đa năng, hội đồng nhân dân, mặt trận, tổ quốc,
an sinh, xã hội hóa, đoàn thanh niên, phụ nữ, cựu chiến binh, nông dân, công đoàn, tuyên truyền, phổ biến,
""".replace("\n", " ").split(",") if w.strip()]
PLACES = ("Hà Nội", "Hồ Chí Minh", "Đà Nẵng", "Hải Phòng", "Cần Thơ", "Điện Biên", "Lai Châu", "Sơn La",
          "Lào Cai", "Yên Bái", "Hà Giang", "Cao Bằng", "Bắc Kạn", "Lạng Sơn", "Tuyên Quang", "Thái Nguyên",
          "Phú Thọ", "Bắc Giang", "Quảng Ninh", "Bắc Ninh", "Hưng Yên", "Hải Dương", "Thái Bình", "Nam Định",
          "Ninh Bình", "Thanh Hóa", "Nghệ An", "Hà Tĩnh", "Quảng Bình", "Quảng Trị", "Thừa Thiên Huế",
          "Quảng Nam", "Quảng Ngãi", "Bình Định", "Phú Yên", "Khánh Hòa", "Ninh Thuận", "Bình Thuận", "Kon Tum",
          "Gia Lai", "Đắk Lắk", "Đắk Nông", "Lâm Đồng", "Bình Phước", "Tây Ninh", "Bình Dương", "Đồng Nai",
          "Bà Rịa Vũng Tàu", "Long An", "Tiền Giang", "Bến Tre", "Trà Vinh", "Vĩnh Long", "Đồng Tháp", "An Giang",
          "Kiên Giang", "Hậu Giang", "Sóc Trăng", "Bạc Liêu", "Cà Mau", "Hòa Bình", "Vĩnh Phúc", "Hà Nam")
DOC_SUFFIXES = ("NĐ-CP", "QĐ-TTg", "QĐ-UBND", "TT-BTC", "CT-TTg", "NQ-CP", "KH-UBND")
CUM = list(accumulate(1.0 / (rank + 1) ** 1.05 for rank in range(len(WORDS))))
SYLLABLE_COUNT = {w: len(w.split()) for w in WORDS}
MULTI = [w for w in WORDS if len(w.split()) >= 2]
PHRASES = [w for w in WORDS if len(w.split()) >= 3]
LONG_SYLLABLES = [s for s in sorted({fold_text(x) for w in WORDS for x in w.split()}) if len(s) >= 5]
ICT = timezone(timedelta(hours=7))


def doc_number(rng: random.Random, n_articles: int) -> str:
    pool = max(100, n_articles // 10)  # each document number appears in ~10 articles
    k = rng.randrange(pool)
    return f"{k % 9000 + 1}/{2015 + k % 11}/{DOC_SUFFIXES[k % len(DOC_SUFFIXES)]}"


def sentence(rng: random.Random, syllables: int) -> str:
    """About ``syllables`` syllables of Zipf-drawn words (one draw of all the words, then cut)."""
    words = rng.choices(WORDS, cum_weights=CUM, k=syllables)  # every word has at least one syllable
    count = 0
    for n, word in enumerate(words):
        count += SYLLABLE_COUNT[word]
        if count >= syllables:
            return " ".join(words[:n + 1])
    return " ".join(words)


def synthetic_articles(n: int, seed: int = 7):
    rng = random.Random(seed)
    portals = [f"portal{p:02d}" for p in range(24)]
    start = datetime(2015, 1, 1, tzinfo=UTC)
    span = (datetime(2025, 11, 1, tzinfo=UTC) - start).total_seconds()
    for i in range(n):
        words = int(min(2500, max(40, rng.lognormvariate(math.log(380), 0.6))))
        paragraphs = [sentence(rng, 60) + "." for _ in range(max(1, words // 60))]
        cut = rng.randrange(len(paragraphs))
        paragraphs[cut] = f"{paragraphs[cut]} {rng.choice(PLACES)} {sentence(rng, 8)}."
        if rng.random() < 0.3:
            paragraphs.append(f"Theo Nghị định số {doc_number(rng, n)}.")
        frac = i / n if rng.random() < 0.9 else rng.random()  # mostly chronological, some backfilled
        published = (start + timedelta(seconds=frac * span)).astimezone(ICT).isoformat(timespec="seconds")
        portal = portals[int(rng.paretovariate(1.2)) % 24]
        attachments = []
        if rng.random() < 0.1:
            attachments.append({"url": f"https://{portal}.gov.vn/files/{i}.pdf", "name": f"Kế hoạch {i}.pdf",
                                "text": sentence(rng, 120)})
        yield {
            "url": f"https://{portal}.gov.vn/tin-tuc/{i}.htm",
            "portal": portal,
            "title": sentence(rng, rng.randint(8, 16)).capitalize(),
            "summary": sentence(rng, rng.randint(20, 40)).capitalize() + ".",
            "body_text": "\n".join(paragraphs),
            "author": rng.choice(("Minh Anh", "Thu Hà", "Đức Thắng", "Ngọc Lan", None)),
            "category": rng.choice(("Thời sự", "Kinh tế", "Xã hội", "Văn bản", "Địa phương")),
            "published": published,
            "tags": rng.sample(PLACES, k=rng.randint(0, 2)),
            "attachments": attachments,
            "content_hash": f"{i:040x}",
        }


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        return out + ("+uncommitted changes" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def commit_known(commit: str) -> bool:
    """Whether ``commit`` (as :func:`git_commit` wrote it, maybe with "+uncommitted changes") is in this history."""
    name = commit.split("+", 1)[0]
    try:
        return subprocess.run(["git", "cat-file", "-e", f"{name}^{{commit}}"], cwd=ROOT, capture_output=True,
                              timeout=10, check=False).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def index_bytes(path: Path) -> tuple[int, int]:
    """(bytes of the two FTS5 indexes, bytes of the whole file) from SQLite's dbstat."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    fts = conn.execute("select coalesce(sum(pgsize), 0) from dbstat where name like 'articles_fts%'").fetchone()[0]
    conn.close()
    return int(fts), path.stat().st_size


def build(path: Path, n: int, engine: str = "fts5") -> dict:
    """Bulk-insert ``n`` synthetic articles into a new archive at ``path``, then build the index ``engine``
    searches: the FTS5 tables in the archive, or the Tantivy index beside it (and no FTS5 index)."""
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        p.unlink(missing_ok=True)
    shutil.rmtree(index_dir(path), ignore_errors=True)
    archive = Archive(path)
    t0 = time.perf_counter()
    archive.bulk_insert_articles(synthetic_articles(n), index=False, chunk=20_000)
    t1 = time.perf_counter()
    last = [0.0]

    def progress(done: int, total: int) -> None:
        if time.perf_counter() - last[0] > 60:
            last[0] = time.perf_counter()
            print(f"  indexed {done:,}/{total:,}", flush=True)

    if engine == "tantivy":
        archive.commit()
        TantivyIndex.build(archive, progress=progress)
    else:
        archive.rebuild_search_index(optimize=True, chunk=20_000, progress=progress)
    t2 = time.perf_counter()
    archive.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    archive.close()
    fts, total = index_bytes(path)
    tantivy = sum(f.stat().st_size for f in index_dir(path).iterdir()) if engine == "tantivy" else 0
    return {"articles": n, "insert_s": t1 - t0, "index_s": t2 - t1, "fts_bytes": fts, "file_bytes": total,
            "tantivy_bytes": tantivy, "engine": engine,
            "built_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "commit": git_commit(),
            "command": command_line(), "search_index_format": SEARCH_INDEX_FORMAT}


def query_sets(n: int, per_class: int, seed: int = 11) -> dict[str, list[str]]:
    rng = random.Random(seed)

    def maybe_fold(q: str) -> str:
        return fold_text(q) if rng.random() < 0.5 else q

    return {
        "rare": [doc_number(rng, n) for _ in range(per_class)],  # ~10 matching articles each
        "place": [maybe_fold(rng.choice(PLACES)) for _ in range(per_class)],
        "place AND word": [maybe_fold(f"{rng.choice(PLACES)} AND {rng.choice(WORDS[20:80])}")
                           for _ in range(per_class)],
        "common word": [maybe_fold(rng.choice(WORDS[:40])) for _ in range(per_class)],
        "two-syllable word": [maybe_fold(rng.choice(MULTI[:60])) for _ in range(per_class)],
        "3+ syllable phrase": [maybe_fold(rng.choice(PHRASES)) for _ in range(per_class)],
        "two words AND": [maybe_fold(f"{rng.choice(MULTI[:30])} AND {rng.choice(MULTI[30:])}")
                          for _ in range(per_class)],
        "joined syllables": [fold_text(rng.choice(PLACES)).replace(" ", "") for _ in range(per_class)],
        "prefix-3": [fold_text(rng.choice(WORDS[:150]).split()[0])[:3] + "*" for _ in range(per_class)],
        "prefix-4": [s[:4] + "*" for s in rng.choices(LONG_SYLLABLES, k=per_class)],
    }


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * p
    lo, hi = math.floor(k), math.ceil(k)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def syllable_phrase_baseline(archive: Archive, q: str) -> tuple[float, int] | None:
    """Exact count + newest page of 20 with each multi-syllable item as a phrase of single syllables (no pairs)."""
    query = parse_query(q)
    if not any(len(i.tokens) > 1 for i in query.items) or any(i.prefix for i in query.items):
        return None
    parts = ["(" + " OR ".join('"' + " ".join(i.tokens) + '"' for i in g) + ")" for g in query.groups()]
    expr = " AND ".join(parts)
    t = time.perf_counter()
    total = archive.db.execute(f"select count(*) from [{FTS_FOLDED}] where [{FTS_FOLDED}] match ?", [expr]).fetchone()
    archive.db.execute(f"select rowid from [{FTS_FOLDED}] where [{FTS_FOLDED}] match ? order by rowid desc limit 20",
                       [expr]).fetchall()
    return (time.perf_counter() - t) * 1000, int(total[0])


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
        "python": platform.python_version(), "sqlite": sqlite3.sqlite_version, "sqlite_utils": version("sqlite-utils"),
        "kernel": platform.release(), "load": " / ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=30, help="queries per class (at least 20)")
    parser.add_argument("--db", type=Path, help="archive path (default /tmp/govarchive-bench/search-N.db)")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse an archive built earlier by this benchmark (same size and index format)")
    parser.add_argument("--baseline-queries", type=int, default=10, help="baseline queries per class")
    parser.add_argument("--engine", choices=("fts5", "tantivy"), default="fts5",
                        help="the search engine measured: SQLite FTS5 in the archive (default), or the Tantivy index "
                             "beside it (govarchive/searchindex.py; the archive then gets no FTS5 index)")
    parser.add_argument("--write", action="store_true", help="update docs/performance.md")
    args = parser.parse_args(argv)
    argv_text = command_line(None if argv is None else [sys.argv[0], *argv])
    engine = args.engine
    suffix = "-tantivy" if engine == "tantivy" else ""
    path = args.db or Path(f"/tmp/govarchive-bench/search-{args.articles}{suffix}.db")
    path.parent.mkdir(parents=True, exist_ok=True)
    sidecar = Path(f"{path}.build.json")
    info = json.loads(sidecar.read_text()) if sidecar.exists() else None
    reusable = (args.reuse and path.exists() and isinstance(info, dict) and info.get("articles") == args.articles
                and info.get("search_index_format") == SEARCH_INDEX_FORMAT and info.get("engine", "fts5") == engine)
    if reusable:
        print(f"reusing {path} (built {info['built_at']} by commit {info['commit']})", flush=True)
        build_note = (f"This run reused the archive built on {info['built_at']} at commit {info['commit']} by "
                      f"`{info['command']}`; the build figures are from that build.")
        if not commit_known(info["commit"]):
            build_note = (f"This run reused the archive built on {info['built_at']} by `{info['command']}`; the "
                          f"build figures are from that build. That build's record names commit {info['commit']}, "
                          "which is not in this repository's history, so which code built the archive cannot be "
                          "told.")
    else:
        if args.reuse:
            print(f"no reusable archive at {path} for {args.articles:,} articles: building it", flush=True)
        print(f"building {args.articles:,} articles in {path} …", flush=True)
        info = build(path, args.articles, engine)
        sidecar.write_text(json.dumps(info, indent=2))
        build_note = f"The archive was built by this run (commit {info['commit']})."
        print(f"  insert {info['insert_s']:.0f}s, index {info['index_s']:.0f}s", flush=True)
    archive = Archive.open_existing(path)
    n = archive.count("articles")
    if engine == "tantivy":
        TantivyIndex.open(archive, build=False)  # raises when the index is not this archive's, complete and current
    per_class = max(20, args.queries)
    sets = query_sets(n, per_class)
    results = []

    def search(archive: Archive, raw: str, **kwargs: object) -> SearchResult:
        result = govarchive_search(archive, raw, engine=engine, **kwargs)  # type: ignore[arg-type]
        assert result.engine == engine, result.engine_note
        return result

    for cls, queries in sets.items():
        search(archive, queries[0])  # warm the page cache for this class
        row: dict = {"class": cls, "n": len(queries), "example": queries[0]}
        totals = []
        for sort in ("newest", "relevance"):
            ms = []
            for q in queries:
                t = time.perf_counter()
                result = search(archive, q, sort=sort, limit=20)
                ms.append((time.perf_counter() - t) * 1000)
                totals.append(result.total)
                assert len(result.hits) == min(20, result.total), (q, sort)  # a full page whenever there are matches
            row[sort] = (pct(ms, 0.5), pct(ms, 0.95), max(ms))
        row["matches"] = (min(totals), pct(totals, 0.5), max(totals))
        base = [b for b in (syllable_phrase_baseline(archive, q) for q in queries[:args.baseline_queries]) if b] \
            if engine == "fts5" else []
        row["baseline"] = (pct([b[0] for b in base], 0.5), pct([b[0] for b in base], 0.95)) if base else None
        results.append(row)
        nw, rl = row["newest"], row["relevance"]
        print(f"  {cls:18} newest p50/p95/max {nw[0]:7.1f} {nw[1]:7.1f} {nw[2]:7.1f} | relevance {rl[0]:7.1f} "
              f"{rl[1]:7.1f} {rl[2]:7.1f} | matches median {row['matches'][1]:,.0f}", flush=True)
    # completeness: the last match of a common query is reachable and the total is the FTS5 count
    probe = sets["common word"][0]
    result = search(archive, probe)
    last = search(archive, probe, offset=result.total - 1)
    deep = search(archive, probe, sort="relevance", offset=result.total - 1)
    reachable = len(last.hits) == 1 and len(deep.hits) == 1 and not last.more
    filt_ms = []
    for q in sets["two-syllable word"]:
        t = time.perf_counter()
        search(archive, q, filters={"portal": ["portal05"], "since": "2024-01-01"})
        filt_ms.append((time.perf_counter() - t) * 1000)
    archive.close()
    baseline_per_class = min(args.baseline_queries, per_class)  # queries[:args.baseline_queries] above
    report = render(argv_text, info, build_note, n, results, probe, result.total, reachable, filt_ms,
                    baseline_per_class, engine)
    print(report)
    if args.write:
        replace_section(report, *MARKERS[engine])
        print(f"updated {PERFORMANCE_DOC}")
    return 0


MARKERS = {
    "fts5": ("<!-- bench_search:start -->", "<!-- bench_search:end -->"),
    "tantivy": ("<!-- bench_search_tantivy:start -->", "<!-- bench_search_tantivy:end -->"),
}


def render(argv_text: str, info: dict, build_note: str, n: int, results: list[dict], probe: str, probe_total: int,
           reachable: bool, filt_ms: list[float], baseline_per_class: int, engine: str = "fts5") -> str:
    m = machine()
    fts, size = info["fts_bytes"], info["file_bytes"]
    tantivy = engine == "tantivy"
    if tantivy:
        from importlib.metadata import version

        title = "## Search through the Tantivy index (`benchmarks/bench_search.py --engine tantivy`)"
        versions = f"tantivy-py {version('tantivy')}"
        index_text = (f"File size {size / 1e9:.2f} GB (no FTS5 index: the archive was never opened for writing "
                      f"after the insert). The Tantivy index beside it (`<db>.search/`: folded and exact text with "
                      f"positions, folded titles, portal, author, tags, search key) takes "
                      f"{info['tantivy_bytes'] / 1e9:.2f} GB ({info['tantivy_bytes'] / max(n, 1) / 1024:.1f} KB per "
                      "article).")
        build_text = (f"Build: bulk insert {info['insert_s']:.0f} s ({n / info['insert_s']:,.0f} articles/s), "
                      f"Tantivy index (`TantivyIndex.build`) {info['index_s']:.0f} s ({n / info['index_s']:,.0f} "
                      "articles/s). ")
        engine_text = ("Engine: the Tantivy index, checked current before the run (`TantivyIndex.open(build=False)`) "
                       "and asserted to have answered every query. Relevance is Tantivy's BM25 over every match, "
                       "title matches boosted.")
    else:
        title = "## Full-text search (`benchmarks/bench_search.py`)"
        versions = f"SQLite {m['sqlite']}, sqlite-utils {m['sqlite_utils']}"
        index_text = (f"File size {size / 1e9:.2f} GB, of which the two full-text indexes (syllables + syllable "
                      f"pairs, folded and exact) take {fts / 1e9:.2f} GB ({fts / max(n, 1) / 1024:.1f} KB per "
                      "article).")
        build_text = (f"Build: bulk insert {info['insert_s']:.0f} s ({n / info['insert_s']:,.0f} articles/s), "
                      f"full-text index in one go {info['index_s']:.0f} s ({n / info['index_s']:,.0f} articles/s, "
                      "resumable chunks + optimize). ")
        engine_text = (f"Relevance is bm25 over every match. Baseline (same run, same archive, up to "
                       f"{baseline_per_class} queries per class): exact count + newest page of the same words as "
                       "phrases of single syllables, i.e. without the pair terms.")
    lines = [
        MARKERS[engine][0],
        title,
        "",
        f"Command: `{argv_text}`  ",
        f"Machine: {m['cpu']}, nproc {m['nproc']}, Linux {m['kernel']}; Python {m['python']}, {versions}; run "
        f"{m['date']}, load average {m['load']} at the end.",
        "",
        f"Synthetic archive: {n:,} articles written in real Vietnamese words (Zipf-distributed, bodies 40–2,500 "
        f"syllables), 10% with an attachment's text; search index format {info['search_index_format']}. "
        + index_text,
        build_text + build_note,
        "",
        f"Latency in ms through `govarchive.search.search` (exact total, exact-diacritics first, a page of 20 with "
        f"snippets), {results[0]['n']} queries per class, half typed without diacritics where the class allows. "
        + engine_text,
        "",
        "| query class | example | matches (median) | newest p50 | p95 | max | relevance p50 | p95 | max "
        "| baseline p50 | p95 |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        nw, rl, bl = r["newest"], r["relevance"], r["baseline"]
        base = f"{bl[0]:.1f} | {bl[1]:.1f}" if bl else "– | –"
        lines.append(f"| {r['class']} | `{r['example']}` | {r['matches'][1]:,.0f} | {nw[0]:.1f} | {nw[1]:.1f} | "
                     f"{nw[2]:.1f} | {rl[0]:.1f} | {rl[1]:.1f} | {rl[2]:.1f} | {base} |")
    worst_new = max(results, key=lambda r: r["newest"][1])
    worst_rel = max(results, key=lambda r: r["relevance"][1])
    over_new = [r["class"] for r in results if r["newest"][1] >= 100]
    over_rel = [r["class"] for r in results if r["relevance"][1] >= 500]
    lines += [
        "",
        f"Worst p95: newest first {worst_new['newest'][1]:.1f} ms ({worst_new['class']}; target < 100 ms: "
        + ("met by every class" if not over_new else "missed by " + ", ".join(over_new)) + "), by relevance "
        f"{worst_rel['relevance'][1]:.1f} ms ({worst_rel['class']}; target < 500 ms: "
        + ("met by every class" if not over_rel else "missed by " + ", ".join(over_rel)) + "). "
        f"Two-syllable words with `--portal portal05 --since 2024-01-01`: p50 {pct(filt_ms, 0.5):.1f} ms, p95 "
        f"{pct(filt_ms, 0.95):.1f} ms.",
        f"No result was truncated: every page above was full whenever there were matches, and for `{probe}` "
        f"({probe_total:,} matches) the last match was "
        + ("reachable at offset " + f"{probe_total - 1:,} both newest first and by relevance." if reachable
           else "NOT reachable at its offset."),
    ]
    with_base = [r for r in results if r["baseline"]]
    if with_base:
        ratios = [r["baseline"][0] / max(r["newest"][0], 0.001) for r in with_base]
        lines.append(
            "Pair terms against the syllable-phrase baseline (median newest-first latency, baseline / search, which "
            "also builds snippets): " + ", ".join(f"{r['class']} {x:.1f}×" for r, x in zip(with_base, ratios,
                                                                                             strict=True)) + ".")
    lines.append(MARKERS[engine][1])
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
