"""Why a crawl went wrong, in words an operator can act on.

Scrapy reports a dead host as ``CannotResolveHostError`` tracebacks and a run that "finished". This module
turns download outcomes into per-host counts and the counts into one sentence:

* :class:`DiagnosisMiddleware` (downloader middleware, next to the download handler) counts every download
  attempt per host and outcome in the crawl stats: ``govarchive/net/<host>/ok``, ``.../dns``, ``.../refused``,
  ``.../tls``, ``.../timeout``, ``.../http_403`` ... plus one sample detail per kind (the TLS alert, say).
* :class:`DiagnosisExtension` writes :func:`explain`'s sentence into the stats as ``govarchive/cause`` when the
  spider closes (before spidermon and the store run), so the monitors, ``crawl_runs.cause``, the crawl summary
  and ``govarchive health`` all say the same thing: "DNS lookup failed for laichau.dcs.vn", "connection refused
  by ...", "TLS handshake failed with ... (certificate verify failed)", "HTTP 403 on every request to ...".
* :class:`ShortNetworkErrors` is a logging filter: a network error is one log line, not a 75-line traceback.

:func:`classify` and :func:`explain` need no Scrapy (exceptions are recognised by class name), so query commands
may use them.
"""

from __future__ import annotations

import errno
import logging
import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

NET_PREFIX = "govarchive/net/"
DETAIL_PREFIX = "govarchive/net_detail/"
CAUSE_STAT = "govarchive/cause"
NETWORK_KINDS = frozenset({"dns", "refused", "timeout", "unreachable"})  # the host was never reached
DEAD_KINDS = NETWORK_KINDS | {"tls"}  # a host failing like this on every attempt is skipped for the rest of the run
NOT_HELD_AGAINST_HOST = frozenset({"ok", "interrupted", "skipped"})

# Exception class names (anywhere in the MRO, the cause chain or Twisted's ``reasons``) -> outcome kind.
_KIND_BY_CLASS = {
    "DownloadInterrupted": "interrupted", "HostDown": "skipped", "BlockedAddress": "blocked",
    "CannotResolveHostError": "dns", "DNSLookupError": "dns",
    "DownloadConnectionRefusedError": "refused", "ConnectionRefusedError": "refused",
    "DownloadTimeoutError": "timeout", "TimeoutError": "timeout", "TCPTimedOutError": "timeout",
    "UserTimeout": "timeout",
    "NoRouteError": "unreachable", "HostUnreachableError": "unreachable", "NetworkUnreachableError": "unreachable",
    "SSLError": "tls", "CertificateError": "tls", "VerificationError": "tls",
    "ConnectionLost": "dropped", "ConnectionDone": "dropped", "ResponseDataLossError": "dropped",
    "ConnectionAborted": "dropped", "ConnectError": "unreachable",  # ConnectError: base of the connect errors
}
_PRIORITY = ("interrupted", "skipped", "blocked", "tls", "dns", "refused", "timeout", "unreachable", "dropped")

# kind -> (every attempt failed, some attempts failed); {host}, {n}, {total}, {detail}
_WORDS = {
    "dns": ("DNS lookup failed for {host}", "DNS lookup failed for {host} on {n} of {total} requests"),
    "refused": ("connection refused by {host}", "connection refused by {host} on {n} of {total} requests"),
    "timeout": ("{host} did not answer in time (timeout)", "{host} timed out on {n} of {total} requests"),
    "unreachable": ("{host} is unreachable (no route to host)", "{host} unreachable on {n} of {total} requests"),
    "tls": ("TLS handshake failed with {host}{detail}", "TLS handshake failed with {host}{detail} on {n} of {total} "
                                                       "requests"),
    "dropped": ("{host} dropped every connection{detail}", "{host} dropped the connection on {n} of {total} "
                                                          "requests"),
    "blocked": ("{host} was not fetched: its address is not public{detail}",
                "{host} was not fetched on {n} of {total} requests: its address is not public{detail}"),
    "other": ("download error from {host}{detail}", "download errors from {host}{detail} on {n} of {total} requests"),
}
_REASONS = {
    "shutdown": "interrupted — the next run resumes",
    "network_down": "stopped: no host answered (the network was down)",
    "closespider_timeout": "stopped by CLOSESPIDER_TIMEOUT",
    "closespider_errorcount": "stopped by CLOSESPIDER_ERRORCOUNT",
    "start_error": "the spider could not start (see the log)",
}


