"""Bad input never shows a traceback: one line on stderr and a documented exit code (issue #14, item 5).

Each case runs the real command line in a subprocess with a clean environment (``clean_env``: no GOVARCHIVE_*),
and the table asserts the exit code, exactly one line on stderr naming the problem (nothing on stdout), and no
"Traceback" anywhere.
The exit codes are those of docs/operations.md: 1 problem found, 2 could not do the job, 3 archive locked.
"""

from __future__ import annotations

import resource
import socket
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from govarchive.archive import Archive
from govarchive.locking import acquire_lock, release_lock
from tests.conftest import ROOT, clean_env


@dataclass(frozen=True)
class Case:
    """One bad input: the command line (``{tmp}``, ``{db}``... filled in), the exit code and a word of the line."""

    id: str
    argv: tuple[str | bytes, ...]
    code: int
    says: str
    env: tuple[tuple[str, str], ...] = ()
    slow: bool = False  # loads Scrapy (about 2 s a process): in the default suite only a few of those


GOVARCHIVE = (sys.executable, "-m", "govarchive.cli")
SCRAPY = (sys.executable, "-m", "scrapy")
CRAWL = (*GOVARCHIVE, "crawl", "laichau-dcs", "--db", "{tmp}/new.db", "--replica", "http://127.0.0.1:9")

