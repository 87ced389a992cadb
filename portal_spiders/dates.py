"""Date normalizer for Vietnamese government portals.

Turns the date strings found on portals (``Thứ Sáu, 22/03/2024 - 20:36``, ``Hà Nội, ngày 23
tháng 01 năm 2025``, ``5 phút trước``, ``2024-03-22T20:36:00+07:00``, ``1711114560`` …) into an
aware :class:`~datetime.datetime` at the fixed offset ``+07:00``, with its precision and the
path that produced it (:class:`ParsedDate`).

Design:

* **Fixed +07:00** (:data:`TZ`), never ``Asia/Ho_Chi_Minh``: tzdata gives Saigon +08:00 for
  1943–45, ~1947–55 and 1960–75 and local mean time before 1906, which leaks into historical
  dates.  Other explicit offsets (``Z``, ``+00:00``, ``GMT+0``) are converted to +07:00; a
  string without an offset is local (+07:00).
* **Clean first**: HTML entities, encoding repair (mojibake, cp1258, TCVN3, VNI — via
  :func:`portal_spiders.text.fix_encoding`), NFC, invisible characters, every kind of space and
  line break collapsed.  Matching then runs on a *tone-folded* lower-case copy of the same
  length (tone marks and đ folded, circumflex/breve/horn kept, so ``tối`` (evening) and
  ``tới`` (to) stay apart while text typed without diacritics still matches).
* **Fast path** of compiled regular expressions: machine forms (ISO 8601, epoch seconds or
  milliseconds, RFC 2822 via :mod:`email.utils`), then every numeric / long-form / English
  date in the string, the time of day written next to it (``20:36``, ``8h30``, ``20g36``,
  ``20 giờ 36 phút``, ``3 giờ chiều``, AM/PM, SA/CH, trailing ``'``), zone markers and ranges,
  then relative forms.  An explicit date always wins over a relative word beside it.
* **dateparser** only as the fallback, on a pre-cleaned string, imported lazily (~75 ms), with
  ``languages=['vi', 'en']``, ``TIMEZONE='+0700'``, ``RETURN_AS_TIMEZONE_AWARE``,
  ``PREFER_DAY_OF_MONTH='first'``, ``DATE_ORDER`` from ``order`` and ``RELATIVE_BASE`` = now;
  one configured parser is reused per (order, now).

Sanity rules:

* junk returns ``None`` (never "now"): dateparser is not consulted for a string without a
  digit and without a relative word, and its year-only results are rejected;
* impossible dates (``31/02/2024``) are skipped, never raised;
* results must lie in [1945-01-01, ceiling + 1 year], where the ceiling is the later of ``now``
  and the wall clock: a page cannot print a date more than a year after today, even when
  ``now`` anchors an older reading (the shared fixture scores 2026 strings against a 2024
  "now");
* two-digit years use an explicit pivot: ``yy <= (now.year % 100) + 1`` → ``20yy``, otherwise
  ``19yy`` (so with now in 2024, ``25`` → 2025 and ``26`` → 1926, which is then rejected as
  before 1945) — never a century back for a recent date;
* a year-less date (``Ngày 18.6``, ``Sáng 11/2``, ``(24 - 26/8)``) resolves to its most recent
  past occurrence relative to ``now`` (:func:`resolve_yearless`);
* a wrong weekday never rejects the date: weekday names are ignored.

No exception escapes :func:`parse_date` / :func:`parse_date_info`; non-``str`` input gives
``None``.  This module imports nothing from the project except :mod:`portal_spiders.text`.
"""

from __future__ import annotations

import email.utils
import html
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, NamedTuple

from .text import fix_encoding

__all__ = ["TZ", "ParsedDate", "parse_date", "parse_date_info", "resolve_yearless", "truncate"]

TZ = timezone(timedelta(hours=7))
MIN_DATE = datetime(1945, 1, 1, tzinfo=TZ)
#: How far ahead of the later of ``now`` and the wall clock a fully written date may be.
MAX_FUTURE_YEARS_EXPLICIT = 1
#: How far ahead an inferred date (dateparser fallback, relative form) may be.
MAX_FUTURE_YEARS_INFERRED = 1
#: Only the first this-many characters of the input are looked at.
MAX_INPUT = 1000

PRECISIONS = ("month", "day", "minute", "second")


@dataclass(frozen=True, slots=True)
class ParsedDate:
    """A parsed date.

    ``value`` is aware (+07:00) and truncated to ``precision`` ("month", "day", "minute" or
    "second").  ``method`` names the path that won: "iso", "epoch", "rfc2822", "numeric",
    "longform", "relative" or "dateparser".  ``end`` is the end of a range (``Từ ngày … đến
    ngày …``, ``(24 - 26/8)``, ``từ 8:00 đến 11:00 ngày …``) at the same precision, else None.
    """

    value: datetime
    precision: str
    method: str
    end: datetime | None = None

    def isoformat(self) -> str:
        """ISO 8601 text of :attr:`value`, e.g. ``2024-03-22T20:36:00+07:00``."""
        return self.value.isoformat()


# --------------------------------------------------------------------------------------------
# Cleaning and folding
# --------------------------------------------------------------------------------------------

_INVISIBLE_RE = re.compile("[\u200b-\u200f\u2060-\u2064\ufeff\u00ad\u180e]")
_WS_RE = re.compile(r"\s+")
#: Characters that only show up in mojibake or TCVN3/VNI text (Latin-1 letters that Unicode
#: Vietnamese uses are not in the set), plus Ă/ă (cp1258 mojibake) and the PDF glyphs for ư/ã.
_REPAIR_GATE_RE = re.compile(
    "[\x80-\x9f\xa1-\xbf\xc4-\xc7\xcb\xce-\xd1\xd6-\xd8\xdb\xdc\xde\xdf"
    "\xe4-\xe7\xeb\xee\xef\xf0\xf1\xf6-\xf8\xfb\xfc\xfe\xff\u0102\u0103\u2212\u2219]"
)
_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")


