"""The archive's identity, versioning, syndication, failure and run semantics (fast, no crawl)."""

from __future__ import annotations

import json
import sqlite3
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from scrapy.utils.test import get_crawler

from govarchive.archive import Archive
from pipelines.dedupe import DedupePipeline, article_hash
from portal_spiders.items import ArticleItem
from tests.conftest import open_store_pipeline

URL = "https://laichau.dcs.vn/pages/chi-tiet-tin.aspx?ItemID=1"


def _item(**kw: Any) -> ArticleItem:
    base: dict[str, Any] = {
        "url": URL, "portal": "laichau-dcs", "title": "Hội nghị giao ban quý I/2024",
        "summary": "Sáng 5/4, hội nghị đã diễn ra.", "body_text": "Nội dung bài viết.\n\nĐoạn hai.",
        "author": "Minh Anh", "published": "2024-04-05T09:00:00+07:00", "tags": ["giao ban", "Lai Châu"],
        "attachments": [{"url": "https://laichau.dcs.vn/VanBan/a.pdf", "name": "a.pdf"}],
    }
    base.update(kw)
    return ArticleItem(**base)


def _store(archive: Archive, item: ArticleItem, run_id: int | None = None) -> str:
    from itemadapter import ItemAdapter

    return archive.store_article(ItemAdapter(item).asdict(), content_hash=article_hash(item), run_id=run_id)


@pytest.fixture
def archive(tmp_path: Path):
    with Archive(tmp_path / "a.db") as arc:
        yield arc


def test_same_url_same_hash_only_touches_last_seen(archive: Archive) -> None:
    run1 = archive.start_run("laichau-dcs")
    assert _store(archive, _item(), run1) == "new"
    archive.commit()
    before = archive.get_article(URL)
    run2 = archive.start_run("laichau-dcs")
    # the same text re-rendered: other spacing, decomposed diacritics
    again = _item(title=unicodedata.normalize("NFD", "Hội nghị  giao ban quý I/2024"),
                  body_text="Nội dung bài viết. Đoạn hai.")
    assert _store(archive, again, run2) == "unchanged"
    after = archive.get_article(URL)
    assert after["run_id"] == run2 and after["first_run_id"] == run1
    changed = {k for k in before if before[k] != after[k]}
    assert changed <= {"last_seen_at", "run_id"}
    assert after["title"] == before["title"] and after["version"] == 1
    assert archive.versions(after["id"]) == []


def test_new_hash_makes_a_version_and_keeps_the_old_content(archive: Archive) -> None:
    run1 = archive.start_run("laichau-dcs")
    _store(archive, _item(), run1)
    old = archive.get_article(URL)
    run2 = archive.start_run("laichau-dcs")
    edited = _item(title="Hội nghị giao ban quý I/2024 (cập nhật)", tags=["giao ban"], attachments=[])
    assert _store(archive, edited, run2) == "updated"
    row = archive.get_article(URL)
    assert row["version"] == 2 and row["title"].endswith("(cập nhật)")
    assert row["first_seen_at"] == old["first_seen_at"] and row["first_run_id"] == run1
    assert archive.article_tags(row["id"]) == ["giao ban"] and archive.attachments(row["id"]) == []
    (version,) = archive.versions(row["id"])
    assert version["version"] == 1 and version["title"] == old["title"] and version["body_text"] == old["body_text"]
    assert version["content_hash"] == old["content_hash"] and version["run_id"] == run2
    assert json.loads(version["tags"]) == ["giao ban", "Lai Châu"]
    assert json.loads(version["attachments"]) == [{"url": "https://laichau.dcs.vn/VanBan/a.pdf", "name": "a.pdf"}]
    assert archive.count("articles") == 1


def test_syndicated_copy_is_linked_not_dropped(archive: Archive) -> None:
    _store(archive, _item())
    # the same text at another portal: other URL, byline, tags, attachment host and minute of publication
    copy = _item(url="https://angiang.dcs.vn/pages/chi-tiet-tin.aspx?ItemID=77", portal="angiang-dcs",
                 author="PV", tags=["Mặt trận"], published="2024-04-05T10:15:00+07:00",
                 attachments=[{"url": "https://angiang.dcs.vn/VanBan/a.pdf", "name": "a.pdf"}])
    assert _store(archive, copy) == "new"
    original, syndicated = archive.get_article(URL), archive.get_article(copy.url)
    assert syndicated["duplicate_of"] == original["id"] and original["duplicate_of"] is None
    assert archive.count("articles") == 2


def test_recurring_titles_are_different_articles(archive: Archive, tmp_path: Path) -> None:
    """Never dedupe on title: the quarterly "giao ban" meeting has the same title every year."""
    title = "Hội nghị giao ban Mặt trận Tổ quốc và các tổ chức chính trị - xã hội quý I"
    y2024 = _item(url=URL, title=title, body_text="Quý I năm 2024, Mặt trận đã vận động 1.200 hộ.")
    y2025 = _item(url=URL.replace("ItemID=1", "ItemID=982"), title=title,
                  body_text="Quý I năm 2025, Mặt trận đã vận động 1.350 hộ.")
    pipeline = DedupePipeline(get_crawler())
    pipeline.crawler.stats.open_spider()
    for item in (y2024, y2025):
        assert pipeline.process_item(item) is item
    assert _store(archive, y2024) == "new" and _store(archive, y2025) == "new"
    rows = list(archive.iter_articles())
    assert len(rows) == 2 and {r["title"] for r in rows} == {title}
    assert all(r["duplicate_of"] is None for r in rows)


