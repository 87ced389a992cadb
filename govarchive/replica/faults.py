"""A fault-injecting replica: the offline replica portals, misbehaving on demand on any URL.

:class:`FaultServer` serves exactly what :class:`govarchive.replica.server.ReplicaServer` serves, plus rules
that make chosen URLs misbehave the way real servers do: redirect ping-pong (an ASP.NET/SharePoint
cookie-setting redirect back to the page asked for) and redirect loops, huge pages with or without a
``Content-Length``, huge fields, a body that trickles in, ``429``/``503`` with ``Retry-After``, bodies cut short
(the connection closes before ``Content-Length`` bytes), charset conflicts between the header and the page, slow
answers, and arbitrary rewrites of a page (other pager markup, 20,000 extra links ...). Every request is logged with
its monotonic time, and hooks run before each request is served.

>>> with FaultServer(FaultState.from_registry(["laichau-dcs"])) as server:  # doctest: +SKIP
...     server.state.add_rule("laichau.dcs.vn/Pages/chi-tiet-tin.aspx?ItemID=105", RetryAfter(120))

Patterns are :mod:`fnmatch` patterns over ``host/path?query`` (host without ``www.``); the first rule that
matches and still has uses left answers. Used by ``tests/test_faults*.py`` and ``benchmarks/bench_faults.py``.
"""

from __future__ import annotations

import fnmatch
import html
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from govarchive.replica.server import ReplicaServer, ReplicaState, _Handler, _Server
from govarchive.replica.sites import Reply

FILLER = ("<p>Đây là đoạn văn bản lặp lại để làm trang rất lớn: Ủy ban nhân dân tỉnh triển khai kế hoạch "
          "chuyển đổi số, cải cách hành chính và xây dựng nông thôn mới.</p>\n").encode()


class Fault:
    """How a rule misbehaves. ``serve`` answers the request itself (returns the status sent), or returns ``None``
    to let the replica answer, after ``adjust`` had a chance to rewrite that reply."""

    def serve(self, handler: FaultHandler, method: str, key: str) -> int | None:
        """Answer the request, or ``None`` for the replica's normal reply."""
        return None

    def adjust(self, reply: Reply, handler: FaultHandler) -> Reply:
        """Rewrite the replica's normal reply."""
        return reply


