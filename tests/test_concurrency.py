"""Many threads and many tasks on one client: every caller gets its own reply."""

from __future__ import annotations

import asyncio
import threading

import babushka
import babushka.asyncio


def test_threads_share_one_client_without_crossed_replies(r: babushka.Redis) -> None:
    errors: list[str] = []

    def worker(n: int) -> None:
        for i in range(150):
            key, value = f"t{n}:{i % 7}", f"{n}-{i}".encode()
            r.set(key, value)
            got = r.get(key)
            if got != value:
                errors.append(f"{key}: expected {value!r}, got {got!r}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


async def test_tasks_share_one_client_without_crossed_replies(ar: babushka.asyncio.Redis) -> None:
    await ar.mset({f"k{i}": f"v{i}" for i in range(1000)})
    replies = await asyncio.gather(*(ar.get(f"k{i}") for i in range(1000)))
    assert replies == [f"v{i}".encode() for i in range(1000)]


async def test_many_clients_on_one_loop(redis_server: object, transport: str) -> None:
    from support.servers import RedisServer

    assert isinstance(redis_server, RedisServer)
    clients = [
        babushka.asyncio.Redis(port=redis_server.port, transport=transport) for _ in range(10)
    ]
    try:
        results = await asyncio.gather(*(c.echo(f"c{n}") for n, c in enumerate(clients)))
        assert results == [f"c{n}".encode() for n in range(10)]
    finally:
        for client in clients:
            await client.aclose()


async def test_in_flight_limit_queues_the_rest(redis_server: object, transport: str) -> None:
    from support.servers import RedisServer

    assert isinstance(redis_server, RedisServer)
    client = babushka.asyncio.Redis(port=redis_server.port, transport=transport, max_in_flight=2)
    try:
        # Two requests block the connection's whole budget for a moment; the
        # rest wait their turn in the core and still get their own replies.
        blockers = [client.execute_command("BLPOP", f"none{i}", 0.2) for i in range(2)]
        echoes = [client.echo(f"e{i}") for i in range(50)]
        results = await asyncio.gather(*blockers, *echoes)
        assert results == [None, None] + [f"e{i}".encode() for i in range(50)]
    finally:
        await client.aclose()
