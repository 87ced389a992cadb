"""The Tantivy index beside the archive: built on first use, never behind the archive, never silently wrong.

The search results themselves are tested on both engines in tests/test_search.py; these tests cover keeping the
index in step: catch-up, crashes between the two commits, another archive or a backup at the same path, damaged
files, a busy index, and the log's upkeep.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from govarchive import searchindex
from govarchive.archive import Archive
from govarchive.search import search
from govarchive.searchindex import SearchIndexUnavailable, TantivyIndex, index_dir
from tests.conftest import clean_env

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-c", "import sys\nfrom govarchive.cli import main\nsys.exit(main())"]


def store(archive: Archive, n: int, title: str, *, portal: str = "hanoi", day: int = 1) -> None:
    archive.store_article({"url": f"https://{portal}.gov.vn/{n}", "portal": portal, "title": title,
                           "body_text": f"Bài số {n}.", "published": f"2024-03-{day:02d}T08:00:00+07:00"},
                          content_hash=f"{title}-{n}")
    archive.commit()


def log_rows(db: Path) -> list[tuple[int, int]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("select seq, article_id from search_log order by seq").fetchall()
    finally:
        conn.close()


@pytest.fixture
def archive(tmp_path: Path) -> Archive:
    a = Archive(tmp_path / "a.db")
    for n in range(1, 6):
        store(a, n, "Đà Nẵng khởi công cầu mới", day=n)
    yield a
    a.close()


def test_built_on_first_search_and_kept_in_step(archive: Archive) -> None:
    first = search(archive, "Đà Nẵng")
    assert (first.engine, first.total, first.engine_note) == ("tantivy", 5, "")
    assert index_dir(archive.path).is_dir()
    store(archive, 6, "Đà Nẵng đón khách", day=6)
    store(archive, 1, "Huế mùa lễ hội", day=1)  # a new version of article 1: its old words leave the index
    result = search(archive, "Đà Nẵng")
    assert result.total == 5 and [h.url.rsplit("/", 1)[1] for h in result.hits] == ["6", "5", "4", "3", "2"]
    assert search(archive, "Huế").total == 1
    assert TantivyIndex.open(archive, build=False).count() == archive.count("articles") == 6


def test_a_crash_between_the_index_commit_and_its_state_is_repaired(archive: Archive,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    search(archive, "cầu")
    store(archive, 7, "Đà Nẵng đón khách", day=7)
    store(archive, 2, "Huế mùa lễ hội", day=2)

    def killed(path: Path, state: dict) -> None:
        raise KeyboardInterrupt  # the process dies after Tantivy committed, before the state file moved on

    monkeypatch.setattr(searchindex, "_write_state", killed)
    with pytest.raises(KeyboardInterrupt):
        search(archive, "Đà Nẵng")
    monkeypatch.undo()
    result = search(archive, "Đà Nẵng")  # the same rows are applied again: no duplicates, nothing lost
    assert result.engine == "tantivy" and result.total == 5
    assert search(archive, "Huế").total == 1 and search(archive, "cau").total == 4
    assert TantivyIndex.open(archive, build=False).count() == 6


def test_a_killed_catch_up_process_leaves_a_usable_index(archive: Archive, tmp_path: Path) -> None:
    search(archive, "cầu")
    for n in range(10, 40):
        store(archive, n, "Đà Nẵng đón khách", day=9)
    code = ("import os, sys\nfrom govarchive import searchindex\nfrom govarchive.archive import Archive\n"
            "real = searchindex._write_state\n"
            "def die(path, state):\n    os._exit(9)\n"
            "searchindex._write_state = die\n"
            f"searchindex.TantivyIndex.open(Archive.open_existing({str(archive.path)!r}))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean_env(), timeout=120)
    assert done.returncode == 9
    result = search(archive, "Đà Nẵng")
    assert result.engine == "tantivy" and result.total == 35
    assert TantivyIndex.open(archive, build=False).count() == 35


def test_index_of_another_archive_is_not_used(tmp_path: Path, archive: Archive,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    search(archive, "cầu")
    other = Archive(tmp_path / "b.db")
    store(other, 1, "Hà Nội", portal="x")
    shutil.copytree(index_dir(archive.path), index_dir(other.path))
    with pytest.raises(SearchIndexUnavailable, match="another archive"):
        TantivyIndex.open(other, build=False)
    monkeypatch.setattr(searchindex, "AUTO_BUILD_MAX", 0)
    result = search(other, "cầu")
    assert result.total == 0 and result.engine == "fts5"
    assert "another archive" in result.engine_note and f"govarchive index --db {other.path}" in result.engine_note
    monkeypatch.undo()
    result = search(other, "Hà Nội")  # small: rebuilt by the search itself
    assert (result.engine, result.total) == ("tantivy", 1) and search(other, "cầu").total == 0
    other.close()


def test_a_restored_backup_is_not_answered_by_the_newer_index(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "a.db")
    for n in range(1, 6):
        store(archive, n, "Đà Nẵng khởi công cầu mới", day=n)
    search(archive, "cầu")
    archive.close()
    backup = tmp_path / "backup.db"
    src, dst = sqlite3.connect(tmp_path / "a.db"), sqlite3.connect(backup)
    src.backup(dst)
    src.close()
    dst.close()
    a = Archive(tmp_path / "a.db")
    store(a, 20, "Tin mới hôm nay", day=20)
    assert search(a, "tin moi").total == 1
    a.close()
    for sidecar in ("a.db-wal", "a.db-shm"):
        (tmp_path / sidecar).unlink(missing_ok=True)
    shutil.copy(backup, tmp_path / "a.db")  # restored: the index has applied a change this file never had
    restored = Archive(tmp_path / "a.db")
    store(restored, 21, "Bản tin khác", day=21)  # the log moves past the index's position again
    with pytest.raises(SearchIndexUnavailable, match="backup"):
        TantivyIndex.open(restored, build=False)
    assert search(restored, "tin moi").total == 0 and search(restored, "ban tin").total == 1
    restored.close()


def test_damaged_index_files(archive: Archive, monkeypatch: pytest.MonkeyPatch) -> None:
    search(archive, "cầu")
    path = index_dir(archive.path)
    (path / "meta.json").write_text("{not json")
    monkeypatch.setattr(searchindex, "AUTO_BUILD_MAX", 0)
    result = search(archive, "Đà Nẵng")
    assert result.engine == "fts5" and result.total == 5 and "cannot be opened" in result.engine_note
    monkeypatch.undo()
    assert (search(archive, "Đà Nẵng").engine, search(archive, "Đà Nẵng").total) == ("tantivy", 5)
    for segment in path.iterdir():  # every segment file cut short (a new file: truncating one that is mapped
        if segment.suffix in (".idx", ".pos", ".term", ".fast", ".store", ".fieldnorm"):  # crashes its reader)
            cut = segment.with_name(segment.name + ".cut")
            cut.write_bytes(segment.read_bytes()[:10])
            cut.replace(segment)
    # in new processes (Tantivy keeps the files it has mapped in this one), first one that may not rebuild
    no_build = [sys.executable, "-c", "import sys\nfrom govarchive import searchindex\nfrom govarchive.cli import "
                "main\nsearchindex.AUTO_BUILD_MAX = 0\nsys.exit(main())"]
    for cli, engine in ((no_build, "fts5"), (CLI, "tantivy")):
        done = subprocess.run([*cli, "search", "Đà Nẵng", "--format", "json", "--db", str(archive.path)], cwd=ROOT,
                              env=clean_env(), capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
        assert json.loads(done.stdout)["total"] == 5 and json.loads(done.stdout)["engine"] == engine
        if engine == "fts5":
            assert "searched with SQLite FTS5" in done.stderr and "Tantivy index" in done.stderr


def test_a_busy_index_hands_the_search_to_fts5(archive: Archive, monkeypatch: pytest.MonkeyPatch) -> None:
    index = TantivyIndex.open(archive)
    store(archive, 8, "Đà Nẵng đón khách", day=8)
    writer = index.index.writer(heap_size=15_000_000, num_threads=1)  # another process catching up
    monkeypatch.setattr(searchindex, "LOCK_WAIT_S", 0.2)
    result = search(archive, "Đà Nẵng")
    assert result.engine == "fts5" and result.total == 6 and "another process" in result.engine_note
    del writer
    store(archive, 9, "Đà Nẵng đón khách", day=9)
    with searchindex._locked(index_dir(archive.path)):  # another process rebuilding the index
        result = search(archive, "Đà Nẵng")
    assert result.engine == "fts5" and result.total == 7 and "another process" in result.engine_note
    result = search(archive, "Đà Nẵng")
    assert result.engine == "tantivy" and result.total == 7


def test_the_log_is_trimmed_by_a_writable_catch_up(archive: Archive, tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    assert len(log_rows(db)) == 5
    readonly = Archive.open_existing(db)
    TantivyIndex.open(readonly)  # a read-only archive: the index catches up, the log stays
    readonly.close()
    assert len(log_rows(db)) == 5
    store(archive, 9, "Đà Nẵng đón khách", day=9)
    TantivyIndex.open(archive)
    rows = log_rows(db)
    assert rows == [(6, 6)]  # the row last applied stays, so the sequence never goes back
    store(archive, 10, "Đà Nẵng", day=10)
    assert log_rows(db)[-1][0] == 7
    assert search(archive, "Đà Nẵng").total == 7


def test_in_memory_and_upgraded_archives(tmp_path: Path) -> None:
    memory = Archive(":memory:")
    store(memory, 1, "Đà Nẵng")
    result = search(memory, "Đà Nẵng")
    assert result.engine == "fts5" and result.total == 1 and "in memory" in result.engine_note
    with pytest.raises(SearchIndexUnavailable):
        search(memory, "Đà Nẵng", engine="tantivy")
    memory.close()
    old = tmp_path / "old.db"
    shutil.copy(ROOT / "tests" / "data" / "archive-0.1.0.db", old)
    upgraded = Archive(old)  # a writable open upgrades: the search log and the archive's uid
    assert upgraded.archive_uid() and search(upgraded, "Đà Nẵng").engine == "tantivy"
    upgraded.close()


def test_cli_engine_choice_and_json(tmp_path: Path, archive: Archive) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*CLI, *args, "--db", str(archive.path)], cwd=ROOT,
                              env=clean_env(), capture_output=True, text=True, timeout=120)

    done = run("search", "Đà Nẵng", "--format", "json")
    assert done.returncode == 0 and json.loads(done.stdout)["engine"] == "tantivy"
    assert json.loads(done.stdout)["total"] == 5
    fts = run("search", "Đà Nẵng", "--format", "json", "--engine", "fts5")
    assert json.loads(fts.stdout)["engine"] == "fts5" and json.loads(fts.stdout)["hits"] == json.loads(
        done.stdout)["hits"]
    shutil.rmtree(index_dir(archive.path))
    (index_dir(archive.path)).write_text("not a directory")
    refused = run("search", "Đà Nẵng", "--engine", "tantivy")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    last = refused.stderr.strip().splitlines()[-1]
    assert last.startswith("govarchive search: ") and "not a directory" in last
    fallback = run("search", "Đà Nẵng")
    assert fallback.returncode == 0 and "searched with SQLite FTS5" in fallback.stderr
    assert "1–5 of 5 matches" in fallback.stdout
    blocked = run("index")
    assert blocked.returncode == 1 and "not a directory" in blocked.stderr and "Traceback" not in blocked.stderr
    (index_dir(archive.path)).unlink()
    checked = run("index", "--check")
    assert checked.returncode == 1 and "Tantivy index" in checked.stdout
    built = run("index")
    assert built.returncode == 0 and "Tantivy index of" in built.stdout and "5 articles" in built.stdout
    assert run("index", "--check").returncode == 0


def test_a_connection_opened_elsewhere_finds_its_index(archive: Archive) -> None:
    """Datasette's search page wraps its own read-only connection: the index is found from the file it has open."""
    conn = sqlite3.connect(f"file:{archive.path}?mode=ro", uri=True)
    try:
        result = search(Archive.wrap(conn), "Đà Nẵng")
    finally:
        conn.close()
    assert (result.engine, result.total) == ("tantivy", 5)
    assert index_dir(archive.path).is_dir()


