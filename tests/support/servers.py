"""Real servers for the tests: ``redis-server`` processes on free loopback
ports in temporary directories, stopped when the test session ends."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_server_binary() -> str:
    path = shutil.which("redis-server")
    if path is None:
        raise RuntimeError(
            "redis-server is not installed; run the README's test command "
            "(it installs Debian's redis-server when run as root)"
        )
    return path


@dataclass
class RedisServer:
    """One running ``redis-server``; ``stop()`` kills it and removes its directory."""

    host: str
    port: int
    directory: Path
    process: subprocess.Popen[bytes]
    unix_socket: str
    extra_config: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, *extra_config: str) -> RedisServer:
        directory = Path(tempfile.mkdtemp(prefix="babushka-redis-"))
        unix_socket = str(directory / "redis.sock")
        for _attempt in range(5):
            port = free_port()
            args = [
                redis_server_binary(),
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(directory),
                "--save",
                "",
                "--appendonly",
                "no",
                "--unixsocket",
                unix_socket,
                "--unixsocketperm",
                "700",
                *extra_config,
            ]
            log = open(directory / "redis.log", "wb")  # noqa: SIM115
            process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
            log.close()
            server = cls("127.0.0.1", port, directory, process, unix_socket, list(extra_config))
            if server._wait_ready():
                return server
            process.kill()
            process.wait()
        raise RuntimeError(f"redis-server did not start; see {directory / 'redis.log'}")

    def _wait_ready(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64).startswith((b"+PONG", b"-NOAUTH")):
                        return True
            except OSError:
                time.sleep(0.05)
        return False

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)

    def kill(self) -> None:
        """Stops the server abruptly, keeping its port and directory for a restart."""
        self.process.kill()
        self.process.wait()

    def restart(self) -> None:
        """Starts the server again on the same port (after :meth:`kill`)."""
        args = list(self.process.args)  # type: ignore[arg-type]
        log = open(self.directory / "redis.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        if not self._wait_ready():
            raise RuntimeError("redis-server did not restart")


def cpu_count_for_process() -> int:
    return len(os.sched_getaffinity(0))
