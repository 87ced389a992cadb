"""Send reports where operators look: e-mail through SMTP, and a generic JSON webhook.

Standard library only (``smtplib``, ``urllib``): ``govarchive health`` must not load Scrapy, so spidermon's own
actions (Scrapy's Twisted mail sender) do not fit there; inside a crawl the spidermon action
:class:`portal_spiders.monitors.NotifyFailedRun` calls this module.

Configured by environment variables (``/etc/govarchive/env`` for systemd, the crontab for cron); ``health``'s
``--email-to``/``--webhook`` options override the addresses:

====================================  ===========================================================================
``GOVARCHIVE_SMTP_HOST``              SMTP server (e-mail is off without it)
``GOVARCHIVE_SMTP_PORT``              default 587 with ``starttls``, 465 with ``ssl``, else 25
``GOVARCHIVE_SMTP_SECURITY``          ``starttls``, ``ssl`` or ``none`` (default ``starttls`` on port 587, ``ssl``
                                      on 465, else ``none``)
``GOVARCHIVE_SMTP_USER``/``_PASSWORD`` login, if the server wants one
``GOVARCHIVE_EMAIL_FROM``             sender (default ``govarchive@<this host>``)
``GOVARCHIVE_EMAIL_TO``               recipients, comma-separated
``GOVARCHIVE_WEBHOOK_URL``            http(s) URL that receives the report as a JSON POST
``GOVARCHIVE_NOTIFY_TIMEOUT``         seconds per delivery attempt (default 20)
====================================  ===========================================================================

The webhook body is the report's JSON plus ``event``, ``text`` (one-line summary: Slack-compatible ``text``),
``host`` and ``sent_at``. A bad variable is refused with its name (:class:`NotifyConfigError`); a delivery that
fails raises :class:`NotifyError` naming the channel and the reason.
"""

from __future__ import annotations

import json
import os
import smtplib
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

SECURITY = ("starttls", "ssl", "none")


class NotifyError(Exception):
    """A notification could not be delivered (or configured); the message says which channel and why."""


class NotifyConfigError(NotifyError):
    """A ``GOVARCHIVE_*`` notification variable is malformed; the message names it."""


@dataclass(frozen=True)
class NotifyConfig:
    """Where notifications go."""

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_security: str = "none"
    smtp_user: str | None = None
    smtp_password: str | None = None
    email_from: str = "govarchive@localhost"
    email_to: tuple[str, ...] = ()
    webhook_url: str | None = None
    timeout: float = 20.0

    @property
    def channels(self) -> list[str]:
        """The configured channels: ``email``, ``webhook``."""
        return [name for name, on in (("email", bool(self.smtp_host and self.email_to)),
                                      ("webhook", bool(self.webhook_url))) if on]


def _addresses(text: str, name: str) -> tuple[str, ...]:
    addresses = tuple(a.strip() for a in text.split(",") if a.strip())
    for address in addresses:
        if "@" not in address or any(c.isspace() for c in address):
            raise NotifyConfigError(f"{name}: {address!r} is not an e-mail address")
    return addresses


