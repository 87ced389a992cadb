"""The store benchmark runs end to end at a small size and reports both archives, the ratio and the reuse."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, clean_env


@pytest.mark.slow
def test_store_benchmark_reports_both_archives_and_reuses_the_filled_one(tmp_path: Path) -> None:
    cmd = [sys.executable, "benchmarks/bench_store.py", "--articles", "300", "--measure", "100", "--chunk", "50",
           "--dir", str(tmp_path)]
    first = subprocess.run(cmd, cwd=ROOT, env=clean_env(), capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "| empty | 0 | 100 |" in first.stdout and "| filled | 300 | 400 |" in first.stdout, first.stdout
    assert re.search(r"Filled / empty: \*\*\d+\.\d\d\*\*", first.stdout), first.stdout
    assert "built for this run" in first.stdout
    second = subprocess.run(cmd, cwd=ROOT, env=clean_env(), capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "reused the archive built on" in second.stdout
    assert (tmp_path / "store-300.db").exists() and not list(tmp_path.glob("bench-store-*"))