class _FoldTable(dict):
    """``str.translate`` table: drop Vietnamese tone marks, đ→d, lower-case; 1 char → 1 char."""

    def __missing__(self, key: int) -> str:
        ch = chr(key)
        out = ch
        decomposed = unicodedata.normalize("NFD", ch)
        if len(decomposed) > 1:
            stripped = unicodedata.normalize(
                "NFC", "".join(c for c in decomposed if c not in _TONE_MARKS)
            )
            if len(stripped) == 1:
                out = stripped
        if out in ("đ", "Đ"):
            out = "d"
        low = out.lower()
        if len(low) == 1:
            out = low
        self[key] = out
        return out


_FOLD = _FoldTable()


def _clean(text: str) -> str:
    if len(text) > MAX_INPUT:
        text = text[:MAX_INPUT]
    if "&" in text:
        text = html.unescape(text)
    if not text.isascii():
        if _REPAIR_GATE_RE.search(text):
            text = fix_encoding(text)
        if not unicodedata.is_normalized("NFC", text):
            text = unicodedata.normalize("NFC", text)
        text = _INVISIBLE_RE.sub("", text)
    return _WS_RE.sub(" ", text).strip()


def _v(word: str) -> str:
    """Regex for a tone-folded Vietnamese word typed with or without its vowel marks."""
    return (word.replace("a", "[aăâ]").replace("e", "[eê]").replace("o", "[oôơ]")
            .replace("u", "[uư]"))


# --------------------------------------------------------------------------------------------
# Patterns (all run on the folded text)
# --------------------------------------------------------------------------------------------

_ISO_RE = re.compile(
    r"(?<![0-9])([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:(?:t|\s)([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,][0-9]{1,9})?)?"
    r"(?:\s?(z(?![a-z])|[+-][0-9]{2}(?::?[0-9]{2})?(?![0-9])))?)?(?![0-9])"
)
#: Epoch seconds (10 digits: 2001-09-09 … 2286) or milliseconds (13 digits); a leading zero is a
#: phone number (0912345678), not a timestamp.
_EPOCH_RE = re.compile(r"[1-9][0-9]{9}(?:[0-9]{3})?(?:\.[0-9]{1,6})?")
_RFC_RE = re.compile(
    r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s?)?[0-9]{1,2}\s(?:jan|feb|mar|apr|may|jun|jul|aug|sep|"
    r"oct|nov|dec)[a-z]*\.?\s[0-9]{2,4}\s[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?"
    r"(?:\s?(?:gmt|utc|ut|z|[a-z]{3,4})?\s?(?:[+-]\s?[0-9]{1,2}(?::?[0-9]{2})?)?)?"
)
_RFC_ZONE_RE = re.compile(r"(?:gmt|utc|ut)?\s?([+-])\s?([0-9]{1,2})(?::?([0-9]{2}))?$")
_ZONE_RE = re.compile(
    r"[(\[]?\s?(?:gmt|utc)\s?([+-])\s?([0-9]{1,2})(?::?([0-9]{2}))?(?![0-9])\s?[)\]]?"
)

_UNMARK = str.maketrans("ăâêôơư", "aaeoou")
#: Month names after "tháng" (keys without vowel marks; look up with ``s.translate(_UNMARK)``).
_MONTH_WORDS = {
    "muoi mot": 11, "muoi hai": 12, "muoi": 10, "mot": 1, "gieng": 1, "hai": 2, "ba": 3, "tu": 4,
    "bon": 4, "nam": 5, "sau": 6, "bay": 7, "tam": 8, "chin": 9, "chap": 12,
}
_MONTH_ALT = "|".join(_v(k) for k in sorted(_MONTH_WORDS, key=len, reverse=True))
_NAM = _v("nam")  # năm (year) / nam
_THANG = "thang"

_EN_MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sept": 9, "sep": 9,
    "oct": 10, "nov": 11, "dec": 12,
}
_EN_ALT = "|".join(sorted(_EN_MONTHS, key=len, reverse=True))
_EN_FULL_ALT = "|".join(k for k in _EN_MONTHS if len(k) > 4 or k in ("may", "june", "july"))

