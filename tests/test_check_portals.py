"""``govarchive portals`` lists the registry with what its evidence supports; ``govarchive check SLUG`` reads one
listing page and a few articles of a portal (here: of the replica) and exits non-zero below the coverage threshold."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from govarchive.cli import main
from govarchive.commands.check import build_report
from portal_spiders.items import ArticleItem, PageFailure
from tests.conftest import ROOT, clean_env

FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "RETRY_BACKOFF_BASE=0"]


def govarchive(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "govarchive.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=180, env=clean_env(**(env or {})), check=False)


# -- portals ------------------------------------------------------------------------------------------------------

def test_portals_filters_and_sorts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["portals", "--json"]) == 0
    everything = json.loads(capsys.readouterr().out)
    assert len(everything) > 90 and [r["slug"] for r in everything] == sorted(r["slug"] for r in everything)
    assert main(["portals", "--json", "--status", "confirmed", "--platform", "vccorp"]) == 0
    confirmed = json.loads(capsys.readouterr().out)
    assert {"baochinhphu", "hanoi-gov", "xaydungchinhsach-chinhphu"} <= {r["slug"] for r in confirmed}
    assert all(r["platform"] == "vccorp" and r["host_status"] == r["platform_status"] == "confirmed"
               for r in confirmed)
    assert main(["portals", "--json", "--status", "inferred", "--weakest"]) == 0
    inferred = json.loads(capsys.readouterr().out)
    assert inferred and all("inferred" in (r["host_status"], r["platform_status"]) for r in inferred)
    assert [r["weakness"] for r in inferred] == sorted((r["weakness"] for r in inferred), reverse=True)
    assert len(confirmed) + len(inferred) < len(everything)  # other platforms' confirmed entries are left out
    assert main(["portals", "--platform", "document"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:2] == ["portal", "platform"] and any(line.startswith("vbpl ") for line in table)
    assert main(["portals", "--platform", "nope"]) == 2


# -- check: the report --------------------------------------------------------------------------------------------

def _article(i: int, **kw: object) -> ArticleItem:
    item = ArticleItem(url=f"https://x.vn/a{i}", portal="p", title=f"T{i}", published="2026-01-01T00:00:00+07:00",
                       body_text="body", field_sources={"title": "css:h1", "published": "label:Ngày đăng",
                                                        "body": "css:.content"})
    for key, value in kw.items():
        setattr(item, key, value)
    return item


def test_check_report_counts_failed_articles_as_missing() -> None:
    listing = {"url": "https://x.vn/list", "kind": "page", "links": 20, "article_links": 22, "sparse": False}
    tried = [f"https://x.vn/a{i}" for i in range(5)]
    fail = PageFailure(url=tried[4], portal="p", stage="download", reason="HTTP 500")
    ok = build_report("p", listing, tried, [_article(i) for i in range(4)] + [fail], min_coverage=0.8)
    assert ok["ok"] and ok["fields"]["title"] == {"found": 4, "coverage": 0.8, "sources": {"css:h1": 4}}
    assert ok["fields"]["body_text"]["sources"] == {"css:.content": 4}
    low = build_report("p", listing, tried, [_article(0), _article(1, published=None), fail], min_coverage=0.8)
    assert not low["ok"] and "published on 20% of the articles tried (< 80%)" in low["problems"]
    sparse = build_report("p", {**listing, "links": 3, "sparse": True}, tried, [_article(i) for i in range(5)],
                          min_coverage=0.8)
    assert sparse["problems"] == ["sparse listing: 3 links read where the page shows 22 (listing zone missed?)"]
    empty = build_report("p", {"url": "https://x.vn/list", "kind": "page"}, [], [], min_coverage=0.8)
    assert empty["problems"] == ["no article link read on the listing page https://x.vn/list", "no article read"]
    document = {"number": "1/2026/QĐ-TTg", "issued": "2026-01-01"}
    doc = build_report("p", listing, tried[:1], [_article(0, document=document)], min_coverage=0.8)
    assert doc["fields"]["document.number"]["coverage"] == 1.0 and doc["fields"]["document.signer"]["found"] == 0


def test_check_unknown_portal_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "no-such-portal"]) == 2
    assert "unknown portal 'no-such-portal'" in capsys.readouterr().err


# -- check against the replica ------------------------------------------------------------------------------------

@pytest.mark.slow
def test_check_against_the_replica(replica, tmp_path: Path) -> None:
    report_file = tmp_path / "check.json"
    archive = tmp_path / "archive.db"
    good = govarchive("check", "laichau-gov", "--replica", replica.url, "--json", str(report_file), *FAST,
                      env={"GOVARCHIVE_DB": str(archive)})
    assert good.returncode == 0, good.stdout + good.stderr[-2000:]
    report = json.loads(report_file.read_text())
    assert report["listing"]["links"] == 5 and report["listing"]["next"] == "GET https://laichau.gov.vn/tin-tuc-su-kien?page=2"
    assert report["articles_read"] == 5 and report["fields"]["title"]["sources"] == {"css:h1.article-title": 5}
    assert "title" in good.stdout and "ok: title, published and body_text" in good.stdout
    assert list(tmp_path.iterdir()) == [report_file]  # nothing archived, locked, captured (WARC) or downloaded

    # Two of the five articles fail: 60% coverage is under the default 80% ...
    for url in report["tried"][:2]:
        replica.state.set_fault(url, 500)
    low = govarchive("check", "laichau-gov", "--replica", replica.url, *FAST)
    assert low.returncode == 1, low.stdout
    assert "PROBLEM: title on 60% of the articles tried (< 80%)" in low.stdout
    assert low.stdout.count("failed download") == 2
    # ... and passes a documented lower threshold.
    lenient = govarchive("check", "laichau-gov", "--replica", replica.url, "--min-coverage", "0.6", *FAST)
    assert lenient.returncode == 0, lenient.stdout

    # A broken listing page: no links, exit 1.
    replica.state.clear_faults()
    replica.state.set_fault("https://laichau.gov.vn/tin-tuc-su-kien", 503)
    broken = govarchive("check", "laichau-gov", "--replica", replica.url, *FAST)
    assert broken.returncode == 1 and "no article link read on the listing page" in broken.stdout, broken.stdout


def test_check_through_the_environment_variable_says_replica_mode_first(replica) -> None:
    before = len(replica.state.log)
    result = govarchive("check", "laichau-gov", "--articles", "1", *FAST, env={"GOVARCHIVE_REPLICA_URL": replica.url})
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert result.stderr.splitlines()[0] == (
        f"govarchive check: REPLICA MODE: every request goes to the offline replica at {replica.url} (set by "
        "$GOVARCHIVE_REPLICA_URL), not to the real portals; what it reports is the replica's pages, not the real "
        "portal's")
    assert result.stderr.count("REPLICA MODE") == 1
    assert len(replica.state.log) > before  # it did go to the replica


@pytest.mark.slow
def test_check_shows_which_source_won_after_a_redesign(replica) -> None:
    replica.state.site("bacgiang-gov").broken = True  # article pages lose their title markup
    out = govarchive("check", "bacgiang-gov", "--replica", replica.url, "--articles", "3", *FAST)
    assert out.returncode == 0, out.stdout  # the <title> fallback still reads every title ...
    title = next(line for line in out.stdout.splitlines() if line.startswith("title "))
    assert "css:" not in title and "x3" in title  # ... but not from the platform's selectors: the report says so
