"""URL canonicalisation: one article, one identity.

Built on w3lib's ``canonicalize_url`` (sorted query, percent-encoding normalised, fragment dropped) plus the
rules these portals need: lower-case scheme and host, no default port, no tracking parameters, no trailing
slash, and case-folded paths on SharePoint hosts (whose paths are case-insensitive). Parameters that identify
content (``ItemID``, ``id``, ``docid`` ...) are kept, and query values are never re-padded or trimmed
(yenbai.gov.vn carries space-padded list names inside its query string).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

TRACKING_PARAMS = frozenset({
    "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "utm_id", "fbclid", "gclid",
    "zarsrc", "zlink", "_ga", "mc_cid", "mc_eid", "ref", "share", "_afrloop", "_afrwindowmode",
    "adf-window-id", "_adf.ctrl-state",
})

# The scheme is dropped from identity below, so either default port is "no port".
DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_url(url: str, *, case_insensitive_path: bool = False) -> str:
    """Return the canonical form of ``url`` used as the archive's identity key.

    ``case_insensitive_path`` lower-cases the path (SharePoint: ``/Pages/`` and ``/pages/`` are the same).
    """
    url = url.strip()
    parts = urlsplit(url)
    scheme = (parts.scheme or "http").lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    netloc = host
    if parts.port and parts.port not in DEFAULT_PORTS.values():
        netloc = f"{host}:{parts.port}"
    path = parts.path or "/"
    if case_insensitive_path:
        path = path.lower()
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k.lower() not in TRACKING_PARAMS]
    rebuilt = urlunsplit((scheme, netloc, path, urlencode(query, doseq=True), ""))
    # https and http serve the same article on every portal we know; identity ignores the scheme.
    canon = canonicalize_url(rebuilt, keep_fragments=False)
    return "https" + canon[canon.index(":"):] if canon.startswith("http:") else canon


def host_of(url: str) -> str:
    """Lower-case host of a URL without a leading ``www.``."""
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host