_CONNECTOR = rf"(?:-|–|—|~|{_v('den')}|t[oơ]i)"
#: All numeric date shapes in one scan; at each position the alternatives are tried in order:
#: a day range sharing its month (``24 - 26/8``, ``20-22/3/2024``; not after a weekday such as
#: ``Thứ 6 - 22/03``), Y/M/D, D/M/Y (a 4-digit year may be glued to a time), year-less D/M.
_NUM_RE = re.compile(  # the leading (?=[0-9]) lets non-digit positions fail at once
    r"(?=[0-9])(?<![0-9])(?<![0-9][/.:])(?:"
    r"(?<![0-9],)(?<!th[uư]\s)(?<!th[uư])(?<![^a-zăâêôơư]t)(?<!^t)"
    rf"(?P<r1>[0-9]{{1,2}})\s?{_CONNECTOR}\s?(?P<r2>[0-9]{{1,2}})(?P<rs>[/.])(?P<rm>[0-9]{{1,2}})"
    r"(?:(?P=rs)(?P<ry>[0-9]{4}|[0-9]{2}))?(?![0-9])(?![/.][0-9])"
    r"|(?P<ymd_y>[0-9]{4})(?P<ymd_s>[/.-])(?P<ymd_m>[0-9]{1,2})(?P=ymd_s)(?P<ymd_d>[0-9]{1,2})(?![0-9])"
    r"|(?P<a>[0-9]{1,2})(?P<s>[/.-])(?P<b>[0-9]{1,2})(?P=s)"
    r"(?P<y>[0-9]{4}(?=[0-9]{1,2}:[0-9]{2})|[0-9]{4}(?![0-9])|[0-9]{2}(?![0-9]))(?![/.][0-9])"
    r"|(?<![0-9],)(?P<da>[0-9]{1,2})(?P<ds>[/.-])(?P<db>[0-9]{1,2})(?![0-9])(?![/.][0-9])"
    r")"
)
_GLUED_TIME_RE = re.compile(r"([0-9]{1,2}):([0-5][0-9])(?::([0-5][0-9]))?(?![0-9])")
_LONG_RE = re.compile(
    rf"(?=[0-9])(?<![0-9])([0-9]{{1,2}})\s?{_THANG}\s?([0-9]{{1,2}}|{_MONTH_ALT})(?![0-9a-zăâêôơư])"
    rf"(?:\s?(?:{_NAM}|,|/|-|\.)?\s?([0-9]{{4}})(?![0-9]))?"
)
_MONTH_ONLY_RE = re.compile(
    rf"(?<![0-9a-zăâêôơư]){_THANG}\s?([0-9]{{1,2}}|{_MONTH_ALT})(?![0-9a-zăâêôơư])"
    rf"\s?(?:{_NAM}|,|/|-|\.)?\s?([0-9]{{4}})(?![0-9])"
)
#: WordPress in Vietnamese writes the month name first, like English: ``Tháng Mười Hai 29, 2013, 14:14``
#: (format ``F j, Y``); the comma before the year tells it from ``tháng 12 năm 2013``.
_MONTH_FIRST_RE = re.compile(
    rf"(?<![0-9a-zăâêôơư]){_THANG}\s?({_MONTH_ALT}|[0-9]{{1,2}})\s([0-9]{{1,2}})(?![0-9]),\s?([0-9]{{4}})(?![0-9])"
)
_MY_ONLY_RE = re.compile(r"([0-9]{1,2})[/.-]([0-9]{4})")
_EN_DMY_RE = re.compile(
    rf"(?=[0-9])(?<![0-9])([0-9]{{1,2}})(?:st|nd|rd|th)?\s?(?:of\s)?({_EN_ALT})\.?(?![a-z]),?\s?([0-9]{{4}})(?![0-9])"
)
_EN_MDY_RE = re.compile(
    rf"(?<![a-z])({_EN_ALT})\.?(?![a-z])\s?([0-9]{{1,2}})(?:st|nd|rd|th)?(?![0-9]),?\s?([0-9]{{4}})(?![0-9])"
)
_EN_MY_RE = re.compile(rf"(?<![a-z])({_EN_FULL_ALT})(?![a-z]),?\s([0-9]{{4}})(?![0-9])")

_QUAL = rf"(?<![a-z])(?:sang|tr[uư]a|chi[eê]u|tôi|toi(?!\s?[0-9]{1,2}\s?[:hg])|{_v('dem')}|khuya)"
_TIME_RE = re.compile(
    r"(?=[0-9])(?<![0-9:./+])(?P<h>2[0-4]|[01]?[0-9])"
    r"(?:"
    r"\s?:\s?(?P<m>[0-5][0-9])(?:\s?:\s?(?P<s>[0-5][0-9])(?:[.,][0-9]{1,6})?)?"
    r"|\s?[hg](?:(?P<m2>[0-5][0-9])|(?![a-z0-9ăâêôơư]))"
    rf"|\s?gi[oơ](?![a-zăâêôơư])(?:\s?(?P<m3>[0-5]?[0-9])(?![0-9/.-])(?:\s?phut(?![a-z]))?"
    rf"(?:\s?(?P<s3>[0-5]?[0-9])\s?gi[aâ]y(?![a-z]))?)?"
    r")"
    r"(?![0-9])(?:\s?['’′])?"
    r"(?:\s?(?P<ap>a\.?m\.?|p\.?m\.?|sa|ch)(?![a-zăâêôơư]))?"
    rf"(?:\s?(?P<post>{_QUAL})(?![a-zăâêôơư]))?"
)
#: A qualifier written before the time (``chiều 3 giờ``, ``tối lúc 7:30``).
_PRE_QUAL_RE = re.compile(rf"({_QUAL})\s(?:luc\s|vao\s)?$")
_GAP_RE = re.compile(
    r"(?:[\s,;|/()\[\]'’′.:-]|–|—|luc|vao|ngay|h[oô]i|khoang|t[uư]|th[uư]\s?(?:[2-7]|hai|ba|t[uư]|n[aă]m"
    r"|sau|bay)|ch[uủ] nh[aâ]t|cn|t[2-7])*"
)
_RANGE_GAP_RE = re.compile(rf"[\s,;(]*{_CONNECTOR}[\s,;]*(?:ngay\s?)?")
_TIME_RANGE_GAP_RE = re.compile(rf"\s?{_CONNECTOR}\s?")
_YEARLESS_CONTEXT_RE = re.compile(
    rf"(?:ngay|sang|tr[uư]a|chi[eê]u|t[oô]i|{_v('dem')}|khuya|h[oô]m|t[uư]|{_v('den')}|luc|vao|cn"
    rf"|th[uư]\s?\S+|t[2-7])[\s,]*$|[(\[]\s?$"
)

_REL_AGO_RE = re.compile(
    rf"(?<![0-9])([0-9]{{1,4}})\s?(giay|gi[aâ]y|phut|gi[oơ]|tieng|ti[eê]ng|ngay|tu[aâ]n|thang|{_NAM}"
    r"|seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?)(?![a-zăâêôơư])"
    rf"\s?(?:{_v('truoc')}|ago)(?![a-z])"
)
_REL_AGO2_RE = re.compile(
    rf"c[aă]ch [dđ][aâ]y\s?([0-9]{{1,4}})\s?(giay|gi[aâ]y|phut|gi[oơ]|ti[eê]ng|ngay|tu[aâ]n|thang|{_NAM})"
    r"(?![a-zăâêôơư])"
)
#: A time still to come (``sau 2 phút nữa``, ``2 ngày tới``, ``trong 3 giờ tới``, ``in 5 minutes``): a countdown,
#: never a publication time, so it parses to None instead of a wrong day.
_REL_UNIT = (rf"(?:giay|gi[aâ]y|phut|gi[oơ]|ti[eê]ng|ngay|tu[aâ]n|thang|{_NAM}|seconds?|secs?|minutes?|mins?|hours?"
             r"|hrs?|days?|weeks?|months?|years?)(?![a-zăâêôơư])")
