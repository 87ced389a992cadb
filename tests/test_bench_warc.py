"""The WARC benchmark runs end to end and reports every payload set for both compressors."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import ROOT, clean_env


def test_warc_benchmark_reports_both_compressors_for_every_payload_set() -> None:
    out = subprocess.run([sys.executable, "benchmarks/bench_warc.py", "--rounds", "1"], cwd=ROOT, env=clean_env(),
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "zlib level 6 (before)" in out.stdout and "ISA-L level 2, compressed bodies stored (now)" in out.stdout
    rows = re.findall(r"^\| ([^|`]+) \(`[^`]+`\) \| (\d+) \|.*\| (\d+\.\d\d) \|$", out.stdout, re.M)
    assert [r[0] for r in rows] == ["HTML pages", "PDF and Word files", "incompressible 300 KB as a PDF",
                                    "300 KB JPEG"], out.stdout
    assert all(int(n) > 0 and float(ratio) > 0 for _, n, ratio in rows)