def reason_words(reason: str | None) -> str:
    """A Scrapy finish reason in words (``shutdown`` -> "interrupted — the next run resumes")."""
    if not reason:
        return "no finish reason: the process was killed?"
    if reason == "finished":
        return "finished normally"
    return _REASONS.get(reason, f"the run ended with '{reason}'")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, its causes and contexts, and the failures Twisted wraps in ``reasons``."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend(getattr(r, "value", r) for r in getattr(current, "reasons", None) or [])
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)


def classify(exc: BaseException) -> str:
    """The kind of a download error: ``dns``, ``refused``, ``timeout``, ``unreachable``, ``tls``, ``dropped``,
    ``interrupted`` or ``other``."""
    found: set[str] = set()
    for current in _chain(exc):
        for klass in type(current).__mro__:
            if klass.__module__.startswith("OpenSSL") or klass.__module__ == "ssl":
                found.add("tls")
            kind = _KIND_BY_CLASS.get(klass.__name__)
            if kind:
                found.add(kind)
    return next((kind for kind in _PRIORITY if kind in found), "other")


def detail(exc: BaseException) -> str:
    """A short human detail of a download error (the TLS alert, the OS error), or ``""``."""
    for current in _chain(exc):
        if type(current).__module__.startswith("OpenSSL"):
            # OpenSSL.SSL.Error([('SSL routines', '', 'certificate verify failed')])
            reasons = [t[-1] for t in (current.args[0] if current.args else []) if isinstance(t, tuple) and t]
            if reasons:
                return str(reasons[-1])
    text = str(exc).strip()
    return re.sub(r"\s+", " ", text)[:120] if classify(exc) in ("other", "blocked") else ""


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "?").lower().removeprefix("www.")


