"""Replica runs never mix with real runs in one archive, and a crawl that goes to a replica says so loudly.

Replica pages are served under the real portals' URLs: replica articles in an archive of real crawls would pass
for archived articles, and the incremental walk would then skip the real ones.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest
from scrapy.settings import Settings

from govarchive import cli
from govarchive.archive import Archive, ReplicaMixError
from govarchive.commands import demo as demo_command
from govarchive.commands import stats as stats_command
from portal_spiders.routing import replica_target
from tests.conftest import ROOT, clean_env, open_store_pipeline, run_crawl

REPLICA = "http://127.0.0.1:8765"


def _archive_with(db: Path, *kinds: bool | None) -> None:
    """An archive holding one finished run per kind (True replica, False real, None unknown)."""
    with Archive(db) as archive:
        for kind in kinds:
            run_id = archive.start_run("laichau-dcs", replica=kind)
            archive.finish_run(run_id, finish_reason="finished", counts={"items_new": 1}, coverage={})


def _runs(db: Path) -> list[int | None]:
    with Archive(db, readonly=True) as archive:
        return [r["replica"] for r in reversed(archive.runs())]


def test_an_archive_takes_replica_runs_or_real_runs_never_both(tmp_path: Path) -> None:
    replica_db, real_db = tmp_path / "demo.db", tmp_path / "real.db"
    _archive_with(replica_db, True, True)
    _archive_with(real_db, False, False)
    with Archive(replica_db) as archive:
        assert archive.run_origins() == {"replica": 2, "real": 0, "unknown": 0}
        with pytest.raises(ReplicaMixError, match="will not crawl the real portals into this archive: it holds 2 "
                                                  "replica run"):
            archive.start_run("laichau-dcs", replica=False)
    with Archive(real_db) as archive, pytest.raises(
            ReplicaMixError, match=re.escape("will not write replica articles into this archive: it holds 2 run(s) "
                                             "of the real portals")):
        archive.start_run("laichau-dcs", replica=True)
    assert _runs(replica_db) == [1, 1] and _runs(real_db) == [0, 0]  # the refused runs left no row


def test_runs_of_unknown_kind_may_be_real(tmp_path: Path) -> None:
    """Runs recorded before runs said which kind they were: a real crawl may continue, a replica crawl may not."""
    db = tmp_path / "old.db"
    _archive_with(db, None)
    with Archive(db) as archive:
        with pytest.raises(ReplicaMixError, match="may be real crawls") as refused:
            archive.check_run_origin(replica=True)
        assert "update crawl_runs set replica = 1 where replica is null" in str(refused.value)
        archive.start_run("laichau-dcs", replica=False)
    assert _runs(db) == [None, 0]


def test_the_store_records_whether_a_run_went_to_a_replica(tmp_path: Path) -> None:
    for db, settings, kind in ((tmp_path / "r.db", {"REPLICA_URL": REPLICA}, 1), (tmp_path / "p.db", {}, 0)):
        store = open_store_pipeline(db, settings=settings)
        store.close_spider()
        store.spider_closed(store.crawler.spider, "finished")
        assert _runs(db) == [kind]
    with pytest.raises(ReplicaMixError):  # the pipeline's run row is the last line of defence
        open_store_pipeline(tmp_path / "r.db")


def test_replica_target_names_where_the_url_came_from(monkeypatch: pytest.MonkeyPatch) -> None:
    assert replica_target(Settings({"REPLICA_URL": ""})) is None
    monkeypatch.setenv("GOVARCHIVE_REPLICA_URL", REPLICA)
    from_env = Settings()
    from_env.set("REPLICA_URL", REPLICA, priority="project")  # what portal_spiders/settings.py does
    assert replica_target(from_env) == (REPLICA, "$GOVARCHIVE_REPLICA_URL")
    explicit = Settings()
    explicit.set("REPLICA_URL", REPLICA, priority="cmdline")  # -s REPLICA_URL=... or --replica
    assert replica_target(explicit) == (REPLICA, "the REPLICA_URL setting")


def test_demo_ignores_govarchive_db_but_other_commands_use_it(monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path) -> None:
    seen: list[tuple[str, str]] = []

    def recorder(name: str):
        def record(args: argparse.Namespace) -> int:
            seen.append((name, args.db))
            return 0
        return record

    monkeypatch.setattr(demo_command, "run", recorder("demo"))
    monkeypatch.setattr(stats_command, "run", recorder("stats"))
    real = str(tmp_path / "real.db")
    monkeypatch.setenv("GOVARCHIVE_DB", real)
    for argv in (["demo"], ["--db", "other.db", "demo"], ["demo", "--db", "third.db"], ["stats"],
                 ["stats", "--db", "x.db"]):
        assert cli.main(argv) == 0
    assert seen == [("demo", "data/demo.db"), ("demo", "other.db"), ("demo", "third.db"), ("stats", real),
                    ("stats", "x.db")]


def test_demo_refuses_an_archive_with_real_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "real.db"
    _archive_with(db, False)
    assert cli.main(["demo", "--db", str(db), "--portal", "laichau-dcs"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"govarchive: error: {db}: will not write replica articles into this archive: it holds 1 run(s) "
                   "of the real portals. Use another archive for the replica (the demo's is data/demo.db)."]
    assert _runs(db) == [0]


def test_crawl_says_replica_mode_and_refuses_to_mix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    real, demo = tmp_path / "real.db", tmp_path / "demo.db"
    _archive_with(real, False)
    _archive_with(demo, True)
    assert cli.main(["crawl", "laichau-dcs", "--replica", REPLICA, "--db", str(real)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == (f"govarchive crawl: REPLICA MODE: every request goes to the offline replica at {REPLICA} (set "
                      "by the REPLICA_URL setting), not to the real portals; its articles are stored under the real "
                      "portals' URLs, in an archive kept for replica runs")
    assert err[1].startswith(f"govarchive: error: {real}: will not write replica articles into this archive")
    assert cli.main(["crawl", "laichau-dcs", "--db", str(demo)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "will not crawl the real portals into this archive: it holds 1 replica run" in err[0]
    assert _runs(real) == [0] and _runs(demo) == [1]


@pytest.mark.slow
def test_scrapy_crawl_through_the_environment_variable_is_loud_and_kept_apart(replica, tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    env = {"GOVARCHIVE_REPLICA_URL": replica.url}
    # no REPLICA_URL setting on the command line: the exported variable alone sends the crawl to the replica
    cmd = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "LOG_LEVEL=INFO"]

    def scrapy_crawl(extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "scrapy", "crawl", "laichau-dcs", "-s", f"ARCHIVE_DB={db}", *cmd],
                              cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
                              env=clean_env(**extra_env))

    first = scrapy_crawl(env)
    assert first.returncode == 0, first.stderr[-3000:]
    warnings = [line for line in first.stderr.splitlines() if "REPLICA MODE" in line]
    assert len(warnings) == 1 and "WARNING" in warnings[0], warnings
    assert f"the offline replica at {replica.url} (set by $GOVARCHIVE_REPLICA_URL)" in warnings[0]
    assert first.stderr.index("REPLICA MODE") < first.stderr.index("Spider opened")  # before any request
    assert _runs(db) == [1]
    with Archive(db, readonly=True) as archive:
        assert archive.count("articles") == len(replica.state.site("laichau-dcs").live_articles)

    requests = len(replica.state.log)
    real = scrapy_crawl({})  # the variable unset: a real crawl, refused before any request
    assert real.returncode == 2  # docs/operations.md, exit codes: an archive that would mix replica and real runs
    assert "will not crawl the real portals into this archive: it holds 1 replica run(s)" in real.stderr
    assert "Spider opened" not in real.stderr and len(replica.state.log) == requests
    assert _runs(db) == [1]

    again = run_crawl("laichau-dcs", db, replica.url)  # replica runs keep going into the replica archive
    assert again.returncode == 0, again.stderr[-3000:]
    assert _runs(db) == [1, 1]


def test_demo_summary_reads_the_archive_without_writing_to_it(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """After a crawl that filled the disk, an archive opened for writing fails (the schema check writes): the
    summary, which says which runs stay incomplete, must only read."""
    db = tmp_path / "demo.db"
    with Archive(db) as archive:
        finished = archive.start_run("laichau-dcs", replica=True)
        archive.finish_run(finished, finish_reason="finished", counts={"items_new": 1}, coverage={})
        archive.start_run("dienbien-gov", replica=True)  # never finished: its final record could not be written
    before = db.stat().st_mtime_ns, db.read_bytes()
    unfinished, files = demo_command.summary(db, ["laichau-dcs", "dienbien-gov", "angiang-dcs"])
    assert unfinished == ["dienbien-gov", "angiang-dcs"]  # angiang-dcs has no run at all
    assert files["files"] == 0
    assert (db.stat().st_mtime_ns, db.read_bytes()) == before
    assert not Path(f"{db}-wal").exists() or Path(f"{db}-wal").stat().st_size == 0
    out = capsys.readouterr().out
    assert "laichau-dcs            finished" in out and "dienbien-gov           ?" in out
