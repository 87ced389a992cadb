"""Operators (issue #14), end to end with real crawls in subprocesses: causes in words, network down, Ctrl-C
with a real SIGINT and the next run resuming, health during a running crawl, per-portal error counts.

Offline and deterministic: ``.invalid`` hosts never resolve (RFC 6761), a closed 127.0.0.1 port refuses, a
127.0.0.1 TLS server with an unknown certificate fails the handshake, a tiny server answers 403 to everything.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from govarchive.archive import Archive
from tests.conftest import ROOT, clean_env
from tests.test_operations import _self_signed, _TLSServer

pytestmark = pytest.mark.slow

QUICK = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "RETRY_BACKOFF_BASE=0",
         "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8"]


def govarchive(*args: str, env: dict[str, str] | None = None, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """The real CLI in a subprocess (clean environment, plus ``env``)."""
    return subprocess.run([sys.executable, "-m", "govarchive.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=clean_env(**(env or {})), check=False)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Forbidden(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(403)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.server.posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))  # type: ignore
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[dict[str, object]]:
    """A 403-everything server, a TLS server with an untrusted certificate, a webhook receiver; all on 127.0.0.1."""
    import ssl

    cert, key = _self_signed(tmp_path, "untrusted")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    forbidden = ThreadingHTTPServer(("127.0.0.1", 0), _Forbidden)
    tls = _TLSServer(context)
    hook = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    hook.posts = []  # type: ignore[attr-defined]
    running = [forbidden, tls, hook]
    for server in running:
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield {"forbidden": forbidden.server_address[1], "tls": tls.server_address[1], "hook": hook}
    finally:
        for server in running:
            server.shutdown()
            server.server_close()


def _registry(path: Path, portals: dict[str, str]) -> Path:
    """A registry of ``generic`` portals, one start URL each."""
    path.write_text("".join(f'[[portal]]\nslug = "{slug}"\nname = "{slug}"\nplatform = "generic"\n'
                            f'start_urls = ["{url}"]\n\n' for slug, url in portals.items()), encoding="utf-8")
    return path


def _assert_plain(output: str) -> None:
    """No traceback, no spidermon assertion block, no deprecation warning."""
    assert "Traceback" not in output, output[-3000:]
    assert "AssertionError" not in output and "=" * 20 not in output, output[-3000:]
    assert "Spider.log() is deprecated" not in output and "ScrapyDeprecationWarning" not in output


def test_causes_are_named_in_words_in_the_summary_the_archive_health_and_alerts(tmp_path: Path, servers) -> None:
    closed = _free_port()
    registry = _registry(tmp_path / "portals.toml", {
        "dns-down": "https://dead-portal.invalid/tin-tuc",
        "refused": f"http://127.0.0.1:{closed}/tin-tuc",
        "bad-tls": f"https://localhost:{servers['tls']}/tin-tuc",
        "forbidden": f"http://127.0.0.1:{servers['forbidden']}/tin-tuc",
    })
    hook = servers["hook"]
    env = {"GOVARCHIVE_REGISTRY": str(registry),
           "GOVARCHIVE_WEBHOOK_URL": f"http://127.0.0.1:{hook.server_address[1]}/"}
    db = tmp_path / "causes.db"
    # The address guard refuses loopback hosts outside the replica; these stand-ins for broken portals are loopback.
    result = govarchive("crawl", "--all", "--db", str(db), *QUICK, "-s", "RETRY_TIMES=1", "-s", "DOWNLOAD_TIMEOUT=20",
                        "-s", "GOVARCHIVE_NOTIFY_FAILED_RUNS=1", "-s", "ADDRESS_GUARD_ENABLED=0", env=env)
    assert result.returncode == 1, result.stdout + result.stderr[-3000:]
    _assert_plain(result.stdout + result.stderr)
    expected = {
        "dns-down": "DNS lookup failed for dead-portal.invalid",
        "refused": "connection refused by 127.0.0.1",
        "bad-tls": "TLS handshake failed with localhost (certificate verify failed)",
        "forbidden": "HTTP 403 on every request to 127.0.0.1",
    }
    lines = {line.split()[0].removeprefix("portal="): line for line in result.stdout.splitlines()}
    for slug, cause in expected.items():
        assert 'result=FAILED reason=finished' in lines[slug], lines[slug]
        assert f'problems="{cause}; no articles' in lines[slug], lines[slug]
    with Archive(db) as archive:
        for slug, cause in expected.items():
            run = archive.runs(slug, limit=1)[0]
            assert run["cause"] == cause
            checks = json.loads(run["monitor_results"])
            assert any(c.startswith("no articles found (expected at least 1): " + cause) for c in checks["failed"])
    health = govarchive("health", "--db", str(db))
    assert health.returncode == 1
    for slug, cause in expected.items():
        row = next(x for x in health.stdout.splitlines() if x.startswith(slug + " "))
        assert "PROBLEM" in row and cause in row, row
    # the spidermon action sent each failed run to the webhook, cause included
    alerts = {p["portal"]: p for p in hook.posts}  # type: ignore[attr-defined]
    assert set(alerts) == set(expected)
    for slug, cause in expected.items():
        assert alerts[slug]["event"] == "govarchive.crawl_failed" and alerts[slug]["cause"] == cause


def test_network_down_is_said_once_and_the_crawl_stops_early(tmp_path: Path) -> None:
    registry = _registry(tmp_path / "portals.toml", {f"p{i}": f"https://portal-{i}.invalid/tin-tuc" for i in range(4)})
    db = tmp_path / "down.db"
    # Production retry settings (3 retries with 2, 4, 8 s backoff): a run that waited for them would show it.
    result = govarchive("crawl", "--all", "--db", str(db), "-s", "DOWNLOAD_DELAY=0",
                        env={"GOVARCHIVE_REGISTRY": str(registry)})
    assert result.returncode == 4, result.stdout + result.stderr[-3000:]
    _assert_plain(result.stdout + result.stderr)
    said = [x for x in (result.stdout + result.stderr).splitlines() if "network appears to be down" in x]
    assert len(said) == 1 and "DNS lookup failed for 4 hosts" in said[0], said  # once, the Scrapy log included
    assert all("result=not-crawled reason=network_down" in x for x in result.stdout.splitlines())
    with Archive(db) as archive:
        runs = [archive.runs(f"p{i}", limit=1)[0] for i in range(4)]
        assert all(r["finish_reason"] == "network_down" and r["complete"] == 0 for r in runs)
        # stopped early: no request went through all its retries
        assert all("retry/max_reached" not in json.loads(r["stats"]) for r in runs), [r["stats"] for r in runs]
        assert archive.count("failures") >= 4  # every start page is recorded, so the next run tries again
    health = govarchive("health", "--db", str(db), env={"GOVARCHIVE_REGISTRY": str(registry)})
    assert health.returncode == 1
    assert health.stdout.strip().splitlines()[-1] == ("the network was down during the latest crawl: 4 portals were "
                                                      "not crawled")


def _wait_for(predicate, timeout: float = 120.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


class _Reader:
    """Collect a pipe's lines in a thread (so the child never blocks on a full pipe)."""

    def __init__(self, pipe) -> None:
        self.lines: list[str] = []
        self.thread = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self.thread.start()

    def _read(self, pipe) -> None:
        for line in pipe:
            self.lines.append(line)

    def text(self) -> str:
        return "".join(self.lines)


