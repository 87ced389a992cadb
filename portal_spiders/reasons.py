"""Why a download failed, in words a person acts on: the ``reason`` of a ``failures`` row.

Scrapy reports a cut-off body as ``ResponseDataLossError`` with no message, a page over the size cap as a bare
``CancelledError`` or a long log line, and a timeout as ``TimeoutError: User timeout caused connection failure``.
:func:`download_failure_reason` turns them into one sentence naming the fault (and the size, when known).
"""

from __future__ import annotations

import re
from typing import Any

_SIZE = re.compile(r"(?:Expected to receive|Received) (\d+) bytes")
_DECOMPRESSED = re.compile(r"\((\d+) B compressed, (\d+) B decompressed")


def _mib(size: int) -> str:
    return f"{size / 1048576:.1f} MiB" if size >= 1048576 else f"{size / 1024:.0f} KiB"


def download_failure_reason(failure: Any, *, maxsize: int = 0) -> str:
    """One-sentence reason for a failed download (``failure``: a Twisted ``Failure`` from an errback).

    ``maxsize`` is the byte cap the request was downloaded under, to name it when the page was too large.
    """
    value = failure.value
    name = type(value).__name__
    message = str(value).strip()
    response = getattr(value, "response", None)
    if response is not None and getattr(response, "status", None):
        return f"HTTP {response.status}"
    if name == "ResponseDataLossError" or "data loss" in message.lower():
        return ("truncated response: the connection closed before the whole body arrived (ResponseDataLossError); "
                "the page is fetched again next run")
    cap = f" {_mib(maxsize)}" if maxsize else ""
    if name in {"DownloadCancelledError", "CancelledError"} or "max size" in message:
        size = _SIZE.search(message) or _DECOMPRESSED.search(message)
        if size:
            got = int(size.group(size.lastindex or 1))
            return f"page too large: {got:,} bytes ({_mib(got)}), over the{cap} page size cap"
        return f"page too large: over the{cap} page size cap (download cancelled)"
    if name in {"DownloadTimeoutError", "TimeoutError", "TCPTimedOutError"}:
        return f"timeout: no complete response in time ({name}: {message})" if message else f"timeout ({name})"
    if name in {"RedirectLoop", "HostDeferred"}:
        return message
    return f"{name}: {message}" if message else name