def test_a_crawl_brings_an_existing_index_up_to_date(archive: Archive, tmp_path: Path) -> None:
    from govarchive.commands.crawl import catch_up_search_index

    bare = Archive(tmp_path / "bare.db")
    store(bare, 1, "Đà Nẵng")
    catch_up_search_index(bare)  # no index: none is made (a search or `govarchive index` makes it)
    assert not index_dir(bare.path).exists()
    bare.close()
    TantivyIndex.open(archive)
    for n in range(20, 25):
        store(archive, n, "Đà Nẵng đón khách", day=9)
    catch_up_search_index(archive)
    assert log_rows(archive.path) == [(10, 10)]
    state = json.loads((index_dir(archive.path) / "govarchive.json").read_text())
    assert state["applied"] == 10 and TantivyIndex.open(archive, build=False).count() == 10


def test_a_long_catch_up_reports_progress(archive: Archive, monkeypatch: pytest.MonkeyPatch) -> None:
    TantivyIndex.open(archive)
    for n in range(30, 42):
        store(archive, n, "Đà Nẵng đón khách", day=9)
    monkeypatch.setattr(searchindex, "LOG_CHUNK", 5)
    seen: list[tuple[int, int]] = []
    result = search(archive, "Đà Nẵng", progress=lambda done, total: seen.append((done, total)))
    assert result.total == 17 and seen == [(5, 12), (10, 12), (12, 12)]


