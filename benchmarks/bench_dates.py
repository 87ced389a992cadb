"""Benchmark: ``portal_spiders.dates.parse_date`` against plain ``dateparser.parse``.

Both run over the same strings (every case of ``tests/data/vi_dates_cases.json`` and
``tests/data/vi_dates_extra.json``, each with its own "now" and date order), in one process.

* accuracy: a case is right when the value, truncated to the case's precision, equals the
  expected value (an ``expected_alt`` is accepted too); a case expecting null is right when
  the result is None.  ``parse_date_info`` is also scored strictly (precision must match),
  as ``tests/test_dates.py`` does; dateparser has no precision output.  Real strings (``"real":
  true``, copied from a page or document named in ``source``) are scored apart from strings
  constructed for the tests, and the report says how many cases ``tests/test_dates.py`` requires
  ``parse_date`` to pass (on those its score is a regression requirement, not a measurement).
* speed: calls per second over the whole case set, median of several timed repeats after a
  warm-up pass.

dateparser is configured as in the shared notes (``languages=['vi']``, ``DATE_ORDER`` from the
case, ``TIMEZONE='Asia/Ho_Chi_Minh'``, ``RETURN_AS_TIMEZONE_AWARE``, ``RELATIVE_BASE`` = the
case's naive local "now", ``PREFER_DATES_FROM='past'``).

Usage::

    .venv/bin/python benchmarks/bench_dates.py           # print the markdown table
    .venv/bin/python benchmarks/bench_dates.py --write   # also update docs/performance.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _report import PERFORMANCE_DOC as DOC
from _report import command_line, publish

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
CASE_FILES = ("vi_dates_cases.json", "vi_dates_extra.json")
START, END = "<!-- bench_dates:start -->", "<!-- bench_dates:end -->"


def load_cases() -> list[dict[str, Any]]:
    cases = []
    for name in CASE_FILES:
        data = json.loads((DATA / name).read_text(encoding="utf-8"))
        for case in data["cases"]:
            case = dict(case, file=name)
            case["now_dt"] = datetime.fromisoformat(case.get("now", data["now"]))
            case["order"] = case.get("order", "DMY")
            cases.append(case)
    return cases


def value_ok(case: dict[str, Any], value: datetime | None, tz: Any) -> bool:
    from portal_spiders.dates import truncate

    if case["expected"] is None:
        return value is None
    if value is None or value.tzinfo is None:
        return False
    precision = case["precision"]
    got = truncate(value.astimezone(tz), precision)
    accepted = [case["expected"]] + ([case["expected_alt"]] if case.get("expected_alt") else [])
    return any(got == truncate(datetime.fromisoformat(e).astimezone(tz), precision) for e in accepted)


def _passes_for(calls: list[Callable[[], Any]], min_seconds: float) -> int:
    for fn in calls:  # warm-up pass
        fn()
    start = time.perf_counter()
    for fn in calls:
        fn()
    one = max(time.perf_counter() - start, 1e-9)
    return max(1, int(min_seconds / one))


def _block(calls: list[Callable[[], Any]], passes: int) -> float:
    """Seconds for one pass over ``calls`` (averaged over ``passes`` passes)."""
    start = time.perf_counter()
    for _ in range(passes):
        for fn in calls:
            fn()
    return (time.perf_counter() - start) / passes


def time_interleaved(a: list[Callable[[], Any]], b: list[Callable[[], Any]], repeats: int,
                     min_seconds: float) -> tuple[list[float], list[float], int, int]:
    """Per-repeat pass times of ``a`` and ``b``, timed alternately (a, b, a, b, …) so that
    both see the same machine load; plus the passes per repeat of each."""
    pa, pb = _passes_for(a, min_seconds), _passes_for(b, min_seconds)
    ta, tb = [], []
    for _ in range(repeats):
        ta.append(_block(a, pa))
        tb.append(_block(b, pb))
    return ta, tb, pa, pb


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _loadavg() -> str:
    try:
        return "/".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover
        return "n/a"


def nproc() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


def required_by_tests(cases: list[dict[str, Any]]) -> int:
    """How many of ``cases`` are parameters of ``tests/test_dates.py::test_cases`` (which must all pass)."""
    from tests.test_dates import _load_cases

    required = {(param.values[0]["text"], param.values[0]["id"]) for param in _load_cases()}
    return sum((c["text"], c["id"]) in required for c in cases)


def _share(ok: int, n: int) -> str:
    return f"{ok}/{n} ({ok / n:.0%})" if n else "0/0"


def run(repeats: int, min_seconds: float, command: str) -> str:
    sys.path.insert(0, str(ROOT))
    import dateparser

    from portal_spiders.dates import TZ, parse_date_info

    cases = load_cases()
    n = len(cases)

    # -- accuracy ------------------------------------------------------------------------------
    ours = [parse_date_info(c["text"], now=c["now_dt"], order=c["order"]) for c in cases]
    ours_value = sum(value_ok(c, r.value if r else None, TZ) for c, r in zip(cases, ours, strict=True))
    ours_strict = sum(
        value_ok(c, r.value if r else None, TZ) and (c["expected"] is None or r.precision == c["precision"])
        for c, r in zip(cases, ours, strict=True)
    )
    methods = Counter(r.method if r else "None" for r in ours)

    def dp_settings(c: dict[str, Any]) -> dict[str, Any]:
        return {
            "DATE_ORDER": c["order"],
            "TIMEZONE": "Asia/Ho_Chi_Minh",
            "RETURN_AS_TIMEZONE_AWARE": True,
            "RELATIVE_BASE": c["now_dt"].astimezone(TZ).replace(tzinfo=None),
            "PREFER_DATES_FROM": "past",
        }

    dp_args = [(c["text"], dp_settings(c)) for c in cases]

    def dp_parse(text: str, settings: dict[str, Any]) -> datetime | None:
        try:
            return dateparser.parse(text, languages=["vi"], settings=settings)
        except Exception:
            return None

    dp_results = [dp_parse(text, s) for text, s in dp_args]
    dp_value = sum(value_ok(c, r, TZ) for c, r in zip(cases, dp_results, strict=True))
    dp_failed = [c["text"] for c, r in zip(cases, dp_results, strict=True) if not value_ok(c, r, TZ)]
    ours_failed = [c["text"] for c, r in zip(cases, ours, strict=True) if not value_ok(c, r.value if r else None, TZ)]

    # real (sourced) strings apart from constructed ones
    real = [i for i, c in enumerate(cases) if c.get("real")]
    made = [i for i, c in enumerate(cases) if not c.get("real")]
    sources = {cases[i]["source"] for i in real}
    ours_ok = [value_ok(c, r.value if r else None, TZ) for c, r in zip(cases, ours, strict=True)]
    dp_ok = [value_ok(c, r, TZ) for c, r in zip(cases, dp_results, strict=True)]
    required = required_by_tests(cases)

    # -- speed ---------------------------------------------------------------------------------
    our_calls = [
        (lambda t=c["text"], now=c["now_dt"], o=c["order"]: parse_date_info(t, now=now, order=o)) for c in cases
    ]
    dp_calls = [(lambda t=t, s=s: dp_parse(t, s)) for t, s in dp_args]
    load_before = _loadavg()
    ours_ts, dp_ts, ours_passes, dp_passes = time_interleaved(our_calls, dp_calls, repeats, min_seconds)
    load_after = _loadavg()
    ours_cps, dp_cps = n / statistics.median(ours_ts), n / statistics.median(dp_ts)
    ratios = sorted(d / o for o, d in zip(ours_ts, dp_ts, strict=True))
    ratio = statistics.median(ratios)

    import dateparser as dp_mod

    if required == n:
        requirement = (f"All {n} cases are parameters of `tests/test_dates.py::test_cases`, which requires "
                       "`parse_date` to get every one right: its accuracy here shows that the tests pass, not how it "
                       "does on strings it was not written for. dateparser's accuracy is a measurement.")
    else:
        requirement = (f"{required} of the {n} cases are parameters of `tests/test_dates.py::test_cases`, which "
                       f"requires `parse_date` to get each of them right; the other {n - required} are not required "
                       "by any test.")
    lines = [
        START,
        "## Date parsing: `parse_date` vs plain `dateparser.parse`",
        "",
        f"Command: `{command}`, run {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}.",
        "",
        f"* machine: `{platform.platform()}`, CPU `{cpu_model()}`, nproc {nproc()}",
        f"* Python {platform.python_version()}, dateparser {getattr(dp_mod, '__version__', '?')}",
        f"* strings: {n} cases (`tests/data/{CASE_FILES[0]}` + `tests/data/{CASE_FILES[1]}`), each with its own "
        f"fixed \"now\" and date order: {len(real)} real strings (`\"real\": true`, each with the `source` it was "
        f"copied from; {len(sources)} distinct sources) and {len(made)} strings constructed for the tests "
        "(`\"real\": false`)",
        f"* speed: calls/s over the whole set, median of {repeats} timed repeats after a warm-up pass "
        f"({ours_passes} passes per repeat for `parse_date`, {dp_passes} for dateparser); the two are timed "
        "alternately, and the ratio is the median of the per-repeat ratios "
        f"(range {ratios[0]:.1f}–{ratios[-1]:.1f}×); load average {load_before} before, {load_after} after",
        "* accuracy: value truncated to the case's precision equals the expected value (null cases: "
        "result is None); \"strict\" also requires the reported precision to match (dateparser reports none)",
        "* dateparser settings: `languages=['vi']`, `DATE_ORDER` per case, `TIMEZONE='Asia/Ho_Chi_Minh'`, "
        "`RETURN_AS_TIMEZONE_AWARE=True`, `RELATIVE_BASE`=case now, `PREFER_DATES_FROM='past'`",
        "",
        requirement,
        "",
        f"| parser | real strings ({len(real)}) | constructed strings ({len(made)}) | all ({n}) | strict, all | "
        "calls/s | µs/call |",
        "|---|---|---|---|---|---|---|",
        f"| `portal_spiders.dates.parse_date` | {_share(sum(ours_ok[i] for i in real), len(real))} | "
        f"{_share(sum(ours_ok[i] for i in made), len(made))} | {_share(ours_value, n)} | {_share(ours_strict, n)} | "
        f"{ours_cps:,.0f} | {1e6 / ours_cps:.1f} |",
        f"| `dateparser.parse` | {_share(sum(dp_ok[i] for i in real), len(real))} | "
        f"{_share(sum(dp_ok[i] for i in made), len(made))} | {_share(dp_value, n)} | n/a | {dp_cps:,.0f} | "
        f"{1e6 / dp_cps:.1f} |",
        "",
        f"**Speed ratio: {ratio:.1f}×** dateparser's calls/s. On the real strings: {sum(ours_ok[i] for i in real)}"
        f"/{len(real)} vs {sum(dp_ok[i] for i in real)}/{len(real)}.",
        "",
        "Winning path of `parse_date` over the set: "
        + ", ".join(f"{k} {v}" for k, v in sorted(methods.items(), key=lambda kv: -kv[1])) + ".",
        "",
        f"Cases `parse_date` gets wrong: {len(ours_failed)}"
        + ("" if not ours_failed else " — " + ", ".join(f"`{json.dumps(t, ensure_ascii=False)}`" for t in ours_failed)),
        "",
        f"Cases plain dateparser gets wrong: {len(dp_failed)} ({sum(not dp_ok[i] for i in real)} real, "
        f"{sum(not dp_ok[i] for i in made)} constructed).",
        END,
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--write", action="store_true", help=f"replace the bench_dates section of {DOC}")
    ap.add_argument("--repeats", type=int, default=7, help="timed repeats (median is reported; >= 5)")
    ap.add_argument("--min-seconds", type=float, default=0.3,
                    help="minimum duration of one timed block (per parser and repeat)")
    args = ap.parse_args(argv)
    command = command_line(None if argv is None else [sys.argv[0], *argv])
    section = run(max(5, args.repeats), args.min_seconds, command)
    publish(section, START, END, write=args.write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
