"""A throw-away ``redis-server`` on 127.0.0.1 and a free port (tests, ``make demo-cluster``, benchmarks).

The Debian package ``redis-server`` provides the binary (``make setup`` and ``.ci/run`` install it). Nothing is
persisted: no RDB snapshots, no AOF, the working directory is a temporary one.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


class RedisServerMissing(RuntimeError):
    """The redis-server binary is not installed."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """``with RedisServer() as redis: redis.url`` -> ``redis://127.0.0.1:<port>/0``."""

    def __init__(self, *, binary: str = "redis-server", maxmemory: str | None = None) -> None:
        path = shutil.which(binary)
        if path is None:
            raise RedisServerMissing(
                "redis-server is not installed: `make setup` installs the Debian package (as root), or run "
                "`apt-get install redis-server`")
        self.binary = path
        self.maxmemory = maxmemory
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def url(self) -> str:
        """Connection URL (database 0)."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 20.0) -> RedisServer:
        """Start the server and wait until it answers PING."""
        self._dir = tempfile.TemporaryDirectory(prefix="govarchive-redis-")
        self.port = free_port()
        cmd = [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
               "--dir", self._dir.name, "--protected-mode", "yes", "--loglevel", "warning"]
        if self.maxmemory:
            cmd += ["--maxmemory", self.maxmemory]
        log = open(Path(self._dir.name) / "redis.log", "wb")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited at start: {(Path(self._dir.name) / 'redis.log').read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not answer on port {self.port} within {timeout:.0f} s")

    def stop(self) -> None:
        """Stop the server and remove its directory."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
