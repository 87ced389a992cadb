"""Shared by the benchmarks: write one marked section of ``docs/performance.md``."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PERFORMANCE_DOC = ROOT / "docs" / "performance.md"
#: What a benchmark's subprocess inherits from the shell: the same whitelist as the tests' ``clean_env``
#: (tests/conftest.py), so GOVARCHIVE_*, SCRAPY_*, proxies or PYTHONPATH in a shell cannot change a figure.
INHERITED_ENV = frozenset({"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR"})


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a benchmark subprocess: :data:`INHERITED_ENV` from ``os.environ`` plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k in INHERITED_ENV}
    env.update(extra)
    return env


def command_line(argv: list[str] | None = None) -> str:
    """The command that is running, exactly: the interpreter (relative to the checkout when inside it) + argv.

    ``argv`` defaults to ``sys.argv``; pass the script path and the arguments actually parsed when ``main`` is
    called with its own list.
    """
    python = Path(sys.executable)
    try:
        shown = str(python.relative_to(ROOT)) if python.is_absolute() else str(python)
    except ValueError:
        shown = str(python)
    return shlex.join([shown, *(sys.argv if argv is None else argv)])


def replace_section(section: str, start: str, end: str, doc: Path = PERFORMANCE_DOC) -> None:
    """Replace the text between the ``start`` and ``end`` markers (inclusive) with ``section``, or append it."""
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Performance\n"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text, encoding="utf-8")


def publish(section: str, start: str, end: str, *, write: bool, doc: Path = PERFORMANCE_DOC) -> None:
    """Print a benchmark's section and, with ``write``, replace it in ``doc`` (between its markers)."""
    print(section)
    if write:
        replace_section(section, start, end, doc)
        print(f"\nwrote {doc.relative_to(ROOT)}")
