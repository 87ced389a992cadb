"""Property-based fuzzing of portal_spiders.dates (and the text hygiene it relies on).

No exception may escape, and every non-None result must be aware, at +07:00, truncated to its
precision and inside the sanity window.  The internal ``_parse`` is called directly as well,
so an exception cannot hide behind the public functions' catch-all.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal_spiders import dates
from portal_spiders.dates import MIN_DATE, PRECISIONS, TZ, parse_date, parse_date_info
from portal_spiders.text import clean_multiline, clean_text, fix_encoding, fold

pytestmark = pytest.mark.slow

NOW = datetime(2024, 3, 23, 9, 0, tzinfo=TZ)
SEVEN = timedelta(hours=7)
FUZZ = settings(max_examples=300, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

NOISE = ["Lượt xem: 1234", "| Lượt xem: 4395 |", "(View: 7171)", "\n313", "In bài viết", "|", " - ", ", ",
         "\u00a0", "\u202f", "\u200b", "\ufeff", "&#x2B;", "&amp;", "(GMT+7)", "[GMT+7]", "GMT+07:00", "\n(GMT +7)",
         "Mã số 2023", "15/2024/NĐ-CP", "'", "SA", "CH", "PM", "AM", "năm", "tháng", "ngày", "lúc"]
LABELS = ["Ngày đăng:", "Cập nhật:", "Ngày cập nhật", "Đăng lúc", "Đăng ngày", "Ngày ban hành:", "Hiệu lực:",
          "Hà Nội, ngày", "Mỹ\nTho, ngày", "Submitted by Ban biên tập on", "Ngày có hiệu lực"]
WEEKDAYS = ["Thứ Sáu,", "Thu sau", "THỨ HAI", "Thứ 6", "T6,", "CN,", "Chủ nhật", "Fri,", "Thá»© SÃ¡u,"]
RELATIVE = ["5 phút trước", "2 giờ trước", "3 ngày trước", "1 tuần trước", "hôm qua", "Hôm nay,", "vừa xong",
            "thứ 5 tuần trước", "hôm qua lúc", "cách đây 9999 ngày", "99999 tháng trước", "0 giây trước",
            "tuần tới", "ngày mai", "năm ngoái"]
WORDS = ["tháng Ba", "Tháng Mười Hai", "October", "Mar", "giờ", "phút", "chiều", "tối", "sáng", "trưa", "đêm",
         "đến", "từ", "tới", "Hµ néi", "th¸ng", "n¨m", "ngaøy", "thaùng", "naêm"]

num = st.integers(min_value=0, max_value=99).map(str)
year = st.one_of(st.integers(min_value=0, max_value=9999).map(str), st.integers(1900, 2100).map(str))
sep = st.sampled_from(["/", "-", ".", " / ", "", " "])
date_frag = st.one_of(
    st.builds(lambda d, s, m, y: f"{d}{s}{m}{s}{y}", num, sep, num, year),
    st.builds(lambda d, s, m: f"{d}{s}{m}", num, sep, num),
    st.builds(lambda y, m, d: f"{y}-{m}-{d}", year, num, num),
    st.builds(lambda d, m, y: f"ngày {d} tháng {m} năm {y}", num, num, year),
    st.builds(lambda y, m, d, h, mi: f"{y}-{m}-{d}T{h}:{mi}:00+07:00", year, num, num, num, num),
    st.builds(lambda d1, d2, m: f"({d1} - {d2}/{m})", num, num, num),
    st.integers(min_value=0, max_value=10**14).map(str),
)
time_frag = st.one_of(
    st.builds(lambda h, m: f"{h}:{m}", num, num),
    st.builds(lambda h, m, s: f"{h}:{m}:{s}", num, num, num),
    st.builds(lambda h, m: f"{h}h{m}", num, num),
    st.builds(lambda h, m: f"{h}g{m}", num, num),
    st.builds(lambda h, m: f"{h} giờ {m} phút", num, num),
    st.builds(lambda h: f"{h} giờ chiều", num),
)
fragment = st.one_of(
    date_frag, time_frag, st.sampled_from(NOISE), st.sampled_from(LABELS), st.sampled_from(WEEKDAYS),
    st.sampled_from(RELATIVE), st.sampled_from(WORDS), st.text(max_size=6),
)
composed = st.lists(fragment, min_size=1, max_size=8).flatmap(
    lambda parts: st.sampled_from([" ", "", ", ", " | ", "\n"]).map(lambda j: j.join(parts))
)
nows = st.datetimes(min_value=datetime(1950, 1, 1), max_value=datetime(2090, 1, 1)).map(
    lambda d: d.replace(tzinfo=TZ)
)


def _upper(now: datetime, years: int) -> datetime:
    try:
        return now.replace(year=now.year + years)
    except ValueError:
        return now.replace(year=now.year + years, day=28)


def _check(text: object, now: datetime = NOW, order: str = "DMY") -> None:
    if isinstance(text, str):
        dates._parse(text, now, order)  # must not raise on its own
    info = parse_date_info(text, now=now, order=order)  # type: ignore[arg-type]
    value = parse_date(text, now=now, order=order)  # type: ignore[arg-type]
    if info is None:
        assert value is None
        return
    assert value == info.value
    assert info.precision in PRECISIONS
    assert info.method in {"iso", "epoch", "rfc2822", "numeric", "longform", "relative", "dateparser"}
    for dt in (info.value, info.end):
        if dt is None:
            continue
        assert dt.tzinfo is not None and dt.utcoffset() == SEVEN
        assert dt >= MIN_DATE
    # 1945 .. now + 1 year, where "now" is the later of the anchor and the wall clock
    assert info.value <= _upper(max(now, datetime.now(TZ)), 1)
    assert info.value == dates.truncate(info.value, info.precision)
    if info.end is not None:
        assert info.end >= info.value


@FUZZ
@given(st.text(max_size=60))
def test_random_unicode(text: str) -> None:
    _check(text)


@FUZZ
@given(st.text(alphabet="0123456789/-.:, |()[]hgGMT+'SACHPMthángnămngàygiờ", max_size=40), nows,
       st.sampled_from(["DMY", "MDY"]))
def test_random_date_alphabet(text: str, now: datetime, order: str) -> None:
    _check(text, now, order)


@settings(max_examples=800, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(composed, nows, st.sampled_from(["DMY", "MDY"]))
def test_adversarial_compositions(text: str, now: datetime, order: str) -> None:
    _check(text, now, order)


@FUZZ
@given(st.one_of(st.text(max_size=80), composed))
def test_text_hygiene_never_raises(text: str) -> None:
    cleaned = clean_text(text)
    assert cleaned is not None and cleaned == cleaned.strip()
    assert "  " not in cleaned and "\u200b" not in cleaned and "\u00a0" not in cleaned
    multi = clean_multiline(text)
    assert multi is not None and "\n\n\n" not in multi
    assert isinstance(fix_encoding(text), str)
    assert isinstance(fold(text), str)


def test_non_str_inputs() -> None:
    for bad in (None, 0, 1.5, b"22/03/2024", bytearray(b"x"), [], {}, object()):
        _check(bad)


WEEKDAY_NAMES = ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật"]
EN_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December"]


def _renderings(dt: datetime, views: int) -> list[tuple[str, str]]:
    d, m, y, hh, mm, ss = dt.day, dt.month, dt.year, dt.hour, dt.minute, dt.second
    h12, ap, en = hh % 12 or 12, ("SA" if hh < 12 else "CH"), ("AM" if hh < 12 else "PM")
    wd = WEEKDAY_NAMES[dt.weekday()]
    return [
        (f"{d:02d}/{m:02d}/{y} {hh:02d}:{mm:02d}", "minute"),
        (f"{wd}, {d}/{m}/{y} - {hh:02d}:{mm:02d}", "minute"),
        (f"{wd.upper()}, {d:02d}/{m:02d}/{y}, {hh:02d}:{mm:02d} (GMT+7)", "minute"),
        (f"{hh:02d}:{mm:02d} {d:02d}/{m:02d}/{y}", "minute"),
        (f"ngày {d} tháng {m} năm {y}", "day"),
        (f"Hà Nội, ngày {d:02d} tháng {m:02d} năm {y}", "day"),
        (f"{y}-{m:02d}-{d:02d}T{hh:02d}:{mm:02d}:{ss:02d}+07:00", "second"),
        (f"{hh}h{mm:02d} ngày {d}/{m}/{y}", "minute"),
        (f"{hh} giờ {mm} phút ngày {d}/{m}/{y}", "minute"),
        # a printed 00:00:00 (ASP.NET's "12:00:00 AM") is a placeholder for "no time": day precision
        (f"{d}/{m}/{y} {h12}:{mm:02d}:{ss:02d} {ap}",
         "second" if ss else "day" if hh == mm == 0 else "minute"),
        (f"{h12}:{mm:02d} {en} {d:02d}/{m:02d}/{y} | Lượt xem: {views}", "minute"),
        (f"Cập nhật: {d:02d}/{m:02d}/{y} - {hh:02d}:{mm:02d} | Lượt xem: {views}", "minute"),
        (f"{d:02d}.{m:02d}.{y}", "day"),
        (f"Submitted by Ban biên tập on {d} {EN_MONTHS[m - 1]} {y}", "day"),
    ]


@FUZZ
@given(st.datetimes(min_value=datetime(1945, 1, 1), max_value=datetime(2026, 3, 1)),
       st.integers(min_value=0, max_value=99999))
def test_roundtrip_portal_renderings(naive: datetime, views: int) -> None:
    dt = naive.replace(microsecond=0, tzinfo=TZ)
    for text, precision in _renderings(dt, views):
        info = parse_date_info(text, now=NOW)
        assert info is not None, text
        assert info.precision == precision, text
        assert info.value == dates.truncate(dt, precision), text
