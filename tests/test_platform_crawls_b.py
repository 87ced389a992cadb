"""Crawls of the Liferay, VCCorp and generic replica portals through the real spiders (slow: subprocesses)."""

from __future__ import annotations

from pathlib import Path

import pytest

from govarchive.archive import Archive
from tests.test_end_to_end import _assert_archive_matches_replica

pytestmark = pytest.mark.slow

PORTALS = {"liferay": "bacgiang-gov", "vccorp": "baochinhphu", "generic": "tuyentruyen-langson"}


@pytest.mark.parametrize("platform", sorted(PORTALS))
def test_replica_portal_crawl(platform: str, replica, crawl, tmp_path: Path) -> None:
    slug = PORTALS[platform]
    db = tmp_path / f"{slug}.db"
    result = crawl(slug, db, replica.url)
    assert result.returncode == 0, result.stderr[-3000:]
    site = replica.state.site(slug)
    assert site.portal.platform == platform
    _assert_archive_matches_replica(db, site)
    with Archive(db) as archive:
        assert archive.count("failures") == 0, list(archive.db["failures"].rows)
        run = archive.runs(slug)[0]
        assert run["finish_reason"] == "finished"
        rows = list(archive.iter_articles("portal = ?", [slug]))
        assert {r["platform"] for r in rows} == {platform}
    paths = [(path, status) for _, path, status in replica.state.requests_for(site.host)]
    if platform == "liferay":
        # the javascript: pager is followed through _cur URLs of the portlet instance read from the page
        paged = [(p, s) for p, s in paths if f"_{site.pid}_cur=" in p]
        assert any(f"_{site.pid}_cur=2" in p for p, _ in paged) and all(s == 200 for _, s in paged)
    elif platform == "vccorp":
        assert (f"{site.host}/timelinelist/102301/2.htm", 200) in paths
        assert (f"{site.host}/rss/home.rss", 200) in paths
    else:
        # the registry names no feed: /rss.xml is found through the pages' <link rel=alternate>
        assert not site.portal.feeds
        assert (f"{site.host}/rss.xml", 200) in paths and (f"{site.host}/sitemap.xml", 200) in paths

