"""Schema migrations: an archive made by release 0.1.0 is upgraded in place, once, and nothing is lost."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from govarchive import archive as archive_module
from govarchive.archive import MIGRATIONS, Archive
from govarchive.search import search

RELEASE_0_1_0 = Path(__file__).parent / "data" / "archive-0.1.0.db"


@pytest.fixture
def old_archive(tmp_path: Path) -> Path:
    """A copy of the archive that release 0.1.0's `govarchive demo` wrote (96 replica articles)."""
    path = tmp_path / "old.db"
    shutil.copy(RELEASE_0_1_0, path)
    return path


def test_release_archive_upgrades_in_place(old_archive: Path) -> None:
    with Archive.open_existing(old_archive) as before:
        assert before.applied_migrations() == []
        urls = sorted(r["url"] for r in before.iter_articles())
        hashes = sorted(r["content_hash"] for r in before.iter_articles())
    assert len(urls) == 96
    with Archive(old_archive) as upgraded:
        assert upgraded.applied_migrations() == [name for name, _ in MIGRATIONS]
        assert upgraded.pending_migrations() == []
        assert sorted(r["url"] for r in upgraded.iter_articles()) == urls
        assert sorted(r["content_hash"] for r in upgraded.iter_articles()) == hashes
        assert upgraded.db.execute("pragma integrity_check").fetchone()[0] == "ok"


def test_fresh_archive_records_migrations_without_running_them(tmp_path: Path, monkeypatch) -> None:
    ran: list[str] = []
    monkeypatch.setattr(archive_module, "MIGRATIONS", [("probe", lambda a: ran.append("probe"))])
    with Archive(tmp_path / "new.db") as fresh:
        assert fresh.applied_migrations() == ["probe"]
    assert ran == []


def test_migration_runs_once_on_an_old_archive(old_archive: Path, monkeypatch) -> None:
    ran: list[int] = []

    def add_marker(archive: Archive) -> None:
        ran.append(archive.count())
        archive.db.execute("insert into meta (key, value) values ('probe', 'migrated')")

    monkeypatch.setattr(archive_module, "MIGRATIONS", [("marker", add_marker)])
    with Archive(old_archive):
        pass
    with Archive(old_archive) as again:
        assert again.db.execute("select value from meta where key = 'probe'").fetchone()[0] == "migrated"
        assert again.applied_migrations() == ["marker"]
    assert ran == [96]


def test_failed_migration_rolls_back_and_stays_pending(old_archive: Path, monkeypatch) -> None:
    def half_done(archive: Archive) -> None:
        archive.db.execute("update articles set title = 'lost'")  # would be destructive if it were kept
        archive.db.execute("create table half_done (x)")
        raise RuntimeError("disk went away")

    monkeypatch.setattr(archive_module, "MIGRATIONS", [("half", half_done)])
    with pytest.raises(RuntimeError, match="disk went away"):
        Archive(old_archive)
    with Archive.open_existing(old_archive) as check:
        assert check.pending_migrations() == ["half"]
        assert "half_done" not in check.db.table_names()
        assert check.count() == 96
        assert check.count("articles", "title = 'lost'") == 0


def test_release_runs_are_of_unknown_kind_so_no_replica_run_joins_them(old_archive: Path) -> None:
    """0.1.0 did not record whether a run went to a replica: its runs may be real (see docs/archive.md)."""
    from govarchive.archive import ReplicaMixError

    with Archive.open_existing(old_archive) as before:  # read-only: the column does not exist yet
        runs = before.count("crawl_runs")
        assert runs > 0 and before.run_origins() == {"replica": 0, "real": 0, "unknown": runs}
    with Archive(old_archive) as upgraded:
        assert "replica" in upgraded.db["crawl_runs"].columns_dict
        assert upgraded.run_origins() == {"replica": 0, "real": 0, "unknown": runs}
        with pytest.raises(ReplicaMixError, match="may be real crawls"):
            upgraded.check_run_origin(replica=True)
        upgraded.check_run_origin(replica=False)  # a real archive made by 0.1.0 keeps taking real crawls