def test_article_hash_covers_title_and_text_only() -> None:
    base = _item()
    assert article_hash(base) == article_hash(_item(body_text="Nội dung  bài viết.\nĐoạn\u00a0hai. "))
    assert article_hash(base) == article_hash(_item(summary=unicodedata.normalize("NFD", base.summary)))
    assert article_hash(base) == article_hash(_item(tags=[], author=None, attachments=[]))
    for change in ({"title": "Khác"}, {"summary": "Chiều 5/4."}, {"body_text": "Nội dung khác."}):
        assert article_hash(base) != article_hash(_item(**change))


def test_article_state_and_first_run(archive: Archive) -> None:
    assert archive.article_state(URL) is None
    run = archive.start_run("laichau-dcs")
    _store(archive, _item(), run)
    assert archive.article_state(URL) == (run, "2024-04-05T09:00:00+07:00")


def test_complete_flag_follows_the_caller(archive: Archive) -> None:
    counts = {"items_new": 0}
    clean = archive.start_run("laichau-dcs")
    archive.finish_run(clean, finish_reason="finished", counts=counts, coverage={})
    broken = archive.start_run("laichau-dcs")
    archive.finish_run(broken, finish_reason="finished", counts=counts, coverage={}, complete=False)
    killed = archive.start_run("laichau-dcs")  # never finished: SIGKILL
    archive.start_run("laichau-dcs", mode="full")
    runs = {r["id"]: r for r in archive.runs("laichau-dcs")}
    assert runs[clean]["complete"] == 1 and runs[broken]["complete"] == 0 and runs[killed]["complete"] == 0
    assert runs[killed]["finished_at"] is None
    assert archive.last_complete_run("laichau-dcs")["id"] == clean


def test_failures_count_attempts_and_clear(archive: Archive) -> None:
    run1 = archive.start_run("laichau-dcs")
    archive.record_failure(url=URL, portal="laichau-dcs", stage="download", reason="HTTP 500", status=500, run_id=run1)
    archive.record_failure(url="https://laichau.dcs.vn/Pages/tin.aspx?Page=2", portal="laichau-dcs",
                           stage="listing", reason="HTTP 503", status=503, run_id=run1)
    run2 = archive.start_run("laichau-dcs")
    archive.record_failure(url=URL, portal="laichau-dcs", stage="parse", reason="no body", status=200, run_id=run2)
    failure = next(f for f in archive.failures("laichau-dcs") if f["url"] == URL)
    assert (failure["stage"], failure["status"], failure["attempts"], failure["run_id"]) == ("parse", 200, 2, run2)
    assert failure["first_failed_at"] <= failure["last_failed_at"]
    assert archive.clear_listing_failures("laichau-dcs", before_run=run2) == 1
    archive.clear_failure(URL)
    assert archive.failures("laichau-dcs") == []


def test_old_archive_gets_first_run_id_column(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    with Archive(db) as arc:
        _store(arc, _item())
    conn = sqlite3.connect(db)
    conn.execute("alter table articles drop column first_run_id")
    conn.commit()
    conn.close()
    with Archive(db) as arc:
        assert "first_run_id" in arc.db["articles"].columns_dict
        assert arc.article_state(URL) == (None, "2024-04-05T09:00:00+07:00")


def test_store_error_is_counted_recorded_and_makes_the_run_incomplete(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    store = open_store_pipeline(db)
    good, bad = _item(), _item(url=URL.replace("ItemID=1", "ItemID=2"), source_url="https://laichau.dcs.vn/x?ItemID=2")
    for item in (good, bad):
        item.content_hash = article_hash(item)
    real_store = store.archive.store_article

    def flaky(data: dict[str, Any], **kw: Any) -> str:
        if data["url"] == bad.url:
            raise sqlite3.IntegrityError("simulated constraint failure")
        return real_store(data, **kw)

    store.archive.store_article = flaky  # type: ignore[method-assign]
    store.process_item(good)
    store.process_item(bad)
    store.close_spider()
    store.spider_closed(store.crawler.spider, "finished")
    with Archive(db) as arc:
        run = arc.runs("laichau-dcs")[0]
        assert run["complete"] == 0 and run["finish_reason"] == "finished"
        assert run["items_new"] == 1 and run["items_failed"] == 1
        assert json.loads(run["stats"])["govarchive/store_errors"] == 1
        (failure,) = arc.failures("laichau-dcs")
        assert failure["stage"] == "store" and "simulated" in failure["reason"]
        assert failure["url"] == bad.source_url
        assert arc.get_article(bad.url) is None and arc.get_article(good.url) is not None


def test_commit_hooks_write_inside_every_batch_transaction(tmp_path: Path) -> None:
    """A run sharing the archive checkpoints itself in whichever commit carries its writes (the cluster archiver)."""
    with Archive(tmp_path / "a.db") as archive:
        mine, other = archive.start_run("laichau-dcs"), archive.start_run("angiang-dcs")
        calls: list[int] = []

        def checkpoint() -> None:
            calls.append(archive.count("articles"))
            archive.checkpoint_run(mine, counts={"items_new": archive.count("articles")}, stats={"at": len(calls)})

        archive.before_commit("mine", checkpoint)
        _store(archive, _item(), mine)
        archive.start_run("tuyentruyen-langson")  # another run's start commits my pending article ...
        assert calls == [1] and archive.get_run(mine)["items_new"] == 1  # ... with my checkpoint in it
        archive.commit()  # nothing pending: no transaction, no hook
        assert calls == [1]
        archive.before_commit("mine", None)
        _store(archive, _item(url=URL.replace("ItemID=1", "ItemID=2")), other)
        archive.commit()
        assert calls == [1]
    with Archive(tmp_path / "a.db") as archive:
        assert archive.get_run(mine)["items_new"] == 1 and archive.count("articles") == 2