@dataclass
class Status(Fault):
    """A plain status with optional headers (``Retry-After``, ``Location`` ...)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"<html><body><h1>Server Error</h1></body></html>"

    def serve(self, handler: FaultHandler, method: str, key: str) -> int | None:
        handler.send_reply(method, Reply(self.status, self.body, headers=dict(self.headers)))
        return self.status


def RetryAfter(seconds: int | str, status: int = 429) -> Status:
    """``429 Too Many Requests`` (or 503) asking the client to wait ``seconds`` (a number or an HTTP date)."""
    return Status(status, {"Retry-After": str(seconds)}, b"<html><body><h1>Too Many Requests</h1></body></html>")


BOUNCE_PARAM = "AspxAutoDetectCookieSupport=1"
SESSION_COOKIE = "ASP.NET_SessionId"


@dataclass
class PingPong(Fault):
    """A → A?AspxAutoDetectCookieSupport=1 → A: ASP.NET's cookie-detection redirect on a cookie-less first visit.

    Without the session cookie the page redirects to its bounce URL, which sets the cookie and redirects back to
    the page; with the cookie the page is served normally. ``loop=True`` never sets the cookie: A → B → A → B ...
    """

    loop: bool = False

    def serve(self, handler: FaultHandler, method: str, key: str) -> int | None:
        if not self.loop and SESSION_COOKIE in (handler.headers.get("Cookie") or ""):
            return None
        sep = "&" if "?" in handler.path else "?"
        handler.send_reply(method, Reply(302, b"", headers={"Location": f"{handler.path}{sep}{BOUNCE_PARAM}"}))
        return 302


@dataclass
class Bounce(Fault):
    """The bounce URL of :class:`PingPong`: redirect back to the page, setting the session cookie unless ``loop``."""

    loop: bool = False

    def serve(self, handler: FaultHandler, method: str, key: str) -> int | None:
        back = handler.path.replace(f"&{BOUNCE_PARAM}", "").replace(f"?{BOUNCE_PARAM}", "")
        headers = {"Location": back}
        if not self.loop:
            headers["Set-Cookie"] = f"{SESSION_COOKIE}=s3ss10n; path=/; HttpOnly"
        handler.send_reply(method, Reply(302, b"", headers=headers))
        return 302


@dataclass
class Huge(Fault):
    """A page of ``size`` bytes, streamed; ``content_length=False`` sends no length (read until the close)."""

    size: int
    content_length: bool = True

    def serve(self, handler: FaultHandler, method: str, key: str) -> int | None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        if self.content_length:
            handler.send_header("Content-Length", str(self.size))
        handler.send_header("Connection", "close")
        handler.close_connection = True
        handler.end_headers()
        if method == "HEAD":
            return 200
        head = "<html><head><title>Trang lớn</title></head><body>".encode()
        sent = 0
        try:
            handler.wfile.write(head)
            sent = len(head)
            chunk = FILLER * (65536 // len(FILLER))
            while sent < self.size:
                part = chunk[: self.size - sent]
                handler.wfile.write(part)
                sent += len(part)
        except OSError:  # the client gave up (its size cap): that is the point
            pass
        return 200


@dataclass
class Slow(Fault):
    """The replica's page, answered after ``seconds`` (a slow server; spreads a crawl's work over time)."""

    seconds: float = 0.2

    def serve(self, handler: FaultHandler, method: str, key: str) -> int | None:
        time.sleep(self.seconds)
        return None


def _start_reply(handler: FaultHandler, method: str, *, close: bool = False) -> Reply:
    """The replica's reply to the request, its status and headers sent (full ``Content-Length``), body not yet."""
    _key, reply = handler.reply_for(method, b"")
    handler.send_response(reply.status)
    handler.send_header("Content-Type", reply.content_type)
    handler.send_header("Content-Length", str(len(reply.body)))
    if close:
        handler.send_header("Connection", "close")
    handler.end_headers()
    return reply


@dataclass
class Drip(Fault):
    """The replica's page, sent ``chunk`` bytes every ``interval`` seconds (a slow, stalling server)."""

    chunk: int = 64
    interval: float = 0.5

    def serve(self, handler: FaultHandler, method: str, key: str) -> int | None:
        reply = _start_reply(handler, method)
        try:
            for start in range(0, len(reply.body), self.chunk):
                handler.wfile.write(reply.body[start:start + self.chunk])
                handler.wfile.flush()
                time.sleep(self.interval)
        except OSError:  # the client timed out and closed the connection
            handler.close_connection = True
        return reply.status


@dataclass
class Truncate(Fault):
    """The replica's page with its full ``Content-Length``, but only ``keep`` of the body before the connection
    closes (a proxy or server dying mid-response: Scrapy's ``ResponseDataLossError``)."""

    keep: float = 0.5

    def serve(self, handler: FaultHandler, method: str, key: str) -> int | None:
        reply = _start_reply(handler, method, close=True)
        handler.wfile.write(reply.body[: int(len(reply.body) * self.keep)])
        handler.wfile.flush()
        handler.close_connection = True
        return reply.status


@dataclass
class Rewrite(Fault):
    """The replica's page rewritten by ``fn(html, context)``; ``content_type`` replaces the header when given.

    ``context`` holds ``path``, ``query`` (parsed) and ``key`` of the request.
    """

    fn: Callable[[str, dict[str, Any]], str] | None = None
    content_type: str | None = None
    encoding: str = "utf-8"

    def adjust(self, reply: Reply, handler: FaultHandler) -> Reply:
        body = reply.body
        if self.fn is not None and reply.status == 200 and reply.content_type.startswith("text/html"):
            parts = urlsplit(handler.path)
            context = {"path": parts.path, "query": parse_qs(parts.query), "key": handler.request_key()[1]}
            body = self.fn(body.decode("utf-8"), context).encode(self.encoding)
        return Reply(reply.status, body, self.content_type or reply.content_type, dict(reply.headers))


def CharsetConflict(header: str = "iso-8859-1") -> Rewrite:
    """The page as served (UTF-8, ``<meta charset=utf-8>``) under a ``Content-Type`` header naming ``header``."""
    return Rewrite(content_type=f"text/html; charset={header}")