def per_host(stats: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """``{host: {outcome kind: attempts}}`` from the ``govarchive/net/<host>/<kind>`` stats."""
    hosts: dict[str, dict[str, int]] = {}
    for key, value in stats.items():
        if key.startswith(NET_PREFIX):
            host, _, kind = key[len(NET_PREFIX):].rpartition("/")
            if host:
                hosts.setdefault(host, {})[kind] = int(value)
    return hosts


def _phrase(kind: str, host: str, n: int, total: int, stats: Mapping[str, Any]) -> str:
    if kind.startswith("http_"):
        status = kind.removeprefix("http_")
        return (f"HTTP {status} on every request to {host}" if n == total
                else f"HTTP {status} on {n} of {total} requests to {host}")
    every, some = _WORDS.get(kind, _WORDS["other"])
    sample = stats.get(f"{DETAIL_PREFIX}{host}/{kind}")
    extra = f" ({sample})" if sample else ""
    return (every if n == total else some).format(host=host, n=n, total=total, detail=extra)


def network_down(stats: Mapping[str, Any], *, min_hosts: int = 3) -> str | None:
    """If no host answered at all and at least ``min_hosts`` failed at the network level: why, in words."""
    hosts = per_host(stats)
    if not hosts or any(counts.get("ok") or any(k.startswith("http_") for k in counts) for counts in hosts.values()):
        return None
    failed = {host: counts for host, counts in hosts.items() if set(counts) & NETWORK_KINDS}
    if len(failed) < min_hosts:
        return None
    kinds: dict[str, int] = {}
    for counts in failed.values():
        kind = max((k for k in counts if k in NETWORK_KINDS), key=lambda k: counts[k])
        kinds[kind] = kinds.get(kind, 0) + 1
    words = {"dns": "DNS lookup failed", "refused": "connection refused", "timeout": "no answer (timeout)",
             "unreachable": "no route"}
    how = ", ".join(f"{words[k]} for {n} host{'s' if n > 1 else ''}" for k, n in sorted(kinds.items(),
                                                                                      key=lambda kv: -kv[1]))
    example = sorted(failed)[0]
    return f"network appears to be down: no host answered ({how}, e.g. {example})"


def explain(stats: Mapping[str, Any], finish_reason: str | None = None, *, max_failed_share: float = 0.2) -> str | None:
    """The cause of a run's trouble in one sentence, or ``None`` when nothing stands out.

    Names the finish reason when it was not ``finished``, then each host whose requests failed: on every
    attempt ("DNS lookup failed for laichau.dcs.vn") or on more than ``max_failed_share`` of them ("HTTP 503
    on 14 of 40 requests to ..."). Requests that were cut short by an interruption are not held against a host.
    """
    parts = []
    if finish_reason and finish_reason != "finished":
        parts.append(reason_words(finish_reason))
    for host, counts in sorted(per_host(stats).items()):
        bad = {k: n for k, n in counts.items() if k not in NOT_HELD_AGAINST_HOST}
        total = counts.get("ok", 0) + sum(bad.values())
        if not bad or not total:
            continue
        failed = sum(bad.values())
        if failed < total and failed / total <= max_failed_share:
            continue
        kind, n = max(bad.items(), key=lambda kv: (kv[1], kv[0]))
        parts.append(_phrase(kind, host, n, total, stats))
    if not parts and not int(stats.get("govarchive/articles_parsed", 0)) and int(
            stats.get("govarchive/empty_listing_pages", 0)):
        parts.append("the listing pages had no article links (layout change?)")
    return "; ".join(parts) or None


class DiagnosisMiddleware:
    """Downloader middleware: count each download attempt's outcome per host (``govarchive/net/...``).

    It sits next to the download handler (order 950), so it sees every attempt, retries included, before the
    retry middleware decides anything. robots.txt answers are not counted (a 404 there is normal), but robots.txt
    network errors are: they are often the first sign of a dead host.

    A host that never answered and whose request failed at the network level on its last retry (DNS, refused,
    timeout, no route, TLS) is dead for the rest of the run (``GOVARCHIVE_SKIP_DEAD_HOSTS``): its other requests
    fail at once as :class:`~portal_spiders.interrupt.HostDown` (recorded, retried by the next run) instead of
    each one going through every retry and backoff wait.
    """

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.settings = crawler.settings
        self.skip_dead = crawler.settings.getbool("GOVARCHIVE_SKIP_DEAD_HOSTS", True)
        self.dead: dict[str, str] = {}  # host -> what failed, in words

    @classmethod
    def from_crawler(cls, crawler: Any) -> DiagnosisMiddleware:
        """Scrapy factory."""
        return cls(crawler)

    def process_request(self, request: Any, spider: Any = None) -> None:
        """Refuse a request to a dead host."""
        why = self.dead.get(_host(request.url))
        if why:
            from portal_spiders.interrupt import HostDown

            raise HostDown(f"not fetched: {why} on every attempt earlier in this run; the next run tries again")

    def _answered(self, host: str) -> bool:
        prefix = f"{NET_PREFIX}{host}/"
        return any(key.startswith(prefix) and (key.endswith("/ok") or "/http_" in key)
                   for key in self.stats.get_stats())

    def process_response(self, request: Any, response: Any, spider: Any = None) -> Any:
        """Count the answer: ``ok`` below 400, else ``http_<status>``."""
        if not request.url.endswith("/robots.txt"):
            kind = "ok" if response.status < 400 else f"http_{response.status}"
            self.stats.inc_value(f"{NET_PREFIX}{_host(request.url)}/{kind}")
        return response

    def process_exception(self, request: Any, exception: Exception, spider: Any = None) -> None:
        """Count the error by kind and keep one sample detail per host and kind."""
        kind = classify(exception)
        host = _host(request.url)
        self.stats.inc_value(f"{NET_PREFIX}{host}/{kind}")
        sample = detail(exception)
        if sample and not self.stats.get_value(f"{DETAIL_PREFIX}{host}/{kind}"):
            self.stats.set_value(f"{DETAIL_PREFIX}{host}/{kind}", sample)
        retries = request.meta.get("max_retry_times", self.settings.getint("RETRY_TIMES"))
        last_try = not self.settings.getbool("RETRY_ENABLED") or request.meta.get("retry_times", 0) >= retries
        if self.skip_dead and kind in DEAD_KINDS and last_try and host not in self.dead and not self._answered(host):
            self.dead[host] = _phrase(kind, host, 1, 1, self.stats.get_stats())
            self.stats.inc_value("govarchive/dead_hosts")
            if self.crawler.spider is not None:
                self.crawler.spider.logger.warning("%s on every attempt: its other pages are skipped in this run",
                                                   self.dead[host])
        return None


class DiagnosisExtension:
    """Put :func:`explain`'s sentence into the stats (``govarchive/cause``) when the spider closes.

    Extensions connect to ``spider_closed`` before the item pipelines, and this one is ordered before spidermon,
    so both the monitors and the store pipeline see the cause.
    """

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> DiagnosisExtension:
        """Scrapy factory."""
        from scrapy import signals

        ext = cls(crawler)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        install_log_filter()
        return ext

    def spider_closed(self, spider: Any, reason: str) -> None:
        """Explain the run."""
        stats = self.crawler.stats
        cause = explain(stats.get_stats(), reason,
                        max_failed_share=self.crawler.settings.getfloat("GOVARCHIVE_MAX_FAILED_SHARE", 0.2))
        if cause:
            stats.set_value(CAUSE_STAT, cause)
            spider.logger.warning("cause: %s", cause)


_WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS})


