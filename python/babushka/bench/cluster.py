"""A throw-away Redis Cluster for the benchmark's cluster row, and the pieces
the test suite's cluster (``tests/support/cluster.py``) shares with it: a
port whose cluster bus port is free too, and joining nodes into a cluster
with ``redis-cli --cluster create``.

The benchmark's cluster has 3 primaries and no replicas: replication would
only add the same server-side load to every client compared, on a machine
whose cores the clients need.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from types import TracebackType
from typing import Optional

from babushka import _cluster_scan, _core
from babushka.bench.server import ThrowawayServer, _command, _read_exactly
from babushka.bench.workload import existing_key

#: A node's cluster bus listens on its port + 10000.
BUS_OFFSET = 10000
PRIMARIES = 3


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def cluster_port() -> int:
    """A free loopback port whose bus port (the port + 10000) is free too."""
    for _attempt in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port + BUS_OFFSET <= 65535 and _port_is_free(port + BUS_OFFSET):
            return port
    raise RuntimeError("no free port with a free cluster bus port (port + 10000)")


def create_cluster(addresses: list[str], replicas: int) -> None:
    """Joins the nodes at ``addresses`` (``host:port``) into one cluster,
    ``replicas`` replicas per primary, with ``redis-cli --cluster create``."""
    if shutil.which("redis-cli") is None:
        raise RuntimeError("redis-cli is missing: install Debian's redis-tools")
    subprocess.run(
        [
            "redis-cli",
            "--cluster",
            "create",
            *addresses,
            "--cluster-replicas",
            str(replicas),
            "--cluster-yes",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def _ask(host: str, port: int, *words: bytes) -> bytes:
    """One command whose reply is a bulk string, over a plain socket."""
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(_command(*words))
        header = b""
        while not header.endswith(b"\r\n"):
            header += _read_exactly(sock, 1)
        if not header.startswith(b"$"):
            raise RuntimeError(f"{b' '.join(words)!r}: {header!r}")
        return _read_exactly(sock, int(header[1:-2]) + 2)[:-2]


class ThrowawayCluster:
    """3 primaries from ``redis-server --cluster-enabled yes`` on free ports,
    joined and ``cluster_state:ok``; :meth:`stop` stops them."""

    def __init__(self) -> None:
        self.nodes: list[ThrowawayServer] = []
        try:
            for _ in range(PRIMARIES):
                self.nodes.append(
                    ThrowawayServer(
                        ("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"),
                        choose_port=cluster_port,
                    )
                )
            create_cluster([f"{n.host}:{n.port}" for n in self.nodes], 0)
            self._wait_ok()
        except BaseException:
            self.stop()
            raise
        self.host, self.port = self.nodes[0].host, self.nodes[0].port

    def _wait_ok(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = [_ask(n.host, n.port, b"CLUSTER", b"INFO") for n in self.nodes]
            if all(b"cluster_state:ok" in state for state in states):
                return
            time.sleep(0.1)
        raise RuntimeError("the benchmark's cluster did not reach cluster_state:ok")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> ThrowawayCluster:
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.stop()


def seed_cluster(host: str, port: int, keyspace: int, value: bytes) -> None:
    """The cluster's ``seed``: every primary emptied, then each key set on
    the primary that serves its slot (by ``CLUSTER NODES``)."""
    views, _ = _cluster_scan.parse_nodes(_ask(host, port, b"CLUSTER", b"NODES"), None)
    primaries = [v for v in views.values() if v.primary and v.slots]
    by_node: dict[str, list[bytes]] = {v.name: [] for v in primaries}
    owner = {slot: v.name for v in primaries for slot in v.slots}
    for index in range(keyspace):
        key = existing_key(index)
        by_node[owner[_core.keyslot(key)]].append(key)
    for name, keys in by_node.items():
        node_host, _, node_port = name.rpartition(":")
        with contextlib.closing(socket.create_connection((node_host, int(node_port)))) as sock:
            sock.sendall(_command(b"FLUSHALL"))
            if _read_exactly(sock, 5) != b"+OK\r\n":
                raise RuntimeError(f"FLUSHALL failed on {name}")
            for start in range(0, len(keys), 1000):
                batch = keys[start : start + 1000]
                sock.sendall(b"".join(_command(b"SET", key, value) for key in batch))
                if _read_exactly(sock, 5 * len(batch)) != b"+OK\r\n" * len(batch):
                    raise RuntimeError(f"seeding {name} failed")
