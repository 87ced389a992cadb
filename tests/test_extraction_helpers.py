"""Shared extraction helpers that read only part of a page: the trailing byline reads the body's last paragraphs,
label lookups read the elements whose text starts with a known label. Each gives what a full read gives."""

from __future__ import annotations

import pytest
from parsel import Selector
from scrapy.http import HtmlResponse

from portal_spiders.platforms import get_platform
from portal_spiders.platforms._heuristics import trailing_byline
from portal_spiders.platforms.base import ArticlePage, parse_html


def page_of(body: str) -> ArticlePage:
    html = f"<html><body><h1>Tiêu đề</h1><div class='content'>{body}</div></body></html>"
    response = HtmlResponse("https://example.gov.vn/tin/1.html", body=html.encode(), encoding="utf-8")
    return ArticlePage(response=response, raw=Selector(root=parse_html(response.text), type="html"),
                       platform=get_platform("generic")())


@pytest.mark.parametrize(("body", "expected"), [
    ("<p>Đoạn một của bài viết.</p><p>Đoạn hai.</p><p>Minh Thư</p>", "Minh Thư"),
    # source credits after the byline are skipped, however many
    ("<p>Đoạn một.</p><p>Thu Hà</p><p>Nguồn: baochinhphu.vn</p><p>Theo: TTXVN</p>", "Thu Hà"),
    ("<p>Đoạn một.</p><p>Thu Hà</p><p></p><figure><p>Ảnh Minh Họa</p></figure>", "Thu Hà"),
    # the byline needs a paragraph before it; credits are only dropped while two paragraphs remain
    ("<p>Minh Thư</p>", None),
    ("<p>Nguồn: a</p><p>Nguồn: b</p>", None),
    ("<p>Văn Bản</p><p>Nguồn: a</p><p>Nguồn: b</p>", None),
    ("<p>Đoạn một.</p><p>Nguồn: a</p><p>Nguồn: b</p>", None),
    ("<p>Đoạn một của bài viết.</p><p>đây không phải tên người</p>", None),
])
def test_trailing_byline(body: str, expected: str | None) -> None:
    page = page_of(body)
    assert trailing_byline(page, (".content",)) == expected
    assert (expected is not None) == bool(page.consumed)


def test_label_lookups_known_and_other_labels() -> None:
    page = page_of("<p>Nội dung.</p><p>Tác giả: Minh Anh</p><p>Người chụp: Văn Long</p>"
                   "<div>tác giả bài viết: Thu Hà</div>")
    assert page.label_text("Tác giả") == "Minh Anh"
    assert [n.tag for n in page._label_nodes("TÁC GIẢ BÀI VIẾT")] == ["div"]  # known labels, any case
    assert page.label_text("Người chụp") == "Văn Long"  # not a known label: every element's text is read
    assert page.label_text("Biên tập") is None


def test_label_value_after_a_bold_label_leaves_the_body() -> None:
    page = page_of("<p>Nội dung bài viết đủ dài để làm thân bài.</p><p><b>Tác giả:</b> Minh Anh</p>"
                   "<p><strong>Nguồn:</strong> Báo Chính phủ <br>Ảnh: TTXVN</p>")
    assert page.label_text("Tác giả") == "Minh Anh"
    assert page.label_text("Nguồn") == "Báo Chính phủ"
    _html, text = page.render_body(page.root.xpath("//div")[0])
    assert text is not None and "Minh Anh" not in text and "Tác giả" not in text
    assert "Nguồn" not in text and "Ảnh: TTXVN" in text  # a line holding more keeps the rest


def test_body_element_is_found_once_per_page(monkeypatch: pytest.MonkeyPatch) -> None:
    page = page_of("<p>" + "Đoạn một của bài viết đủ dài. " * 4 + "</p><p>Minh Thư</p>")
    calls: list[str] = []
    select_first = ArticlePage.select_first
    monkeypatch.setattr(ArticlePage, "select_first", lambda self, css, **kw: calls.append(css) or select_first(
        self, css, **kw))
    first = page.body_element((".missing", ".content"))
    assert first == page.body_element((".missing", ".content")) and first[1] == "css:.content"
    assert calls == [".missing", ".content"]
    assert page.body_element((".other",))[1] == "heuristic:largest-text-block"  # other selectors: looked up