def local_write_failure(exc: BaseException) -> str | None:
    """``OSError: [Errno 28] No space left on device`` when ``exc`` (or what it wraps) is a failed local write: a
    full disk, a file size limit (ulimit -f), a quota, a read-only file system; else ``None``."""
    for current in _chain(exc):
        if isinstance(current, OSError) and current.errno in _WRITE_ERRNOS:
            return f"{type(current).__name__}: {' '.join(str(current).split())}"
    return None


class ShortNetworkErrors(logging.Filter):
    """Log a known network error, or a failed local write, as one line: drop the traceback and keep the message.

    Scrapy's robots.txt middleware and Twisted log DNS, connection and TLS errors with their full traceback;
    for an operator the message says it all. Scrapy's media pipeline logs each failed file download as a Twisted
    ``Failure`` (its traceback in the message), although the failure is recorded with the article: one line too. So
    does its files pipeline when a file cannot be written (a full disk): one line with the OS error.
    Downloads cut short by an interruption are not errors (INFO). Other exceptions keep their traceback (bugs).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Shorten the record where it is one of the above (always lets it through)."""
        failure = record.msg if type(record.msg).__name__ == "Failure" else None
        exc = getattr(failure, "value", None) or (record.exc_info[1] if record.exc_info else None)
        if exc is None:
            return True
        kind = classify(exc)
        written = local_write_failure(exc)
        media_failure = failure is not None and record.name == "scrapy.pipelines.media"
        if kind == "other" and written is None and not media_failure:
            return True
        if written is not None and failure is None:  # the reason the traceback gave, on the line itself
            record.msg, record.args = f"{record.getMessage()}: {written}", ()
        record.exc_info = None
        record.exc_text = None
        if failure is not None:
            record.msg, record.args = f"file not downloaded: {type(exc).__name__}: {' '.join(str(exc).split())}", ()
        if kind in ("interrupted", "skipped"):
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


# Loggers that log download errors with a traceback. The filter goes on the loggers, not on the handlers: Scrapy
# replaces its root handler whenever a crawler starts.
TRACEBACK_LOGGERS = ("scrapy.downloadermiddlewares.robotstxt", "scrapy.core.scraper", "scrapy.core.engine",
                     "scrapy.core.downloader", "scrapy.core.downloader.handlers", "scrapy.utils.signal",
                     "scrapy.pipelines.files", "scrapy.pipelines.media", "twisted", "asyncio")


def install_log_filter() -> None:
    """Add :class:`ShortNetworkErrors` to the loggers of :data:`TRACEBACK_LOGGERS` (once)."""
    for name in TRACEBACK_LOGGERS:
        log = logging.getLogger(name)
        if not any(isinstance(f, ShortNetworkErrors) for f in log.filters):
            log.addFilter(ShortNetworkErrors())
