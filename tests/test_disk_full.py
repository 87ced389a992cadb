"""No silent loss (issue 10): the disk fills up for a moment during a multi-portal crawl.

Three replica portals are crawled by one ``govarchive crawl`` process, so their items share write batches. While
the crawl runs, the archive's disk is made full (a small tmpfs in a private mount namespace, filled from outside
through ``/proc/<pid>/root``), or its file size limit is lowered (``RLIMIT_FSIZE`` through ``prlimit``: what
``ulimit -f`` does), and then given back. The end state must be: every run that lost items is incomplete and says
why, its counts are what was committed, every replica article is archived or has a failure row, ``health`` names
the failed write, and the next normal run re-fetches exactly what was lost and leaves the archive complete.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from govarchive.archive import Archive
from govarchive.replica.faults import FaultServer, FaultState
from portal_spiders.urls import canonical_url
from tests.conftest import ROOT, clean_env

pytestmark = pytest.mark.slow

PORTALS = ["laichau-dcs", "angiang-dcs", "pbgdpl-laichau"]
FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "RETRY_BACKOFF_BASE=0",
        "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=4", "-s", "ARCHIVE_BATCH_SIZE=4", "-s", "LOG_LEVEL=INFO"]
FULL_FROM, FULL_UNTIL = 18, 42  # the disk is full from the 18th request the replica serves until the 42nd


def _crawl_cmd(db: Path, url: str) -> list[str]:
    return [sys.executable, "-m", "govarchive.cli", "crawl", *PORTALS, "--replica", url, "--db", str(db), *FAST]


def _fault_window(state: FaultState, fill: Callable[[], None], free: Callable[[], None]) -> None:
    def hook(count: int, _key: str) -> None:
        if count == FULL_FROM:
            fill()
        elif count == FULL_UNTIL:
            free()

    state.hooks.append(hook)


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
    """The archive right after the faulty crawl; returns the listed URLs that were lost (failure rows)."""
    with Archive(db, readonly=True) as archive:
        runs = {r["portal"]: r for r in archive.runs()}
        failures = {f["url"]: f for f in archive.failures()}
        lost_runs = []
        for slug in PORTALS:
            run = runs[slug]
            stats = json.loads(run["stats"] or "{}")
            if stats.get("govarchive/items_lost"):
                lost_runs.append(slug)
                assert run["complete"] == 0, slug
                assert stats["govarchive/write_error"], slug
                assert f"portal={slug} result=FAILED" in output and "archive write failed" in output
            # counts are what was committed
            assert run["items_new"] == archive.count("articles", "first_run_id = ?", [run["id"]]), slug
            assert run["items_failed"] == archive.count("failures", "run_id = ?", [run["id"]]), slug
            site = state.site(slug)
            ci = site.platform in {"mas_portal", "tandan"}
            for article in site.live_articles:
                listed = site.absolute(site.article_path(article))
                key = canonical_url(listed, case_insensitive_path=ci)
                assert archive.get_article(key) is not None or listed in failures, (slug, listed)
        assert lost_runs, "the disk filled up without any loss: the fault window missed every commit"
    health = subprocess.run([sys.executable, "-m", "govarchive.cli", "--db", str(db), "health"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120, check=False, env=clean_env())
    assert health.returncode == 1
    for slug in lost_runs:
        line = next(x for x in health.stdout.splitlines() if x.startswith(slug + " "))
        assert "archive write failed" in line, line
    return {url for url, f in failures.items() if f["stage"] == "store"}


def _heal_and_check(db: Path, server: FaultServer, lost: set[str]) -> None:
    """A normal run fetches exactly what was lost and leaves every portal complete."""
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
    with FaultServer(state) as server:
        proc: list[subprocess.Popen[str]] = []
        inside = lambda: Path(f"/proc/{proc[0].pid}/root{mount}")  # noqa: E731 (the tmpfs, seen from outside)

        def fill() -> None:
            with open(inside() / "filler", "wb") as fh:
                try:
                    while True:
                        fh.write(b"\0" * 65536)
                        fh.flush()
                except OSError:
                    pass

        def free() -> None:
            (inside() / "filler").unlink(missing_ok=True)

        _fault_window(state, fill, free)
        proc.append(subprocess.Popen(["unshare", "-m", "sh", "-c", script], cwd=ROOT, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=clean_env(REPLICA=server.url)))
        stdout, stderr = proc[0].communicate(timeout=600)
        os.rmdir(mount)
        assert proc[0].returncode == 1, stdout + stderr[-3000:]  # some portals failed: the disk was full
        assert "disk full" in stdout, stdout
        state.hooks.clear()
        lost = _check_end_state(out / "a.db", state, stdout)
        _heal_and_check(out / "a.db", server, lost)


def test_file_size_limit_for_a_moment(tmp_path: Path) -> None:
    """``RLIMIT_FSIZE`` (``ulimit -f``) lowered on the running crawl to the archive's current size, then raised."""
    state = FaultState.from_registry(PORTALS)
    db = tmp_path / "a.db"
    with FaultServer(state) as server:
        proc: list[subprocess.Popen[str]] = []

        def fill() -> None:
            size = max(p.stat().st_size for p in (db, Path(f"{db}-wal")) if p.exists())
            resource.prlimit(proc[0].pid, resource.RLIMIT_FSIZE, (size, resource.RLIM_INFINITY))

        def free() -> None:
            resource.prlimit(proc[0].pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

        _fault_window(state, fill, free)
        proc.append(subprocess.Popen(_crawl_cmd(db, server.url), cwd=ROOT, text=True, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=clean_env()))
        stdout, stderr = proc[0].communicate(timeout=600)
        assert proc[0].returncode == 1, stdout + stderr[-3000:]
        assert "the write failed: disk I/O error" in stdout, stdout
        state.hooks.clear()
        lost = _check_end_state(db, state, stdout)
        _heal_and_check(db, server, lost)