def HugeField(text: str, chars: int) -> Rewrite:
    """Every occurrence of ``text`` (a title, say) in the page grows by ``chars`` characters."""
    filler = html.escape(("Nội dung rất dài " * (chars // 17 + 1))[:chars])
    return Rewrite(fn=lambda page, _ctx: page.replace(html.escape(text, quote=True), html.escape(text) + filler))


@dataclass
class Rule:
    """A fault on URLs matching ``pattern``, for ``times`` requests (``None``: until removed)."""

    pattern: str
    fault: Fault
    times: int | None = None


@dataclass
class FaultState(ReplicaState):
    """The replica's state plus fault rules, a timed request log and per-request hooks."""

    rules: list[Rule] = field(default_factory=list)
    #: (monotonic time the request arrived, method, key, status), appended once the reply is sent: timing tests ask
    #: when a request was made, and a slow or stalled reply must not move it later
    timeline: list[tuple[float, str, str, int]] = field(default_factory=list)
    hooks: list[Callable[[int, str], None]] = field(default_factory=list)  # (requests so far, key), before serving
    served: int = 0

    def add_rule(self, pattern: str, fault: Fault, times: int | None = None) -> Rule:
        """Misbehave on URLs matching ``pattern`` (``host/path?query``, fnmatch; a full URL is accepted too)."""
        if "://" in pattern:
            parts = urlsplit(pattern)
            pattern = f"{(parts.hostname or '').removeprefix('www.')}{parts.path}" + (
                f"?{parts.query}" if parts.query else "")
        rule = Rule(pattern, fault, times)
        with self.lock:
            self.rules.append(rule)
        return rule

    def ping_pong(self, url: str, *, loop: bool = False, times: int | None = None) -> None:
        """``url`` redirects to its bounce URL and back (forever when ``loop``)."""
        rule = self.add_rule(url, PingPong(loop), times)
        self.add_rule(f"{rule.pattern}[?&]{BOUNCE_PARAM}", Bounce(loop))

    def clear_rules(self) -> None:
        """Heal every fault rule (and the replica's injected statuses)."""
        with self.lock:
            self.rules.clear()
        self.clear_faults()

    def take(self, key: str) -> Rule | None:
        """The rule answering ``key``, its use counted."""
        with self.lock:
            for rule in self.rules:
                if fnmatch.fnmatchcase(key, rule.pattern):
                    if rule.times is not None:
                        rule.times -= 1
                        if rule.times <= 0:
                            self.rules.remove(rule)
                    return rule
        return None

    def requests_matching(self, pattern: str) -> list[tuple[float, str, str, int]]:
        """Timed log entries whose key matches ``pattern``."""
        return [entry for entry in self.timeline if fnmatch.fnmatchcase(entry[2], pattern)]


class FaultHandler(_Handler):
    """The replica's request handler, consulting the fault rules first."""

    server: Any

    def _serve(self, method: str, body: bytes) -> None:
        arrived = time.monotonic()  # before any hook, rule or reply can take time
        state: FaultState = self.server.state
        _host, key = self.request_key()
        with state.lock:
            state.served += 1
            count = state.served
        for hook in list(state.hooks):
            hook(count, key)
        rule = state.take(key)
        status = rule.fault.serve(self, method, key) if rule is not None else None
        if status is None:
            key, reply = self.reply_for(method, body)
            if rule is not None:
                reply = rule.fault.adjust(reply, self)
            self.send_reply(method, reply)
            status = reply.status
        with state.lock:
            state.log.append((method, key, status))
            state.timeline.append((arrived, method, key, status))


class _FaultHTTPServer(_Server):
    # Timing tests read the request log: the default listen backlog (5) would delay a burst of connections by the
    # 1 s SYN retry, which looks like a pause that nobody asked for.
    request_queue_size = 128


class FaultServer(ReplicaServer):
    """The replica with fault rules, on a free 127.0.0.1 port (see :class:`FaultState`)."""

    handler = FaultHandler
    server_class = _FaultHTTPServer
    state: FaultState

    def __init__(self, state: FaultState | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(state or FaultState.from_registry(), host=host, port=port)