_REL_FUTURE_RE = re.compile(
    rf"(?<![a-zăâêôơư])(?:{_v('sau')}|trong|c[oò]n|in)\s[0-9]{{1,4}}\s?{_REL_UNIT}"
    rf"|(?<![0-9])[0-9]{{1,4}}\s?{_REL_UNIT}\s?(?:n[uư]a|t[oơ]i|from now)(?![a-zăâêôơư])"
)
_REL_JUST_RE = re.compile(rf"(?<![a-z]){_v('vua')} (?:xong|m[oơ]i|{_v('dang')})(?![a-z])|just now")
_REL_WEEKDAY_RE = re.compile(
    rf"(?<![a-z0-9ăâêôơư])(?:th[uư]\s?([2-7]|hai|ba|t[uư]|n[aă]m|sau|bay)|(ch[uủ] nh[aâ]t|cn)|t([2-7]))"
    rf"\s?(?:c[uủ]a\s)?tu[aâ]n\s?(?:{_v('truoc')}|r[oôơ]i)(?![a-z])"
)
_REL_DAY_RE = re.compile(
    r"(?<![a-zăâêôơư])(h[oô]m nay|h[oô]m qua|h[oô]m kia|today|yesterday)(?![a-zăâêôơư])"
)
_RELATIVE_WORD_RE = re.compile(
    rf"(?<![a-zăâêôơư])(?:{_v('truoc')}|h[oô]m|{_v('vua')}|tu[aâ]n|nay|qua|kia|mai|ngo[aă]i|t[oơ]i|sau"
    r"|ago|yesterday|today|tomorrow|last|next|now)(?![a-zăâêôơư])"
)
_WEEKDAY_NUM = {"hai": 0, "ba": 1, "tu": 2, "nam": 3, "sau": 4, "bay": 5}

# dateparser pre-cleaning
_NOISE_RE = re.compile(r"\||l[uư][oơ]t (?:xem|[dđ][oô]c)|\(?view|in b[aà]i|chia s[eẻ]|b[iì]nh lu[aâ]n")
_LABEL_RE = re.compile(
    rf"^(?:[^0-9:]{{0,40}}?(?:ngay {_v('dang')}|{_v('dang')} ngay|{_v('dang')} luc|c[aâ]p nh[aâ]t(?: luc)?"
    rf"|ngay c[aâ]p nh[aâ]t|ngay ban hanh|ngay co hi[eê]u l[uư]c|hi[eê]u l[uư]c|submitted by .{{0,60}}? on)"
    r"\s?:?\s?)"
)
_WEEKDAY_PREFIX_RE = re.compile(
    r"^(?:th[uư]\s?(?:[2-7]|hai|ba|t[uư]|n[aă]m|sau|bay)|ch[uủ] nh[aâ]t|cn|t[2-7]"
    r"|mon|tue|wed|thu|fri|sat|sun)[a-z]*[\s,.-]*"
)
# cheap gates that let the fast path skip whole families of patterns
_DIGIT_RE = re.compile(r"[0-9]")
_SEP_RE = re.compile(r"[0-9][/.-][0-9]")
_EN_GATE_RE = re.compile(r"(?<![a-z])(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)")
_TIME_GATE_RE = re.compile(r"[0-9]\s?(?::|h|g)")
_DOCNUM_RE = re.compile(r"[0-9]+/[0-9]{4}/[a-z]")
_FALLBACK_WORD_RE = re.compile(
    rf"(?<![a-zăâêôơư])(?:thang|{_EN_ALT}|{_v('truoc')}|{_v('sau')}|h[oô]m|tu[aâ]n|t[oơ]i|ngo[aă]i|qua|kia|mai"
    r"|ago|yesterday|today|tomorrow|last|next)(?![a-zăâêôơư])"
)
_HG_TIME_RE = re.compile(r"(?<![0-9])([0-9]{1,2})\s?[hg]([0-5][0-9])(?![0-9])")


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


class _Time(NamedTuple):
    start: int
    end: int
    hour: int
    minute: int
    second: int
    has_seconds: bool


class _Cand(NamedTuple):
    start: int
    end: int
    year: int | None  # None: year-less
    month: int
    day: int  # 0 for month precision
    method: str
    end_day: int | None = None  # day range sharing the month (and year)
    glued: _Time | None = None


def _add_years(dt: datetime, years: int) -> datetime:
    try:
        return dt.replace(year=dt.year + years)
    except ValueError:  # 29 February
        return dt.replace(year=dt.year + years, day=28)


def _valid_ymd(y: int, m: int, d: int) -> bool:
    try:
        date(y, m, d)
    except (ValueError, OverflowError):
        return False
    return True


def _pivot_year(yy: int, now: datetime) -> int:
    """Two-digit year pivot: ``yy <= now.yy + 1`` → 20yy, else 19yy."""
    return 2000 + yy if yy <= (now.year % 100) + 1 else 1900 + yy


def resolve_yearless(day: int, month: int, now: datetime | None = None) -> date | None:
    """Most recent past occurrence of ``day``/``month`` on or before ``now``'s date.

    ``resolve_yearless(18, 6, now=2024-03-23)`` → 2023-06-18; ``resolve_yearless(22, 3, …)`` →
    2024-03-22.  29 February goes back to the last leap year.  Impossible day/month → None.
    """
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    today = _now(now).date()
    for back in range(9):
        y = today.year - back
        if _valid_ymd(y, month, day):
            d = date(y, month, day)
            if d <= today:
                return d
    return None


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(TZ)
    if now.tzinfo is None:
        return now.replace(tzinfo=TZ)
    return now.astimezone(TZ)


