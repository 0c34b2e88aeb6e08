"""A connected client that does nothing costs (almost) no CPU: nothing in the
core or in the transports polls or spins while waiting for work."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from support.servers import RedisServer

# The CPU measured is the client process's; idle connections look the same
# to it on both kinds of server (conftest.py).
pytestmark = pytest.mark.any_server

#: Idle CPU budget for the whole process over the window. Today the six idle
#: clients cost about 0.2 ms; a connection writer waking every millisecond costs ~100 ms.
BUDGET = 0.020
WINDOW = 2.0

PROBE = textwrap.dedent(
    """
    import asyncio, json, sys, threading, time
    import babushka, babushka.asyncio

    PORT, WINDOW = int(sys.argv[1]), float(sys.argv[2])
    TRANSPORTS = ("managed", "ffi", "uds")

    def burn(seconds):
        end = time.thread_time() + seconds
        while time.thread_time() < end:
            pass

    async def main():
        # process_time() is CLOCK_PROCESS_CPUTIME_ID: every thread of the
        # process, the core's workers included. Check that it sees another
        # thread's work, so a busy worker cannot hide.
        before = time.process_time()
        worker = threading.Thread(target=burn, args=(0.05,))
        worker.start()
        worker.join()
        seen = time.process_time() - before

        sync = [babushka.Redis(port=PORT, transport=t) for t in TRANSPORTS]
        async_ = [babushka.asyncio.Redis(port=PORT, transport=t) for t in TRANSPORTS]
        for client in sync:
            assert client.ping() is True
        for client in async_:
            assert await client.ping() is True
        start = time.process_time()
        await asyncio.sleep(WINDOW)  # every client connected and idle
        idle = time.process_time() - start
        # Still connected: the window measured live connections.
        for client in sync:
            assert client.ping() is True
        for client in async_:
            assert await client.ping() is True
        print(json.dumps({"other_thread_seen": seen, "idle": idle}))

    asyncio.run(main())
    """
)


def test_idle_clients_burn_no_cpu(redis_server: RedisServer) -> None:
    # In a fresh interpreter: only the clients under test live there.
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(redis_server.port), str(WINDOW)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["other_thread_seen"] >= 0.04, result
    assert result["idle"] < BUDGET, (
        f"six idle clients (sync and async, every transport) used {result['idle'] * 1000:.1f} ms "
        f"of CPU in {WINDOW} s"
    )
