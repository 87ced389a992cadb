"""The crawl benchmark's stage breakdown replays a crawl's own captures through each stage of the project."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_crawl import stage_costs
from bench_reextract import build


def test_stage_costs_time_every_stage_on_the_portals_own_pages(tmp_path: Path) -> None:
    db, pages = build(tmp_path, 3)  # 3 articles of each of 4 portals, one WARC capture each
    stages = stage_costs("laichau-dcs", db, tmp_path / "warc", passes=1)
    # the other portals' articles are neither this portal's articles nor its listing pages
    assert stages.pages == {"article": 3, "other": len(pages) - 3}
    assert all(value > 0 for value in (stages.tree, stages.parse, stages.pipelines, stages.store, stages.warc))
    assert stages.tree < stages.parse  # the platform parser builds the tree and then extracts
    assert stages.total == stages.parse + stages.pipelines + stages.store + stages.warc