def config_from_env(env: Mapping[str, str] | None = None, *, email_to: list[str] | None = None,
                    webhook_url: str | None = None) -> NotifyConfig:
    """The configuration from ``GOVARCHIVE_*`` variables; ``email_to``/``webhook_url`` override them."""
    env = os.environ if env is None else env

    def get(name: str) -> str | None:
        value = env.get(name, "").strip()
        return value or None

    security = (get("GOVARCHIVE_SMTP_SECURITY") or "").lower() or None
    if security is not None and security not in SECURITY:
        raise NotifyConfigError(f"GOVARCHIVE_SMTP_SECURITY: {security!r} is not one of {', '.join(SECURITY)}")
    port_text = get("GOVARCHIVE_SMTP_PORT")
    if port_text is not None:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise NotifyConfigError(f"GOVARCHIVE_SMTP_PORT: {port_text!r} is not a port number (1-65535)")
        port = int(port_text)
    else:
        port = {"starttls": 587, "ssl": 465}.get(security or "", 25)
    if security is None:
        security = {587: "starttls", 465: "ssl"}.get(port, "none")
    timeout_text = get("GOVARCHIVE_NOTIFY_TIMEOUT") or "20"
    try:
        timeout = float(timeout_text)
        if timeout <= 0:
            raise ValueError
    except ValueError:
        raise NotifyConfigError(f"GOVARCHIVE_NOTIFY_TIMEOUT: {timeout_text!r} is not a positive number") from None
    to = tuple(a.strip() for a in email_to) if email_to else _addresses(get("GOVARCHIVE_EMAIL_TO") or "",
                                                                        "GOVARCHIVE_EMAIL_TO")
    if email_to:
        _addresses(",".join(to), "--email-to")
    webhook = webhook_url or get("GOVARCHIVE_WEBHOOK_URL")
    if webhook and not webhook.startswith(("http://", "https://")):
        name = "--webhook" if webhook_url else "GOVARCHIVE_WEBHOOK_URL"
        raise NotifyConfigError(f"{name}: {webhook!r} is not an http(s) URL")
    host = get("GOVARCHIVE_SMTP_HOST")
    if to and not host:
        raise NotifyConfigError("GOVARCHIVE_EMAIL_TO is set but GOVARCHIVE_SMTP_HOST is not: where should the "
                                "mail go?")
    return NotifyConfig(smtp_host=host, smtp_port=port, smtp_security=security, smtp_user=get("GOVARCHIVE_SMTP_USER"),
                        smtp_password=get("GOVARCHIVE_SMTP_PASSWORD"),
                        email_from=get("GOVARCHIVE_EMAIL_FROM") or f"govarchive@{socket.getfqdn() or 'localhost'}",
                        email_to=to, webhook_url=webhook, timeout=timeout)


def send_email(config: NotifyConfig, *, subject: str, text: str) -> None:
    """Mail ``text`` to every recipient; raises :class:`NotifyError` naming the server and the reason."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = config.email_from
    message["To"] = ", ".join(config.email_to)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=config.email_from.rpartition("@")[2] or None)
    message.set_content(text)
    where = f"SMTP {config.smtp_host}:{config.smtp_port}"
    try:
        if config.smtp_security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(config.smtp_host or "", config.smtp_port, timeout=config.timeout,
                                                    context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(config.smtp_host or "", config.smtp_port, timeout=config.timeout)
        with client:
            if config.smtp_security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if config.smtp_user:
                client.login(config.smtp_user, config.smtp_password or "")
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise NotifyError(f"e-mail via {where} failed: {_reason(exc)}") from None


def post_webhook(config: NotifyConfig, payload: dict[str, Any]) -> None:
    """POST ``payload`` as JSON; raises :class:`NotifyError` unless the answer is 2xx."""
    body = json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8")
    request = urllib.request.Request(config.webhook_url or "", data=body, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", "User-Agent": "govarchive-notify"})
    try:
        with urllib.request.urlopen(request, timeout=config.timeout) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        raise NotifyError(f"webhook {config.webhook_url} answered HTTP {exc.code} {exc.reason}") from None
    except (OSError, ValueError) as exc:
        raise NotifyError(f"webhook {config.webhook_url} failed: {_reason(exc)}") from None


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    if isinstance(exc, urllib.error.URLError) and reason is not None:
        exc = reason if isinstance(reason, BaseException) else exc
    if isinstance(exc, smtplib.SMTPResponseException):
        error = exc.smtp_error
        return f"{exc.smtp_code} {error.decode('utf-8', 'replace') if isinstance(error, bytes) else error}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return " ".join(str(exc).split()) or type(exc).__name__


def send(config: NotifyConfig, *, subject: str, text: str, payload: dict[str, Any]) -> list[str]:
    """Deliver through every configured channel; returns the channels used.

    Every channel is tried; if any failed, :class:`NotifyError` lists all failures after the others were sent.
    """
    if not config.channels:
        raise NotifyError("no notification channel is configured (set GOVARCHIVE_SMTP_HOST and "
                          "GOVARCHIVE_EMAIL_TO, or GOVARCHIVE_WEBHOOK_URL; see docs/operations.md)")
    payload = {**payload, "host": socket.gethostname(), "sent_at": datetime.now(UTC).isoformat(timespec="seconds")}
    errors = []
    for channel in config.channels:
        try:
            if channel == "email":
                send_email(config, subject=subject, text=text)
            else:
                post_webhook(config, payload)
        except NotifyError as exc:
            errors.append(str(exc))
    if errors:
        raise NotifyError("; ".join(errors))
    return config.channels
