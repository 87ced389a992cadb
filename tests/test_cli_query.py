"""Query commands: search, show, stats (and the shared error handling of search/show/stats/export/serve)."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from govarchive import search as search_module
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
    rc, out, _err = cli(capsys, "--db", str(db), "search", "giai phong mat bang")
    assert rc == 0
    lines = out.splitlines()
    assert re.fullmatch(r"1–1 of 1 matches, newest first, \d+ ms", lines[0])
    assert lines[1] == 'searched for: "giai phong mat bang"'
    assert "[giải phóng mặt bằng]" in out and "https://hanoi.gov.vn/gpmb" in out
    assert "\x1b[" not in out


def test_search_json_csv_and_options(db: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([100.0, 100.0423])  # search() reads perf_counter before and after the query
    monkeypatch.setattr(search_module, "time", SimpleNamespace(perf_counter=lambda: next(clock)))
    rc, out, _ = cli(capsys, "search", "Da Nang", "--db", str(db), "--format", "json")
    monkeypatch.undo()
    result = json.loads(out)
    assert rc == 0 and result["total"] == 1 and result["interpreted_as"] == '"Da Nang"'
    assert result["elapsed_ms"] == 42.3 and result["offset"] == 0  # the query's time in ms, to 0.1 ms
    assert [h["url"] for h in result["hits"]] == ["https://danang.gov.vn/dn-nhiemvu"] and result["hits"][0]["tags"]
    rc, out, err = cli(capsys, "search", "Hà Nội", "--db", str(db), "--format", "csv", "--sort", "relevance")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rc == 0 and [r["url"] for r in rows] == ["https://hanoi.gov.vn/hn-ubnd", "https://baochinhphu.gov.vn/ha-noi-plain"]
    assert [r["exact"] for r in rows] == ["1", "0"]  # booleans as 1/0 in CSV
    assert all(float(r["score"]) > 0 for r in rows)
    assert "1–2 of 2 matches (1 with the exact diacritics, listed first), by relevance" in err
    rc, out, _ = cli(capsys, "search", "thanh", "--db", str(db), "--format", "json", "--limit", "1", "--offset", "1")
    page = json.loads(out)
    assert page["total"] == 3 and len(page["hits"]) == 1 and page["offset"] == 1


def test_search_accepts_a_leading_minus_word(db: Path, capsys) -> None:
    rc, out, _ = cli(capsys, "--db", str(db), "search", "ha noi", "-uy", "--format", "json")
    assert rc == 0 and [h["url"] for h in json.loads(out)["hits"]] == ["https://baochinhphu.gov.vn/ha-noi-plain"]
    rc, out, _ = cli(capsys, "--db", str(db), "search", "-uy", "--format", "json")  # only an exclusion
    assert rc == 0 and [h["url"] for h in json.loads(out)["hits"]] == ["https://hanoi.gov.vn/hn-ubnd"]


def test_unknown_portal_says_did_you_mean(db: Path, capsys) -> None:
    for argv in (["search", "x"], ["export"], ["feed", "x", "-o", "-"], ["health"]):
        rc, out, err = cli(capsys, "--db", str(db), *argv, "--portal", "hanoi-gv")
        assert rc == 2 and out == "" and err.count("\n") == 1
        assert "unknown portal 'hanoi-gv'; did you mean" in err and "hanoi" in err
    rc, out, err = cli(capsys, "demo", "--db", str(db.parent / "demo.db"), "--portal", "laichau-dsc")
    assert rc == 2 and "unknown portal 'laichau-dsc'; did you mean laichau-dcs" in err
    from govarchive.commands.crawl import select_portals

    with pytest.raises(ValueError, match="unknown portal 'danang-gv'; did you mean danang-gov"):
        select_portals(argparse.Namespace(portals=["danang-gv"], all=False, platform=None, replica=False))
    rc, _, err = cli(capsys, "--db", str(db), "search", "x", "--portal", "danang")  # in the archive: fine
    assert rc == 0


def test_search_filters(db: Path, capsys) -> None:
    def urls(*extra: str) -> set[str]:
        rc, out, _ = cli(capsys, "--db", str(db), "search", *extra, "--format", "json")
        assert rc == 0
        return {h["url"].rsplit("/", 1)[1] for h in json.loads(out)["hits"]}

    assert urls("thanh pho", "--portal", "danang") == {"dn-nhiemvu"}
    assert urls("thanh pho", "--portal", "danang", "--portal", "hanoi") == {"dn-nhiemvu", "hn-ubnd"}
    assert urls("ha noi", "--since", "2024-07-01") == {"ha-noi-plain"}
    assert urls("ha noi", "--until", "2024-03-01") == {"hn-ubnd"}
    assert urls("day nhanh", "--author", "Minh Đức") == {"gpmb"}
    assert urls("thanh pho", "--tag", "Ha Noi") == {"hn-ubnd"}


@pytest.mark.parametrize("query, expected", [
    ('"', None), ("NĐ-CP", ["qd-botruong"]), ("AND", None), ("*", None), ("-", None), (":", None),
    ('a "b', []), ("NEAR(x y)", []), ("x' OR 1=1 --", []), ("15/2024/NĐ-CP", ["qd-botruong"]),
])
def test_search_hostile_input_gives_the_right_answer(db: Path, capsys, query: str, expected) -> None:
    """search() does not swallow FTS errors: each of these must produce exactly this result, in every format."""
    rc, out, err = cli(capsys, "--db", str(db), "search", query, "--format", "json")
    assert rc == 0 and err == ""
    result = json.loads(out)
    assert [h["url"].rsplit("/", 1)[1] for h in result["hits"]] == (expected or [])
    assert result["total"] == len(expected or [])
    rc, out, err = cli(capsys, "--db", str(db), "search", query)
    if expected is None:
        assert rc == 0 and out == "" and err == "no searchable words in the query\n"
    else:
        assert rc == 0 and out.startswith(f"{len(expected)}–{len(expected)} of" if expected else "no matches")
    rc, out, err = cli(capsys, "--db", str(db), "search", query, "--format", "csv")
    assert rc == 0 and len(out.splitlines()) == 1 + len(expected or [])


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
    assert [(a["url"], a["name"]) for a in row["attachments"]] == [("https://hanoi.gov.vn/hn-ubnd.pdf",
                                                                   "Văn bản hn-ubnd")]
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
    assert rc == 0 and "the archive has no full-text index: building it now" in err
    assert f"indexed {len(ARTICLES)} of {len(ARTICLES)} articles" in err and json.loads(out)["total"] == 1
    rc, out, err = cli(capsys, "--db", str(path), "search", "Da Nang", "--format", "json")
    assert rc == 0 and err == ""


def stale_archive(path: Path) -> None:
    """The fixture articles plus one added without indexing (as a bulk import does)."""
    a = Archive(path)
    add_articles(a)
    a.bulk_insert_articles([{"url": "https://x/new", "portal": "x", "title": "Tin mới", "content_hash": "n"}],
                           index=False)
    a.close()


def test_stale_index_in_a_read_only_directory_says_what_to_run(tmp_path: Path, capsys,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "a.db"
    stale_archive(path)
    if os.geteuid() == 0:  # root writes anywhere: make the lock file fail as it does for an analyst
        def denied(db):
            raise PermissionError(13, "Permission denied", f"{db}.lock")

        monkeypatch.setattr("govarchive.locking.acquire_lock", denied)
    folder.chmod(0o555)
    try:
        rc, out, err = cli(capsys, "--db", str(path), "search", "tin moi")
    finally:
        folder.chmod(0o755)
    assert rc == 2 and out == "" and err.count("\n") == 1
    assert "articles were added to the archive without being indexed" in err
    assert f"govarchive index --db {path}" in err


def test_index_command_checks_builds_and_rebuilds(tmp_path: Path, capsys) -> None:
    path = tmp_path / "a.db"
    stale_archive(path)
    rc, out, _ = cli(capsys, "--db", str(path), "index", "--check")
    assert rc == 1 and "stale (articles were added to the archive without being indexed)" in out
    rc, out, err = cli(capsys, "--db", str(path), "index")
    assert rc == 0 and f"ready, {len(ARTICLES) + 1} articles indexed" in out
    rc, out, _ = cli(capsys, "--db", str(path), "index", "--check")
    assert rc == 0 and "ready" in out
    rc, out, err = cli(capsys, "--db", str(path), "index", "--rebuild")
    assert rc == 0 and "rebuild requested" in err and "ready" in out


def test_show_accepts_any_url_variant(db: Path, capsys) -> None:
    for ref in ("https://hanoi.gov.vn/gpmb", "http://hanoi.gov.vn/gpmb", "https://www.hanoi.gov.vn/gpmb/",
                "hanoi.gov.vn/gpmb", "https://hanoi.gov.vn/gpmb?utm_source=zalo", " 5 "):
        rc, out, err = cli(capsys, "--db", str(db), "show", ref, "--format", "json")
        assert rc == 0, (ref, err)
        assert json.loads(out)["url"] == "https://hanoi.gov.vn/gpmb"


def test_feed_writes_atom(db: Path, tmp_path: Path, capsys) -> None:
    from xml.etree import ElementTree as ET

    target = tmp_path / "feeds" / "gpmb.xml"
    rc, _, err = cli(capsys, "--db", str(db), "feed", "giai phong", "OR", "Đà Nẵng", "-o", str(target))
    assert rc == 0 and "wrote 2 of 2 matching articles" in err
    ns = {"a": "http://www.w3.org/2005/Atom"}
    feed = ET.parse(target).getroot()
    assert feed.tag == "{http://www.w3.org/2005/Atom}feed"
    entries = feed.findall("a:entry", ns)
    assert [e.findtext("a:id", namespaces=ns) for e in entries] == [
        "https://hanoi.gov.vn/gpmb", "https://danang.gov.vn/dn-nhiemvu"]
    assert entries[0].findtext("a:published", namespaces=ns) == "2024-06-20T15:00:00+07:00"
    assert "giải phóng" in entries[0].findtext("a:summary", namespaces=ns)
    first_id = feed.findtext("a:id", namespaces=ns)
    rc, out, _ = cli(capsys, "--db", str(db), "feed", "giai phong", "OR", "Đà Nẵng", "-o", "-")
    assert rc == 0 and ET.fromstring(out.encode()).findtext("a:id", namespaces=ns) == first_id  # stable id


def test_top_level_db_help_states_the_real_resolution(capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps to the terminal's width
    assert ("--db PATH archive database: this option, else $GOVARCHIVE_DB, else data/archive.db; `demo` ignores "
            "$GOVARCHIVE_DB and uses data/demo.db unless --db is given; export, feed, search, serve, show, stats read "
            "data/demo.db instead when the archive resolved is data/archive.db, it does not exist and data/demo.db "
            "does (they say so on stderr)") in out


def test_stats_run_without_an_end_is_running_only_while_a_crawl_holds_the_archive(tmp_path: Path, capsys) -> None:
    """A run whose end was never written (killed, or a full disk) shows as incomplete once no crawl is alive."""
    from govarchive.locking import acquire_lock, release_lock

    db = tmp_path / "a.db"
    with Archive(db) as archive:
        archive.start_run("hanoi")
    rc, out, _ = cli(capsys, "--db", str(db), "stats", "--format", "json")
    assert rc == 0 and json.loads(out)["portals"][0]["last_run"]["health"] == "incomplete"
    acquire_lock(db)
    try:
        rc, out, _ = cli(capsys, "--db", str(db), "stats", "--format", "json")
        assert json.loads(out)["portals"][0]["last_run"]["health"] == "running"
    finally:
        release_lock(db)
