"""No silent loss (issue 10): the disk fills up for a moment during a multi-portal crawl.

Three replica portals are crawled by one ``govarchive crawl`` process, so their items share write batches. While
the crawl runs, the archive's disk is made full (a small tmpfs in a private mount namespace, filled from outside
through ``/proc/<pid>/root``), or its file size limit is lowered (``RLIMIT_FSIZE`` through ``prlimit``: what
``ulimit -f`` does), and then given back. The end state must be: every run that lost items is incomplete and says
why, its counts are what was committed, every replica article is archived or has a failure row, ``health`` names
the failed write, and the next normal run re-fetches exactly what was lost and leaves the archive complete.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from govarchive.archive import Archive
from govarchive.replica.faults import FaultServer, FaultState, Slow
from portal_spiders.urls import canonical_url
from tests.conftest import ROOT, clean_env

pytestmark = pytest.mark.slow

PORTALS = ["laichau-dcs", "angiang-dcs", "pbgdpl-laichau"]
# Attachments and images off: their downloads queue behind the article pages, which would hold every item back
# until the end of the crawl; here items are stored while the crawl goes on, so the disk fills up between commits.
FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "RETRY_BACKOFF_BASE=0",
        "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=4", "-s", "ARCHIVE_BATCH_SIZE=4", "-s", "LOG_LEVEL=INFO",
        "-s", "ATTACHMENTS_DOWNLOAD=0", "-s", "IMAGES_DOWNLOAD=0"]
FULL_AFTER = 4  # the disk fills up once this many articles are committed, and has room again once the crawl has
# reported a failed write: the window spans one lost batch in the middle of the crawl.
WAL_GROWTH = 128 * 1024  # inside a mount namespace SQLite cannot open the file (it resolves /proc/PID/root to "/"):
# there, the write-ahead log growing this much after the listings were read stands for "a few batches committed"


def _crawl_cmd(db: Path, url: str) -> list[str]:
    return [sys.executable, "-m", "govarchive.cli", "crawl", *PORTALS, "--replica", url, "--db", str(db), *FAST]


def committed_articles(db: Path) -> int:
    """Articles committed so far to the archive a crawl is writing (0 while it cannot be read)."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            return int(conn.execute("select count(*) from articles").fetchone()[0])
    except sqlite3.Error:
        return 0


def _run_with_full_disk(cmd: list[str], state: FaultState, ready: Callable[[Any], bool],
                        fill: Callable[[Any], None], free: Callable[[Any], None],
                        **env: str) -> tuple[int, str, str]:
    """Run the crawl ``cmd``; make its disk full once ``ready(proc)`` (some batches are committed), and give the
    room back as soon as its log reports the failed write. Returns (exit code, stdout, stderr)."""
    for slug in PORTALS:  # article pages answer slowly: the crawl's writes spread over its run
        site = state.site(slug)
        for article in site.articles:
            state.add_rule(site.absolute(site.article_path(article)), Slow(0.3))
    proc = subprocess.Popen(cmd, cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=clean_env(**env))
    failed = threading.Event()
    err_lines: list[str] = []

    def read_log() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            err_lines.append(line)
            if "archive write failed" in line:
                failed.set()

    def window() -> None:
        while proc.poll() is None and not ready(proc):
            time.sleep(0.02)
        if proc.poll() is not None:
            return
        fill(proc)
        while proc.poll() is None and not failed.wait(0.05):
            pass
        with contextlib.suppress(OSError):  # the crawl may have ended meanwhile
            free(proc)

    threads = [threading.Thread(target=read_log, daemon=True), threading.Thread(target=window, daemon=True)]
    for thread in threads:
        thread.start()
    assert proc.stdout is not None
    stdout = proc.stdout.read()
    code = proc.wait(timeout=600)
    for thread in threads:
        thread.join(timeout=60)
    return code, stdout, "".join(err_lines)


