"""The runtime's end: interpreter exit is clean, and a request cut off by the
runtime's shutdown fails with an exception instead of waiting forever."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from support.servers import RedisServer


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60
    )


def test_interpreter_exits_cleanly_with_open_clients(redis_server: RedisServer) -> None:
    out = run(
        f"""
        import asyncio, babushka, babushka.asyncio
        sync = babushka.Redis(port={redis_server.port})
        sync.set("k", "v")
        async def main():
            a = babushka.asyncio.Redis(port={redis_server.port})
            await a.get("k")
            return a
        client = asyncio.run(main())
        print("done")
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "done"
    assert out.stderr == ""


def test_shutdown_fails_in_flight_requests(redis_server: RedisServer) -> None:
    out = run(
        f"""
        import asyncio, babushka, babushka.asyncio
        from babushka import _core
        async def main():
            r = babushka.asyncio.Redis(port={redis_server.port})
            await r.ping()
            blocked = asyncio.ensure_future(r.execute_command("BLPOP", "never", 30))
            await asyncio.sleep(0.1)
            _core.shutdown(0.0)
            try:
                await asyncio.wait_for(blocked, 10)
            except babushka.ClientClosedError as exc:
                print("closed:", exc)
        asyncio.run(main())
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("closed:"), out.stdout
