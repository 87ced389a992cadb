"""Text of the full-text index: syllable tokens plus *syllable pairs*, shared by indexing and query building.

Vietnamese words are written as separate syllables (``Đà Nẵng``, ``giải phóng mặt bằng``), so a word search is a
phrase search, and a phrase of two very common syllables is a position merge of two posting lists that each cover
most of the archive. The index therefore stores, after the syllables of each column, every pair of adjacent
syllables as one extra token joined by :data:`PAIR_JOIN` (``da_nang``, ``giai_phong phong_mat mat_bang``): a
two-syllable word is one indexed term, a longer phrase a phrase of pair terms (each far rarer than its syllables).

Pairs are made only across plain spaces and the joiners inside document numbers and compounds (``-``, ``/``,
``.``, ``:``), never across other punctuation or line breaks, so ``Hà Nội, Đà Nẵng`` has no ``noi_da`` pair.

No SQL here (``govarchive.archive`` writes the index; ``govarchive.search`` builds the queries) and no Scrapy.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator

import regex  # installed with dateparser; supports \\p{Mn}

PAIR_JOIN = "_"  # an FTS5 token character of both indexes (tokenchars '_'); never inside a syllable token
TOKEN_RE = re.compile(r"[^\W_]+")  # what unicode61 keeps as one token (letters and digits)
# A folded Vietnamese syllable: optional onset, one to three vowels, optional coda (used to split `danang`).
_FOLDED_SYLLABLE = re.compile(
    r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnprstvx])?(?:[aeiouy]{1,3})(?:ng|nh|ch|[cmnpt])?")
MAX_JOINED_SYLLABLES = 4


_MARKS = regex.compile(r"\p{Mn}+")


def fold(text: str | None) -> str:
    """Accent- and đ-folding, lower case: the same result as ``portal_spiders.text.fold`` (NFD, drop marks, đ→d,
    lower), with the mark stripping done by one ``regex`` substitution instead of a per-character Python loop
    (about 7 times faster on long bodies; it differs only on code points unassigned in Python's Unicode
    database, which ``regex`` may know as marks). The index and the queries both fold through here."""
    if not text:
        return ""
    if text.isascii():
        return text.lower()
    stripped = _MARKS.sub("", unicodedata.normalize("NFD", text))
    return stripped.replace("đ", "d").replace("Đ", "D").lower()


def exact_form(text: str | None) -> str:
    """Text as the exact index sees it: NFC, lower case (diacritics kept)."""
    return unicodedata.normalize("NFC", text or "").lower()


_JOINED = re.compile(r"(?<=[^\W_])[-/.:](?=[^\W_])")  # one joiner between two tokens: 15/2024/NĐ-CP, 1.000
_BREAK = re.compile(r"(?:[^\w\s]|_|[\n\r\v\f\u2028\u2029])+")  # other punctuation and line breaks


def token_groups(text: str) -> Iterator[list[str]]:
    """Runs of tokens that may form pairs: a run breaks at punctuation other than a single joiner (``-``, ``/``,
    ``.``, ``:`` between two tokens) and at line breaks. Regex splits, no per-token Python: this runs over every
    article body when the index is built."""
    for segment in _BREAK.split(_JOINED.sub(" ", text)):
        group = segment.split()  # what _BREAK leaves is tokens and spaces: str.split() is TOKEN_RE.findall, faster
        if group:
            yield group


def pair(a: str, b: str) -> str:
    """The indexed token of two adjacent syllables."""
    return f"{a}{PAIR_JOIN}{b}"


def index_text(text: str | None) -> str:
    """Column text for the index: the tokens, then every adjacent pair (``text`` already folded or exact-formed)."""
    if not text:
        return ""
    tokens: list[str] = []
    pairs: list[str] = []
    last = None
    for group in token_groups(text):
        tokens += group
        if len(group) < 2:
            continue
        if last == group[0]:
            # "x y, y z": without a break, the pair chain x_y y_z would match the phrase "x y z" across the comma
            pairs.append(PAIR_JOIN)
        pairs += map(PAIR_JOIN.join, itertools.pairwise(group))
        last = group[-1]
    return " ".join(tokens) + ("\n" + " ".join(pairs) if pairs else "")


def tokens(text: str) -> list[str]:
    """The tokens of ``text`` (already folded or exact-formed), as the index splits them."""
    return TOKEN_RE.findall(text)


def breaks_pairs(text: str) -> bool:
    """Whether ``text`` has punctuation between tokens that the index does not pair across."""
    groups = list(token_groups(text))
    return len(groups) > 1


def is_folded_syllable(token: str) -> bool:
    """Whether ``token`` looks like one folded Vietnamese syllable (``nang``, ``nghieng``; not ``danang``)."""
    return _FOLDED_SYLLABLE.fullmatch(token) is not None


def syllable_splits(token: str, *, max_parts: int = MAX_JOINED_SYLLABLES) -> list[list[str]]:
    """Ways to read a folded token typed without spaces as 2..``max_parts`` syllables (``danang`` -> da|nang...)."""
    out: list[list[str]] = []

    def walk(rest: str, parts: list[str]) -> None:
        if not rest:
            if len(parts) >= 2:
                out.append(parts)
            return
        if len(parts) >= max_parts:
            return
        for end in range(1, min(len(rest), 7) + 1):
            head = rest[:end]
            if is_folded_syllable(head):
                walk(rest[end:], [*parts, head])

    if token.isascii() and token.isalpha() and len(token) >= 4:
        walk(token, [])
    return out


def phrase_terms(syllables: Iterable[str]) -> list[str]:
    """Index terms matching these adjacent syllables: the syllable itself, or the chain of pairs."""
    syllables = list(syllables)
    if len(syllables) <= 1:
        return syllables
    return [pair(a, b) for a, b in itertools.pairwise(syllables)]
