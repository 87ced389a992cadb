"""Operations (issue #7): `govarchive crawl`, health, the archive lock, per-host TLS policy, scheduling, scrapyd."""

from __future__ import annotations

import configparser
import datetime as dt
import ipaddress
import json
import os
import shlex
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from govarchive.archive import Archive
from govarchive.cli import build_parser
from govarchive.commands.health import assess, check_archive
from govarchive.locking import ArchiveLocked, acquire_lock, lock_path, release_lock
from tests.conftest import ROOT, clean_env

FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "RETRY_BACKOFF_BASE=0",
        "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8"]


def govarchive(*args: str, timeout: int = 300, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess (Twisted reactors don't restart in one process)."""
    return subprocess.run([sys.executable, "-m", "govarchive.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=clean_env(**(env or {})), check=False)


# -- crawl + health against the replica ------------------------------------------------------------------------


@pytest.mark.slow
def test_crawl_all_replica_portals_then_health_flags_the_broken_one(replica, tmp_path: Path) -> None:
    db = tmp_path / "ops.db"
    portals = replica.state.portals
    assert {"laichau-dcs", "angiang-dcs"} <= set(portals)
    first = govarchive("crawl", "--replica", replica.url, "--db", str(db), *FAST)  # default: the replica portals
    assert first.returncode == 0, first.stdout + first.stderr[-3000:]
    for slug in portals:  # not a terminal: one log-friendly line per portal
        assert f"portal={slug} result=ok reason=finished" in first.stdout
    healthy = govarchive("health", "--db", str(db))
    assert healthy.returncode == 0, healthy.stdout

    incremental = govarchive("crawl", *portals, "--replica", replica.url, "--db", str(db), *FAST)
    assert incremental.returncode == 0, incremental.stdout  # nothing new: known articles are skipped, not failed

    broken = "angiang-dcs"
    replica.state.site(broken).broken = True
    # A full walk (spider argument for every spider) fetches every article page again, so the redesign shows.
    second = govarchive("crawl", *portals, "--replica", replica.url, "--db", str(db), "-a", "full=1", *FAST)
    # The redesigned pages lost their title markup, but the <title> fallback reads the same titles: every article
    # is archived unchanged, so the crawl itself succeeds; the layout change is health's to report (below).
    assert second.returncode == 0, second.stdout + second.stderr[-3000:]
    for slug in portals:
        assert f"portal={slug} result=ok reason=finished" in second.stdout
    with Archive(db) as archive:
        for slug in portals:
            run = archive.runs(slug, limit=1)[0]
            assert run["finish_reason"] == "finished" and json.loads(run["monitor_results"])["passed"]
            assert run["items_unchanged"] == len(replica.state.site(slug).live_articles)
            assert archive.count("articles", "portal = ?", [slug]) == len(replica.state.site(slug).live_articles)

    report_file = tmp_path / "health.json"
    health = govarchive("health", "--db", str(db), "--json", str(report_file))
    assert health.returncode == 1, health.stdout
    line = next(x for x in health.stdout.splitlines() if x.startswith(broken))
    # The titles no longer come from the platform's selectors but from <title>: the layout change health reports.
    assert line.split()[1] == "PROBLEM", line
    assert line.endswith("title taken from css on 0% of items (median 100%), now from heuristic: layout change?"), line
    for slug in set(portals) - {broken}:
        assert next(x for x in health.stdout.splitlines() if x.startswith(slug + " ")).split()[1] == "ok"
    report = json.loads(report_file.read_text())
    assert report["ok"] is False and report["problem_portals"] == [broken]


def test_crawl_selects_portals_like_the_registry_says() -> None:
    from govarchive.commands.crawl import select_portals
    from portal_spiders.registry import default_registry

    registry = default_registry()
    parser = build_parser()

    def chosen(*argv: str) -> list[str]:
        return select_portals(parser.parse_args(["crawl", *argv]))

    assert chosen("--all") == list(registry)
    assert chosen("--platform", "mas_portal") == [s for s, c in registry.items() if c.platform == "mas_portal"]
    assert chosen("--replica", "http://127.0.0.1:1") == [s for s, c in registry.items() if c.replica]
    assert chosen("laichau-dcs") == ["laichau-dcs"]
    with pytest.raises(ValueError, match="unknown portal"):
        chosen("no-such-portal")
    with pytest.raises(ValueError, match="--all"):
        chosen()


def test_crawl_judges_runs() -> None:
    from govarchive.commands.crawl import judge

    base = {"finish_reason": "finished", "responses": 10, "items_new": 3, "items_updated": 0, "items_unchanged": 5,
            "items_failed": 1, "monitor_results": json.dumps({"failed": []})}
    assert judge("p", base, max_failed_share=0.2).ok
    assert judge("p", None, max_failed_share=0.2).problems == ["did not start (see the log)"]
    interrupted = judge("p", {**base, "finish_reason": "shutdown"}, max_failed_share=0.2)
    assert interrupted.ok and interrupted.result == "interrupted"  # Ctrl-C is not a failure: the next run resumes
    assert "finish reason closespider_timeout" in judge(
        "p", {**base, "finish_reason": "closespider_timeout"}, max_failed_share=0.2).problems
    empty = judge("p", {**base, "items_new": 0, "items_unchanged": 0, "items_failed": 0}, max_failed_share=0.2)
    assert empty.problems == ["no articles"]
    assert judge("p", {**base, "items_failed": 5}, max_failed_share=0.2).problems == ["5/13 pages failed"]


# -- health on synthetic histories -----------------------------------------------------------------------------

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def _run(run_id: int, **kw: object) -> dict[str, object]:
    row: dict[str, object] = {
        "id": run_id, "portal": "p", "started_at": (NOW - dt.timedelta(hours=run_id)).isoformat(),
        "finish_reason": "finished", "items_new": 2, "items_updated": 0, "items_unchanged": 18, "items_failed": 0,
        "coverage": json.dumps({"title": 1.0, "published": 1.0, "body_text": 1.0, "author": 0.9}),
        "monitor_results": None}
    row.update(kw)
    return row


def test_health_history_checks() -> None:
    history = [_run(i) for i in range(2, 8)]
    assert assess(_run(1), history, now=NOW, stale_days=2).ok
    zero = assess(_run(1, items_new=0, items_unchanged=0), history, now=NOW, stale_days=2)
    assert zero.problems == ["no articles (median of earlier runs: 20)"]
    low = assess(_run(1, coverage=json.dumps({"title": 1.0, "published": 0.5, "body_text": 1.0, "author": 0.2})),
                 history, now=NOW, stale_days=2)
    assert "published on 50% of items (< 90%)" in low.problems
    assert "author coverage fell to 20% (median 90%)" in low.problems
    assert assess(_run(1, items_failed=4), history, now=NOW, stale_days=2).ok  # 4 of 24: within bounds
    share = assess(_run(1, items_failed=6), history, now=NOW, stale_days=2)
    assert share.problems == ["6 of 26 pages failed"]
    spike = assess(_run(1, items_unchanged=100, items_failed=7), history, now=NOW, stale_days=2)
    assert spike.problems == ["error spike: 7 failed pages (median 0)"]
    killed = assess(_run(1, finish_reason=None), history, now=NOW, stale_days=2)
    assert killed.problems == ["latest run did not finish (no finish reason: killed?)"]
    stale = assess(_run(1, started_at=(NOW - dt.timedelta(days=5)).isoformat()), history, now=NOW, stale_days=2)
    assert stale.problems == ["not crawled for 5.0 days"]
    css = json.dumps({"govarchive/source/title/css": 20, "govarchive/source/published/label": 20})
    moved = json.dumps({"govarchive/source/title/heuristic": 19, "govarchive/source/title/css": 1,
                        "govarchive/source/published/label": 20})
    drift = assess(_run(1, stats=moved), [_run(i, stats=css) for i in range(2, 8)], now=NOW, stale_days=2)
    assert drift.problems == ["title taken from css on 5% of items (median 100%), now from heuristic: layout change?"]
    monitored = assess(_run(1, monitor_results=json.dumps({"failed": ["Finish Reason Monitor/x"]})), history,
                       now=NOW, stale_days=2)
    assert monitored.problems == ["monitor failed: Finish Reason Monitor/x"]


def test_health_reads_the_archive_and_flags_never_crawled(tmp_path: Path) -> None:
    with Archive(tmp_path / "h.db") as archive:
        run_id = archive.start_run("laichau-dcs")
        archive.finish_run(run_id, finish_reason="finished", counts={"items_new": 3},
                           coverage={"published": 1.0, "body_text": 1.0}, monitor_results={"failed": []})
        reports = check_archive(archive, portals=["laichau-dcs", "nowhere"], stale_days=2)
    assert reports[0].ok and reports[0].new == 3
    assert reports[1].problems == ["never crawled"]
    result = govarchive("health", "--db", str(tmp_path / "h.db"), "--format", "json", "--portal", "laichau-dcs")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["ok"] is True


def test_health_does_not_import_scrapy(tmp_path: Path) -> None:
    code = ("import sys; from govarchive.cli import main; rc = main(['health', '--db', sys.argv[1]]); "
            "assert not [m for m in sys.modules if m.split('.')[0] in ('scrapy', 'spidermon', 'twisted')], "
            "'scrapy imported'; print('rc', rc)")
    with Archive(tmp_path / "n.db") as archive:
        archive.finish_run(archive.start_run("x"), finish_reason="finished", counts={"items_new": 1},
                           coverage={"published": 1.0, "body_text": 1.0})
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "n.db")], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, check=False, env=clean_env())
    assert result.returncode == 0 and "rc 0" in result.stdout, result.stdout + result.stderr


# -- the archive lock ------------------------------------------------------------------------------------------


def test_lock_is_reentrant_in_process_and_names_the_holder(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    assert acquire_lock(db) == lock_path(db.resolve())
    acquire_lock(db)  # a second crawler of the same process
    release_lock(db)
    holder = subprocess.run(
        [sys.executable, "-c", "import sys; from govarchive.locking import acquire_lock as a; a(sys.argv[1])", str(db)],
        capture_output=True, text=True, timeout=60, check=False, cwd=ROOT, env=clean_env())
    assert holder.returncode == 1 and f"pid {os.getpid()}" in holder.stderr and "l.db.lock" in holder.stderr
    release_lock(db)
    with pytest.raises(ArchiveLocked):  # now the other way round: a live holder in another process
        proc = subprocess.Popen([sys.executable, "-c", "import sys, time; from govarchive.locking import acquire_lock;"
                                 "acquire_lock(sys.argv[1]); print('held', flush=True); time.sleep(60)", str(db)],
                                stdout=subprocess.PIPE, text=True, cwd=ROOT, env=clean_env())
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
            acquire_lock(db)
        finally:
            proc.kill()
            proc.wait()
    acquire_lock(db)  # the kernel dropped the dead holder's lock
    release_lock(db)


@pytest.mark.slow
def test_second_crawl_on_the_same_archive_fails_fast(replica, crawl, tmp_path: Path) -> None:
    db = tmp_path / "locked.db"
    acquire_lock(db)
    try:
        result = govarchive("crawl", "laichau-dcs", "--replica", replica.url, "--db", str(db), *FAST)
        assert result.returncode == 3
        assert f"pid {os.getpid()}" in result.stderr and f"{db}.lock" in result.stderr
        scrapy_run = crawl("laichau-dcs", db, replica.url)
        assert scrapy_run.returncode != 0
        assert f"pid {os.getpid()}" in scrapy_run.stderr and f"{db}.lock" in scrapy_run.stderr
        demo = govarchive("demo", "--db", str(db), "--portal", "laichau-dcs")
        assert demo.returncode == 3 and f"{db}.lock" in demo.stderr
    finally:
        release_lock(db)
    assert not replica.state.log, "a locked crawl must not send any request"
    result = govarchive("crawl", "laichau-dcs", "--replica", replica.url, "--db", str(db), *FAST)
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]


# -- per-host TLS policy against real TLS servers on 127.0.0.1 ---------------------------------------------------

# RFC 2409 "Oakley group 2": a 1024-bit MODP group. Modern OpenSSL refuses DH this weak at its default security
# level, which is exactly the situation of old portals that need ``DEFAULT@SECLEVEL=1``.
OAKLEY_GROUP_2 = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B"
    "302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1F"
    "E649286651ECE65381FFFFFFFFFFFFFFFF", 16)