def test_release_archive_gains_archival_fidelity_and_keeps_working(old_archive: Path) -> None:
    """Issue 11: WARC pointers, files, origins and takedowns on an archive made by 0.1.0."""
    with Archive(old_archive) as upgraded:
        assert "0002-archival-fidelity" in upgraded.applied_migrations()
        assert {"captures", "article_removals"} <= set(upgraded.db.table_names())
        assert {"capture_id", "origin", "removed_at", "removed_reason"} <= set(upgraded.db["articles"].columns_dict)
        assert {"capture_id", "origin"} <= set(upgraded.db["article_versions"].columns_dict)
        assert {"kind", "sha256", "path", "mime", "size", "filename", "status", "capture_id"} <= set(
            upgraded.db["attachments"].columns_dict)
        assert upgraded.count("articles", "origin is null or origin != 'fetch'") == 0
        assert upgraded.count("attachments") > 0
        assert upgraded.count("attachments", "kind is null or kind != 'attachment'") == 0
        row = next(upgraded.iter_articles())
        # a later fetch with a capture and files, then a takedown, on the upgraded archive
        pointer = {"record_id": "<urn:uuid:0>", "file": "warc/x.warc.gz", "offset": 0, "length": 9}
        att = upgraded.attachments(row["id"])
        item = {**row, "tags": [], "images": [], "title": row["title"] + " (sửa)", "capture": pointer,
                "attachments": [{"url": a["url"], "name": a["name"]} for a in att],
                "files": [{"url": a["url"], "status": "stored", "sha256": "ab" * 32, "path": "ab/ab/x", "size": 3,
                           "mime": "application/pdf"} for a in att]}
        assert upgraded.store_article(item, content_hash="new") == "updated"
        assert upgraded.mark_removed(row["url"], reason="http-404", status=404, capture=pointer)
        upgraded.commit()
        changed = upgraded.get_article(row["url"])
        assert changed["capture_id"] and changed["origin"] == "fetch" and changed["removed_reason"] == "http-404"
        assert upgraded.versions(row["id"])[-1]["origin"] == "fetch"
        assert [c["kind"] for c in upgraded.changes()][:2] in (["removed", "edited"], ["edited", "removed"])
        assert upgraded.db.execute("pragma integrity_check").fetchone()[0] == "ok"


def test_query_commands_read_a_release_archive_without_upgrading_it(old_archive: Path, capsys) -> None:
    """Read-only opens never migrate: show, show --diff, changes and export must cope with the 0.1.0 layout."""
    from govarchive.cli import main

    for argv in (["show", "5"], ["show", "5", "--diff"], ["changes"], ["export", "--format", "jsonl"]):
        assert main([*argv, "--db", str(old_archive)]) == 0, argv
    assert "Quyết định" in capsys.readouterr().out
    with Archive.open_existing(old_archive) as still_old:
        assert still_old.applied_migrations() == []


def _adjacent(text: str, *syllables: str) -> bool:
    from govarchive.archive import fold_text

    return re.search(r"(?<![^\W_])" + r"(?:[^\S\n]+|[-/.:])".join(syllables) + r"(?![^\W_])",
                     fold_text(text)) is not None


def test_release_archive_gets_the_word_aware_index_and_citations(old_archive: Path) -> None:
    """The 0.1.0 index (syllables only) is rebuilt with syllable pairs; `Da Nang` finds only the word."""
    with Archive(old_archive) as upgraded:
        assert upgraded.search_index_status() == ("ready", "")
        assert upgraded.indexed_count() == 96
        expected = set()
        for row in upgraded.iter_articles():
            attachments = "\n".join(f"{a['name'] or ''}" for a in upgraded.attachments(row["id"]))
            texts = [row["title"] or "", row["summary"] or "", row["body_text"] or "",
                     "\n".join(json.loads(row["tags"] or "[]")), attachments]
            if any(_adjacent(t, "da", "nang") for t in texts):
                expected.add(row["id"])
        result = search(upgraded, "Da Nang", limit=100)
        assert {h.id for h in result.hits} == expected and result.total == len(expected) == 21
        assert search(upgraded, "danang", limit=100).total == 21
        # citations were backfilled from the archived texts, and only real document numbers were taken
        assert upgraded.count("citations") > 0
        for c in upgraded.db["citations"].rows:
            article = upgraded.article_by_id(c["article_id"])
            assert c["number"] in f"{article['title']} {article['summary']} {article['body_text']}"
            assert c["doc_type"] and c["issuer_code"]
        assert upgraded.db.execute("pragma integrity_check").fetchone()[0] == "ok"
        for table in ("articles_fts", "articles_fts_exact"):
            upgraded.db.execute(f"insert into {table}({table}, rank) values ('integrity-check', 0)")
