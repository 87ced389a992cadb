"""`govarchive export`: JSONL/CSV content, filters, --query, and streaming with flat memory."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
from pathlib import Path

import pytest

from govarchive.archive import Archive
from govarchive.cli import main
from tests.test_search import ARTICLES, add_articles


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "archive.db"
    a = Archive(path)
    add_articles(a)
    a.close()
    return path


def export(capsys, db: Path, *argv: str) -> tuple[int, str, str]:
    rc = main(["--db", str(db), "export", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_jsonl_has_every_article_with_tags_and_attachments(db: Path, capsys) -> None:
    rc, out, _ = export(capsys, db)
    rows = [json.loads(line) for line in out.splitlines()]
    assert rc == 0 and len(rows) == len(ARTICLES)
    first = rows[0]
    assert first["url"] == "https://hanoi.gov.vn/hn-ubnd" and first["tags"] == ["Hà Nội"]
    assert [(a["url"], a["name"], a["position"]) for a in first["attachments"]] == [
        ("https://hanoi.gov.vn/hn-ubnd.pdf", "Văn bản hn-ubnd", 0)]
    # every field of the article is there, plus citations and the document fields
    for field in ("images", "published_raw", "source_url", "platform", "field_sources", "content_hash",
                  "citations", "document"):
        assert field in first, field
    assert rows[2]["citations"] == ["15/2024/NĐ-CP"] and first["document"] is None
    assert rows[1]["tags"] == ["Đà Nẵng", "Chuyển đổi số"]  # page order kept
    assert "body_html" not in first and "body_text" in first


def test_csv_to_file(db: Path, tmp_path: Path, capsys) -> None:
    target = tmp_path / "out.csv"
    rc, out, err = export(capsys, db, "--format", "csv", "--output", str(target), "--include-html")
    assert rc == 0 and out == "" and f"exported {len(ARTICLES)} articles" in err
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert len(rows) == len(ARTICLES) and "body_html" in rows[0]
    assert json.loads(rows[0]["tags"]) == ["Hà Nội"]
    assert json.loads(rows[0]["attachments"])[0]["name"] == "Văn bản hn-ubnd"


def test_excel_csv_has_a_bom_and_crlf_and_dash_means_stdout(db: Path, tmp_path: Path, capsys) -> None:
    target = tmp_path / "excel.csv"
    rc, _, _ = export(capsys, db, "--excel", "-o", str(target))
    data = target.read_bytes()
    assert rc == 0 and data.startswith(b"\xef\xbb\xbf") and data.count(b"\r\n") == len(ARTICLES) + 1
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert len(rows) == len(ARTICLES) and rows[0]["title"].startswith("Ủy ban nhân dân")
    rc, out, err = export(capsys, db, "--excel", "-o", "-")
    assert rc == 0 and out.startswith("\ufeffid,") and err == ""
    rc, out, _ = export(capsys, db, "--format", "jsonl", "-o", "-")
    assert rc == 0 and len(out.splitlines()) == len(ARTICLES)


def test_filters_and_query(db: Path, capsys) -> None:
    def slugs(*argv: str) -> list[str]:
        rc, out, _ = export(capsys, db, *argv)
        assert rc == 0
        return [json.loads(line)["url"].rsplit("/", 1)[1] for line in out.splitlines()]

    assert set(slugs("--portal", "danang")) == {"dn-nhiemvu", "scattered", "duong2"}
    assert set(slugs("--since", "2024-06-21", "--until", "2024-07-01")) == {"scattered", "ha-noi-plain"}
    assert set(slugs("--author", "minh duc")) == {"hn-ubnd", "gpmb"}
    assert set(slugs("--tag", "du lich")) == {"dienbien"}
    assert slugs("--query", '"giai phong mat bang"') == ["gpmb"]
    assert slugs("--query", "-uy", "--portal", "hanoi") == ["hn-ubnd"]
    assert slugs("--query", "Ha Noi", "--portal", "baochinhphu") == ["ha-noi-plain"]
    assert slugs("--query", "ha noi") == ["ha-noi-plain", "hn-ubnd"]  # newest first
    assert slugs("--query", "NĐ-CP", "--since", "2024-01-01") == ["qd-botruong"]
    rc, _, err = export(capsys, db, "--query", "***")
    assert rc == 2 and "no searchable words" in err


def synthetic(n: int):
    body = "Thành phố triển khai công tác giải phóng mặt bằng, bàn giao đất sạch cho dự án. " * 6
    for i in range(n):
        yield {"url": f"https://p{i % 7}.gov.vn/{i}", "portal": f"p{i % 7}", "title": f"Tin số {i}",
               "summary": "Tóm tắt", "body_text": body, "published": f"20{10 + i % 15}-0{1 + i % 9}-1{i % 10}",
               "content_hash": f"{i:x}", "tags": ["Hà Nội"] if i % 3 == 0 else [],
               "attachments": [{"url": f"https://p.gov.vn/{i}.pdf", "name": "QĐ"}] if i % 5 == 0 else []}


def measure_export(db: Path, out: Path, capsys) -> tuple[int, int]:
    tracemalloc.start()
    try:
        rc = main(["--db", str(db), "export", "--format", "jsonl", "--output", str(out)])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    capsys.readouterr()
    assert rc == 0
    return peak, sum(1 for _ in out.open(encoding="utf-8"))


@pytest.mark.slow
def test_streaming_export_of_200k_rows_has_flat_memory(tmp_path: Path, capsys) -> None:
    small, big = tmp_path / "small.db", tmp_path / "big.db"
    for path, n in ((small, 20_000), (big, 200_000)):
        a = Archive(path)
        assert a.bulk_insert_articles(synthetic(n), index=False, chunk=20_000) == n
        a.close()
    peak_small, lines_small = measure_export(small, tmp_path / "small.jsonl", capsys)
    peak_big, lines_big = measure_export(big, tmp_path / "big.jsonl", capsys)
    assert (lines_small, lines_big) == (20_000, 200_000)
    # 10x the rows, (about) the same memory: a few MB of Python objects, not ~200 MB of rows
    assert peak_big < 16 * 2**20, peak_big
    assert peak_big < 1.5 * peak_small + 2 * 2**20, (peak_small, peak_big)
    last = json.loads((tmp_path / "big.jsonl").read_text(encoding="utf-8").rsplit("\n", 2)[-2])
    assert last["id"] == 200_000 and last["tags"] == [] and last["attachments"] == []
