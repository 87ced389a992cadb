"""End to end per platform: each replica portal of the Tân Dân, /upload/ and NukeViet platforms is crawled with
``scrapy crawl`` over real HTTP on 127.0.0.1, and the archive must hold exactly the replica's live articles."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from govarchive.archive import Archive
from govarchive.replica.server import ReplicaServer, ReplicaState
from tests.test_end_to_end import _assert_archive_matches_replica

pytestmark = pytest.mark.slow

# slug -> later listing pages the crawl must have requested (paths), besides any postbacks
PORTALS = {
    "dienbien-gov": ("?PageIndex=2",),  # plus the __doPostBack pager of the first category, checked below
    "laichau-gov": ("?page=2", "?page=3"),  # the a.next pager
    "pbgdpl-laichau": ("/page-2", "/index.php/rss/"),  # the /page-N suffix pager and the feed
}


@pytest.fixture
def replica() -> Iterator[ReplicaServer]:
    """A fresh replica of these platforms' portals only (other platforms' replica sites are not needed)."""
    with ReplicaServer(ReplicaState.from_registry(list(PORTALS))) as server:
        yield server


@pytest.mark.parametrize("slug", sorted(PORTALS))
def test_crawl_replica_portal(replica: ReplicaServer, crawl, tmp_path: Path, slug: str) -> None:
    db = tmp_path / "x.db"
    result = crawl(slug, db, replica.url)
    assert result.returncode == 0, result.stderr[-3000:]
    site = replica.state.site(slug)
    _assert_archive_matches_replica(db, site)
    with Archive(db) as archive:
        run = archive.runs(slug)[0]
        assert run["finish_reason"] == "finished"
        assert run["items_new"] == len(site.live_articles)
        coverage = json.loads(run["coverage"])
        assert coverage["published"] == 1.0 and coverage["author"] == 1.0
        assert archive.count("failures") == 0
    log = replica.state.requests_for(site.host)
    for marker in PORTALS[slug]:
        assert any(marker in path for _, path, _ in log), (marker, [p for _, p, _ in log])
    if site.platform == "tandan":
        posts = [status for method, _, status in log if method == "POST"]
        assert len(posts) == site.pages(0) - 1 and set(posts) == {200}