def truncate(dt: datetime, precision: str) -> datetime:
    """``dt`` cut to ``precision`` (month | day | minute | second): how values are compared and stored."""
    if precision == "month":
        return dt.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if precision == "day":
        return dt.replace(hour=0, minute=0, second=0, microsecond=0)
    if precision == "minute":
        return dt.replace(second=0, microsecond=0)
    return dt.replace(microsecond=0)


def _in_bounds(dt: datetime, now: datetime, years_ahead: int) -> bool:
    return MIN_DATE <= dt <= _add_years(max(now, datetime.now(TZ)), years_ahead)


def _time_from_match(m: re.Match[str], pre: str | None, start: int) -> _Time | None:
    h = int(m.group("h"))
    minute_s = m.group("m") or m.group("m2") or m.group("m3")
    minute = int(minute_s) if minute_s else 0
    sec_s = m.group("s") or m.group("s3")
    second = int(sec_s) if sec_s else 0
    ap = (m.group("ap") or "").replace(".", "")
    qual = (m.group("post") or pre or "").translate(_UNMARK)
    if ap:
        if 1 <= h <= 12:
            h = h % 12 + (12 if ap in ("pm", "ch") else 0)
    elif qual in ("chieu", "toi"):  # afternoon, evening
        if h < 12:
            h += 12
    elif qual == "trua":  # noon: 11, 12, 1 … 4
        if 1 <= h <= 4:
            h += 12
    elif qual in ("dem", "khuya"):  # night
        if 7 <= h <= 11:
            h += 12
        elif h == 12:
            h = 0
    if h > 23 or minute > 59 or second > 59:
        return None
    return _Time(start, m.end(), h, minute, second, sec_s is not None)


def _time_precision(t: _Time | None) -> str:
    if t is None:
        return "day"
    if t.has_seconds:
        if t.hour == 0 and t.minute == 0 and t.second == 0:
            return "day"  # a printed 00:00:00 is a placeholder for "no time"
        if t.second:
            return "second"
    return "minute"


def _find_times(f: str, dates: list[_Cand]) -> list[_Time]:
    out: list[_Time] = []
    for m in _TIME_RE.finditer(f):
        h0 = m.start("h")
        if any(c.start <= h0 < c.end for c in dates):
            continue
        pm = _PRE_QUAL_RE.search(f, max(0, h0 - 14), h0)
        t = _time_from_match(m, pm.group(1) if pm else None, pm.start() if pm else h0)
        if t is not None:
            out.append(t)
    return out


def _numeric_dm(a: int, b: int, sep: str, order: str) -> tuple[int, int] | None:
    """(day, month) for a numeric pair, honouring ``order``."""
    if order == "MDY":
        if 1 <= a <= 12 and 1 <= b <= 31:
            return b, a
        if 1 <= b <= 12 and 1 <= a <= 31:
            return a, b
        return None
    if 1 <= b <= 12 and 1 <= a <= 31:
        return a, b
    if sep != "." and 1 <= a <= 12 and 13 <= b <= 31:  # unambiguous US M/D
        return b, a
    return None


def _blank_template_month(m: re.Match[str], group: int) -> bool:
    """``tháng    năm 2024`` in a legal-document template (blank day and month) is not May:
    the month word "năm" counts only when the year keyword or a comma still follows it."""
    if m.group(group).translate(_UNMARK) != "nam":
        return False
    return not re.search(rf"{_NAM}|,", m.string[m.end(group): m.end()])


def _month_value(s: str) -> int | None:
    if s.isdigit():
        v = int(s)
        return v if 1 <= v <= 12 else None
    return _MONTH_WORDS.get(s.translate(_UNMARK))


