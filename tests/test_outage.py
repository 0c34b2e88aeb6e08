"""A server that goes down and comes back, on every transport.

The client reaches its server through a loopback gate (``support.gate``)
that records every connection attempt with its time, so the test sees how
the client spaces its reconnects while nothing answers. The issue's outage
is 10 s: so is the sync run on Redis over the managed transport; the other
runs of the matrix are 3 s, long enough for the attempts to reach the
backoff's cap several times over, to keep the suite short.

What must hold (README, RELIABILITY.md):
- requests during the outage fail with ``ConnectionError``, never later
  than their timeout, and once the attempts are spent, at once;
- reconnect attempts are spaced by the backoff: never more than its cap
  apart while requests keep coming, and not hammering (no tight timing:
  the bounds are loose, the machine is shared);
- once the server is back, work resumes without anything done by the user.
"""

from __future__ import annotations

import asyncio
import statistics
import time

import pytest

import babushka
import babushka.asyncio
from babushka.exceptions import ConnectionError
from support.faults import wait_until
from support.gate import Gate
from support.servers import RedisServer

# The outage is the gate's and the backoff the client's; the server is only
# killed and restarted, alike on both kinds (conftest.py).
pytestmark = pytest.mark.any_server

#: The outage of the one 10 s run, and of every other.
FULL_OUTAGE, SHORT_OUTAGE = 10.0, 3.0
BASE, CAP, ATTEMPTS = 0.05, 0.4, 3
TIMEOUT = 2.0


def _works(client: babushka.Redis) -> bool:
    try:
        # A write: the restarted server has lost the data (no persistence).
        return client.set("k", "again") is True
    except ConnectionError:
        return False


def test_an_outage_fails_fast_spaces_reconnects_and_recovers(
    server_kind: str, transport: str
) -> None:
    outage = FULL_OUTAGE if (server_kind, transport) == ("redis", "managed") else SHORT_OUTAGE
    server = RedisServer.start(kind=server_kind)
    gate = Gate(server.host, server.port)
    client = babushka.Redis(
        port=gate.port,
        transport=transport,
        socket_timeout=TIMEOUT,
        socket_connect_timeout=1,
        reconnect_backoff_base=BASE,
        reconnect_backoff_cap=CAP,
        reconnect_attempts=ATTEMPTS,
    )
    try:
        client.set("k", "v")
        server.kill()
        gate.cut()
        down_at = time.monotonic()
        durations: list[float] = []
        while time.monotonic() - down_at < outage:
            started = time.monotonic()
            try:
                client.get("k")
            except ConnectionError:
                durations.append(time.monotonic() - started)
            else:
                raise AssertionError("a request succeeded with the server down")
            time.sleep(0.002)
        server.restart()
        up_at = time.monotonic()
        assert wait_until(lambda: _works(client), timeout=CAP + 3), "work did not resume"
        recovered = time.monotonic() - up_at

        # Never past the timeout; once the attempts are spent, at once.
        assert max(durations) < TIMEOUT
        fast = sum(1 for d in durations if d < 0.05)
        assert fast > len(durations) / 2, durations[:20]

        attempts = [when for when, reached in gate.attempts if down_at <= when < up_at]
        gaps = [b - a for a, b in zip(attempts, attempts[1:])]
        assert len(attempts) >= 4, attempts
        # Spaced by the backoff: at most its cap apart (plus the time an
        # attempt takes, and a wide margin for a busy machine)...
        assert max(gaps) < CAP + 0.5, gaps
        # ...and not hammering: full jitter's delays average half the cap;
        # a client that retried at once would make thousands of attempts.
        assert statistics.median(gaps) > CAP / 10, gaps
        assert len(attempts) < outage / (CAP / 10), len(attempts)
        median = statistics.median(gaps)
        print(
            f"\n{server_kind}/{transport}: {len(durations)} requests failed during a "
            f"{outage:.0f} s outage ({fast} at once, slowest {max(durations) * 1000:.0f} ms); "
            f"{len(attempts)} connection attempts, gaps median {median * 1000:.0f} ms, "
            f"max {max(gaps) * 1000:.0f} ms; work resumed {recovered * 1000:.0f} ms after "
            "the server was back"
        )
    finally:
        client.close()
        gate.close()
        server.stop()


async def test_async_requests_in_an_outage_fail_fast_together_and_recover(
    server_kind: str, transport: str
) -> None:
    """Many concurrent requests while the server is down: each fails with
    ``ConnectionError`` well within its timeout, they share the connection
    attempts rather than making one each, and the client recovers."""
    server = RedisServer.start(kind=server_kind)
    gate = Gate(server.host, server.port)
    client = babushka.asyncio.Redis(
        port=gate.port,
        transport=transport,
        socket_timeout=TIMEOUT,
        socket_connect_timeout=1,
        reconnect_backoff_base=BASE,
        reconnect_backoff_cap=CAP,
        reconnect_attempts=ATTEMPTS,
    )
    try:
        await client.set("k", "v")
        server.kill()
        gate.cut()
        down_at = time.monotonic()
        for _ in range(5):
            started = time.monotonic()
            outcomes = await asyncio.gather(
                *(client.get("k") for _ in range(50)), return_exceptions=True
            )
            assert all(isinstance(o, ConnectionError) for o in outcomes), outcomes[:3]
            assert time.monotonic() - started < TIMEOUT
            await asyncio.sleep(0.1)
        # 250 requests, a handful of attempts: waiting requests share them.
        attempts = [when for when, _reached in gate.attempts if when >= down_at]
        assert 1 <= len(attempts) <= 20, len(attempts)
        server.restart()
        deadline = time.monotonic() + CAP + 3
        while True:
            try:
                assert await client.set("k", "again") is True
                break
            except ConnectionError:
                assert time.monotonic() < deadline, "work did not resume"
                await asyncio.sleep(0.02)
    finally:
        await client.aclose()
        gate.close()
        server.stop()