def test_an_interrupted_rebuild_keeps_the_old_index(archive: Archive, monkeypatch: pytest.MonkeyPatch) -> None:
    search(archive, "cầu")
    monkeypatch.setattr(searchindex, "LOG_CHUNK", 0)  # report progress from the first batch

    def interrupt(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        TantivyIndex.build(archive, progress=interrupt)
    monkeypatch.undo()
    left = sorted(p.name for p in archive.path.parent.iterdir() if ".search" in p.name)
    assert left == ["a.db.search", "a.db.search.lock"]  # no half-built directory
    result = search(archive, "Đà Nẵng")
    assert (result.engine, result.total) == ("tantivy", 5)


def test_search_does_not_build_fts5_first_when_the_tantivy_index_answers(tmp_path: Path) -> None:
    """A large archive indexed by Tantivy only (FTS5 stale after a bulk import): `search` and `feed` answer at once
    instead of building FTS5 first (over an hour at a million articles). "Large" is above AUTO_BUILD_MAX, set to 10
    here; below it, a search rebuilds FTS5 in passing, as before (tests/test_cli_query.py)."""
    large = [sys.executable, "-c", "import sys\nfrom govarchive import searchindex\nfrom govarchive.cli import "
             "main\nsearchindex.AUTO_BUILD_MAX = 10\nsys.exit(main())"]
    db = tmp_path / "bulk.db"
    archive = Archive(db)
    archive.bulk_insert_articles([{"url": f"https://x.gov.vn/{n}", "portal": "x", "title": "Đà Nẵng mở rộng",
                                   "body_text": "Bài.", "published": "2024-03-01T08:00:00+07:00",
                                   "content_hash": str(n)} for n in range(30)], index=False)
    TantivyIndex.build(archive)
    assert archive.search_index_status()[0] == "stale"
    archive.close()
    done = subprocess.run([*large, "search", "Đà Nẵng", "--format", "json", "--db", str(db)], cwd=ROOT,
                          env=clean_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and json.loads(done.stdout)["engine"] == "tantivy", done.stderr
    assert json.loads(done.stdout)["total"] == 30 and "building" not in done.stderr
    feed = subprocess.run([*large, "feed", "Đà Nẵng", "-o", "-", "--db", str(db)], cwd=ROOT, env=clean_env(),
                          capture_output=True, text=True, timeout=120)
    assert feed.returncode == 0 and feed.stdout.count("<entry>") == 30, feed.stderr
    with Archive.open_existing(db) as after:
        assert after.search_index_status()[0] == "stale"  # FTS5 left for `govarchive index`