def _collect_dates(f: str, now: datetime, order: str, has_en: bool) -> tuple[list[_Cand], bool]:
    """All date candidates in ``f`` (non-overlapping, by position) and whether any explicit
    date-shaped string was seen (valid or not)."""
    raw: list[tuple[int, int, int, _Cand | None]] = []  # (start, -len, priority, cand)
    seen_explicit = False

    def add(m: re.Match[str], cand: _Cand | None, prio: int) -> None:
        raw.append((m.start(), -(m.end() - m.start()), prio, cand))

    has_thang = "thang" in f
    if _SEP_RE.search(f) is not None:
        for m in _NUM_RE.finditer(f):
            if m.group("r1") is not None:
                d1, d2, mo = int(m.group("r1")), int(m.group("r2")), int(m.group("rm"))
                y = m.group("ry")
                year = None if y is None else (int(y) if len(y) == 4 else _pivot_year(int(y), now))
                if 1 <= mo <= 12 and 1 <= d1 < d2 <= 31:
                    add(m, _Cand(m.start(), m.end(), year, mo, d1, "numeric", end_day=d2), 0)
            elif m.group("ymd_y") is not None:
                y, mo, d = int(m.group("ymd_y")), int(m.group("ymd_m")), int(m.group("ymd_d"))
                seen_explicit = True
                add(m, _Cand(m.start(), m.end(), y, mo, d, "numeric") if _valid_ymd(y, mo, d) else None, 1)
            elif m.group("a") is not None:
                seen_explicit = True
                a, b, ys = int(m.group("a")), int(m.group("b")), m.group("y")
                year = int(ys) if len(ys) == 4 else _pivot_year(int(ys), now)
                dm = _numeric_dm(a, b, m.group("s"), order)
                cand = None
                if dm and _valid_ymd(year, dm[1], dm[0]):
                    glued = None
                    g = _GLUED_TIME_RE.match(f, m.end())
                    if g is not None and len(ys) == 4:
                        h, mi = int(g.group(1)), int(g.group(2))
                        sec = int(g.group(3)) if g.group(3) else 0
                        if h <= 23:
                            glued = _Time(g.start(), g.end(), h, mi, sec, g.group(3) is not None)
                    end = glued.end if glued else m.end()
                    cand = _Cand(m.start(), end, year, dm[1], dm[0], "numeric", glued=glued)
                add(m, cand, 1)
            else:
                sep = m.group("ds")
                if sep != "/" and not _YEARLESS_CONTEXT_RE.search(f, max(0, m.start() - 16), m.start()):
                    continue
                dm = _numeric_dm(int(m.group("da")), int(m.group("db")), sep, order)
                if dm is None or not _valid_ymd(2000, dm[1], dm[0]):  # 2000 is a leap year
                    continue
                add(m, _Cand(m.start(), m.end(), None, dm[1], dm[0], "numeric"), 4)
        m = _MY_ONLY_RE.fullmatch(f)
        if m is not None and 1 <= int(m.group(1)) <= 12:
            add(m, _Cand(0, len(f), int(m.group(2)), int(m.group(1)), 0, "numeric"), 5)
    if has_thang:
        for m in _LONG_RE.finditer(f):
            mo = None if _blank_template_month(m, 2) else _month_value(m.group(2))
            d = int(m.group(1))
            ys = m.group(3)
            seen_explicit = True
            cand = None
            if mo is not None:
                if ys is None:
                    if 1 <= d <= 31:
                        cand = _Cand(m.start(), m.end(), None, mo, d, "longform")
                elif _valid_ymd(int(ys), mo, d):
                    cand = _Cand(m.start(), m.end(), int(ys), mo, d, "longform")
            add(m, cand, 0)
        for m in _MONTH_FIRST_RE.finditer(f):
            mo, d, y = _month_value(m.group(1)), int(m.group(2)), int(m.group(3))
            seen_explicit = True
            add(m, _Cand(m.start(), m.end(), y, mo, d, "longform") if mo and _valid_ymd(y, mo, d) else None, 0)
        for m in _MONTH_ONLY_RE.finditer(f):
            mo = None if _blank_template_month(m, 1) else _month_value(m.group(1))
            seen_explicit = True
            add(m, _Cand(m.start(), m.end(), int(m.group(2)), mo, 0, "longform") if mo else None, 2)
    if has_en:
        for rx, di, mi, yi in ((_EN_DMY_RE, 1, 2, 3), (_EN_MDY_RE, 2, 1, 3)):
            for m in rx.finditer(f):
                y, mo, d = int(m.group(yi)), _EN_MONTHS[m.group(mi)], int(m.group(di))
                seen_explicit = True
                add(m, _Cand(m.start(), m.end(), y, mo, d, "longform") if _valid_ymd(y, mo, d) else None, 1)
        for m in _EN_MY_RE.finditer(f):
            add(m, _Cand(m.start(), m.end(), int(m.group(2)), _EN_MONTHS[m.group(1)], 0, "longform"), 3)

    raw.sort(key=lambda r: (r[0], r[1], r[2]))
    kept: list[_Cand] = []
    last_end = -1
    for start, neg_len, _prio, cand in raw:
        if start < last_end:
            continue
        if cand is None:
            last_end = start - neg_len
            continue
        kept.append(cand)
        last_end = cand.end
    return kept, seen_explicit


def _adjacent_time(f: str, c: _Cand, times: list[_Time]) -> tuple[_Time | None, _Time | None]:
    """The time written next to date candidate ``c`` (and the end of a time range)."""
    if c.glued is not None:
        return c.glued, None
    for i, t in enumerate(times):
        if t.start >= c.end and t.start - c.end <= 30 and _GAP_RE.fullmatch(f, c.end, t.start):
            nxt = times[i + 1] if i + 1 < len(times) else None
            if nxt is not None and _TIME_RANGE_GAP_RE.fullmatch(f, t.end, nxt.start):
                return t, nxt
            return t, None
    for i in range(len(times) - 1, -1, -1):
        t = times[i]
        if t.end <= c.start and c.start - t.end <= 30 and _GAP_RE.fullmatch(f, t.end, c.start):
            prev = times[i - 1] if i > 0 else None
            if prev is not None and _TIME_RANGE_GAP_RE.fullmatch(f, prev.end, t.start):
                return prev, t
            return t, None
    return None, None


def _gap_without_times(f: str, start: int, end: int, times: list[_Time]) -> str:
    parts = []
    pos = start
    for t in times:
        if t.start >= start and t.end <= end:
            parts.append(f[pos:t.start])
            pos = t.end
    parts.append(f[pos:end])
    return "".join(parts)


def _at(y: int, mo: int, d: int, t: _Time | None, offset: timezone) -> datetime:
    if t is None:
        return datetime(y, mo, max(d, 1), tzinfo=TZ)
    return datetime(y, mo, max(d, 1), t.hour, t.minute, t.second, tzinfo=offset).astimezone(TZ)


def _from_dates(f: str, dates: list[_Cand], times: list[_Time], offset: timezone,
                now: datetime) -> ParsedDate | None:
    for i, c in enumerate(dates):
        partner = dates[i + 1] if i + 1 < len(dates) else None
        is_range = partner is not None and c.end_day is None and bool(
            _RANGE_GAP_RE.fullmatch(_gap_without_times(f, c.end, partner.start, times))
        )
        year = c.year
        if year is None:
            if is_range and partner is not None and partner.year is not None:
                year = partner.year
                if (c.month, c.day) > (partner.month, max(partner.day, 1)):
                    year -= 1
            else:
                resolved = resolve_yearless(c.day, c.month, now)
                if resolved is None:
                    continue
                year = resolved.year
        if not _valid_ymd(year, c.month, max(c.day, 1)):
            continue
        if c.day == 0:
            value = datetime(year, c.month, 1, tzinfo=TZ)
            if _in_bounds(value, now, MAX_FUTURE_YEARS_EXPLICIT):
                return ParsedDate(value, "month", c.method)
            continue
        t, t_end = _adjacent_time(f, c, times)
        precision = _time_precision(t)
        try:
            value = truncate(_at(year, c.month, c.day, t, offset), precision)
        except (ValueError, OverflowError):
            continue
        limit = MAX_FUTURE_YEARS_INFERRED if c.year is None else MAX_FUTURE_YEARS_EXPLICIT
        if not _in_bounds(value, now, limit):
            continue
        end: datetime | None = None
        if c.end_day is not None:
            if _valid_ymd(year, c.month, c.end_day):
                end = datetime(year, c.month, c.end_day, tzinfo=TZ)
        elif t_end is not None:
            end = truncate(_at(year, c.month, c.day, t_end, offset), precision)
        elif is_range and partner is not None and partner.day:
            p_year = partner.year if partner.year is not None else year
            if _valid_ymd(p_year, partner.month, partner.day):
                pt, _ = _adjacent_time(f, partner, times)
                p_prec = _time_precision(pt)
                end = truncate(_at(p_year, partner.month, partner.day, pt, offset), p_prec)
                if end < value:
                    end = None
        return ParsedDate(value, precision, c.method, end)
    return None


