"""`govarchive serve`: Datasette metadata, read-only serving, and a real headless Chromium searching it."""

from __future__ import annotations

import json
import os
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
from govarchive.commands.serve import PLUGINS_DIR, datasette_command
from tests.conftest import clean_env
from tests.test_search import HOSTILE, add_articles

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "govarchive.db"
    a = Archive(path)
    add_articles(a)
    run = a.start_run("hanoi")
    a.finish_run(run, finish_reason="finished", counts={"items_new": 3}, coverage={"title": 1.0})
    a.record_failure(url="https://hanoi.gov.vn/x", portal="hanoi", stage="download", reason="timeout")
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


def test_command_line_is_read_only_and_local() -> None:
    cmd = datasette_command(Path("/x/a.db"), Path("/m.json"), host="127.0.0.1", port=8001, immutable=False)
    assert cmd[1:4] == ["-m", "datasette", "serve"] and "-i" not in cmd and "/x/a.db" in cmd
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1" and str(PLUGINS_DIR) in cmd
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


@pytest.mark.slow
def test_served_archive_is_read_only_and_searchable(server: str) -> None:
    q = urllib.parse.quote("Da Nang")
    rows = get_json(f"{server}/govarchive/search.json?q={q}&portal=&since=&until=&_shape=array")
    assert [r["title"] for r in rows] == ["Thành phố Đà Nẵng triển khai nhiệm vụ năm 2024"]
    bad = urllib.parse.quote('"NĐ-CP AND ( *')
    assert get_json(f"{server}/govarchive/search.json?q={bad}&portal=&since=&until=&_shape=array") == []
    for name in ("articles_per_portal_per_month", "latest_per_portal", "open_failures", "run_health"):
        assert get_json(f"{server}/govarchive/{name}.json?_shape=array"), name
    facets = get_json(f"{server}/govarchive/articles.json")["facet_results"]
    assert {"portal", "category", "author", "tags"} <= set(facets)
    # arbitrary SQL cannot write (Datasette opens the file with ?mode=ro and accepts only SELECT)
    req = urllib.request.Request(f"{server}/govarchive?sql=" + urllib.parse.quote("delete from articles"))
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(req, timeout=30)


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


@pytest.mark.slow
def test_browser_searches_without_diacritics(server: str, tmp_path: Path) -> None:
    browser = chromium()
    url = f"{server}/govarchive/search?q=" + urllib.parse.quote("giai phong mat bang")
    dom = run_chromium(browser, tmp_path / "profile", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "Đẩy nhanh giải phóng mặt bằng dự án Vành đai 4" in dom.stdout
    shot = tmp_path / "search.png"
    done = run_chromium(browser, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,900", url)
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.exists() and shot.stat().st_size > 5_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