def _interrupt(proc: subprocess.Popen[str], out: _Reader, err: _Reader, *, times: int) -> int:
    """Ctrl-C ``times`` times (the next one after the acknowledgement); returns the exit code."""
    try:
        for _ in range(times):
            proc.send_signal(signal.SIGINT)
            _wait_for(lambda: "Ctrl-C again to stop now" in err.text(), timeout=30, what="the acknowledgement")
        return proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
        out.thread.join(10)
        err.thread.join(10)


def _slow_crawl(replica_url: str, db: Path, delay: str) -> tuple[subprocess.Popen[str], _Reader, _Reader]:
    proc = subprocess.Popen([sys.executable, "-m", "govarchive.cli", "crawl", "--replica", replica_url, "--db", str(db),
                             "-s", f"DOWNLOAD_DELAY={delay}", "-s", "AUTOTHROTTLE_ENABLED=0", "-s",
                             "RETRY_BACKOFF_BASE=0"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=clean_env())
    return proc, _Reader(proc.stdout), _Reader(proc.stderr)


def test_ctrl_c_during_the_demo_exits_130_and_leaves_its_runs_incomplete(tmp_path: Path) -> None:
    """`govarchive demo` interrupted says so in one line and exits 130 like `govarchive crawl` (it said "a portal
    failed", exit 1), and no interrupted run is complete."""
    import sqlite3

    db = tmp_path / "demo.db"
    proc = subprocess.Popen([sys.executable, "-m", "govarchive.cli", "demo", "--db", str(db)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env())
    out, err = _Reader(proc.stdout), _Reader(proc.stderr)

    def archived() -> int:
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
                return int(conn.execute("select count(*) from articles").fetchone()[0])
        except sqlite3.Error:
            return 0

    try:
        _wait_for(lambda: archived() > 0, what="the demo to archive its first article")
    finally:
        code = _interrupt(proc, out, err, times=1)
    stderr = err.text()
    assert code == 130, stderr[-3000:]
    _assert_plain(out.text() + stderr)
    assert "govarchive demo: interrupted (SIGINT) — run it again to finish" in stderr
    with Archive(db) as archive:
        runs = archive.runs(limit=100)
        assert runs and all(not r["complete"] for r in runs if r["finish_reason"] != "finished")
        assert any(r["finish_reason"] == "shutdown" for r in runs)


def test_demo_past_a_file_size_limit_says_which_portals_did_not_finish(tmp_path: Path) -> None:
    """`ulimit -f` below what the demo writes: each failed write is one line (no traceback, files included), the
    demo ends with one line naming the portals that did not finish, exit 1, and no unfinished run is complete."""
    import resource

    db = tmp_path / "demo.db"
    done = subprocess.run([sys.executable, "-m", "govarchive.cli", "demo", "--db", str(db)], cwd=ROOT,
                          capture_output=True, text=True, env=clean_env(), timeout=600,
                          preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (1_500_000, 1_500_000)))
    assert done.returncode == 1, done.stderr[-3000:]
    _assert_plain(done.stdout + done.stderr)
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("govarchive demo: ") and "did not finish" in last, last
    with Archive(db, readonly=True) as archive:
        runs = archive.runs(limit=100)
        unfinished = [r["portal"] for r in runs if r["finish_reason"] != "finished"]
    assert unfinished and all(slug in last for slug in unfinished)
    assert not any(r["complete"] for r in runs if r["finish_reason"] != "finished")


def test_ctrl_c_stops_cleanly_health_sees_the_running_crawl_and_the_next_run_resumes(replica, tmp_path: Path) -> None:
    db = tmp_path / "ctrl-c.db"
    portals = replica.state.portals
    total = sum(len(replica.state.site(slug).live_articles) for slug in portals)
    proc, out, err = _slow_crawl(replica.url, db, "0.5")
    try:
        _wait_for(lambda: len(replica.state.log) >= 30, what="the crawl to get going")
        # health while the crawl runs: every portal is "running since ...", and that is healthy (exit 0)
        health = govarchive("health", "--db", str(db))
    finally:
        code = _interrupt(proc, out, err, times=1)
    assert health.returncode == 0, health.stdout + health.stderr
    rows = [x for x in health.stdout.splitlines() if x.split(" ", 1)[0] in portals]
    assert len(rows) == len(portals) and all(" running " in x and "running since " in x for x in rows), rows
    stderr = err.text()
    assert code == 130, stderr[-3000:]
    _assert_plain(out.text() + stderr)
    assert "SIGINT received: stopping after in-flight requests" in stderr
    assert "govarchive crawl: interrupted (SIGINT) — the next run resumes" in stderr
    assert all(f"portal={slug} result=interrupted reason=shutdown" in out.text() for slug in portals), out.text()
    with Archive(db) as archive:
        runs = [archive.runs(slug, limit=1)[0] for slug in portals]
        assert all(r["finish_reason"] == "shutdown" and r["complete"] == 0 and r["finished_at"] for r in runs)
        assert all(r["cause"] == "interrupted — the next run resumes" for r in runs)
        kept = archive.count("articles")
    assert 0 < kept < total  # interrupted midway, and what was archived is kept

    again = govarchive("crawl", "--replica", replica.url, "--db", str(db), *QUICK)
    assert again.returncode == 0, again.stdout + again.stderr[-3000:]
    with Archive(db) as archive:
        assert archive.count("articles") == total  # the next run picked up what the interrupted one missed
        assert archive.count("failures") == 0  # pages cut short were retried and archived
        assert all(archive.runs(slug, limit=1)[0]["complete"] == 1 for slug in portals)
    assert govarchive("health", "--db", str(db)).returncode == 0


def test_second_ctrl_c_stops_now(replica, tmp_path: Path) -> None:
    db = tmp_path / "twice.db"
    site = replica.state.site("laichau-dcs")
    article = site.live_articles[0]
    arrived, release = threading.Event(), threading.Event()
    serve = site.handle

    def hanging(method: str, path: str, query: dict[str, list[str]], form: dict[str, list[str]]) -> object:
        """One article page never answers (until the test ends): it is in flight at the second Ctrl-C."""
        if path.lower() == "/pages/chi-tiet-tin.aspx" and query.get("ItemID") == [str(article.id)]:
            arrived.set()
            release.wait(300)
        return serve(method, path, query, form)

    site.handle = hanging
    proc, out, err = _slow_crawl(replica.url, db, "2")
    try:
        try:
            _wait_for(arrived.is_set, timeout=120, what="the hanging article to be requested")
        finally:
            code = _interrupt(proc, out, err, times=2)
    finally:
        release.set()
    assert code == 130
    assert "stopping now: cutting in-flight requests short" in err.text()
    _assert_plain(out.text() + err.text())
    with Archive(db) as archive:  # every spider closed properly: run rows finished, cut-short pages recorded
        assert all(r["finish_reason"] == "shutdown" and r["finished_at"] for r in archive.runs(limit=50))
        failures = archive.failures()
        wanted = site.expected(article)["url"].lower()  # SharePoint paths: the failure keeps the link's spelling
        hung = [f for f in failures if f["url"].lower() == wanted]
        assert len(hung) == 1, [(f["url"], f["reason"]) for f in failures]
        assert "stopped before this page was fetched" in hung[0]["reason"], hung[0]
        assert all("stopped before this page was fetched" in f["reason"] for f in failures), failures


def test_error_counts_are_per_portal(replica, tmp_path: Path) -> None:
    """One broken portal does not make the healthy one crawled in the same process fail its error check."""
    replica.state.set_fault("https://www.angiang.dcs.vn/Pages/tin-tuc-su-kien.aspx", 503)
    db = tmp_path / "errors.db"
    result = govarchive("crawl", "laichau-dcs", "angiang-dcs", "--replica", replica.url, "--db", str(db), *QUICK,
                        "-s", "SPIDERMON_MAX_ERRORS=0")
    assert result.returncode == 1, result.stdout + result.stderr[-3000:]
    assert "portal=laichau-dcs result=ok reason=finished" in result.stdout, result.stdout
    assert "portal=angiang-dcs result=FAILED" in result.stdout
    broken_line = next(x for x in result.stdout.splitlines() if x.startswith("portal=angiang-dcs "))
    assert "errors logged for this portal (limit 0)" in broken_line, broken_line
    with Archive(db) as archive:
        healthy, broken = (archive.runs(slug, limit=1)[0] for slug in ("laichau-dcs", "angiang-dcs"))
        assert "log_count/ERROR" not in json.loads(healthy["stats"])
        assert json.loads(healthy["monitor_results"])["passed"] is True
        assert json.loads(broken["stats"])["log_count/ERROR"] >= 1
        errors = next(c for c in json.loads(broken["monitor_results"])["checks"] if c["check"] == "errors")
        assert errors["status"] == "FAIL" and "errors logged for this portal (limit 0)" in errors["message"]
