"""Pipelines in order: normalize → validate → dedupe → store (the store through the real archive)."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from govarchive.archive import Archive
from pipelines.dedupe import DedupePipeline, article_hash
from pipelines.normalize import NormalizePipeline
from pipelines.validate import ValidatePipeline
from portal_spiders.items import ArticleItem, PageFailure
from tests.conftest import open_store_pipeline


def _article(**kw: object) -> ArticleItem:
    base = {"url": "https://laichau.dcs.vn/pages/chi-tiet-tin.aspx?ItemID=1", "portal": "laichau-dcs",
            "title": "Hội nghị giao ban quý I/2024", "body_text": "Nội dung bài viết."}
    base.update(kw)
    return ArticleItem(**base)  # type: ignore[arg-type]


def test_normalize_text_fields() -> None:
    item = _article(
        title=unicodedata.normalize("NFD", "  Hội nghị\u00a0giao ban\u200b quý I  "),
        author=" Minh\tAnh ",
        summary="Dòng một\n\n\nDòng hai ",
        tags=["Mặt trận", " Mặt trận ", "", unicodedata.normalize("NFD", "giao ban")],
        attachments=[{"url": " https://x/a.pdf ", "name": " Báo cáo  quý I.pdf "}, {"url": "", "name": "x"}],
        published_raw="Thứ Sáu, 22/03/2024 - 20:36",
    )
    NormalizePipeline().process_item(item)
    assert item.title == "Hội nghị giao ban quý I"
    assert unicodedata.is_normalized("NFC", item.title)
    assert item.author == "Minh Anh"
    assert item.summary == "Dòng một\n\nDòng hai"
    assert item.tags == ["Mặt trận", "giao ban"]
    assert item.attachments == [{"url": "https://x/a.pdf", "name": "Báo cáo quý I.pdf"}]
    assert item.published == "2024-03-22T20:36:00+07:00"
    assert item.published_precision == "minute"
    assert item.field_sources["published"] == "normalize:published_raw"


def test_normalize_passes_other_items_through() -> None:
    failure = PageFailure(url="u", portal="p", stage="parse", reason="r")
    assert NormalizePipeline().process_item(failure) is failure


@pytest.mark.parametrize("missing", ["title", "url"])
def test_validate_turns_invalid_article_into_failure(missing: str) -> None:
    item = _article(**{missing: ""}, final_url="https://laichau.dcs.vn/Pages/x.aspx")
    out = ValidatePipeline().process_item(item)
    assert isinstance(out, PageFailure)
    assert out.stage == "validate" and missing in out.reason and out.portal == "laichau-dcs"
    assert out.url == "https://laichau.dcs.vn/Pages/x.aspx"


def test_validate_keeps_valid_article() -> None:
    item = _article()
    assert ValidatePipeline().process_item(item) is item


def test_dedupe_in_run_and_hash() -> None:
    pipeline = DedupePipeline(get_crawler())
    pipeline.crawler.stats.open_spider()
    first = pipeline.process_item(_article())
    assert first.content_hash == article_hash(first)
    with pytest.raises(DropItem):
        pipeline.process_item(_article(title="another title, same URL"))
    # a recurring title at another URL is a different article
    other = pipeline.process_item(_article(url="https://laichau.dcs.vn/pages/chi-tiet-tin.aspx?ItemID=2"))
    assert other.content_hash == first.content_hash


def test_hash_ignores_unicode_form_and_whitespace() -> None:
    a = _article(body_text="Hà Nội  ngày mới")
    b = _article(body_text=unicodedata.normalize("NFD", "Hà Nội ngày mới"))
    assert article_hash(a) == article_hash(b)
    assert article_hash(a) != article_hash(_article(body_text="Hà Nội ngày khác"))


def test_store_pipeline_records_articles_failures_and_run(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    store = open_store_pipeline(db)
    item = _article(tags=["a", "b"], attachments=[{"url": "https://x/a.pdf", "name": "a.pdf"}], author="X")
    item.content_hash = article_hash(item)
    store.process_item(item)
    store.process_item(PageFailure(url="https://laichau.dcs.vn/Pages/bad.aspx", portal="laichau-dcs",
                                   stage="parse", reason="no title", status=200))
    store.close_spider()
    store.spider_closed(store.crawler.spider, "finished")
    with Archive(db) as archive:
        row = archive.get_article(item.url)
        assert row is not None and row["title"] == item.title and row["version"] == 1
        assert archive.article_tags(row["id"]) == ["a", "b"]
        assert [a["url"] for a in archive.attachments(row["id"])] == ["https://x/a.pdf"]
        failure = archive.failures("laichau-dcs")[0]
        assert (failure["stage"], failure["reason"], failure["status"]) == ("parse", "no title", 200)
        run = archive.runs("laichau-dcs")[0]
        assert run["finish_reason"] == "finished" and run["items_new"] == 1 and run["items_failed"] == 1
        assert '"author": 1.0' in run["coverage"]
