"""The dates benchmark reports what its run did: the exact command, real and constructed strings apart."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, clean_env


def _python() -> str:
    python = Path(sys.executable)
    return str(python.relative_to(ROOT)) if python.is_relative_to(ROOT) else str(python)


def test_report_names_the_exact_command_and_scores_real_strings_apart() -> None:
    doc = ROOT / "docs" / "performance.md"
    before = doc.read_bytes() if doc.exists() else None
    argv = ["benchmarks/bench_dates.py", "--repeats", "5", "--min-seconds", "0.01"]
    result = subprocess.run([sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, timeout=300,
                            check=False, env=clean_env())
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert f"Command: `{shlex.join([_python(), *argv])}`, run " in out
    cases = [c for name in ("vi_dates_cases.json", "vi_dates_extra.json")
             for c in json.loads((ROOT / "tests" / "data" / name).read_text(encoding="utf-8"))["cases"]]
    real = sum(1 for c in cases if c["real"])
    assert 0 < real < len(cases)
    assert (f"| parser | real strings ({real}) | constructed strings ({len(cases) - real}) | all ({len(cases)}) |"
            in out)
    assert f"| `portal_spiders.dates.parse_date` | {real}/{real} (100%) |" in out  # tests/test_dates.py requires it
    assert f"All {len(cases)} cases are parameters of `tests/test_dates.py::test_cases`" in out
    assert (doc.read_bytes() if doc.exists() else None) == before  # without --write nothing is written
