"""``govarchive health --notify``: the report by e-mail (a real aiosmtpd server) and JSON webhook (http.server),
both on 127.0.0.1 (issue #14, item 7)."""

from __future__ import annotations

import email
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from govarchive.archive import Archive
from govarchive.notify import NotifyConfigError, config_from_env
from tests.conftest import ROOT, clean_env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Mailbox:
    """aiosmtpd handler keeping every message."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[tuple[int, _Mailbox]]:
    """A real SMTP server (aiosmtpd) on a free 127.0.0.1 port."""
    from aiosmtpd.controller import Controller

    mailbox = _Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield controller.port, mailbox
    finally:
        controller.stop()


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.posts.append((self.headers.get("Content-Type"), json.loads(body)))  # type: ignore[attr-defined]
        status = self.server.status  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def webhook() -> Iterator[ThreadingHTTPServer]:
    """A tiny JSON webhook receiver on 127.0.0.1 (``.posts``; answer with ``.status``)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    server.posts = []  # type: ignore[attr-defined]
    server.status = 204  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _archive(path: Path, *, broken: bool) -> Path:
    with Archive(path) as archive:
        for portal in ("laichau-dcs", "angiang-dcs"):
            run_id = archive.start_run(portal)
            bad = broken and portal == "angiang-dcs"
            archive.finish_run(run_id, finish_reason="finished", counts={"items_new": 0 if bad else 5},
                               coverage={"published": 1.0, "body_text": 1.0},
                               cause="DNS lookup failed for www.angiang.dcs.vn" if bad else None)
    return path


def _health(db: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "govarchive.cli", "--db", str(db), "health", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, env=clean_env(**env), check=False)


def test_health_notifies_by_email_and_webhook_when_a_portal_is_unhealthy(tmp_path: Path, smtp, webhook) -> None:
    port, mailbox = smtp
    db = _archive(tmp_path / "a.db", broken=True)
    env = {"GOVARCHIVE_SMTP_HOST": "127.0.0.1", "GOVARCHIVE_SMTP_PORT": str(port),
           "GOVARCHIVE_EMAIL_FROM": "govarchive@test.example", "GOVARCHIVE_EMAIL_TO": "ops@example.org, b@example.org",
           "GOVARCHIVE_WEBHOOK_URL": f"http://127.0.0.1:{webhook.server_address[1]}/hook"}
    result = _health(db, "--notify", env=env)
    assert result.returncode == 1, result.stderr  # unhealthy, and the report went out
    assert "report sent (email, webhook)" in result.stderr
    (envelope,) = mailbox.messages
    assert envelope.rcpt_tos == ["ops@example.org", "b@example.org"]
    message = email.message_from_bytes(envelope.content)
    assert message["Subject"] == "govarchive: 1 of 2 portals with problems: angiang-dcs"
    body = message.get_payload(decode=True).decode("utf-8")
    assert "angiang-dcs" in body and "DNS lookup failed for www.angiang.dcs.vn" in body and "PROBLEM" in body
    ((content_type, payload),) = webhook.posts
    assert content_type.startswith("application/json")
    assert payload["event"] == "govarchive.health" and payload["ok"] is False
    assert payload["problem_portals"] == ["angiang-dcs"] and payload["text"] == message["Subject"]
    portal = next(p for p in payload["portals"] if p["portal"] == "angiang-dcs")
    assert portal["cause"] == "DNS lookup failed for www.angiang.dcs.vn"
    assert portal["problems"][0] == "DNS lookup failed for www.angiang.dcs.vn"


def test_health_stays_quiet_when_healthy_unless_always(tmp_path: Path, smtp, webhook) -> None:
    port, mailbox = smtp
    db = _archive(tmp_path / "a.db", broken=False)
    env = {"GOVARCHIVE_WEBHOOK_URL": f"http://127.0.0.1:{webhook.server_address[1]}/"}
    assert _health(db, "--notify", env=env).returncode == 0
    assert webhook.posts == []
    result = _health(db, "--notify-always", "--email-to", "ops@example.org", env={
        **env, "GOVARCHIVE_SMTP_HOST": "127.0.0.1", "GOVARCHIVE_SMTP_PORT": str(port)})
    assert result.returncode == 0, result.stderr
    assert [p["event"] for _, p in webhook.posts] == ["govarchive.health"] and webhook.posts[0][1]["ok"] is True
    assert email.message_from_bytes(mailbox.messages[0].content)["Subject"] == "govarchive: all 2 portals healthy"


