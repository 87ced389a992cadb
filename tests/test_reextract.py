"""Re-extraction from WARC captures: no network, new versions only on change, idempotent; extract --warc."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from govarchive.archive import Archive
from tests.conftest import ROOT, clean_env

pytestmark = pytest.mark.slow


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "govarchive.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, check=False, env=clean_env())


def test_reextract_stores_a_version_only_where_todays_parser_reads_differently(replica, crawl,
                                                                               tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    for slug in ("laichau-dcs", "dienbien-gov"):
        result = crawl(slug, db, replica.url)
        assert result.returncode == 0, result.stderr[-3000:]
    replica.stop()  # no network from here on: everything comes from the WARC files

    first = _cli("reextract", "--db", str(db))
    assert first.returncode == 0, first.stdout + first.stderr
    assert "24 articles" in first.stdout and "0 changed" in first.stdout and "24 unchanged" in first.stdout

    # what an older, weaker parser would have archived: no author, a truncated body, a lost tag
    with Archive(db) as archive:
        row = next(archive.iter_articles("portal = 'laichau-dcs'"))
        archive.db.execute("update articles set author = null, body_text = substr(body_text, 1, 40) where id = ?",
                           [row["id"]])
        archive.db.execute("delete from article_tags where article_id = ? and position = 0", [row["id"]])
        archive.commit()
    second = _cli("reextract", "--db", str(db), "--portal", "laichau-dcs")
    assert second.returncode == 0 and "12 articles" in second.stdout and "1 changed" in second.stdout
    with Archive(db) as archive:
        fixed = archive.get_article(row["url"])
        assert (fixed["version"], fixed["origin"]) == (2, "reextract")
        assert fixed["author"] == row["author"] and fixed["body_text"] == row["body_text"]
        assert archive.article_tags(fixed["id"]) == json.loads(row["tags"])
        old = archive.versions(fixed["id"])[0]
        assert (old["version"], old["origin"], old["author"]) == (1, "fetch", None)
        assert old["capture_id"] == fixed["capture_id"] == row["capture_id"], "same capture, re-read"
        files = [a for a in archive.attachments(fixed["id"], images=True)]
        assert files and all(a["status"] == "stored" and a["sha256"] for a in files), "downloaded files kept"

    again = _cli("reextract", "--db", str(db))
    assert again.returncode == 0 and "0 changed" in again.stdout, again.stdout
    changes = _cli("changes", "--db", str(db), "--kind", "reextracted", "--format", "json")
    assert [json.loads(line)["url"] for line in changes.stdout.splitlines()] == [row["url"]]
    assert _cli("changes", "--db", str(db), "--kind", "edited").stdout == ""

    by_platform = _cli("reextract", "--db", str(db), "--platform", "tandan", "--since", "2000-01-01")
    assert "12 articles" in by_platform.stdout and "0 changed" in by_platform.stdout


def test_extract_reads_a_warc_record(replica, crawl, tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    result = crawl("laichau-dcs", db, replica.url)
    assert result.returncode == 0, result.stderr[-3000:]
    with Archive(db) as archive:
        row = next(archive.iter_articles())
        capture = archive.capture(row["capture_id"])
    out = _cli("extract", "--warc", str(tmp_path / capture["file"]), "--offset", str(capture["offset"]))
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert (data["url"], data["title"], data["author"]) == (row["url"], row["title"], row["author"])
    assert capture["record_id"] in out.stderr
    bad = _cli("extract", "--warc", str(tmp_path / capture["file"]), "--offset", "1")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert _cli("extract", "--warc", str(tmp_path / capture["file"])).returncode == 2
