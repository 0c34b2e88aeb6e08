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
