"""``govarchive serve``: browse and search the archive in Datasette (read-only, 127.0.0.1 by default)."""

from __future__ import annotations

import argparse
import errno
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from govarchive.checks import BadInput, port
from govarchive.cli import add_db_argument

DATASETTE_DIR = Path(__file__).resolve().parent.parent / "datasette"
METADATA_FILE = DATASETTE_DIR / "metadata.yml"
PLUGINS_DIR = DATASETTE_DIR / "plugins"
TEMPLATES_DIR = DATASETTE_DIR / "templates"
SETTINGS = {
    "sql_time_limit_ms": "20000",  # per-month aggregates over a million articles take seconds
    "facet_time_limit_ms": "1000",
    "suggest_facets": "off",
    "default_page_size": "50",
    "allow_download": "off",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="browse the archive in Datasette (read-only)", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=_port, default=8001, help="port (default 8001; 0 picks a free one)")
    parser.add_argument("--immutable", action="store_true",
                        help="open with immutable=1 (a snapshot nobody writes to; faster counts). Default: ?mode=ro, "
                             "which sees a running crawl's commits")
    parser.add_argument("--print-metadata", action="store_true", help="print the Datasette metadata JSON and exit")
    add_db_argument(parser)
    parser.set_defaults(func=run, reads_archive=True)


def _port(text: str) -> int:
    try:
        return port(text)
    except BadInput as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def reserve_port(host: str, wanted: int) -> int:
    """The port to serve on: ``wanted`` if it can be bound on ``host`` (else :class:`BadInput` saying why), or a
    free one for 0. Checked here so a busy port is one line, not Datasette's error after start-up."""
    try:
        family = socket.getaddrinfo(host, wanted, type=socket.SOCK_STREAM)[0][0]
    except socket.gaierror as exc:
        raise BadInput(f"--host {host!r}: {exc.strerror}") from None
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: TIME_WAIT is no conflict
        try:
            sock.bind((host, wanted))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise BadInput(f"port {wanted} on {host} is already in use (choose another with --port, or "
                               "--port 0 for a free one)") from None
            raise BadInput(f"cannot listen on {host}:{wanted}: {exc.strerror}") from None
        return int(sock.getsockname()[1])


def build_metadata(db_path: Path) -> dict[str, Any]:
    """The metadata of :data:`METADATA_FILE`, keyed by this archive's Datasette database name (file stem)."""
    import yaml

    metadata = yaml.safe_load(METADATA_FILE.read_text(encoding="utf-8"))
    databases = metadata.get("databases", {})
    if "archive" in databases:
        databases[db_path.stem] = databases.pop("archive")
    # datasette-dashboards names the database of each chart and dynamic filter
    for dashboard in (metadata.get("plugins", {}).get("datasette-dashboards") or {}).values():
        for item in [*(dashboard.get("charts") or {}).values(), *(dashboard.get("filters") or {}).values()]:
            if item.get("db") == "archive":
                item["db"] = db_path.stem
    return metadata


def datasette_command(db_path: Path, metadata_path: Path, *, host: str, port: int, immutable: bool) -> list[str]:
    """The ``python -m datasette serve`` command line."""
    cmd = [sys.executable, "-m", "datasette", "serve"]
    cmd += ["-i", str(db_path)] if immutable else [str(db_path)]
    cmd += ["--metadata", str(metadata_path), "--plugins-dir", str(PLUGINS_DIR), "--template-dir", str(TEMPLATES_DIR),
            "--host", host, "--port", str(port)]
    files = db_path.parent / "files"  # downloaded attachments and images (pipelines/files.py), linked from articles
    if files.is_dir():
        cmd += ["--static", f"files:{files}"]
    for name, value in SETTINGS.items():
        cmd += ["--setting", name, value]
    return cmd


def run(args: argparse.Namespace) -> int:
    from govarchive.archive import ArchiveError
    from govarchive.commands._query import open_searchable

    db_path = Path(args.db)
    try:
        # builds a missing or stale full-text index first, or says what to run
        archive = open_searchable(db_path)
        # A read-only directory without a -wal: Datasette's ?mode=ro cannot open it either (no -shm), so serve
        # the file as the immutable snapshot it is (govarchive.archive.Archive._connect_readonly).
        snapshot = archive.immutable
        archive.close()
        if snapshot and not args.immutable:
            print(f"{db_path} is in a directory you cannot write: serving it as an immutable snapshot "
                  "(restart serve to see later crawls)", file=sys.stderr)
            args.immutable = True
    except ArchiveError as exc:
        print(f"govarchive: error: {exc}", file=sys.stderr)
        return 2
    metadata = build_metadata(db_path)
    if args.print_metadata:
        json.dump(metadata, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    try:
        import datasette  # noqa: F401
    except ImportError:
        print("govarchive: error: Datasette is not installed (pip install 'govarchive[serve]')", file=sys.stderr)
        return 2
    listen = reserve_port(args.host, args.port)  # BadInput: one line, exit 2
    root = str(Path(__file__).resolve().parent.parent.parent)  # the plugin imports govarchive.search
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    with tempfile.TemporaryDirectory(prefix="govarchive-serve-") as tmp:
        metadata_path = Path(tmp) / "metadata.json"
        metadata_path.write_text(json.dumps(metadata, ensure_ascii=False), encoding="utf-8")
        cmd = datasette_command(db_path.resolve(), metadata_path, host=args.host, port=listen,
                                immutable=args.immutable)
        # The SIGTERM handler goes in before Datasette starts: a terminate that arrives between the "serving"
        # line and the handler would otherwise kill this process and leave Datasette running, orphaned.
        running: list[subprocess.Popen[bytes]] = []
        terminated: list[bool] = []

        def on_sigterm(*_: Any) -> None:
            terminated.append(True)
            for child in running:
                child.terminate()

        signal.signal(signal.SIGTERM, on_sigterm)
        print(f"serving {db_path} read-only on http://{args.host}:{listen}/ (Ctrl-C stops)", file=sys.stderr,
              flush=True)
        proc = subprocess.Popen(cmd, env=env)
        running.append(proc)
        if terminated:  # SIGTERM came while Datasette was being started
            proc.terminate()
        try:
            code = proc.wait()
            return 143 if terminated else code
        except KeyboardInterrupt:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
            return 130