def test_health_failing_to_notify_is_health_failing(tmp_path: Path, webhook) -> None:
    db = _archive(tmp_path / "a.db", broken=True)
    webhook.status = 500  # type: ignore[attr-defined]
    result = _health(db, "--notify", "--webhook", f"http://127.0.0.1:{webhook.server_address[1]}/", env={})
    assert result.returncode == 2  # distinct from "unhealthy" (1): the operators were not told
    assert result.stderr.strip().splitlines()[-1].startswith("govarchive health: error: notification not sent: "
                                                             "webhook http://127.0.0.1:")
    assert "HTTP 500" in result.stderr and "Traceback" not in result.stderr
    closed = _free_port()
    result = _health(db, "--notify", env={"GOVARCHIVE_SMTP_HOST": "127.0.0.1", "GOVARCHIVE_SMTP_PORT": str(closed),
                                          "GOVARCHIVE_EMAIL_TO": "ops@example.org"})
    assert result.returncode == 2 and "e-mail via SMTP 127.0.0.1" in result.stderr and "Traceback" not in result.stderr


def test_health_that_cannot_run_tells_the_webhook(tmp_path: Path, webhook) -> None:
    Archive(tmp_path / "empty.db").close()
    result = _health(tmp_path / "empty.db", "--notify", "--webhook",
                     f"http://127.0.0.1:{webhook.server_address[1]}/", env={})
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [f"govarchive health: error: no crawl runs in {tmp_path / 'empty.db'} yet",
                                          "govarchive health: report sent (webhook)"]
    ((_, payload),) = webhook.posts
    assert payload["event"] == "govarchive.health_failed" and "no crawl runs" in payload["error"]


@pytest.mark.parametrize(("env", "message"), [
    ({"GOVARCHIVE_SMTP_PORT": "abc"}, "GOVARCHIVE_SMTP_PORT: 'abc' is not a port number"),
    ({"GOVARCHIVE_SMTP_SECURITY": "tls9"}, "GOVARCHIVE_SMTP_SECURITY: 'tls9' is not one of"),
    ({"GOVARCHIVE_EMAIL_TO": "ops"}, "GOVARCHIVE_EMAIL_TO: 'ops' is not an e-mail address"),
    ({"GOVARCHIVE_EMAIL_TO": "ops@example.org"}, "GOVARCHIVE_SMTP_HOST is not"),
    ({"GOVARCHIVE_WEBHOOK_URL": "ftp://x"}, "GOVARCHIVE_WEBHOOK_URL: 'ftp://x' is not an http(s) URL"),
    ({"GOVARCHIVE_NOTIFY_TIMEOUT": "-1"}, "GOVARCHIVE_NOTIFY_TIMEOUT"),
])
def test_a_bad_notification_variable_is_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(NotifyConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        config_from_env(env)


def test_notification_defaults() -> None:
    config = config_from_env({"GOVARCHIVE_SMTP_HOST": "mail", "GOVARCHIVE_SMTP_PORT": "587",
                              "GOVARCHIVE_EMAIL_TO": "a@b.vn"})
    assert (config.smtp_security, config.channels) == ("starttls", ["email"])
    assert config_from_env({"GOVARCHIVE_SMTP_SECURITY": "ssl"}).smtp_port == 465
    assert config_from_env({}).channels == []


def test_bad_notification_variable_fails_health_before_the_report(tmp_path: Path) -> None:
    db = _archive(tmp_path / "a.db", broken=True)
    result = _health(db, "--notify", env={"GOVARCHIVE_SMTP_PORT": "abc"})
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip() == ("govarchive health: error: GOVARCHIVE_SMTP_PORT: 'abc' is not a port number "
                                     "(1-65535)")