def _parse_iso(m: re.Match[str], now: datetime) -> ParsedDate | None:
    y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if not _valid_ymd(y, mo, d):
        return None
    if m.group(4) is None:
        value = datetime(y, mo, d, tzinfo=TZ)
        precision = "day"
    else:
        h, mi = int(m.group(4)), int(m.group(5))
        s = int(m.group(6)) if m.group(6) else 0
        if h > 23 or mi > 59 or s > 59:
            return None
        tz = m.group(7)
        if tz is None:
            offset: timezone = TZ
        elif tz == "z":
            offset = UTC
        else:
            sign = -1 if tz[0] == "-" else 1
            digits = tz[1:].replace(":", "")
            oh, om = int(digits[:2]), int(digits[2:4] or 0)
            if oh > 14 or om > 59:
                return None
            offset = timezone(sign * timedelta(hours=oh, minutes=om))
        value = datetime(y, mo, d, h, mi, s, tzinfo=offset).astimezone(TZ)
        precision = "second" if m.group(6) else "minute"
    if not _in_bounds(value, now, MAX_FUTURE_YEARS_EXPLICIT):
        return None
    return ParsedDate(value, precision, "iso")


def _parse_rfc(f: str, now: datetime) -> ParsedDate | None:
    s = f
    zm = _RFC_ZONE_RE.search(s)
    if zm is not None:
        hh, mm = int(zm.group(2)), int(zm.group(3) or 0)
        s = f"{s[: zm.start()].rstrip()} {zm.group(1)}{hh:02d}{mm:02d}"
    parts = email.utils.parsedate_tz(s)
    if parts is None:
        return None
    y, mo, d, h, mi, sec = parts[:6]
    if not _valid_ymd(y, mo, d) or h > 23 or mi > 59 or sec > 59:
        return None
    off = parts[9]
    tz = TZ if off is None else timezone(timedelta(seconds=off))
    value = datetime(y, mo, d, h, mi, sec, tzinfo=tz).astimezone(TZ)
    precision = "second" if sec else "minute"
    if not _in_bounds(value, now, MAX_FUTURE_YEARS_EXPLICIT):
        return None
    return ParsedDate(value, precision, "rfc2822")


_REL_UNITS = {
    "giay": "second", "second": "second", "sec": "second",
    "phut": "minute", "minute": "minute", "min": "minute",
    "gio": "hour", "tieng": "hour", "hour": "hour", "hr": "hour",
    "ngay": "day", "day": "day", "tuan": "week", "week": "week",
    "thang": "month", "month": "month",
    "nam": "year", "year": "year",
}


def _relative(f: str, now: datetime, times: list[_Time]) -> ParsedDate | None:
    m = _REL_WEEKDAY_RE.search(f)
    if m is not None:
        if m.group(2):
            idx = 6
        else:
            w = m.group(1) or m.group(3)
            idx = int(w) - 2 if w.isdigit() else _WEEKDAY_NUM[w.translate(_UNMARK)]
        monday = now.date() - timedelta(days=now.weekday())  # weeks start on Monday (thứ Hai)
        d = monday - timedelta(days=7) + timedelta(days=idx)
        return ParsedDate(datetime(d.year, d.month, d.day, tzinfo=TZ), "day", "relative")
    m = _REL_AGO_RE.search(f) or _REL_AGO2_RE.search(f)
    if m is not None:
        n = int(m.group(1))
        unit_word = m.group(2)
        unit_word = unit_word.translate(_UNMARK)
        unit = _REL_UNITS.get(unit_word) or _REL_UNITS.get(unit_word.rstrip("s"))
        if unit is None or unit == "year":
            return None
        if unit == "month":
            total = now.year * 12 + now.month - 1 - n
            y, mo = divmod(total, 12)
            if y < 1945:
                return None
            value = datetime(y, mo + 1, 1, tzinfo=TZ)
            precision = "month"
        else:
            seconds = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800}[unit] * n
            if seconds > 100 * 365 * 86400:
                return None
            value = now - timedelta(seconds=seconds)
            precision = {"second": "second", "minute": "minute", "hour": "minute"}.get(unit, "day")
        value = truncate(value, precision)
        return ParsedDate(value, precision, "relative") if _in_bounds(value, now, 0) else None
    if _REL_JUST_RE.search(f):
        return ParsedDate(truncate(now, "minute"), "minute", "relative")
    m = _REL_DAY_RE.search(f)
    if m is not None:
        word = m.group(1)
        back = 0 if word.endswith("nay") or word == "today" else 2 if word.endswith("kia") else 1
        d = now.date() - timedelta(days=back)
        if times:
            t = times[0]
            value = datetime(d.year, d.month, d.day, t.hour, t.minute, t.second, tzinfo=TZ)
            precision = "second" if t.has_seconds and t.second else "minute"
        else:
            value = datetime(d.year, d.month, d.day, tzinfo=TZ)
            precision = "day"
        return ParsedDate(value, precision, "relative")
    return None


# --------------------------------------------------------------------------------------------
# dateparser fallback
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=16)
def _get_parser(order: str, base: datetime | None) -> Any:
    from dateparser.date import DateDataParser  # lazy: ~75 ms import

    settings: dict[str, Any] = {
        "TIMEZONE": "+0700",
        "RETURN_AS_TIMEZONE_AWARE": True,
        "PREFER_DAY_OF_MONTH": "first",
        "DATE_ORDER": order,
    }
    if base is not None:
        settings["RELATIVE_BASE"] = base
    return DateDataParser(languages=["vi", "en"], settings=settings)