CASES = [
    # govarchive crawl: spider arguments, settings, log options, the archive path, the registry, the lock
    Case("since-not-a-date", (*CRAWL, "-a", "since=notadate"), 2, "-a since: expected a date as YYYY-MM-DD"),
    Case("since-not-real", (*CRAWL, "-a", "since=2024-02-30"), 2, "is not a real date", slow=True),
    Case("max-pages-abc", (*CRAWL, "-a", "max_pages=abc"), 2, "-a max_pages: expected a whole number", slow=True),
    Case("refresh-days-abc", (*CRAWL, "-a", "refresh_days=abc"), 2, "-a refresh_days: expected a whole number",
         slow=True),
    Case("refresh-days-huge", (*CRAWL, "-a", "refresh_days=99999999"), 2, "out of range", slow=True),
    Case("full-maybe", (*CRAWL, "-a", "full=maybe"), 2, "-a full: expected yes or no", slow=True),
    Case("unknown-spider-arg", (*CRAWL, "-a", "max_page=3"), 2, "unknown spider argument 'max_page'", slow=True),
    Case("download-delay-abc", (*CRAWL, "-s", "DOWNLOAD_DELAY=abc"), 2, "setting DOWNLOAD_DELAY: expected a number"),
    Case("concurrency-float", (*CRAWL, "-s", "CONCURRENT_REQUESTS=1.5"), 2, "expected a whole number", slow=True),
    Case("delay-negative", (*CRAWL, "-s", "DOWNLOAD_DELAY=-1"), 2, "must not be negative", slow=True),
    Case("tls-policy-version", (*CRAWL, "-s", 'TLS_POLICIES={"a.vn": {"min_version": "SSLv3"}}'), 2,
         "TLS policy of a.vn: min_version 'SSLv3'", slow=True),
    Case("tls-policy-unknown-key", (*CRAWL, "-s", 'TLS_POLICIES={"a.vn": {"verfy": false}}'), 2,
         "TLS policy of a.vn: unknown key(s) 'verfy'", slow=True),
    Case("tls-policy-not-object", (*CRAWL, "-s", 'TLS_POLICIES={"a.vn": 5}'), 2,
         "TLS policy of a.vn: expected an object", slow=True),
    Case("tls-policy-not-json", (*CRAWL, "-s", "TLS_POLICIES=nope"), 2, "setting TLS_POLICIES", slow=True),
    Case("dict-setting-not-json", (*CRAWL, "-s", "DOWNLOAD_SLOTS={"), 2, "setting DOWNLOAD_SLOTS", slow=True),
    Case("scrapy-dict-setting", (*SCRAPY, "crawl", "laichau-dcs", "-s", "DOWNLOAD_SLOTS={"), 2, "malformed",
         slow=True),
    Case("log-level-bogus", (*CRAWL, "--log-level", "BOGUS"), 2, "log level 'BOGUS'"),
    Case("log-file-under-a-file", (*CRAWL, "--log-file", "{tmp}/notes.txt/crawl.log"), 2, "--log-file", slow=True),
    Case("db-not-sqlite", (*GOVARCHIVE, "crawl", "laichau-dcs", "--db", "{tmp}/notes.txt"), 2,
         "is not a SQLite database", slow=True),
    Case("db-directory", (*GOVARCHIVE, "crawl", "laichau-dcs", "--db", "{tmp}"), 2, "is a directory", slow=True),
    Case("db-missing-directory", (*GOVARCHIVE, "crawl", "laichau-dcs", "--db", "{tmp}/no/such/dir/x.db"), 2,
         "does not exist"),
    Case("unknown-portal", (*GOVARCHIVE, "crawl", "no-such-portal", "--db", "{tmp}/new.db"), 2, "unknown portal",
         slow=True),
    Case("unknown-option", (*GOVARCHIVE, "crawl", "--bogus"), 2, "unrecognized arguments: --bogus"),
    Case("registry-malformed", (*CRAWL,), 2, "not valid TOML", env=(("GOVARCHIVE_REGISTRY", "{tmp}/notes.txt"),),
         slow=True),
    Case("crawl-locked", (*GOVARCHIVE, "crawl", "laichau-dcs", "--db", "{locked}"), 3, "another crawl (pid"),
    Case("crawl-into-replica-archive", (*GOVARCHIVE, "crawl", "laichau-dcs", "--db", "{replica_db}"), 2,
         "will not crawl the real portals into this archive", slow=True),
    Case("scrapy-crawl-into-replica-archive", (*SCRAPY, "crawl", "laichau-dcs", "-s", "ARCHIVE_DB={replica_db}"), 2,
         "will not crawl the real portals into this archive", slow=True),
    # bare Scrapy: the project's crawl command and spider loader
    Case("scrapy-list-registry", (*SCRAPY, "list"), 2, "not valid TOML",
         env=(("GOVARCHIVE_REGISTRY", "{tmp}/notes.txt"),)),
    Case("scrapy-crawl-registry", (*SCRAPY, "crawl", "laichau-dcs"), 2, "not valid TOML",
         env=(("GOVARCHIVE_REGISTRY", "{tmp}/notes.txt"),), slow=True),
    Case("scrapy-crawl-locked", (*SCRAPY, "crawl", "laichau-dcs", "-s", "ARCHIVE_DB={locked}"), 3, "another crawl"),
    Case("scrapy-since", (*SCRAPY, "crawl", "laichau-dcs", "-s", "ARCHIVE_DB={tmp}/s.db", "-a", "since=notadate"), 2,
         "-a since", slow=True),
    Case("scrapy-delay", (*SCRAPY, "crawl", "laichau-dcs", "-s", "ARCHIVE_DB={tmp}/s.db", "-s", "DOWNLOAD_DELAY=abc"),
         2, "DOWNLOAD_DELAY", slow=True),
    Case("scrapy-log-level", (*SCRAPY, "crawl", "laichau-dcs", "-s", "ARCHIVE_DB={tmp}/s.db", "-L", "BOGUS"), 2,
         "log level 'BOGUS'", slow=True),
    Case("scrapy-db-missing-dir", (*SCRAPY, "crawl", "laichau-dcs", "-s", "ARCHIVE_DB={tmp}/nope/s.db"), 2,
         "does not exist", slow=True),
    Case("scrapy-unknown-portal", (*SCRAPY, "crawl", "no-such-portal"), 2, "unknown portal", slow=True),
    # query commands
    Case("export-missing-dir", (*GOVARCHIVE, "--db", "{db}", "export", "-o", "{tmp}/nope/x.jsonl"), 2,
         "does not exist"),
    Case("export-into-directory", (*GOVARCHIVE, "--db", "{db}", "export", "-o", "{tmp}"), 2, "is a directory"),
    Case("export-dev-full", (*GOVARCHIVE, "--db", "{db}", "export", "-o", "/dev/full"), 2, "No space left on device"),
    Case("health-json-missing-dir", (*GOVARCHIVE, "--db", "{db}", "health", "--json", "{tmp}/nope/h.json"), 2,
         "does not exist"),
    Case("health-no-runs", (*GOVARCHIVE, "--db", "{empty}", "health"), 2, "no crawl runs"),
    Case("search-limit-huge", (*GOVARCHIVE, "--db", "{db}", "search", "x", "--limit", "99999999999999999999"), 2,
         "--limit must be between"),
    Case("search-since-bad", (*GOVARCHIVE, "--db", "{db}", "search", "x", "--since", "05/2024"), 2,
         "expected a date"),
    Case("show-30-digit-id", (*GOVARCHIVE, "--db", "{db}", "show", "123456789012345678901234567890"), 1,
         "no article"),
    Case("show-superscript-two", (*GOVARCHIVE, "--db", "{db}", "show", "²"), 1, "no article"),
    Case("show-undecodable-bytes", (*GOVARCHIVE, "--db", "{db}", "show", b"\xff\xfe"), 2, "not valid UTF-8"),
    # a damaged archive is named as such (not as "not a SQLite database", which sends the operator to fix --db)
    Case("show-corrupt-archive", (*GOVARCHIVE, "--db", "{corrupt}", "show", "1"), 2,
         "{corrupt} cannot be read (database disk image is malformed); it may be damaged"),
    Case("export-corrupt-archive", (*GOVARCHIVE, "--db", "{corrupt}", "export"), 2,
         "{corrupt} cannot be read (database disk image is malformed); it may be damaged"),
    Case("health-corrupt-archive", (*GOVARCHIVE, "--db", "{corrupt}", "health"), 2, "it may be damaged"),
    Case("crawl-corrupt-archive", (*GOVARCHIVE, "crawl", "laichau-dcs", "--db", "{corrupt}"), 2,
         "{corrupt} cannot be read (database disk image is malformed); it may be damaged", slow=True),
    Case("show-db-directory", (*GOVARCHIVE, "--db", "{tmp}", "show", "1"), 2, "is a directory"),
    Case("show-db-missing", (*GOVARCHIVE, "--db", "{tmp}/missing.db", "show", "1"), 2, "archive not found"),
    Case("serve-port-out-of-range", (*GOVARCHIVE, "--db", "{db}", "serve", "--port", "70000"), 2, "out of range"),
    Case("serve-port-busy", (*GOVARCHIVE, "--db", "{db}", "serve", "--port", "{busy_port}"), 2, "already in use"),
]


