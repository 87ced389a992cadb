"""Query commands: search, show, stats (and the shared error handling of search/show/stats/export/serve)."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from govarchive.archive import Archive
from govarchive.cli import main
from tests.conftest import clean_env
from tests.test_search import ARTICLES, add_articles

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "archive.db"
    a = Archive(path)
    add_articles(a)
    run = a.start_run("hanoi")
    a.finish_run(run, finish_reason="finished", counts={"items_new": 3, "items_updated": 1, "items_failed": 2},
                 coverage={"title": 1.0, "author": 0.4})
    run2 = a.start_run("danang")
    a.finish_run(run2, finish_reason="shutdown", counts={"items_new": 1}, coverage={})
    a.record_failure(url="https://hanoi.gov.vn/broken", portal="hanoi", stage="download", reason="timeout")
    a.record_failure(url="https://danang.gov.vn/broken", portal="danang", stage="parse", reason="no title")
    # a second version of one article
    a.store_article({"url": "https://dienbien.gov.vn/dienbien", "portal": "dienbien",
                     "title": "Điện Biên Phủ đón 1 triệu khách du lịch", "body_text": "Du khách tham quan.",
                     "published": "2023-05-07T07:00:00+07:00", "tags": ["Du lịch"]}, content_hash="v2")
    a.close()
    return path


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_search_table_highlights_without_tty(db: Path, capsys) -> None:
    rc, out, err = cli(capsys, "--db", str(db), "search", "giai phong mat bang")
    assert rc == 0
    assert "[giải] [phóng] [mặt] [bằng]" in out and "https://hanoi.gov.vn/gpmb" in out
    assert "\x1b[" not in out
    assert "newest first" in err


def test_search_json_csv_and_options(db: Path, capsys) -> None:
    rc, out, _ = cli(capsys, "search", "Da Nang", "--db", str(db), "--format", "json")
    hits = json.loads(out)
    assert rc == 0 and hits[0]["url"] == "https://danang.gov.vn/dn-nhiemvu" and hits[0]["tags"]
    rc, out, _ = cli(capsys, "search", "Hà Nội", "--db", str(db), "--format", "csv", "--sort", "relevance")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rc == 0 and rows[0]["url"] == "https://hanoi.gov.vn/hn-ubnd" and rows[0]["exact"] == "True"
    assert {"id", "published", "portal", "title", "url", "snippet", "score"} <= set(rows[0])
    rc, out, _ = cli(capsys, "search", "thanh", "--db", str(db), "--format", "json", "--limit", "1")
    assert len(json.loads(out)) == 1


def test_search_filters(db: Path, capsys) -> None:
    def urls(*extra: str) -> set[str]:
        rc, out, _ = cli(capsys, "--db", str(db), "search", *extra, "--format", "json")
        assert rc == 0
        return {h["url"].rsplit("/", 1)[1] for h in json.loads(out)}

    assert urls("thanh pho", "--portal", "danang") == {"dn-nhiemvu"}
    assert urls("thanh pho", "--portal", "danang", "--portal", "hanoi") == {"dn-nhiemvu", "hn-ubnd"}
    assert urls("ha noi", "--since", "2024-07-01") == {"ha-noi-plain"}
    assert urls("ha noi", "--until", "2024-03-01") == {"hn-ubnd"}
    assert urls("day nhanh", "--author", "Minh Đức") == {"gpmb"}
    assert urls("thanh pho", "--tag", "Ha Noi") == {"hn-ubnd"}


@pytest.mark.parametrize("query", ['"', "NĐ-CP", "AND", "*", "-", ":", 'a "b', "NEAR(x y)", "x' OR 1=1 --"])
def test_search_hostile_input_exits_cleanly(db: Path, capsys, query: str) -> None:
    for fmt in ("table", "json", "csv"):
        rc, _out, err = cli(capsys, "--db", str(db), "search", query, "--format", fmt)
        assert rc == 0, err
        assert "Traceback" not in err and "fts5" not in err.lower()


def test_search_bad_arguments(db: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--db", str(db), "search", "x", "--since", "05/2024"])
    assert exc.value.code == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err
    rc, _, err = cli(capsys, "--db", str(db), "search", "x", "--limit", "0")
    assert rc == 2 and "--limit" in err


def test_show_by_id_and_url(db: Path, capsys) -> None:
    rc, out, _ = cli(capsys, "--db", str(db), "show", "https://dienbien.gov.vn/dienbien")
    assert rc == 0
    assert "Điện Biên Phủ đón 1 triệu khách du lịch" in out
    assert "earlier versions (1)" in out and "v1" in out and "Điện Biên Phủ đón khách du lịch" in out
    assert "attachments (0)" in out  # v2 was stored without attachments
    rc, out, _ = cli(capsys, "--db", str(db), "show", "1", "--format", "json")
    row = json.loads(out)
    assert rc == 0 and row["id"] == 1 and row["tags"] == ["Hà Nội"]
    assert row["attachments"] == [{"url": "https://hanoi.gov.vn/hn-ubnd.pdf", "name": "Văn bản hn-ubnd"}]
    assert row["versions"] == []
    rc, out, _ = cli(capsys, "--db", str(db), "show", "https://dienbien.gov.vn/dienbien", "--format", "json")
    row = json.loads(out)
    assert row["version"] == 2 and row["versions"][0]["version"] == 1
    assert row["versions"][0]["attachments"][0]["url"].endswith("dienbien.pdf")


def test_show_missing_article(db: Path, capsys) -> None:
    rc, _, err = cli(capsys, "--db", str(db), "show", "https://nowhere/x")
    assert rc == 1 and "no article" in err
    rc, _, err = cli(capsys, "--db", str(db), "show", "99999")
    assert rc == 1


def test_stats_text_and_json(db: Path, capsys) -> None:
    rc, out, _ = cli(capsys, "--db", str(db), "stats")
    assert rc == 0
    assert f"articles: {len(ARTICLES)} in" in out and "open failures: 2" in out
    assert "newest article: 2024-08-05" in out
    hanoi = next(line for line in out.splitlines() if line.startswith("hanoi"))
    assert "finished" in hanoi and "degraded" in hanoi and "min 40% author" in hanoi
    danang = next(line for line in out.splitlines() if line.startswith("danang"))
    assert "shutdown" in danang and "incomplete" in danang
    rc, out, _ = cli(capsys, "--db", str(db), "stats", "--format", "json")
    stats = json.loads(out)
    assert stats["articles"] == len(ARTICLES) and stats["open_failures"] == 2
    portals = {p["portal"]: p for p in stats["portals"]}
    assert portals["hanoi"]["articles"] == 3 and portals["hanoi"]["open_failures"] == 1
    run = portals["hanoi"]["last_run"]
    assert (run["new"], run["updated"], run["failed"], run["health"]) == (3, 1, 2, "degraded")
    assert run["coverage"] == {"title": 1.0, "author": 0.4}
    assert portals["dienbien"]["last_run"] is None


COMMANDS = [["search", "x"], ["show", "1"], ["stats"], ["export"], ["serve", "--print-metadata"]]


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: a[0])
def test_missing_database_is_a_clear_error(tmp_path: Path, capsys, argv: list[str]) -> None:
    missing = tmp_path / "nope.db"
    rc, out, err = cli(capsys, "--db", str(missing), *argv)
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and "archive not found" in err and "Traceback" not in err
    assert not missing.exists()


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: a[0])
def test_non_archive_database_is_a_clear_error(tmp_path: Path, capsys, argv: list[str]) -> None:
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("create table t (x)")
    conn.commit()
    conn.close()
    rc, _, err = cli(capsys, "--db", str(other), *argv)
    assert rc == 2 and err.count("\n") == 1 and "not a govarchive archive" in err
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"definitely not sqlite" * 100)
    rc, _, err = cli(capsys, "--db", str(garbage), *argv)
    assert rc == 2 and err.count("\n") == 1 and "not a SQLite database" in err


def test_query_commands_do_not_import_the_crawler(db: Path) -> None:
    code = (
        "import sys\nfrom govarchive.cli import main\n"
        f"for argv in (['search', 'ha noi'], ['show', '1'], ['stats'], ['export', '-q', 'x']):\n"
        f"    assert main(['--db', {str(db)!r}, *argv]) == 0\n"
        "bad = [m for m in sys.modules if m == 'scrapy' or m.startswith(('scrapy.', 'portal_spiders.spiders',"
        " 'portal_spiders.platforms', 'datasette', 'twisted'))]\n"
        "assert not bad, bad\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=clean_env())
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_search_builds_missing_index_once(tmp_path: Path, capsys) -> None:
    path = tmp_path / "old.db"
    a = Archive(path)
    add_articles(a)
    a.db.execute("drop table articles_fts")
    a.db.execute("drop table articles_fts_exact")
    a.close()
    rc, out, err = cli(capsys, "--db", str(path), "search", "Da Nang", "--format", "json")
    assert rc == 0 and "building the full-text index" in err and json.loads(out)


def test_search_says_when_the_phrase_budget_stopped_it(db: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    rc, _, err = cli(capsys, "--db", str(db), "search", '"giai phong mat bang"')
    assert rc == 0 and "time budget" not in err and "newest first" in err
    monkeypatch.setattr("govarchive.search.PHRASE_BUDGET_S", 0.0)
    rc, out, err = cli(capsys, "--db", str(db), "search", '"giai phong mat bang"')
    assert rc == 0 and out == "" and "no matches within the time budget" in err
