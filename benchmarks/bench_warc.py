"""WARC capture cost: CPU per capture of ``WarcWriter.write`` with ISA-L's deflate against zlib's (issue 15).

    .venv/bin/python benchmarks/bench_warc.py --write

A capture is the request + response + metadata records of one exchange, each its own gzip member. Payloads: every
HTML page under tests/fixtures (real portal pages and the platform fixtures), the replica's PDF and Word files, and
300 KB of seeded random bytes standing in for a compressed PDF (``application/pdf``, deflated) and for a JPEG
(``image/jpeg``, whose record the writer now stores without deflating it). Each writer is timed on the same
payloads in alternating rounds (the baseline, zlib level 6, is the writer before the change, measured in the same
run); the figures are medians over the rounds, and the size is the WARC bytes written over the payload bytes.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _report import command_line, publish  # noqa: E402
from bench_search import machine  # noqa: E402

from portal_spiders import warc  # noqa: E402

START, END = "<!-- bench_warc:start -->", "<!-- bench_warc:end -->"


def zlib_member(data: bytes, *, stored: bool = False) -> bytes:
    """The writer before ISA-L: one gzip member from zlib at level 6, whatever the body (``stored`` ignored)."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    return compressor.compress(data) + compressor.flush()


WRITERS: dict[str, Callable[..., bytes]] = {"zlib level 6 (before)": zlib_member,
                                            f"ISA-L level {warc.GZIP_LEVEL}, compressed bodies stored (now)":
                                                warc._member}


def payloads() -> dict[str, tuple[str, list[bytes]]]:
    """The payload sets, by kind: their Content-Type and bodies."""
    html = [p.read_bytes() for p in sorted((ROOT / "tests" / "fixtures").rglob("*.html"))]
    files = [p.read_bytes() for p in sorted((ROOT / "govarchive" / "replica" / "files").iterdir())
             if p.suffix in (".pdf", ".doc")]
    noise = random.Random(15).randbytes(300_000)  # what JPEG and PNG data looks like to a compressor
    return {"HTML pages": ("text/html; charset=utf-8", html), "PDF and Word files": ("application/pdf", files),
            "incompressible 300 KB as a PDF": ("application/pdf", [noise]),
            "300 KB JPEG": ("image/jpeg", [noise])}


def exchange(body: bytes, content_type: str = "text/html; charset=utf-8") -> warc.Exchange:
    """A typical article exchange carrying ``body``."""
    return warc.Exchange(
        url="https://laichau.dcs.vn/tin-tuc/bai-viet-1.html", method="GET",
        request_headers=[("User-Agent", "govarchive"), ("Accept", "text/html"), ("Referer", "https://laichau.dcs.vn/")],
        request_body=b"", status=200, reason="OK", protocol="HTTP/1.1",
        response_headers=[("Content-Type", content_type), ("Server", "nginx")], body=body,
        fetched_at=datetime(2026, 12, 4, tzinfo=UTC),
        metadata={"via": "https://laichau.dcs.vn/", "govarchive-kind": "article", "govarchive-portal": "laichau-dcs"})


def time_writer(member: Callable[..., bytes], content_type: str, bodies: list[bytes],
                directory: Path) -> tuple[float, int]:
    """CPU ms per capture and WARC bytes written, for one pass over ``bodies``."""
    original = warc._member
    warc._member = member
    try:
        writer = warc.WarcWriter(directory)
        exchanges = [exchange(b, content_type) for b in bodies]
        t0 = time.process_time()
        for ex in exchanges:
            writer.write(ex)
        elapsed = time.process_time() - t0
        written = writer._size
        writer.close()
    finally:
        warc._member = original
    return 1000 * elapsed / len(bodies), written


def run(rounds: int) -> str:
    sets = payloads()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-warc-") as tmp:
        for kind, (content_type, bodies) in sets.items():
            times: dict[str, list[float]] = {name: [] for name in WRITERS}
            sizes: dict[str, int] = {}
            for r in range(rounds):
                names = list(WRITERS) if r % 2 == 0 else list(reversed(WRITERS))
                for name in names:
                    ms, size = time_writer(WRITERS[name], content_type, bodies,
                                           Path(tmp) / f"{len(rows)}-{r}-{len(name)}")
                    times[name].append(ms)
                    sizes[name] = size
            raw = sum(map(len, bodies))
            rows.append((f"{kind} (`{content_type.split(';')[0]}`)", len(bodies), raw,
                         {n: statistics.median(t) for n, t in times.items()}, sizes))
    base, now = list(WRITERS)
    lines = [
        START,
        "## WARC capture cost (`benchmarks/bench_warc.py`)",
        "",
        f"Generated by `{command_line()}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        "* machine: " + ", ".join(f"{k} {v}" for k, v in machine().items()),
        "* `WarcWriter.write` (request, response and metadata records, each its own gzip member, digests, flush) "
        f"with each compressor, on the same payloads in {rounds} alternating rounds; CPU time; medians over the "
        "rounds; size = WARC bytes written / payload bytes",
        "",
        f"| payloads | captures | payload bytes | {base}: CPU ms/capture | size | {now}: CPU ms/capture | size "
        "| CPU now / before |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, n, raw, med, sizes in rows:
        lines.append(f"| {kind} | {n} | {raw:,} | {med[base]:.3f} | {100 * sizes[base] / raw:.1f}% | "
                     f"{med[now]:.3f} | {100 * sizes[now] / raw:.1f}% | {med[now] / med[base]:.2f} |")
    lines.append(END)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=9, help="alternating rounds per writer (default 9)")
    ap.add_argument("--write", action="store_true", help="replace the bench_warc section of docs/performance.md")
    args = ap.parse_args(argv)
    publish(run(args.rounds), START, END, write=args.write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
