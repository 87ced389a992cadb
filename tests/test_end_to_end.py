"""End to end over real HTTP on 127.0.0.1: the real registry entries crawl the replica into an archive."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from govarchive.archive import Archive
from tests.conftest import ROOT, clean_env

pytestmark = pytest.mark.slow


def _assert_archive_matches_replica(db: Path, site) -> None:
    """Every live article of the replica site is archived under its exact URL with the replica's ground truth."""
    with Archive(db) as archive:
        rows = {r["url"]: r for r in archive.iter_articles("portal = ?", [site.portal.slug])}
        assert sorted(rows) == sorted(site.expected(art)["url"] for art in site.live_articles)
        for art in site.live_articles:
            exp = site.expected(art)
            row = rows[exp["url"]]
            assert row["title"] == exp["title"]
            assert row["category"] == exp["category"]
            assert json.loads(row["images"]) == exp["images"]
            assert row["published"] == exp["published"]
            assert row["published"].endswith("+07:00")
            assert row["author"] == exp["author"]
            assert row["summary"] == exp["summary"]
            assert json.loads(row["tags"]) == exp["tags"]
            assert archive.article_tags(row["id"]) == exp["tags"]
            atts = [{"url": a["url"], "name": a["name"]} for a in archive.attachments(row["id"])]
            assert atts == exp["attachments"]
            for paragraph in exp["paragraphs"]:
                assert paragraph in row["body_text"]
            for chrome in ("Sign In", "Ribbon", "Browse", "Tin liên quan", "Lượt truy cập"):
                assert chrome not in row["body_text"] and chrome not in (row["title"] or "")
            assert "<script" not in row["body_html"]


def test_scrapy_crawl_seed_portal(replica, crawl, tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    result = crawl("laichau-dcs", db, replica.url)
    assert result.returncode == 0, result.stderr[-3000:]
    site = replica.state.site("laichau-dcs")
    _assert_archive_matches_replica(db, site)
    with Archive(db) as archive:
        run = archive.runs("laichau-dcs")[0]
        assert run["finish_reason"] == "finished" and run["complete"] == 1
        assert run["items_new"] == len(site.live_articles)
        coverage = json.loads(run["coverage"])
        assert coverage["published"] == 1.0 and coverage["author"] == 1.0
        assert archive.count("failures") == 0
    # every request went to the replica under the real host, robots.txt included
    paths = [entry[1] for entry in replica.state.requests_for("laichau.dcs.vn")]
    assert "laichau.dcs.vn/robots.txt" in paths


def test_scrapy_list_shows_seed_portal() -> None:
    out = subprocess.run([sys.executable, "-m", "scrapy", "list"], cwd=ROOT, capture_output=True, text=True,
                         check=True, env=clean_env()).stdout.split()
    assert "laichau-dcs" in out


def test_demo_twice_leaves_archive_unchanged(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    cmd = [sys.executable, "-m", "govarchive.cli", "demo", "--db", str(db)]
    first = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False, env=clean_env())
    assert first.returncode == 0, first.stdout + first.stderr[-3000:]

    def snapshot() -> dict[str, list]:
        with Archive(db) as archive:
            tables = {}
            for table, drop in (("articles", {"last_seen_at", "run_id"}), ("article_versions", set()),
                                ("tags", set()), ("article_tags", set()), ("attachments", set())):
                tables[table] = [{k: v for k, v in row.items() if k not in drop}
                                 for row in archive.db[table].rows_where(order_by="rowid")]
            return tables

    before = snapshot()
    from govarchive.replica.server import ReplicaState

    state = ReplicaState.from_registry()
    assert len(before["articles"]) == sum(len(state.site(s).live_articles) for s in state.portals)
    second = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
                            env=clean_env())
    assert second.returncode == 0, second.stdout + second.stderr[-3000:]
    assert snapshot() == before
    with Archive(db) as archive:
        assert all(r["items_new"] == 0 and r["items_updated"] == 0 for r in archive.runs(limit=len(state.portals)))