def _self_signed(path: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1 (cert, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = path / f"{name}.pem", path / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html><body>hello over TLS</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context
        super().__init__(("127.0.0.1", 0), _Hello)

    def get_request(self) -> tuple[socket.socket, object]:
        sock, addr = super().get_request()
        sock.settimeout(10)
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def handle_error(self, request: object, client_address: object) -> None:
        return  # refused handshakes are the point of some tests


@pytest.fixture
def tls_servers(tmp_path: Path) -> Iterator[dict[str, object]]:
    """Three HTTPS servers on 127.0.0.1: modern+trusted, modern+untrusted cert, and legacy (TLS 1.2, 1024-bit DHE)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import dh

    trusted, trusted_key = _self_signed(tmp_path, "trusted")
    untrusted, untrusted_key = _self_signed(tmp_path, "untrusted")
    dh_file = tmp_path / "dh1024.pem"
    dh_file.write_bytes(dh.DHParameterNumbers(OAKLEY_GROUP_2, 2).parameters().parameter_bytes(
        serialization.Encoding.PEM, serialization.ParameterFormat.PKCS3))

    def context(cert: Path, key: Path, legacy: bool = False) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        if legacy:
            ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2
            ctx.set_ciphers("DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0")
            ctx.load_dh_params(str(dh_file))
        return ctx

    servers = {"good": _TLSServer(context(trusted, trusted_key)),
               "untrusted": _TLSServer(context(untrusted, untrusted_key)),
               "legacy": _TLSServer(context(trusted, trusted_key, legacy=True))}
    for server in servers.values():
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield {"ca": trusted, **{name: s.server_address[1] for name, s in servers.items()}}
    finally:
        for server in servers.values():
            server.shutdown()
            server.server_close()


TLS_PROBE = """
import json, sys
import scrapy
from govarchive.crawling import project_settings
from scrapy.crawler import CrawlerProcess

urls, out, policies = sys.argv[1].split(","), sys.argv[2], json.loads(sys.argv[3])
results = {}

class Probe(scrapy.Spider):
    name = "tls-probe"
    async def start(self):
        for url in urls:
            yield scrapy.Request(url, callback=self.ok, errback=self.bad, dont_filter=True)
    def ok(self, response):
        results[response.url] = response.status
    def bad(self, failure):
        results[failure.request.url] = f"{failure.type.__name__}: {failure.getErrorMessage()}"

settings = project_settings({
    "TLS_POLICIES": policies, "TLS_POLICIES_FROM_REGISTRY": False, "ROBOTSTXT_OBEY": False,
    "RETRY_ENABLED": False, "DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "ITEM_PIPELINES": {},
    "EXTENSIONS": {"portal_spiders.archive_lock.ArchiveLockExtension": None,
                   "spidermon.contrib.scrapy.extensions.Spidermon": None},
    "SPIDERMON_ENABLED": False, "LOG_LEVEL": "INFO", "DOWNLOAD_TIMEOUT": 20,
    # loopback TLS servers stand in for real hosts here: no address guard, and no WARC files in the checkout
    "ADDRESS_GUARD_ENABLED": False, "WARC_ENABLED": False,
})
process = CrawlerProcess(settings)
process.crawl(Probe)
process.start()
json.dump(results, open(out, "w"))
"""


@pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")
@pytest.mark.parametrize("verify", [False, None], ids=["verify-off", "verify-kept"])
def test_tls_policy_relaxes_only_its_own_host(tls_servers, tmp_path: Path, verify: bool | None) -> None:
    """`localhost` has a policy (TLS 1.2, SECLEVEL=1 ciphers, maybe no verification); 127.0.0.1 keeps the defaults."""
    policy = {"localhost": {"min_version": "TLSv1.2", "max_version": "TLSv1.2", "ciphers": "DEFAULT@SECLEVEL=1",
                            "reason": "test: legacy server"}}
    if verify is not None:
        policy["localhost"]["verify"] = verify
    urls = {
        "good-default": f"https://127.0.0.1:{tls_servers['good']}/",
        "legacy-default": f"https://127.0.0.1:{tls_servers['legacy']}/",
        "untrusted-default": f"https://127.0.0.1:{tls_servers['untrusted']}/",
        "legacy-policy": f"https://localhost:{tls_servers['legacy']}/",
        "untrusted-policy": f"https://localhost:{tls_servers['untrusted']}/a",
        "untrusted-policy-again": f"https://localhost:{tls_servers['untrusted']}/b",
    }
    out = tmp_path / "tls.json"
    # The test CA is trusted through OpenSSL's SSL_CERT_FILE: verification stays on for hosts without a policy.
    result = subprocess.run([sys.executable, "-c", TLS_PROBE, ",".join(urls.values()), str(out), json.dumps(policy)],
                            cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
                            env=clean_env(SSL_CERT_FILE=str(tls_servers["ca"])))
    assert result.returncode == 0, result.stderr[-3000:]
    got = json.loads(out.read_text())
    assert got[urls["good-default"]] == 200, got  # defaults work, with verification, against a modern server
    assert got[urls["legacy-policy"]] == 200, got
    if verify is False:
        assert got[urls["untrusted-policy"]] == 200 and got[urls["untrusted-policy-again"]] == 200, got
    else:  # the policy relaxes ciphers only: an unknown certificate is still refused
        assert got[urls["untrusted-policy"]] != 200, got
    assert got[urls["legacy-default"]] != 200, got  # Scrapy's default ciphers refuse the weak DH group
    assert got[urls["untrusted-default"]] != 200, got  # and verification refuses an unknown certificate
    relaxations = [line for line in result.stderr.splitlines() if "TLS policy for localhost" in line]
    assert len(relaxations) == 1, relaxations  # logged once per host, not per request
    assert "max_version=TLSv1.2" in relaxations[0] and "SECLEVEL=1" in relaxations[0]
    assert ("verify=off" in relaxations[0]) == (verify is False)
    assert "test: legacy server" in relaxations[0]


def test_tls_policy_rejects_unknown_versions() -> None:
    from scrapy.settings import Settings

    from portal_spiders.tls import TLSPolicyError, policies_from_settings

    settings = Settings({"TLS_POLICIES": {"www.Example.vn": {"max_version": "TLSv1.2"}}})
    assert policies_from_settings(settings)["example.vn"] == {"max_version": "TLSv1.2"}
    with pytest.raises(TLSPolicyError, match=r"example\.vn"):
        policies_from_settings(Settings({"TLS_POLICIES": {"example.vn": {"min_version": "SSLv3"}}}))


@pytest.mark.parametrize(("policy", "says"), [
    ({"max_versoin": "TLSv1.2"}, "unknown key(s) 'max_versoin'"),  # a typo must not leave the host on the defaults
    (5, "expected an object"),
    ({"verify": "no"}, "verify must be true or false"),
    ({"ciphers": 1}, "ciphers must be a string"),
])
def test_tls_policy_setting_refuses_what_it_would_ignore(policy: object, says: str) -> None:
    from scrapy.settings import Settings

    from portal_spiders.tls import TLSPolicyError, policies_from_settings

    with pytest.raises(TLSPolicyError) as caught:
        policies_from_settings(Settings({"TLS_POLICIES": {"example.vn": policy}}))
    assert str(caught.value).startswith("TLS policy of example.vn: ") and says in str(caught.value), caught.value


# -- scheduling recipes ----------------------------------------------------------------------------------------

DEPLOY = ROOT / "deploy"
REDIRECTS = {">", ">>", "2>", "<"}
CUT_TOKENS = {"2>&1", "||", "&&", "|", ";"}


def _govarchive_argv(command_line: str) -> list[list[str]]:
    """The ``govarchive ...`` invocations in a shell command line (redirections and chaining cut off)."""
    found: list[list[str]] = []
    current: list[str] | None = None
    skip_next = False
    for token in shlex.split(command_line):
        if skip_next:
            skip_next = False
        elif token in REDIRECTS or token in CUT_TOKENS:
            current, skip_next = None, token in REDIRECTS
        elif token == "govarchive" or token.endswith("/bin/govarchive"):
            current = []
            found.append(current)
        elif current is not None:
            current.append(token)
    return found


def _unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path, encoding="utf-8")
    return parser


def test_systemd_units_are_valid_and_run_the_real_cli(tmp_path: Path) -> None:
    service = _unit(DEPLOY / "systemd/govarchive-crawl.service")
    timer = _unit(DEPLOY / "systemd/govarchive-crawl.timer")
    assert service["Service"]["Type"] == "oneshot" and service["Unit"]["Description"]
    assert timer["Timer"]["Unit"] == "govarchive-crawl.service" and timer["Timer"]["OnCalendar"]
    assert timer["Install"]["WantedBy"] == "timers.target"
    (argv,) = _govarchive_argv(service["Service"]["ExecStart"])
    args = build_parser().parse_args(argv)
    assert args.command == "crawl" and args.all and args.db and args.log_file
    if shutil.which("systemd-analyze") is None:
        if os.environ.get("CI"):
            pytest.fail("systemd-analyze is required in CI (apt-get install -y systemd; .ci/run does)")
        pytest.skip("systemd-analyze not installed (apt-get install -y systemd): checked the keys with configparser "
                    "only; it is required when CI is set")
    # systemd-analyze checks that ExecStart's binary exists: point it at this checkout's console script.
    real = Path(sys.executable).with_name("govarchive")
    for name in ("govarchive-crawl.service", "govarchive-crawl.timer"):
        text = (DEPLOY / "systemd" / name).read_text(encoding="utf-8")
        (tmp_path / name).write_text(text.replace("/opt/govarchive/.venv/bin/govarchive", str(real)), encoding="utf-8")
    result = subprocess.run(["systemd-analyze", "verify", str(tmp_path / "govarchive-crawl.service"),
                             str(tmp_path / "govarchive-crawl.timer")], capture_output=True, text=True, timeout=60,
                            check=False, env=clean_env())
    assert result.returncode == 0 and not result.stderr.strip() and not result.stdout.strip(), result.stderr


def test_crontab_lines_are_real_cli_invocations() -> None:
    entries = [line for line in (DEPLOY / "crontab").read_text(encoding="utf-8").splitlines()
               if line.strip() and not line.startswith("#") and "=" not in line.split()[0]]
    assert entries
    commands = []
    for line in entries:
        fields = line.split(None, 5)
        assert len(fields) == 6 and all(f.replace("*/", "").replace("*", "0").isdigit() for f in fields[:5]), line
        for argv in _govarchive_argv(fields[5]):
            args = build_parser().parse_args(argv)
            commands.append(args.command)
            if args.command == "crawl":
                assert args.all and args.db == "/var/lib/govarchive/archive.db"
    assert commands == ["crawl", "health"]


# -- scrapyd: build the egg, deploy it over HTTP, schedule a replica crawl ------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _http(url: str, data: dict[str, str] | list[tuple[str, str]] | None = None) -> dict[str, object]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    with urllib.request.urlopen(url, data=body, timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture
def scrapyd(tmp_path: Path) -> Iterator[str]:
    """A real scrapyd on a free 127.0.0.1 port with its own working directory; stopped (whole process group)."""
    if shutil.which("scrapyd", path=str(Path(sys.executable).parent)) is None:
        pytest.fail("scrapyd is not installed: pip install -e '.[dev]'")
    work = tmp_path / "scrapyd"
    work.mkdir()
    port = _free_port()
    (work / "scrapyd.conf").write_text(
        f"[scrapyd]\nbind_address = 127.0.0.1\nhttp_port = {port}\npoll_interval = 0.2\nmax_proc = 2\n"
        f"eggs_dir = {work / 'eggs'}\nlogs_dir = {work / 'logs'}\ndbs_dir = {work / 'dbs'}\nitems_dir =\n",
        encoding="utf-8")
    log = (work / "scrapyd.out").open("wb")
    proc = subprocess.Popen([str(Path(sys.executable).with_name("scrapyd"))], cwd=work, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True, env=clean_env())
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _http(url + "daemonstatus.json").get("status") == "ok":
                    break
            except OSError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, (work / "scrapyd.out").read_text()
            time.sleep(0.2)
        yield url
    finally:
        os.killpg(proc.pid, 15)  # scrapyd and any crawl it still runs
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
        log.close()


@pytest.mark.slow
def test_scrapyd_deploy_and_scheduled_replica_crawl(scrapyd: str, replica, tmp_path: Path) -> None:
    # Build and upload from a copy of the project, so the build's side files never touch the working tree.
    project = tmp_path / "project"
    project.mkdir()
    for name in ("portal_spiders", "pipelines", "govarchive"):
        shutil.copytree(ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, project / name)
    cfg = (ROOT / "scrapy.cfg").read_text(encoding="utf-8")
    assert "url = http://127.0.0.1:6800/" in cfg and "project = govarchive" in cfg
    (project / "scrapy.cfg").write_text(cfg.replace("http://127.0.0.1:6800/", scrapyd), encoding="utf-8")
    deploy = subprocess.run([str(Path(sys.executable).with_name("scrapyd-deploy")), "local", "--version", "1"],
                            cwd=project, capture_output=True, text=True, timeout=300, check=False, env=clean_env())
    assert deploy.returncode == 0 and '"status": "ok"' in deploy.stdout + deploy.stderr, deploy.stdout + deploy.stderr
    spiders = _http(scrapyd + "listspiders.json?project=govarchive")
    assert "laichau-dcs" in spiders["spiders"], spiders  # type: ignore[operator]

    db = tmp_path / "scrapyd.db"
    job = _http(scrapyd + "schedule.json", [
        ("project", "govarchive"), ("spider", "laichau-dcs"), ("setting", f"ARCHIVE_DB={db}"),
        ("setting", f"REPLICA_URL={replica.url}"), ("setting", "DOWNLOAD_DELAY=0"),
        ("setting", "AUTOTHROTTLE_ENABLED=0"), ("setting", "RETRY_BACKOFF_BASE=0")])
    assert job["status"] == "ok", job
    deadline = time.monotonic() + 240
    while True:
        jobs = _http(scrapyd + "listjobs.json?project=govarchive")
        if any(j["id"] == job["jobid"] for j in jobs["finished"]):  # type: ignore[union-attr]
            break
        assert time.monotonic() < deadline, jobs
        time.sleep(0.5)
    site = replica.state.site("laichau-dcs")
    logs = "\n".join(p.read_text(errors="replace") for p in (tmp_path / "scrapyd/logs").rglob("*.log"))
    with Archive(db) as archive:
        run = archive.runs("laichau-dcs", limit=1)
        assert run and run[0]["finish_reason"] == "finished", logs[-3000:]
        assert archive.count("articles", "portal = ?", ["laichau-dcs"]) == len(site.live_articles), logs[-3000:]
