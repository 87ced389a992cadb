"""Word-level diffs of article text for the terminal (``govarchive show URL --diff``).

Paragraphs are aligned first, then changed paragraphs are compared word by word (whitespace kept), so a corrected
figure in a long body shows as one changed word in its paragraph, with unchanged paragraphs folded away. Output is
coloured on a terminal (deleted words red and struck through, inserted words green) and otherwise uses
``git diff --word-diff=plain`` markers: ``[-deleted-]{+inserted+}``.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

_TOKEN = re.compile(r"\s+|[^\s]+")
RED, GREEN, DIM, RESET = "\x1b[31;9m", "\x1b[32m", "\x1b[2m", "\x1b[0m"


def _mark(text: str, inserted: bool, color: bool) -> str:
    if not text:
        return ""
    if color:
        return f"{GREEN if inserted else RED}{text}{RESET}"
    return f"{{+{text}+}}" if inserted else f"[-{text}-]"


def word_diff(old: str, new: str, *, color: bool = False) -> str:
    """``new`` with the words removed from ``old`` and added to it marked."""
    a, b = _TOKEN.findall(old or ""), _TOKEN.findall(new or "")
    out: list[str] = []
    for op, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append("".join(a[i1:i2]))
            continue
        out.append(_mark("".join(a[i1:i2]), False, color))
        out.append(_mark("".join(b[j1:j2]), True, color))
    return "".join(out)


def paragraph_diff(old: str | None, new: str | None, *, color: bool = False, context: int = 0) -> list[str]:
    """Changed paragraphs of a text, each diffed word by word; runs of unchanged ones folded to one line."""
    a = [p for p in (old or "").split("\n") if p.strip()]
    b = [p for p in (new or "").split("\n") if p.strip()]
    lines: list[str] = []
    for op, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            kept = b[j1:j2]
            if len(kept) > 2 * context:
                lines.extend(kept[:context])
                skipped = len(kept) - 2 * context
                note = f"… {skipped} unchanged paragraph{'s' if skipped != 1 else ''} …"
                lines.append(f"{DIM}{note}{RESET}" if color else note)
                lines.extend(kept[len(kept) - context:] if context else [])
            else:
                lines.extend(kept)
        elif op == "replace" and i2 - i1 == j2 - j1:
            lines.extend(word_diff(x, y, color=color) for x, y in zip(a[i1:i2], b[j1:j2], strict=True))
        else:
            lines.append(word_diff("\n".join(a[i1:i2]), "\n".join(b[j1:j2]), color=color))
    return lines
