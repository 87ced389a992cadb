"""Text hygiene for Vietnamese portal content.

Everything that goes into the archive (titles, bylines, bodies, date strings) passes through
:func:`clean_text` or :func:`clean_multiline` first; :func:`fold` and :func:`content_hash`
produce the search and dedupe keys.

Repairs, in the order :func:`fix_encoding` applies them:

* UTF-8 bytes that were decoded as **windows-1258** (``HĂ\\xa0 Ná»™i``): ftfy does not model
  cp1258, so the line is re-encoded as cp1258 and decoded as UTF-8, and the result is kept
  only when that succeeds and the result contains Vietnamese letters.
* UTF-8 bytes decoded as **cp1252/latin-1** (``Thá»© SÃ¡u``): ``ftfy.fix_text`` restricted to
  its encoding repair (quotes, ligatures, widths and line breaks are left alone).
* **TCVN3** (ABC, ``.VnTime`` fonts: ``Hµ néi``) and **VNI** (``VNI-Times``: ``Coäng hoøa``):
  converted with the tables in this module, but only when the text clearly is one of them.

Why not ``viparse`` (0.1.31, MIT, pure-stdlib core) for TCVN3/VNI: it was tried and converts
correctly, but its auto-detection is not conservative enough for arbitrary scraped fields —
``viparse.fix("Größe Noël naïve año señor")`` comes back as VNI-"converted" garbage, a
two-character fragment such as ``"Hµ"`` is converted, ``fix`` also rewrites whitespace, and
it costs ~170 µs even on clean Unicode text.  The two legacy code pages are small and fixed,
so the tables are written out here (TCVN3 as a byte table, VNI generated from its
base-letter + mark scheme) behind a detector that requires several tokens which only make
sense as Vietnamese syllables after conversion.  Normal Unicode Vietnamese, English and
ordinary Latin-1 text (``café``, ``µm``, ``½``) come back unchanged.

This module imports nothing else from the project; ``ftfy`` is imported lazily.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

__all__ = [
    "clean_multiline",
    "clean_text",
    "content_hash",
    "fix_encoding",
    "fold",
    "nfc",
]

# --------------------------------------------------------------------------------------------
# Basic normalisation
# --------------------------------------------------------------------------------------------

#: Characters deleted outright: zero-width space/non-joiner/joiner, LRM/RLM, word joiner and
#: invisible operators, BOM / zero-width no-break space, soft hyphen, Mongolian vowel separator.
_INVISIBLE_RE = re.compile("[\u200b-\u200f\u2060-\u2064\ufeff\u00ad\u180e]")
#: C0/C1 control characters other than tab/newline/carriage return (left over after repairs).
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Whitespace is collapsed with str.split(), which splits at every character str.isspace() accepts (the same set
# as \s: NBSP, narrow NBSP, the U+2000 block, ideographic space, line/paragraph separators) at a third of the cost
# of a regex substitution.
_ENTITY_RE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|amp|lt|gt|quot|apos|nbsp);")


def nfc(s: str) -> str:
    """Return ``s`` in Unicode NFC (cheap when it already is)."""
    if s.isascii() or unicodedata.is_normalized("NFC", s):
        return s
    return unicodedata.normalize("NFC", s)


def _pre_clean(s: str) -> str:
    if "&" in s and _ENTITY_RE.search(s):
        s = html.unescape(s)
    if not s.isascii():
        s = fix_encoding(s)
        s = nfc(s)
        s = _INVISIBLE_RE.sub("", s)
    return _CONTROL_RE.sub(" ", s)


def clean_text(s: str | None) -> str | None:
    """Full hygiene for a single-line field.

    Leftover HTML entities are unescaped (only when the text contains ``&#…;``/``&amp;``-style
    references), encoding damage is repaired (:func:`fix_encoding`), the text is put in NFC,
    invisible characters are deleted, NBSP / narrow NBSP / other spaces and line breaks become
    a single space, and the result is stripped.  ``None`` stays ``None``; an all-blank string
    becomes ``""``.
    """
    if s is None:
        return None
    if not isinstance(s, str):
        s = str(s)
    return " ".join(_pre_clean(s).split())


def clean_multiline(s: str | None) -> str | None:
    """Like :func:`clean_text` but keeps the paragraph structure.

    Every line has its whitespace collapsed and stripped.  Lines inside a paragraph stay
    separated by a single ``"\\n"``; one or more blank lines between paragraphs become exactly
    one ``"\\n\\n"``; leading and trailing blank lines are dropped.  ``\\r\\n``, ``\\r``, U+2028
    (line separator) count as line breaks and U+2029 (paragraph separator) as a paragraph
    break.
    """
    if s is None:
        return None
    if not isinstance(s, str):
        s = str(s)
    s = s.replace("\r\n", "\n").replace("\r", "\n").replace("\u2029", "\n\n").replace("\u2028", "\n")
    s = s.replace("\x0b", "\n").replace("\x0c", "\n\n").replace("\x85", "\n")
    s = _pre_clean(s)
    paragraphs: list[str] = []
    current: list[str] = []
    for raw_line in s.split("\n"):
        line = " ".join(raw_line.split())  # no "\n" left in a line: the same as collapsing [^\S\n]+
        if line:
            current.append(line)
        elif current:
            paragraphs.append("\n".join(current))
            current = []
    if current:
        paragraphs.append("\n".join(current))
    return "\n\n".join(paragraphs)


def fold(s: str) -> str:
    """Accent-folded, lower-cased search key: NFC → NFD → drop marks (Mn) → đ→d, Đ→D → lower.

    ``fold("Đà Nẵng") == "da nang"``.  Use it for the folded shadow column of the full-text
    index and for the query; keep the exact text for ranking.
    """
    if s.isascii():
        return s.lower()
    return unicodedata.normalize("NFC", s).translate(_FOLD_TABLE).lower()


class _MarkFoldTable(dict[int, str]):
    """``str.translate`` table for :func:`fold`, filled on first sight of each code point: the character's NFD
    without its combining marks (Mn), đ→d and Đ→D. On NFC text this equals folding the whole string's NFD, and
    after the first page every lookup stays in C (the per-character Python loop it replaces cost about 0.3 ms
    per article)."""

    def __missing__(self, code: int) -> str:
        decomposed = unicodedata.normalize("NFD", chr(code))
        folded = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
        folded = folded.replace("đ", "d").replace("Đ", "D")
        self[code] = folded
        return folded


_FOLD_TABLE = _MarkFoldTable()


_DOC_NUMBER_NOISE = re.compile(r"[\s\u00a0]+")


def document_number_key(number: str | None) -> str | None:
    """Linking key of a legal-document number: folded, upper-cased, without spaces; ``None`` when empty.

    ``document_number_key("1009/QĐ-UBND") == document_number_key("1009 / qd-ubnd") == "1009/QD-UBND"``. Document
    pages (their ``Số ký hiệu``) and the citations found in articles are linked through this key.
    """
    if not number:
        return None
    key = _DOC_NUMBER_NOISE.sub("", fold(number)).upper()
    return key or None


def content_hash(*parts: str | None) -> str:
    """SHA-1 hex digest over NFC-normalized, whitespace-collapsed parts joined by ``"\\x1f"``.

    ``None`` parts hash like ``""``.  NFC vs NFD input and differences in spacing (including
    NBSP and line breaks) do not change the hash; everything else does.
    """
    norm = [" ".join(nfc(p if isinstance(p, str) else ("" if p is None else str(p))).split()) for p in parts]
    return hashlib.sha1("\x1f".join(norm).encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------------------------
# Vietnamese syllable check (used to decide whether a legacy-encoding conversion makes sense)
# --------------------------------------------------------------------------------------------

_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
_INITIALS = "ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|b|c|d|đ|g|h|k|l|m|n|p|r|s|t|v|x"
#: Nuclei that never take a final consonant (they end in a glide).
_OPEN_NUCLEI = (
    "iêu|yêu|oai|oay|oao|oeo|uây|uôi|ươi|ươu|uya|uyu|"
    "ai|ao|au|ay|âu|ây|eo|êu|ia|iu|oi|ôi|ơi|ua|ui|ưa|ưi|ưu|uê|oe|uơ"
)
#: Nuclei that may be followed by a final consonant (ă/â need one: checked separately).
_CLOSED_NUCLEI = "uyê|iê|yê|oa|oă|oo|uâ|uô|ươ|uy|a|ă|â|e|ê|i|o|ô|ơ|u|ư|y"
_SYLLABLE_RE = re.compile(
    rf"(?:{_INITIALS})?(?:(?P<open>{_OPEN_NUCLEI})|(?P<closed>{_CLOSED_NUCLEI})(?P<final>ch|ng|nh|c|m|n|p|t)?)"
)


@lru_cache(maxsize=8192)
def _is_vietnamese_syllable(token: str) -> bool:
    """True when ``token`` (one word, any case) is shaped like a Vietnamese syllable."""
    decomposed = unicodedata.normalize("NFD", token.lower())
    tones = sum(1 for c in decomposed if c in _TONES)
    if tones > 1:
        return False
    base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONES))
    if base in {"gi", "gì"}:
        return True
    m = _SYLLABLE_RE.fullmatch(base)
    if m is None:
        return False
    closed = m.group("closed")
    if closed in {"ă", "â", "oă", "uâ"} and not m.group("final"):
        return False
    # Stop finals (c, ch, p, t) take only the sắc or nặng tone.
    final = m.group("final")
    if final in {"c", "ch", "p", "t"} and tones:
        return any(c in {"\u0301", "\u0323"} for c in decomposed)
    return True


#: Letters that only Unicode Vietnamese uses (never produced by TCVN3/VNI bytes read as Latin-1).
_VN_UNICODE_RE = re.compile("[\u0102\u0103\u0110\u0111\u0128\u0129\u0168\u0169\u01a0\u01a1\u01af\u01b0"
                            "\u1ea0-\u1ef9]")

# --------------------------------------------------------------------------------------------
# TCVN3 (TCVN 5712:1993 "VN3", the ABC / .VnTime fonts)
# --------------------------------------------------------------------------------------------

_TCVN3_PAIRS = (
    # uppercase base letters (no uppercase accented letters exist in TCVN3)
    "\u00a1Ă \u00a2Â \u00a3Ê \u00a4Ô \u00a5Ơ \u00a6Ư \u00a7Đ "
    # lowercase base letters
    "\u00a8ă \u00a9â \u00aaê \u00abô \u00acơ \u00adư \u00aeđ "
    # a à ả ã á ạ / ă ằ ẳ ẵ ắ ặ / â ầ ẩ ẫ ấ ậ
    "\u00b5à \u00b6ả \u00b7ã \u00b8á \u00b9ạ \u00bbằ \u00bcẳ \u00bdẵ \u00beắ \u00c6ặ "
    "\u00c7ầ \u00c8ẩ \u00c9ẫ \u00caấ \u00cbậ "
    # e è ẻ ẽ é ẹ / ê ề ể ễ ế ệ
    "\u00ccè \u00ceẻ \u00cfẽ \u00d0é \u00d1ẹ \u00d2ề \u00d3ể \u00d4ễ \u00d5ế \u00d6ệ "
    # i ì ỉ ĩ í ị
    "\u00d7ì \u00d8ỉ \u00dcĩ \u00ddí \u00deị "
    # o ò ỏ õ ó ọ / ô ồ ổ ỗ ố ộ / ơ ờ ở ỡ ớ ợ
    "\u00dfò \u00e1ỏ \u00e2õ \u00e3ó \u00e4ọ \u00e5ồ \u00e6ổ \u00e7ỗ \u00e8ố \u00e9ộ "
    "\u00eaờ \u00ebở \u00ecỡ \u00edớ \u00eeợ "
    # u ù ủ ũ ú ụ / ư ừ ử ữ ứ ự
    "\u00efù \u00f1ủ \u00f2ũ \u00f3ú \u00f4ụ \u00f5ừ \u00f6ử \u00f7ữ \u00f8ứ \u00f9ự "
    # y ỳ ỷ ỹ ý ỵ
    "\u00faỳ \u00fbỷ \u00fcỹ \u00fdý \u00feỵ"
)
_TCVN3_MAP: dict[str, str] = {pair[0]: pair[1] for pair in _TCVN3_PAIRS.split()}
# A PDF text layer turns the soft-hyphen slot (ư) into U+2212 MINUS SIGN and 0xB7 (ã) into
# U+2219 BULLET OPERATOR; inside a word they are letters.
_TCVN3_GLYPH_RE = re.compile(r"(?<=[^\W\d_])[\u2212\u2219]|[\u2212\u2219](?=[^\W\d_])")
_TCVN3_TABLE = str.maketrans(_TCVN3_MAP)
#: TCVN3 characters that plain Unicode Vietnamese never contains.
_VN_LATIN1 = set("ÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝàáâãèéêìíòóôõùúý")
_TCVN3_STRONG = frozenset(c for c in _TCVN3_MAP if c not in _VN_LATIN1) | {"\u2212", "\u2219"}

# --------------------------------------------------------------------------------------------
# VNI (VNI-Windows / VNI-Times): base letter followed by one or two mark characters
# --------------------------------------------------------------------------------------------

_COMBINING = {"sac": "\u0301", "huyen": "\u0300", "hoi": "\u0309", "nga": "\u0303", "nang": "\u0323"}
# tone mark characters (lower, upper)
_VNI_TONE = {"sac": ("ù", "Ù"), "huyen": ("ø", "Ø"), "hoi": ("û", "Û"), "nga": ("õ", "Õ"), "nang": ("ï", "Ï")}
# circumflex (â) and its toned forms
_VNI_CIRC = {None: ("â", "Â"), "sac": ("á", "Á"), "huyen": ("à", "À"), "hoi": ("å", "Å"),
             "nga": ("ã", "Ã"), "nang": ("ä", "Ä")}
# breve (ă) and its toned forms
_VNI_BREVE = {None: ("ê", "Ê"), "sac": ("é", "É"), "huyen": ("è", "È"), "hoi": ("ú", "Ú"),
              "nga": ("ü", "Ü"), "nang": ("ë", "Ë")}


def _build_vni() -> dict[str, str]:
    table: dict[str, str] = {"ñ": "đ", "Ñ": "Đ", "ô": "ơ", "Ô": "Ơ", "ö": "ư", "Ö": "Ư",
                             "ò": "ị", "Ò": "Ị", "æ": "ỉ", "Æ": "Ỉ", "ó": "ĩ", "Ó": "Ĩ"}

    def add(seq: str, base: str, *marks: str) -> None:
        table.setdefault(seq, unicodedata.normalize("NFC", base + "".join(marks)))

    for upper in (False, True):
        k = 1 if upper else 0
        for base in "aeiouy":
            b = base.upper() if upper else base
            for tone, chars in _VNI_TONE.items():
                if base == "i" and tone not in ("sac", "huyen"):
                    continue  # ỉ ĩ ị are the single characters æ ó ò
                add(b + chars[k], b, _COMBINING[tone])
                if upper:  # title case: uppercase base, lowercase mark
                    add(b + chars[0], b, _COMBINING[tone])
        for horn_base, letter in (("ô", "o"), ("ö", "u")):  # ơ, ư + tone
            hb = horn_base.upper() if upper else horn_base
            lb = letter.upper() if upper else letter
            for tone, chars in _VNI_TONE.items():
                add(hb + chars[k], lb, "\u031b", _COMBINING[tone])
        for base in "aeo":
            b = base.upper() if upper else base
            for tone, chars in _VNI_CIRC.items():
                add(b + chars[k], b, "\u0302", *([_COMBINING[tone]] if tone else []))
        b = "A" if upper else "a"
        for tone, chars in _VNI_BREVE.items():
            add(b + chars[k], b, "\u0306", *([_COMBINING[tone]] if tone else []))
    return table


_VNI_MAP = _build_vni()
_VNI_RE = re.compile("|".join(re.escape(k) for k in sorted(_VNI_MAP, key=len, reverse=True)))
#: VNI mark characters that plain Unicode Vietnamese never contains.
_VNI_STRONG = frozenset("øûïåäëüöñæØÛÏÅÄËÜÖÑÆ")

_LEGACY_CHARS = "".join(sorted(set(_TCVN3_MAP) | set("".join(_VNI_MAP)) | {"\u2212", "\u2219"}))
_LEGACY_SET = frozenset(_LEGACY_CHARS)
_LEGACY_TOKEN_RE = re.compile(f"(?:[^\\W\\d_]|[{re.escape(_LEGACY_CHARS)}])+")
_LEGACY_GATE_RE = re.compile(f"[{re.escape(''.join(sorted(_TCVN3_STRONG | _VNI_STRONG)))}]")


def _tcvn3_convert(s: str) -> str:
    s = _TCVN3_GLYPH_RE.sub(lambda m: "\u00ad" if m.group() == "\u2212" else "\u00b7", s)
    return s.translate(_TCVN3_TABLE)


def _vni_convert(s: str) -> str:
    return _VNI_RE.sub(lambda m: _VNI_MAP[m.group()], s)


def _legacy_score(tokens: set[str], convert: Callable[[str], str], strong: frozenset[str]) -> tuple[int, int, int]:
    """Over distinct tokens: (converted, converted into a syllable, of those the ones of two or
    more characters that contain a character Unicode Vietnamese never uses)."""
    changed = valid = strong_valid = 0
    for tok in tokens:
        if _LEGACY_SET.isdisjoint(tok):
            continue
        new = convert(tok)
        if new == tok:
            continue
        changed += 1
        if _is_vietnamese_syllable(new):
            valid += 1
            if len(tok) >= 2 and any(c in strong for c in tok):
                strong_valid += 1
    return changed, valid, strong_valid


def _detect_legacy(s: str) -> str | None:
    """Return ``"tcvn3"``, ``"vni"`` or ``None``.  Conservative by design.

    A conversion is accepted only when at least two distinct words (of two or more characters)
    carrying a character that Unicode Vietnamese never uses become valid Vietnamese syllables,
    at least 80 % of all distinct words the conversion changes become syllables, and the text
    is not already mostly Unicode Vietnamese.  So ``5 µm × 3 µm`` stays as it is.
    """
    if not _LEGACY_GATE_RE.search(s):
        return None
    tokens = set(_LEGACY_TOKEN_RE.findall(s))
    unicode_vn = sum(1 for t in tokens if _VN_UNICODE_RE.search(t))
    best: tuple[int, str] | None = None
    for name, convert, strong in (("tcvn3", _tcvn3_convert, _TCVN3_STRONG),
                                  ("vni", _vni_convert, _VNI_STRONG)):
        changed, valid, strong_valid = _legacy_score(tokens, convert, strong)
        if strong_valid < 2 or valid < 0.8 * changed or unicode_vn * 10 > strong_valid:
            continue
        if best is None or strong_valid > best[0]:
            best = (strong_valid, name)
    return best[1] if best else None


def _convert_legacy(s: str, name: str) -> str:
    convert = _tcvn3_convert if name == "tcvn3" else _vni_convert

    def one(m: re.Match[str]) -> str:
        tok = m.group()
        return tok if _VN_UNICODE_RE.search(tok) else convert(tok)

    return unicodedata.normalize("NFC", _LEGACY_TOKEN_RE.sub(one, s))


# --------------------------------------------------------------------------------------------
# Mojibake
# --------------------------------------------------------------------------------------------

_CP1252_SPECIALS = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ"
#: A UTF-8 lead byte (C2–C6, E1, E2) decoded as cp1252/latin-1/cp1258, then a continuation byte.
_MOJIBAKE_RE = re.compile(f"[ÂÃĂÄÅÆáâ][\x80-\xbf{_CP1252_SPECIALS}]")
_CP1258_SIGNAL_RE = re.compile(f"Ă[\x80-\xbf{_CP1252_SPECIALS}]|[ăĂ]")
_FTFY_CONFIG = None


def _cp1258_encode(s: str) -> bytes | None:
    out = bytearray()
    for ch in s:
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            if "\x80" <= ch <= "\x9f":  # bytes undefined in cp1258 survive as C1 controls
                out.append(ord(ch))
            else:
                return None
    return bytes(out)


def _fix_cp1258_line(line: str) -> str:
    if not (_MOJIBAKE_RE.search(line) and _CP1258_SIGNAL_RE.search(line)):
        return line
    raw = _cp1258_encode(line)
    if raw is None:
        return line
    try:
        fixed = raw.decode("utf-8")
    except UnicodeDecodeError:
        return line
    if fixed == line or not _VN_UNICODE_RE.search(fixed):
        return line
    return unicodedata.normalize("NFC", fixed)


def _ftfy_fix(s: str) -> str:
    global _FTFY_CONFIG
    import ftfy

    if _FTFY_CONFIG is None:
        _FTFY_CONFIG = ftfy.TextFixerConfig(
            unescape_html=False,
            remove_terminal_escapes=False,
            fix_encoding=True,
            restore_byte_a0=True,
            replace_lossy_sequences=True,
            decode_inconsistent_utf8=True,
            fix_c1_controls=True,
            fix_latin_ligatures=False,
            fix_character_width=False,
            uncurl_quotes=False,
            fix_line_breaks=False,
            fix_surrogates=True,
            remove_control_chars=False,
            normalization=None,
            explain=False,
        )
    return ftfy.fix_text(s, _FTFY_CONFIG)


def fix_encoding(s: str) -> str:
    """Repair mojibake and legacy Vietnamese encodings; leave everything else unchanged.

    See the module docstring for the repairs and their order.  Never raises for ``str``
    input; the result is not NFC-normalized unless a repair happened (use :func:`nfc`).
    """
    if not isinstance(s, str) or s.isascii():
        return s
    try:
        if _MOJIBAKE_RE.search(s):
            if _CP1258_SIGNAL_RE.search(s):
                s = "\n".join(_fix_cp1258_line(line) for line in s.split("\n"))
            if _MOJIBAKE_RE.search(s):
                s = _ftfy_fix(s)
        name = _detect_legacy(s)
        if name is not None:
            s = _convert_legacy(s, name)
    except Exception:  # pragma: no cover - defensive: repair must never break ingestion
        return s
    return s
