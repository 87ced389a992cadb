"""An offline replica of the portals, served on 127.0.0.1.

Each registry entry with ``replica = true`` is served by the replica site of its platform
(:mod:`govarchive.replica.sites`), in that platform's real markup: listing pages with pagination, article
pages, attachments, images, robots.txt, and the feeds or list endpoints the platform offers. Requests carry the
real host in ``X-Replica-Host`` (set by :mod:`portal_spiders.routing`), so one port serves every portal.

The state is mutable for tests: add or edit articles, inject HTTP errors, or break a portal's layout.

Run it by hand with ``python -m govarchive.replica --port 8765``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from govarchive.replica.content import ReplicaArticle, generate_articles
from govarchive.replica.sites import ReplicaSite, Reply, site_classes


@dataclass
class Fault:
    """An injected failure: ``status`` for the next ``times`` requests (``None``: until removed)."""

    status: int
    times: int | None = None


@dataclass
class ReplicaState:
    """Every replica site by host, plus injected faults and a request log."""

    sites: dict[str, ReplicaSite] = field(default_factory=dict)
    faults: dict[str, Fault] = field(default_factory=dict)  # key: "host/path?query" or "host/path"
    log: list[tuple[str, str, int]] = field(default_factory=list)  # (method, host/path?query, status)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_registry(cls, slugs: list[str] | None = None, *, articles_per_portal: int = 12,
                      page_sizes: dict[str, int] | None = None) -> ReplicaState:
        """Build the replica of every ``replica = true`` portal (or of ``slugs``).

        ``page_sizes``: articles per listing page by platform, instead of the sites' small defaults (chosen so that
        a dozen articles already make several pages); the benchmarks pass the sizes seen on real portals.
        """
        from portal_spiders.registry import default_registry

        state = cls()
        classes = site_classes()
        for cfg in default_registry().values():
            if (slugs is None and not cfg.replica) or (slugs is not None and cfg.slug not in slugs):
                continue
            if cfg.platform not in classes:
                raise ValueError(f"no replica site for platform {cfg.platform!r} (portal {cfg.slug})")
            site = classes[cfg.platform](cfg, generate_articles(cfg.slug, articles_per_portal))
            if page_sizes and cfg.platform in page_sizes:
                site.per_page = page_sizes[cfg.platform]
            for host in cfg.hosts:
                state.sites[host.removeprefix("www.")] = site
        return state

    def site(self, slug: str) -> ReplicaSite:
        """The replica site of a portal slug."""
        for site in self.sites.values():
            if site.portal.slug == slug:
                return site
        raise KeyError(slug)

    @property
    def portals(self) -> list[str]:
        """Slugs of the served portals."""
        return list(dict.fromkeys(s.portal.slug for s in self.sites.values()))

    def set_fault(self, url: str, status: int, times: int | None = None) -> None:
        """Answer ``url`` (``https://host/path?query``) with ``status`` for ``times`` requests."""
        parts = urlsplit(url)
        key = f"{(parts.hostname or '').removeprefix('www.')}{parts.path}" + (f"?{parts.query}" if parts.query else "")
        self.faults[key] = Fault(status, times)

    def set_outage(self, host: str, status: int = 503) -> None:
        """Answer every request to ``host`` with ``status`` (a whole-site outage) until :meth:`clear_faults`."""
        self.faults[host.removeprefix("www.")] = Fault(status)

    def clear_faults(self) -> None:
        """Heal every injected fault."""
        self.faults.clear()

    def add_articles(self, slug: str, articles: list[ReplicaArticle]) -> None:
        """Publish new articles (they become the newest)."""
        self.site(slug).add_articles(articles)

    def requests_for(self, host: str) -> list[tuple[str, str, int]]:
        """Logged requests to ``host``."""
        host = host.removeprefix("www.")
        return [entry for entry in self.log if entry[1].startswith(host + "/")]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        return  # quiet: the state keeps a request log

    def do_GET(self) -> None:
        self._serve("GET", b"")

    def do_HEAD(self) -> None:
        self._serve("HEAD", b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._serve("POST", self.rfile.read(length) if length else b"")

    def _serve(self, method: str, body: bytes) -> None:
        key, reply = self.reply_for(method, body)
        with self.server.state.lock:
            self.server.state.log.append((method, key, reply.status))
        self.send_reply(method, reply)

    def request_key(self) -> tuple[str, str]:
        """``(host, "host/path?query")`` of the request, the host without ``www.``."""
        host = (self.headers.get("X-Replica-Host") or self.headers.get("Host") or "").split(":")[0].lower()
        host = host.removeprefix("www.")
        parts = urlsplit(self.path)
        return host, f"{host}{parts.path}" + (f"?{parts.query}" if parts.query else "")

    def reply_for(self, method: str, body: bytes) -> tuple[str, Reply]:
        """The replica's reply to this request (an injected fault, the site's page, or a 404)."""
        state = self.server.state
        host, key_full = self.request_key()
        parts = urlsplit(self.path)
        reply = None
        with state.lock:
            fault = state.faults.get(key_full) or state.faults.get(f"{host}{parts.path}") or state.faults.get(host)
            if fault is not None:
                reply = Reply(fault.status, b"<html><body><h1>Server Error</h1></body></html>")
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        state.faults = {k: v for k, v in state.faults.items() if v is not fault}
        if reply is None:
            site = state.sites.get(host)
            if site is None:
                reply = Reply(404, f"unknown replica host {host!r}".encode())
            else:
                form = parse_qs(body.decode("utf-8", "replace")) if body else {}
                try:
                    reply = site.handle(method, unquote(parts.path), parse_qs(parts.query), form) or Reply(
                        404, b"<html><body><h1>404 - Not Found</h1></body></html>")
                except Exception as exc:  # a replica bug must show up as a 500, not a hung socket
                    reply = Reply(500, f"replica error: {exc!r}".encode())
        return key_full, reply

    def send_reply(self, method: str, reply: Reply) -> None:
        """Write ``reply`` (headers, then the body unless HEAD)."""
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(reply.body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: ReplicaState


class ReplicaServer:
    """The replica on a free loopback port, in a background thread.

    >>> with ReplicaServer() as replica:  # doctest: +SKIP
    ...     print(replica.url)
    """

    handler: type[BaseHTTPRequestHandler] = _Handler
    server_class: type[_Server] = _Server

    def __init__(self, state: ReplicaState | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = state or ReplicaState.from_registry()
        self._server = self.server_class((host, port), self.handler)
        self._server.state = self.state
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:40123``."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ReplicaServer:
        """Serve in a daemon thread."""
        self._thread = threading.Thread(target=self._server.serve_forever, name="replica", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> ReplicaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
