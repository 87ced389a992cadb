"""Shared by the benchmarks: write one marked section of ``docs/performance.md``."""

from __future__ import annotations

from pathlib import Path

PERFORMANCE_DOC = Path(__file__).resolve().parent.parent / "docs" / "performance.md"


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