def _unshare_works() -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    probe = tempfile.mkdtemp(prefix="govarchive-unshare-")
    try:
        result = subprocess.run(["unshare", "-m", "sh", "-c", f"mount -t tmpfs -o size=1m tmpfs {probe}"],
                                capture_output=True, timeout=30, check=False, env=clean_env())
        return result.returncode == 0
    finally:
        os.rmdir(probe)


def _check_end_state(db: Path, state: FaultState, output: str) -> set[str]:
    """The archive right after the faulty crawl; returns the listed URLs of the replica articles it lacks.

    A run whose final row was written counts what it committed and has a failure row for everything it lost. A
    run that closed while the disk was still full could write neither: its row stays unfinished, i.e. incomplete
    (docs/reliability.md, Limits), and the next run walks past it.
    """
    missing: set[str] = set()
    with Archive(db, readonly=True) as archive:
        runs = {r["portal"]: r for r in archive.runs()}
        failures = {f["url"]: f for f in archive.failures()}
        lost_runs: list[str] = []
        unfinished: set[str] = set()  # closed on a full disk: no final row, so no stats to say what was lost
        for slug in PORTALS:
            run = runs[slug]
            site = state.site(slug)
            ci = site.platform in {"mas_portal", "tandan"}
            absent = {site.absolute(site.article_path(a)) for a in site.live_articles
                      if archive.get_article(canonical_url(site.absolute(site.article_path(a)),
                                                           case_insensitive_path=ci)) is None}
            missing |= absent
            if run["finished_at"] is None:  # closed on a full disk
                lost_runs.append(slug)
                unfinished.add(slug)
                assert run["complete"] == 0, slug
                continue
            stats = json.loads(run["stats"] or "{}")
            if stats.get("govarchive/items_lost"):
                lost_runs.append(slug)
                assert run["complete"] == 0, slug
                assert stats["govarchive/write_error"], slug
            # counts are what was committed; what was lost has a failure row
            assert run["items_new"] == archive.count("articles", "first_run_id = ?", [run["id"]]), slug
            assert run["items_failed"] == archive.count("failures", "run_id = ?", [run["id"]]), slug
            assert absent <= set(failures), (slug, absent - set(failures))
        assert lost_runs, "the disk filled up without any loss: the fault window missed every commit"
        assert missing, "nothing is missing after a failed write"
    for slug in lost_runs:
        line = next(x for x in output.splitlines() if x.startswith(f"portal={slug} "))
        assert "result=FAILED" in line and "archive write failed" in line, line
    health = subprocess.run([sys.executable, "-m", "govarchive.cli", "--db", str(db), "health"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120, check=False, env=clean_env())
    assert health.returncode == 1
    for slug in lost_runs:
        line = next(x for x in health.stdout.splitlines() if x.startswith(slug + " "))
        if slug in unfinished:  # health knows only that the row was never finished
            assert "latest run did not finish (no finish reason: killed?)" in line, line
            assert "archive write failed" not in line, line
        else:  # the final row's stats carry the write error and what was rolled back
            assert "archive write failed" in line and "left for the next run" in line, line
            assert "did not finish" not in line, line
    return missing


def _heal_and_check(db: Path, server: FaultServer, lost: set[str]) -> None:
    """A normal run fetches exactly what the archive lacks, nothing else, and leaves every portal complete."""
    mark = len(server.state.log)
    result = subprocess.run(_crawl_cmd(db, server.url), cwd=ROOT, capture_output=True, text=True, timeout=600,
                            check=False, env=clean_env())
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    def norm(url: str) -> str:
        return canonical_url(url, case_insensitive_path=True)

    articles = {norm(site.absolute(site.article_path(a))) for slug in PORTALS
                for site in [server.state.site(slug)] for a in site.live_articles}
    fetched = {norm(f"https://{key}") for _m, key, _s in server.state.log[mark:]} & articles
    assert fetched == {norm(url) for url in lost}  # exactly what was lost, nothing else
    with Archive(db, readonly=True) as archive:
        assert archive.count("failures") == 0
        for slug in PORTALS:
            assert archive.runs(slug, limit=1)[0]["complete"] == 1, slug
        for slug in PORTALS:  # every article, with its content
            site = server.state.site(slug)
            ci = site.platform in {"mas_portal", "tandan"}
            for article in site.live_articles:
                row = archive.get_article(canonical_url(site.absolute(site.article_path(article)),
                                                        case_insensitive_path=ci))
                assert row is not None and row["title"] == article.title, (slug, article.id)
                assert row["published"] == article.published.isoformat()
                assert all(p in row["body_text"] for p in article.paragraphs)


def test_disk_full_for_a_moment_on_a_tmpfs(tmp_path: Path) -> None:
    if not _unshare_works():
        pytest.skip("needs root and `unshare -m` (a private mount namespace for a small tmpfs); "
                    "test_file_size_limit_for_a_moment covers the same path")
    state = FaultState.from_registry(PORTALS)
    mount = Path(tempfile.mkdtemp(prefix="govarchive-tmpfs-"))
    out = tmp_path / "out"
    out.mkdir()
    db = mount / "a.db"
    script = (f"mount -t tmpfs -o size=8m tmpfs {mount} || exit 99; "
              f"{' '.join(map(str, _crawl_cmd(db, '$REPLICA')))}; rc=$?; cp -a {mount}/. {out}/; exit $rc")

    def inside(proc: Any) -> Path:  # the tmpfs, seen from outside the mount namespace
        return Path(f"/proc/{proc.pid}/root{mount}")

    def fill(proc: Any) -> None:
        with contextlib.suppress(OSError), open(inside(proc) / "filler", "wb", buffering=0) as fh:
            while True:  # until ENOSPC: the tmpfs is full
                fh.write(b"\0" * 65536)

    def free(proc: Any) -> None:
        (inside(proc) / "filler").unlink(missing_ok=True)

    with FaultServer(state) as server:
        baseline: list[int] = []

        def ready(proc: Any) -> bool:
            if state.served < 20:  # robots.txt and listings first: every portal's crawler has started
                return False
            try:
                size = (inside(proc) / "a.db-wal").stat().st_size
            except OSError:
                return False
            baseline[:] = baseline or [size]
            return size >= baseline[0] + WAL_GROWTH

        code, stdout, stderr = _run_with_full_disk(["unshare", "-m", "sh", "-c", script], state, ready, fill, free,
                                                   REPLICA=server.url)
        os.rmdir(mount)
        assert code == 1, stdout + stderr[-3000:]  # some portals failed: the disk was full
        assert "disk full" in stdout, stdout
        state.clear_rules()
        lost = _check_end_state(out / "a.db", state, stdout)
        _heal_and_check(out / "a.db", server, lost)


def test_file_size_limit_for_a_moment(tmp_path: Path) -> None:
    """``RLIMIT_FSIZE`` (``ulimit -f``) lowered on the running crawl to 4 KiB, then raised again."""
    state = FaultState.from_registry(PORTALS)
    db = tmp_path / "a.db"

    def fill(proc: Any) -> None:  # no write past the first 4 KiB of any file: every WAL frame write fails
        resource.prlimit(proc.pid, resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))

    def free(proc: Any) -> None:
        resource.prlimit(proc.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

    with FaultServer(state) as server:
        code, stdout, stderr = _run_with_full_disk(_crawl_cmd(db, server.url), state,
                                                   lambda _proc: committed_articles(db) >= FULL_AFTER, fill, free)
        assert code == 1, stdout + stderr[-3000:]
        assert "the write failed: disk I/O error" in stdout, stdout
        state.clear_rules()
        lost = _check_end_state(db, state, stdout)
        _heal_and_check(db, server, lost)
