"""``health_check_interval``: a connection idle longer than that is checked
(``PING``) before a request is written to it, so a connection that died
silently while idle costs the check, not the user's command."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

import babushka
from babushka.exceptions import TimeoutError
from support.gate import Gate
from support.servers import RedisServer

# The faults are the gate's and the check is the client's; the server only
# answers PING/GET/INCR and INFO commandstats, alike on both kinds.
pytestmark = pytest.mark.any_server


@pytest.fixture
def gate(redis_server: RedisServer) -> Iterator[Gate]:
    front = Gate(redis_server.host, redis_server.port)
    yield front
    front.close()


def _connections(gate: Gate) -> int:
    return sum(1 for _when, reached in gate.attempts if reached)


def test_a_connection_gone_silent_while_idle_is_caught_by_the_check(
    gate: Gate, r: babushka.Redis, transport: str
) -> None:
    r.set("k", "v")
    client = babushka.Redis(
        port=gate.port, transport=transport, socket_timeout=2, health_check_interval=0.2
    )
    try:
        assert client.get("k") == b"v"
        # The network drops the idle connection without a word either way.
        gate.blackhole()
        time.sleep(0.4)
        # The check's PING goes unanswered; the GET, held behind it and
        # never sent, goes to a new connection.
        assert client.get("k") == b"v"
        assert _connections(gate) == 2
        assert gate.swallowed == len(b"*1\r\n$4\r\nPING\r\n")
    finally:
        client.close()


def test_without_a_check_the_same_fault_fails_the_command(
    gate: Gate, r: babushka.Redis, transport: str
) -> None:
    r.set("k", "v")
    client = babushka.Redis(port=gate.port, transport=transport, socket_timeout=1)
    try:
        assert client.get("k") == b"v"
        gate.blackhole()
        time.sleep(0.4)
        with pytest.raises(TimeoutError):
            client.get("k")
    finally:
        client.close()


def test_a_connection_killed_while_idle_is_replaced(
    gate: Gate, r: babushka.Redis, transport: str
) -> None:
    client = babushka.Redis(
        port=gate.port,
        transport=transport,
        socket_timeout=2,
        health_check_interval=0.2,
        client_name=f"checked-{transport}",
    )
    try:
        client.set("k", "v")
        r.execute_command("CLIENT", "KILL", "ID", client.client_id())
        time.sleep(0.4)
        assert client.incr("n") == 1  # a write too: it was never sent on the dead one
        assert _connections(gate) == 2
    finally:
        client.close()


def _pings(r: babushka.Redis) -> int:
    stats = r.info("commandstats").get("cmdstat_ping", {})
    return int(stats.get("calls", 0)) if isinstance(stats, dict) else 0


def test_only_an_idle_connection_is_checked(gate: Gate, r: babushka.Redis, transport: str) -> None:
    client = babushka.Redis(port=gate.port, transport=transport, health_check_interval=0.5)
    try:
        client.incr("n")
        before = _pings(r)
        for _ in range(20):
            client.incr("n")
        assert _pings(r) == before, "a busy connection was checked"
        time.sleep(0.7)
        client.incr("n")
        assert _pings(r) == before + 1
        assert int(r.get("n") or 0) == 22
    finally:
        client.close()
