"""A throw-away ``redis-server`` for one benchmark run, and the few raw-socket
chores the harness does outside any measured client (seeding, version).

The harness talks RESP over a plain socket for these so that preparing the
keyspace never depends on, or warms up, one of the clients being measured.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Callable, Optional, Sequence

from babushka.bench.workload import existing_key


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ThrowawayServer:
    """A ``redis-server`` on a free loopback port in a temporary directory, with
    persistence off; :meth:`stop` kills it and removes the directory.
    ``extra_args`` go to the server (a cluster node's), ``choose_port`` picks
    the port."""

    def __init__(
        self, extra_args: Sequence[str] = (), choose_port: Callable[[], int] = _free_port
    ) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (./dev bench installs it as root)")
        self.host = "127.0.0.1"
        self.directory = Path(tempfile.mkdtemp(prefix="babushka-bench-"))
        self._process: Optional[subprocess.Popen[bytes]] = None
        for _attempt in range(5):
            self.port = choose_port()
            log = open(self.directory / "redis.log", "wb")  # noqa: SIM115
            self._process = subprocess.Popen(
                [
                    binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--dir",
                    str(self.directory),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    *extra_args,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            log.close()
            if _wait_ready(self.host, self.port, self._process):
                return
            self._kill()
        self.stop()
        raise RuntimeError("redis-server did not start")

    def _kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._kill()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> ThrowawayServer:
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.stop()


def _wait_ready(host: str, port: int, process: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection((host, port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(64).startswith(b"+PONG"):
                    return True
        except OSError:
            time.sleep(0.05)
    return False


def _command(*words: bytes) -> bytes:
    parts = [b"*%d\r\n" % len(words)]
    for word in words:
        parts.append(b"$%d\r\n%s\r\n" % (len(word), word))
    return b"".join(parts)


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = []
    while size > 0:
        chunk = sock.recv(min(size, 1 << 20))
        if not chunk:
            raise ConnectionError("redis-server closed the connection")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def seed(host: str, port: int, keyspace: int, value: bytes) -> None:
    """Empties the server and sets ``keyspace`` existing keys to ``value``,
    pipelined in batches (every reply is ``+OK``, so replies are counted by size)."""
    with socket.create_connection((host, port)) as sock:
        sock.sendall(_command(b"FLUSHALL"))
        if _read_exactly(sock, 5) != b"+OK\r\n":
            raise RuntimeError("FLUSHALL failed")
        batch = max(1, min(1000, (8 << 20) // max(1, len(value))))
        for start in range(0, keyspace, batch):
            stop = min(keyspace, start + batch)
            sock.sendall(
                b"".join(_command(b"SET", existing_key(i), value) for i in range(start, stop))
            )
            replies = _read_exactly(sock, 5 * (stop - start))
            if replies != b"+OK\r\n" * (stop - start):
                raise RuntimeError(f"seeding failed: {replies[:80]!r}")


def server_version(host: str, port: int) -> str:
    """``redis_version`` (or ``valkey_version``) from ``INFO server``."""
    try:
        with socket.create_connection((host, port), timeout=5) as sock:
            sock.sendall(_command(b"INFO", b"server"))
            header = b""
            while not header.endswith(b"\r\n"):
                header += _read_exactly(sock, 1)
            body = _read_exactly(sock, int(header[1:-2]) + 2).decode()
    except (OSError, ValueError) as error:
        return f"unknown ({error})"
    fields = dict(line.split(":", 1) for line in body.splitlines() if ":" in line)
    for name in ("valkey_version", "redis_version"):
        if name in fields:
            server = "valkey" if name.startswith("valkey") else "redis"
            return f"{server} {fields[name]}"
    return "unknown"
