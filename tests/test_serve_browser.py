"""`govarchive serve`: Datasette metadata, read-only serving, and a real headless Chromium searching it."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from govarchive.archive import Archive
from govarchive.cli import main
from govarchive.commands.serve import PLUGINS_DIR, TEMPLATES_DIR, datasette_command
from tests.conftest import clean_env
from tests.test_search import HOSTILE, add_articles

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "govarchive.db"
    a = Archive(path)
    add_articles(a)
    run = a.start_run("hanoi")
    a.finish_run(run, finish_reason="finished", counts={"items_new": 3}, coverage={"title": 1.0, "author": 0.5})
    a.record_failure(url="https://hanoi.gov.vn/x", portal="hanoi", stage="download", reason="timeout")
    # a second version, with sanitizable HTML, a citation and a long body
    a.store_article({"url": "https://dienbien.gov.vn/dienbien", "portal": "dienbien",
                     "title": "Điện Biên Phủ đón 1 triệu khách du lịch", "published": "2023-05-07T07:00:00+07:00",
                     "body_text": "Du khách tham quan. Theo Quyết định 1009/QĐ-UBND. " + "Lễ hội hoa ban. " * 40,
                     "body_html": '<p>Du khách <b>tham quan</b>.<script>alert("x")</script>'
                                  '<a href="javascript:alert(1)" onclick="alert(2)">xem</a></p>',
                     "tags": ["Du lịch"], "author": "Ngọc Lan"}, content_hash="v2")
    a.close()
    return path


def test_metadata(db: Path, capsys) -> None:
    assert main(["--db", str(db), "serve", "--print-metadata"]) == 0
    meta = json.loads(capsys.readouterr().out)
    database = meta["databases"]["govarchive"]  # keyed by the file stem
    articles = database["tables"]["articles"]
    assert articles["facets"] == ["portal", "category", "author", {"array": "tags"}]
    assert articles["columns"]["published"] and articles["title"]
    assert {"search", "articles_per_portal_per_month", "latest_per_portal", "open_failures", "run_health"} <= set(
        database["queries"])
    assert "govarchive_match(:q)" in database["queries"]["search"]["sql"]
    assert database["tables"]["citation_links"]["facets"] == ["doc_type", "issuer_code", "portal", "year"]
    dashboards = meta["plugins"]["datasette-dashboards"]
    charts = dashboards["archive"]["charts"]
    assert {"per-month", "per-week", "health", "failures", "coverage"} <= set(charts)
    assert {c["db"] for c in charts.values() if "db" in c} == {"govarchive"}  # renamed to the archive's stem
    widths = {len(row) for row in dashboards["archive"]["layout"]}
    assert widths == {3}  # CSS grid areas need rows of equal width


def test_command_line_is_read_only_and_local() -> None:
    cmd = datasette_command(Path("/x/a.db"), Path("/m.json"), host="127.0.0.1", port=8001, immutable=False)
    assert cmd[1:4] == ["-m", "datasette", "serve"] and "-i" not in cmd and "/x/a.db" in cmd
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1" and str(PLUGINS_DIR) in cmd
    assert cmd[cmd.index("--template-dir") + 1] == str(TEMPLATES_DIR)
    assert "-i" in datasette_command(Path("/x/a.db"), Path("/m.json"), host="h", port=1, immutable=True)


def test_plugin_match_function_is_safe() -> None:
    sys.path.insert(0, str(PLUGINS_DIR))
    try:
        import govarchive_search as plugin
    finally:
        sys.path.remove(str(PLUGINS_DIR))
    conn = sqlite3.connect(":memory:")
    conn.execute("create virtual table articles_fts using fts5(title, content='', "
                 "tokenize='unicode61 remove_diacritics 2')")
    conn.execute("insert into articles_fts (rowid, title) values (1, 'da nang giai phong mat bang')")
    plugin.prepare_connection(conn)
    for raw in [*HOSTILE, None]:
        conn.execute("select rowid from articles_fts where articles_fts match govarchive_match(?)", [raw]).fetchall()
    hits = conn.execute("select rowid from articles_fts where articles_fts match govarchive_match(?)",
                        ["Đà Nẵng"]).fetchall()
    assert hits == [(1,)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited early: {proc.stdout.read() if proc.stdout else ''}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not come up")


@pytest.fixture
def server(db: Path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "govarchive.cli", "--db", str(db), "serve", "--port", str(port)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=clean_env())
    try:
        wait_http(f"http://127.0.0.1:{port}/-/versions.json", proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()  # serve forwards SIGTERM to its Datasette child
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=30) as resp:
        return json.loads(resp.read())


def get_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return resp.read().decode("utf-8")


@pytest.mark.slow
def test_served_archive_is_read_only_and_searchable(server: str) -> None:
    q = urllib.parse.quote("Da Nang")
    rows = get_json(f"{server}/govarchive/search.json?q={q}&portal=&since=&until=&_shape=array")
    assert [r["title"] for r in rows] == ["Thành phố Đà Nẵng triển khai nhiệm vụ năm 2024"]
    bad = urllib.parse.quote('"NĐ-CP AND ( *')
    assert get_json(f"{server}/govarchive/search.json?q={bad}&portal=&since=&until=&_shape=array") == []
    for name in ("articles_per_portal_per_month", "latest_per_portal", "open_failures", "run_health"):
        assert get_json(f"{server}/govarchive/{name}.json?_shape=array"), name
    cited = get_json(f"{server}/govarchive/citations_of.json?number=1009%2FQD-UBND&_shape=array")
    assert [r["number"] for r in cited] == ["1009/QĐ-UBND"]
    facets = get_json(f"{server}/govarchive/articles.json")["facet_results"]
    assert {"portal", "category", "author", "tags"} <= set(facets)
    assert {"doc_type", "issuer_code"} <= set(get_json(f"{server}/govarchive/citation_links.json")["facet_results"])
    # the table's search box: folded Vietnamese through the word-aware index (Datasette's own would ignore it)
    found = get_json(f"{server}/govarchive/articles.json?_search={q}&_shape=array")
    assert [r["url"] for r in found] == ["https://danang.gov.vn/dn-nhiemvu"]
    # arbitrary SQL cannot write (Datasette opens the file with ?mode=ro and accepts only SELECT)
    req = urllib.request.Request(f"{server}/govarchive?sql=" + urllib.parse.quote("delete from articles"))
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(req, timeout=30)


@pytest.mark.slow
def test_search_page_counts_ranks_highlights_and_validates(server: str) -> None:
    page = get_text(f"{server}/-/search?q=" + urllib.parse.quote("Hà Nội"))
    assert "1–2 of 2 matches (1 with the exact diacritics, listed first), newest first" in page
    assert page.index("/govarchive/articles/1") < page.index("/govarchive/articles/7")  # exact first, then folded
    assert "<mark>Hà Nội</mark>" in page and '<span class="ga-exact">exact</span>' in page
    assert '<option value="danang">danang</option>' in page  # the portal drop-down lists the archive's portals
    only = get_text(f"{server}/-/search?q=thanh+pho&portal=danang")
    assert "1–1 of 1 matches" in only and "/govarchive/articles/2" in only
    wrong = get_text(f"{server}/-/search?q=ha+noi&since=2024-13-01&until=2024-01-01")
    assert "is not a date: use YYYY-MM-DD" in wrong and "id=\"ga-summary\"" not in wrong
    backwards = get_text(f"{server}/-/search?q=ha+noi&since=2024-06-01&until=2024-01-01")
    assert "The start date is after the end date." in backwards
    ranked = get_text(f"{server}/-/search?q=van+ban&sort=relevance")
    scores = [float(x) for x in re.findall(r"relevance (\d[\d.e+-]*)", ranked)]
    assert "by relevance" in ranked and scores and all(x > 0 for x in scores)  # positive numbers, never 0
    hostile = get_text(f"{server}/-/search?q=" + urllib.parse.quote('"<script>alert(1)</script>'))
    assert "<script>alert(1)" not in hostile


@pytest.mark.slow
def test_article_page_reads_like_the_article(server: str) -> None:
    page = get_text(f"{server}/govarchive/articles/4")
    assert "<h1>Điện Biên Phủ đón 1 triệu khách du lịch</h1>" in page
    assert "<b>tham quan</b>" in page  # the archived HTML is rendered ...
    assert 'alert("x")' not in page and "javascript:" not in page and "onclick" not in page  # ... sanitized
    assert 'href="https://dienbien.gov.vn/dienbien"' in page and "Live page" in page
    assert "Raw capture: not recorded in this archive" in page and "/govarchive/articles/4.json" in page
    assert "tags__arraycontains=Du%20l%E1%BB%8Bch" in page  # tags link to the facet
    assert "<ins>1 triệu</ins>" in page and "v1 → v2" in page  # versions with highlighted differences
    assert "1009/QĐ-UBND" in page and "Quyết định" in page  # documents cited
    table = get_text(f"{server}/govarchive/articles")
    assert 'class="govarchive-long"' in table  # long cells collapsed on the table page
    other = get_text(f"{server}/govarchive/crawl_runs/1")  # other tables keep Datasette's row page
    assert "crawl_runs: 1" in other


@pytest.mark.slow
def test_dashboards_and_menu(server: str) -> None:
    page = get_text(f"{server}/-/dashboards/archive?date_start=2023-01-01")
    assert "Publication volume and crawl health" in page
    assert "Articles published per portal per month" in page and "Latest run per portal" in page
    assert "/-/search" in get_text(f"{server}/")


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path:
        return path
    if os.environ.get("CI"):
        pytest.fail("chromium is required in CI (apt-get install -y chromium)")
    pytest.skip("chromium not installed (apt-get install -y chromium); it is required when CI is set")


def run_chromium(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-dev-shm-usage", f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False, env=clean_env())


SCREENSHOTS = ROOT / "tests" / "artifacts" / "screenshots"  # git-ignored; CI keeps them as artifacts

PAGES = [
    ("search", "/-/search?q=" + urllib.parse.quote("giai phong mat bang"),
     ["Đẩy nhanh <mark>giải phóng mặt bằng</mark> dự án Vành đai 4", "1–1 of 1 matches"]),
    ("search-exact-first", "/-/search?q=" + urllib.parse.quote("Hà Nội") + "&sort=relevance",
     ["Ủy ban nhân dân thành phố", "with the exact diacritics"]),
    ("article", "/govarchive/articles/4", ["Điện Biên Phủ đón 1 triệu khách du lịch", "<ins>1 triệu</ins>"]),
    ("articles-table", "/govarchive/articles", ["govarchive-long", "Thái Bình Dương và biển Đông"]),
    ("articles-table-search", "/govarchive/articles?_search=" + urllib.parse.quote("Điện Biên"),
     ["Điện Biên Phủ đón 1 triệu khách du lịch", "1 row"]),
    ("dashboards", "/-/dashboards/archive?date_start=2023-01-01", ["vega-embed"]),
]


@pytest.mark.slow
@pytest.mark.parametrize("name, path, expected", PAGES, ids=[p[0] for p in PAGES])
def test_pages_in_a_real_browser(server: str, tmp_path: Path, name: str, path: str, expected: list[str]) -> None:
    browser = chromium()
    url = server + path
    dom = run_chromium(browser, tmp_path / "profile", "--virtual-time-budget=8000", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    for text in expected:
        assert text in dom.stdout, (name, text)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / f"{name}.png"
    shot.unlink(missing_ok=True)
    done = run_chromium(browser, tmp_path / "profile", "--virtual-time-budget=8000", f"--screenshot={shot}",
                        "--window-size=1280,1000", url)
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


@pytest.mark.slow
def test_vietnamese_text_has_a_font() -> None:
    """Headless Chromium draws Vietnamese with the system fonts: one must cover the language (fonts-dejavu-core)."""
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        if os.environ.get("CI"):
            pytest.fail("fontconfig is required in CI (it comes with chromium)")
        pytest.skip("fontconfig not installed")
    font = subprocess.run([fc_match, "-f", "%{file}|%{lang}", ":lang=vi"], capture_output=True, text=True,
                          timeout=30, check=True, env=clean_env()).stdout
    path, langs = font.split("|", 1)
    assert Path(path).exists() and "vi" in langs.split("|"), font