def _dateparser_input(t: str, f: str) -> str:
    m = _NOISE_RE.search(f)
    if m is not None and m.start() > 0:
        t, f = t[: m.start()], f[: m.start()]
    m = _LABEL_RE.match(f)
    if m is not None:
        t, f = t[m.end():], f[m.end():]
    m = _WEEKDAY_PREFIX_RE.match(f)
    if m is not None and m.end() < len(f):
        t, f = t[m.end():], f[m.end():]
    t = re.sub(r"[()\[\]{}]", " ", t)
    t = _HG_TIME_RE.sub(r"\1:\2", t)
    return _WS_RE.sub(" ", t).strip(" ,;-–|")[:120]


def _fallback(t: str, f: str, now: datetime, order: str, explicit_now: bool,
              times: list[_Time]) -> ParsedDate | None:
    has_digit = _DIGIT_RE.search(f) is not None
    has_rel = bool(_RELATIVE_WORD_RE.search(f))
    if not has_digit and not has_rel:
        return None
    # Only strings with a month name, a relative word or at least two numbers (one of them
    # short enough to be a day, month or hour) can hold a date that dateparser would find and
    # the fast path did not; a legal document number (15/2024/NĐ-CP) is not a date.
    if not _FALLBACK_WORD_RE.search(f):
        numbers = re.findall(r"[0-9]+", f)
        if len(numbers) < 2 or not any(len(n) <= 2 for n in numbers) or _DOCNUM_RE.search(f):
            return None
    text = _dateparser_input(t, f)
    if not text:
        return None
    base = now.replace(tzinfo=None) if explicit_now else None
    data = _get_parser(order, base).get_date_data(text)
    value = data.date_obj
    period = data.period
    if value is None or period == "year":
        return None
    value = value.replace(tzinfo=TZ) if value.tzinfo is None else value.astimezone(TZ)
    if period == "month":
        precision = "month"
    elif period == "time" or times:
        precision = "second" if times and times[0].has_seconds and times[0].second else "minute"
    else:
        precision = "day"
    value = truncate(value, precision)
    if not _in_bounds(value, now, MAX_FUTURE_YEARS_INFERRED):
        return None
    if not has_digit and value == truncate(now, precision) and not has_rel:
        return None
    return ParsedDate(value, precision, "dateparser")


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def _parse(text: str, now_arg: datetime | None, order: str) -> ParsedDate | None:
    if not isinstance(text, str) or not text:
        return None
    order = "MDY" if isinstance(order, str) and order.upper() == "MDY" else "DMY"
    now = _now(now_arg)
    t = _clean(text)
    if not t:
        return None
    f = t.translate(_FOLD)
    if len(f) != len(t):  # cannot happen (1 char → 1 char), but never trust it blindly
        return None

    # 1. machine forms
    if _EPOCH_RE.fullmatch(f):
        n = float(f)
        seconds = n / 1000 if len(f.partition(".")[0]) == 13 else n
        try:
            value = datetime.fromtimestamp(seconds, TZ).replace(microsecond=0)
        except (OverflowError, OSError, ValueError):
            return None
        return ParsedDate(value, "second", "epoch") if _in_bounds(value, now, MAX_FUTURE_YEARS_INFERRED) else None
    m = _ISO_RE.search(f) if "-" in f else None
    if m is not None and (m.group(4) is not None or (m.start() == 0 and m.end() == len(f))):
        res = _parse_iso(m, now)
        if res is not None:
            return res
    has_en = _EN_GATE_RE.search(f) is not None
    if has_en and _RFC_RE.fullmatch(f):
        res = _parse_rfc(f, now)
        if res is not None:
            return res

    # 2. explicit dates (numeric, long form, English), with their time of day and zone
    offset = TZ
    zm = _ZONE_RE.search(f) if ("gmt" in f or "utc" in f) else None
    if zm is not None:
        oh, om = int(zm.group(2)), int(zm.group(3) or 0)
        if oh <= 14 and om <= 59:
            offset = timezone((-1 if zm.group(1) == "-" else 1) * timedelta(hours=oh, minutes=om))
        f = f[: zm.start()] + " " * (zm.end() - zm.start()) + f[zm.end():]
    dates, seen_explicit = _collect_dates(f, now, order, has_en)
    times = _find_times(f, dates) if _TIME_GATE_RE.search(f) else []
    if dates:
        res = _from_dates(f, dates, times, offset, now)
        if res is not None:
            return res
    if seen_explicit:
        return None  # a date was written but is impossible or out of range

    # 3. relative forms (a time still to come is no publication date)
    if _REL_FUTURE_RE.search(f):
        return None
    res = _relative(f, now, times)
    if res is not None:
        return res
    if times and not _RELATIVE_WORD_RE.search(f):
        return None  # a bare time of day is not a date

    # 4. dateparser, on a pre-cleaned string
    return _fallback(t, f, now, order, now_arg is not None, times)


def parse_date_info(text: str, *, now: datetime | None = None, order: str = "DMY") -> ParsedDate | None:
    """Parse a portal date string into a :class:`ParsedDate`, or ``None``.

    ``now`` is the reference for relative and year-less dates and for the sanity window
    (default: the current time; a naive ``now`` is taken as +07:00).  ``order`` is "DMY"
    (default; an M/D/Y string is still accepted when unambiguous, e.g. ``3/22/2024``) or
    "MDY" for sources known to be US style (baochinhphu RSS ``9/5/2026 1:30:00 PM``).
    Never raises.
    """
    try:
        return _parse(text, now, order)
    except Exception:
        return None


def parse_date(text: str, *, now: datetime | None = None, order: str = "DMY") -> datetime | None:
    """Like :func:`parse_date_info` but return only the aware (+07:00) datetime."""
    info = parse_date_info(text, now=now, order=order)
    return None if info is None else info.value