def _fill(value: str | bytes, places: dict[str, str]) -> str | bytes:
    if isinstance(value, bytes):
        return value
    for name, path in places.items():
        value = value.replace(f"{{{name}}}", path)
    return value


@pytest.fixture(scope="module")
def results(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[Case, subprocess.CompletedProcess]]]:
    """Run the selected cases (four at a time) against one set of files: an archive, a corrupt one, a busy port..."""
    selected = {item.callspec.params["case_id"] for item in request.session.items
                if getattr(item, "originalname", "") in ("test_bad_input_is_one_line_and_an_exit_code",
                                                         "test_bad_input_line_is_in_the_troubleshooting_table")}
    tmp = tmp_path_factory.mktemp("bad-input")
    (tmp / "notes.txt").write_text("not an archive, not TOML = [\n", encoding="utf-8")
    db = tmp / "archive.db"
    with Archive(db) as archive:
        run_id = archive.start_run("laichau-dcs")
        archive.store_article({"url": "https://laichau.dcs.vn/a", "portal": "laichau-dcs", "title": "Tin",
                               "body_text": "Nội dung"}, content_hash="h", run_id=run_id)
        archive.finish_run(run_id, finish_reason="finished", counts={"items_new": 1}, coverage={})
    Archive(tmp / "empty.db").close()
    with Archive(tmp / "replica.db") as archive:  # the demo's kind of archive: real crawls must stay out
        archive.finish_run(archive.start_run("laichau-dcs", replica=True), finish_reason="finished", counts={},
                           coverage={})
    corrupt = tmp / "corrupt.db"
    data = bytearray(db.read_bytes())
    data[100:] = b"\xff" * (len(data) - 100)  # header kept, every page after it destroyed
    corrupt.write_bytes(bytes(data))
    locked = tmp / "locked.db"
    acquire_lock(locked)
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    places = {"tmp": str(tmp), "db": str(db), "empty": str(tmp / "empty.db"), "corrupt": str(corrupt),
              "locked": str(locked), "busy_port": str(busy.getsockname()[1]), "replica_db": str(tmp / "replica.db")}

    def run(case: Case) -> tuple[Case, subprocess.CompletedProcess]:
        argv = [_fill(a, places) for a in case.argv]
        extra = {k: str(_fill(v, places)) for k, v in case.env}
        proc = subprocess.run(argv, cwd=ROOT, capture_output=True, timeout=180, check=False,
                              env=clean_env(HOME=str(tmp), LANG="C.UTF-8", **extra))
        return case, proc

    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            yield {case.id: (case, proc) for case, proc in pool.map(run, [c for c in CASES if c.id in selected])}
    finally:
        busy.close()
        release_lock(locked)
    assert not (tmp / "no").exists() and not (tmp / "nope").exists(), "a missing directory was created"


