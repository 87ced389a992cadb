"""The search engine benchmark gives Tantivy the archive's own index tokens and finds what FTS5 finds."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, clean_env

sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_search import build


def test_both_engines_give_the_same_totals_and_newest_pages(tmp_path: Path) -> None:
    db = tmp_path / "search.db"
    build(db, 400)
    out = subprocess.run([sys.executable, "benchmarks/bench_search_engine.py", "--db", str(db), "--queries", "3"],
                         cwd=ROOT, env=clean_env(), capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "Both engines gave the same exact total, the same page size and the same newest page" in out.stdout
    rows = re.findall(r"^\| ([A-Za-z0-9+ -]+) \| `[^`]+` \| ([\d,]+) \|", out.stdout, re.M)
    assert [name for name, _ in rows] == ["rare", "place", "place AND word", "common word", "two-syllable word",
                                          "3+ syllable phrase", "two words AND", "joined syllables", "prefix-3",
                                          "prefix-4"]
    assert int(dict(rows)["common word"].replace(",", "")) > 100  # a common word is in most of the 400 articles



def test_bench_search_through_the_tantivy_index(tmp_path: Path) -> None:
    """``bench_search.py --engine tantivy`` builds the archive with the Tantivy index only, checks it is current, and
    measures `govarchive search` on it (every query answered by Tantivy, complete pages, the last match reachable)."""
    db = tmp_path / "tv.db"
    args = [sys.executable, "benchmarks/bench_search.py", "--engine", "tantivy", "--articles", "400", "--queries",
            "20", "--db", str(db)]
    out = subprocess.run(args, cwd=ROOT, env=clean_env(), capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "<!-- bench_search_tantivy:start -->" in out.stdout and "(`TantivyIndex.build`)" in out.stdout
    assert "the last match was reachable" in out.stdout and (tmp_path / "tv.db.search").is_dir()
    reused = subprocess.run([*args, "--reuse"], cwd=ROOT, env=clean_env(), capture_output=True, text=True,
                            timeout=600)
    assert reused.returncode == 0 and "reusing" in reused.stdout
