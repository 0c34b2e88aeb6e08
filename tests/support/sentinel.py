"""A real Sentinel setup for the tests: one primary, one replica and three
``--sentinel`` processes of the same kind, each on a free loopback port.

The sentinels monitor the primary as :data:`SERVICE` with a quorum of 2 and
small timings (``down-after-milliseconds`` 2 s, ``failover-timeout`` 6 s), so
a ``SENTINEL FAILOVER`` completes in a few seconds. ``Sentinels.start(kind)``
returns once the replica's link to its primary is up (its first sync would
otherwise hold a failover back) and every sentinel knows the replica and the
two other sentinels; ``stop()`` stops all five processes.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from support.cluster import command
from support.servers import RedisServer, free_port, server_binary

SERVICE = "mymaster"
SENTINELS = 3
QUORUM = 2
DOWN_AFTER_MS = 2000
FAILOVER_TIMEOUT_MS = 6000


@dataclass
class SentinelProcess:
    """One ``redis-server --sentinel`` (or ``valkey-server --sentinel``)."""

    host: str
    port: int
    directory: Path
    process: subprocess.Popen[bytes]

    @property
    def socket_path(self) -> str:
        """Its Unix socket (each sentinel listens on one too)."""
        return str(self.directory / "sentinel.sock")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Sentinels:
    """The servers and sentinels of one running setup."""

    primary: RedisServer
    replica: RedisServer
    sentinels: list[SentinelProcess] = field(default_factory=list)
    kind: str = "redis"

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """``(host, port)`` of every sentinel, as ``Sentinel([...])`` takes them."""
        return [(s.host, s.port) for s in self.sentinels]

    @classmethod
    def start(cls, kind: str) -> Sentinels:
        primary = RedisServer.start(*_DATA_NODE_OPTIONS, kind=kind)
        setup = cls(primary=primary, replica=primary, kind=kind)
        try:
            setup.replica = RedisServer.start(
                *_DATA_NODE_OPTIONS,
                "--replicaof",
                primary.host,
                str(primary.port),
                kind=kind,
            )
            for _ in range(SENTINELS):
                setup.sentinels.append(setup._start_sentinel())
            setup.wait_ready()
        except BaseException:
            setup.stop()
            raise
        return setup

    def _start_sentinel(self) -> SentinelProcess:
        binary = server_binary(self.kind)
        directory = Path(tempfile.mkdtemp(prefix=f"babushka-sentinel-{self.kind}-"))
        for _attempt in range(5):
            port = free_port()
            config = directory / "sentinel.conf"
            config.write_text(
                "\n".join(
                    [
                        f"port {port}",
                        "bind 127.0.0.1",
                        f"unixsocket {directory / 'sentinel.sock'}",
                        "unixsocketperm 700",
                        f"dir {directory}",
                        f"sentinel monitor {SERVICE} {self.primary.host} "
                        f"{self.primary.port} {QUORUM}",
                        f"sentinel down-after-milliseconds {SERVICE} {DOWN_AFTER_MS}",
                        f"sentinel failover-timeout {SERVICE} {FAILOVER_TIMEOUT_MS}",
                        f"sentinel parallel-syncs {SERVICE} 1",
                        "",
                    ]
                )
            )
            log = open(directory / "sentinel.log", "wb")  # noqa: SIM115
            process = subprocess.Popen(
                [binary.path, str(config), "--sentinel"], stdout=log, stderr=subprocess.STDOUT
            )
            log.close()
            sentinel = SentinelProcess("127.0.0.1", port, directory, process)
            if _answers(sentinel):
                return sentinel
            sentinel.stop()
        raise RuntimeError(f"no sentinel started; see {directory / 'sentinel.log'}")

    def info(self, node: RedisServer, section: str) -> dict[str, str]:
        fields = {}
        for line in _command(node.host, node.port, "INFO", section).splitlines():
            name, sep, value = line.strip().partition(":")
            if sep:
                fields[name] = value
        return fields

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until the replica of the current primary is in sync and every
        sentinel names that primary and knows its replica and both other
        sentinels: then a ``SENTINEL FAILOVER`` can go through."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            try:
                primary = self.current_primary()
                replica = self.replica if primary is self.primary else self.primary
                link = self.info(replica, "replication").get("master_link_status")
                views = [self._view(sentinel) for sentinel in self.sentinels]
                expected = (primary.port, 1, SENTINELS - 1)
                if link == "up" and all(view == expected for view in views):
                    return
                last = f"replica link {link}; sentinels (primary, replicas, others) {views}"
            except (subprocess.SubprocessError, OSError, ValueError) as error:
                last = str(error)
            time.sleep(0.1)
        raise RuntimeError(f"the sentinels were not ready in {timeout} s: {last}")

    def _view(self, sentinel: SentinelProcess) -> tuple[int, int, int]:
        """What a sentinel knows: the primary's port, how many replicas and
        how many other sentinels it sees in good health."""
        text = _command(sentinel.host, sentinel.port, "SENTINEL", "MASTER", SERVICE)
        words = text.split()
        fields = dict(zip(words[::2], words[1::2]))
        replicas = _command(sentinel.host, sentinel.port, "SENTINEL", "REPLICAS", SERVICE)
        healthy = sum(
            1
            for block in replicas.split("name\n")[1:]
            if "master-link-status\nok" in block and "s_down" not in block
        )
        return (int(fields["port"]), healthy, int(fields["num-other-sentinels"]))

    def current_primary(self) -> RedisServer:
        """The node that reports itself primary (the first one, if both do
        for a moment during a failover)."""
        for node in (self.primary, self.replica):
            if self.info(node, "replication").get("role") == "master":
                return node
        raise ValueError("neither node reports role master")

    def failover(self, timeout: float = 15.0) -> None:
        """Asks the first sentinel for a failover (``SENTINEL FAILOVER``),
        again while it answers that it cannot yet (``NOGOODSLAVE`` while
        its view of the replica is fresh from a start or a failover). A
        call that failed is made again too; ``INPROG`` then means an earlier
        one got through."""
        sentinel = self.sentinels[0]
        deadline = time.monotonic() + timeout
        while True:
            try:
                reply = command(sentinel.host, sentinel.port, "SENTINEL", "FAILOVER", SERVICE)
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
                reply = f"{error}: {error.stdout!r}"
            if "OK" in reply or "INPROG" in reply:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"SENTINEL FAILOVER answered {reply!r}")
            time.sleep(0.2)

    def stop(self) -> None:
        for sentinel in self.sentinels:
            sentinel.stop()
        for node in {id(self.primary): self.primary, id(self.replica): self.replica}.values():
            node.stop()


#: Options of the two data nodes: the replica's first sync starts at once
#: (the diskless sync's default 5 s delay would hold a failover back), and
#: the primary pings its replica every second so offsets move.
_DATA_NODE_OPTIONS = ("--repl-diskless-sync-delay", "0", "--repl-ping-replica-period", "1")


#: How often, and how far apart, a ``redis-cli`` call that failed is made
#: again: a node changing role can refuse a connection or exit ``redis-cli``
#: with status 1 for a moment (seen on a Valkey replica being promoted).
_CLI_ATTEMPTS = 5
_CLI_PAUSE = 0.2


def _command(host: str, port: int, *args: str) -> str:
    """``command`` (redis-cli), made again a few times when it fails."""
    for _attempt in range(_CLI_ATTEMPTS - 1):
        try:
            return command(host, port, *args)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            time.sleep(_CLI_PAUSE)
    return command(host, port, *args)


def _answers(sentinel: SentinelProcess, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sentinel.process.poll() is not None:
            return False
        try:
            if "PONG" in command(sentinel.host, sentinel.port, "PING", timeout=1):
                return True
        except (subprocess.SubprocessError, OSError):
            pass
        time.sleep(0.05)
    return False