@pytest.mark.parametrize("case_id", [pytest.param(c.id, marks=[pytest.mark.slow] if c.slow else []) for c in CASES])
def test_bad_input_is_one_line_and_an_exit_code(results: dict, case_id: str) -> None:
    case, proc = results[case_id]
    stdout = proc.stdout.decode("utf-8", "replace")
    stderr = proc.stderr.decode("utf-8", "replace")
    assert "Traceback" not in stdout + stderr, stderr[-3000:]
    assert stdout == "", f"expected nothing on stdout, got:\n{stdout[-3000:]}"  # one line on both together
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, f"expected exactly one line on stderr, got {len(lines)}:\n{stderr[-3000:]}"
    assert proc.returncode == case.code, (proc.returncode, stderr)
    assert str(_fill(case.says, {"corrupt": "corrupt.db"})) in lines[0], lines[0]


#: The stem of each kind of bad-input line; each names its row of docs/operations.md's troubleshooting table.
DOCUMENTED_STEMS = (
    "expected a date", "is not a real date", "expected a whole number", "is out of range", "expected yes or no",
    "unknown spider argument", "error: setting ", "Invalid -s value", "log level", "--log-file",
    "is not a SQLite database", "is a directory", "does not exist", "unknown portal", "unrecognized arguments",
    "not valid TOML", "another crawl", "will not crawl the real portals", "No space left on device",
    "no crawl runs", "--limit must be between", "no article with id or URL", "is not valid UTF-8 text",
    "it may be damaged", "archive not found", "already in use", "cannot be written",
)


def _troubleshooting() -> str:
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    return text.split("## Troubleshooting", 1)[1].split("\n## ", 1)[0]


def test_the_troubleshooting_table_has_every_stem() -> None:
    table = _troubleshooting()
    assert [stem for stem in DOCUMENTED_STEMS if stem not in table] == []


@pytest.mark.parametrize("case_id", [pytest.param(c.id, marks=[pytest.mark.slow] if c.slow else []) for c in CASES])
def test_bad_input_line_is_in_the_troubleshooting_table(results: dict, case_id: str) -> None:
    """Every line an operator can get for bad input has its row: what it means, what to do."""
    _case, proc = results[case_id]
    line = proc.stderr.decode("utf-8", "replace").strip()
    assert any(stem in line for stem in DOCUMENTED_STEMS), f"no troubleshooting row for: {line}"


def test_search_until_the_last_day_means_no_upper_bound(tmp_path: Path) -> None:
    from govarchive.cli import main

    db = tmp_path / "a.db"
    with Archive(db) as archive:
        archive.store_article({"url": "https://x.vn/a", "portal": "p", "title": "Thủ tướng", "published":
                               "2024-03-22T20:36:00+07:00", "body_text": "Thủ tướng họp"}, content_hash="h")
    assert main(["--db", str(db), "search", "thu tuong", "--until", "9999-12-31", "--format", "json"]) == 0
    assert main(["--db", str(db), "export", "--until", "9999-12-31", "-o", str(tmp_path / "out.jsonl")]) == 0
    assert (tmp_path / "out.jsonl").read_text(encoding="utf-8").count("\n") == 1


def test_serve_port_zero_prints_the_real_port(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    with Archive(db) as archive:
        archive.finish_run(archive.start_run("p"), finish_reason="finished", counts={}, coverage={})
    proc = subprocess.Popen([*GOVARCHIVE, "--db", str(db), "serve", "--port", "0"], cwd=ROOT, stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True, env=clean_env())
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert line.startswith(f"serving {db} read-only on http://127.0.0.1:"), line
        port = int(line.split("http://127.0.0.1:", 1)[1].split("/", 1)[0])
        assert port > 0
    finally:
        proc.terminate()  # at once, maybe before Datasette has even started: it must not be left behind
        proc.wait(timeout=30)
    assert _processes_serving(db) == [], "serve's Datasette child outlived a SIGTERM to serve"


def _processes_serving(db: Path, wait: float = 10.0) -> list[int]:
    """Pids of live processes whose command line names ``db`` (a Datasette serving it), after up to ``wait`` s."""
    import time

    deadline = time.monotonic() + wait
    while True:
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z" and any(str(db).encode() in part for part in cmdline):
                pids.append(int(entry.name))
        if not pids or time.monotonic() > deadline:
            return pids
        time.sleep(0.2)


@pytest.mark.slow
def test_serve_logs_a_rejected_query_in_one_line(tmp_path: Path) -> None:
    """Bad SQL typed into Datasette, a write statement, an unknown sort column, or a blob given to the project's SQL
    functions: one log line each."""
    import time
    import urllib.error
    import urllib.parse
    import urllib.request

    db = tmp_path / "a.db"
    with Archive(db) as archive:
        archive.finish_run(archive.start_run("p"), finish_reason="finished", counts={}, coverage={})
    log = (tmp_path / "serve.log").open("w+", encoding="utf-8")
    proc = subprocess.Popen([*GOVARCHIVE, "--db", str(db), "serve", "--port", "0"], cwd=ROOT, stderr=log,
                            stdout=subprocess.DEVNULL, text=True, env=clean_env())
    try:
        deadline = time.monotonic() + 60
        while "Uvicorn running" not in (tmp_path / "serve.log").read_text(encoding="utf-8"):
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.2)
        port = (tmp_path / "serve.log").read_text(encoding="utf-8").split("http://127.0.0.1:", 1)[1].split("/", 1)[0]
        queries = ["select * from no_such_table", "select govarchive_fold(x'ff')", "select govarchive_match(1)",
                   "delete from articles", "attach database 'x.db' as x"]
        paths = [f"/a.json?{urllib.parse.urlencode({'sql': sql})}" for sql in queries]
        paths += ["/a/articles.json?_sort=no_such_column", "/a/articles?_sort=no_such_column"]
        for path in paths:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30).read()
            except urllib.error.HTTPError as exc:
                assert exc.code in (400, 500), path
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
    text = (tmp_path / "serve.log").read_text(encoding="utf-8")
    assert "Traceback" not in text and "Exception ignored" not in text, text
    lines = text.splitlines()
    assert sum("no such table: no_such_table" in line for line in lines) == 1, text
    # Datasette's own rejections (a write statement, an unknown sort column): one line each, not a rich traceback
    assert "locals" not in text and "\u2502" not in text, text
    assert sum("400 GET /a.json?sql=delete+from+articles: DatasetteError: Statement must be a SELECT" in line
               for line in lines) == 1, text
    assert sum("400 GET /a.json?sql=attach" in line for line in lines) == 1, text
    assert sum("Cannot sort table by no_such_column" in line for line in lines) == 2, text


def test_an_archive_that_cannot_be_created_is_a_write_failure_not_damage(tmp_path: Path) -> None:
    """A file size limit (``ulimit -f``) hit while the archive's tables are created: one line that says the write
    failed and why, not "it may be damaged" (the file is only short), and no run recorded as complete."""
    db = tmp_path / "new.db"

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024, resource.RLIM_INFINITY))

    argv = [str(db) if arg == "{tmp}/new.db" else arg for arg in CRAWL]
    proc = subprocess.run(argv, capture_output=True, env=clean_env(),
                          cwd=ROOT, timeout=120, preexec_fn=small_files)
    err = proc.stderr.decode("utf-8", "replace").strip()
    assert proc.returncode == 2, err
    # the replica-mode warning comes first, as on every --replica crawl; then the one error line
    lines = [line for line in err.splitlines() if "REPLICA MODE" not in line]
    assert "Traceback" not in err and len(lines) == 1, err
    assert f"the archive {db} cannot be written: the write failed: disk I/O error" in err, err
    assert any(stem in err for stem in DOCUMENTED_STEMS)
