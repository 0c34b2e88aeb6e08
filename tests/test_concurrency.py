"""Many threads and many tasks on one client: every caller gets its own reply."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

import babushka
import babushka.asyncio
from support.faults import Proxy, async_wait_until, wait_until
from support.observe import is_blocked
from support.servers import RedisServer


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


LIMIT = 3


@pytest.fixture
def proxy(redis_server: RedisServer) -> Iterator[Proxy]:
    proxy = Proxy(redis_server.host, redis_server.port)
    yield proxy
    proxy.close()


def _rpushes(proxy: Proxy, start: int) -> int:
    return proxy.names_since(start).count(b"RPUSH")


async def test_in_flight_limit_holds_back_the_rest(proxy: Proxy, transport: str) -> None:
    client = babushka.asyncio.Redis(port=proxy.port, transport=transport, max_in_flight=LIMIT)
    pending: list[asyncio.Future[Any]] = []
    try:
        await client.delete("order")  # connected, handshake done
        start = len(proxy.commands)
        proxy.hold()  # the server seems to stall: no reply comes back
        pending = [asyncio.ensure_future(client.rpush("order", i)) for i in range(10 * LIMIT)]
        assert await async_wait_until(lambda: _rpushes(proxy, start) >= LIMIT)
        # Without the limit the rest would follow at once; give them the chance.
        await asyncio.sleep(0.3)
        assert _rpushes(proxy, start) == LIMIT, "more requests reached the server than allowed"
        assert not any(p.done() for p in pending)
        proxy.release()
        # Every request completes, in the order it was made.
        results = await asyncio.wait_for(asyncio.gather(*pending), 10)
        assert results == list(range(1, 10 * LIMIT + 1))
        assert await client.lrange("order", 0, -1) == [str(i).encode() for i in range(10 * LIMIT)]
    finally:
        proxy.release()
        # Collect every outcome, so a failure leaves no future with an
        # exception nobody retrieved.
        await asyncio.wait_for(asyncio.gather(*pending, return_exceptions=True), 10)
        await client.aclose()


def test_in_flight_limit_holds_back_the_rest_sync(proxy: Proxy, transport: str) -> None:
    client = babushka.Redis(port=proxy.port, transport=transport, max_in_flight=LIMIT)
    replies: list[Any] = []

    def push(i: int) -> None:
        try:
            replies.append(client.rpush("order", i))
        except BaseException as error:  # reported below
            replies.append(error)

    threads = [threading.Thread(target=push, args=(i,), daemon=True) for i in range(10 * LIMIT)]
    try:
        client.delete("order")
        start = len(proxy.commands)
        proxy.hold()
        for thread in threads:
            thread.start()
        assert wait_until(lambda: _rpushes(proxy, start) >= LIMIT)
        time.sleep(0.3)  # the chance for more to slip through
        assert _rpushes(proxy, start) == LIMIT, "more requests reached the server than allowed"
        assert replies == []
        proxy.release()
        for thread in threads:
            thread.join(timeout=10)
        assert sorted(replies) == list(range(1, 10 * LIMIT + 1))
        assert sorted(client.lrange("order", 0, -1), key=int) == [
            str(i).encode() for i in range(10 * LIMIT)
        ]
    finally:
        proxy.release()
        for thread in threads:
            if thread.is_alive():
                thread.join(timeout=10)
        client.close()


def _count_for(seconds: float) -> int:
    """How many iterations a Python loop makes in ``seconds``."""
    count = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        count += 1
    return count


# The GIL is the client process's; the server only holds a BLPOP.
@pytest.mark.any_server
def test_a_waiting_sync_call_lets_other_threads_run(
    redis_server: RedisServer, transport: str
) -> None:
    # redis-py looks on, so a broken client under test cannot stall the observer.
    observer = redis.Redis(port=redis_server.port)
    name = key = f"gil-{transport}"
    waiter = babushka.Redis(port=redis_server.port, transport=transport, client_name=name)
    outcome: list[Any] = []

    def wait() -> None:
        outcome.append(waiter.execute_command("BLPOP", key, 5))

    thread = threading.Thread(target=wait, daemon=True)
    try:
        observer.delete(key)
        waiter.ping()
        baseline = _count_for(0.3)
        thread.start()
        # Were the GIL held through the wait, this thread would only get here
        # once the BLPOP had ended.
        assert wait_until(lambda: not thread.is_alive() or is_blocked(observer, name, "blpop"))
        assert thread.is_alive(), "this thread did not run while the BLPOP waited"
        during = _count_for(0.3)
        # The window was inside the wait.
        assert thread.is_alive() and is_blocked(observer, name, "blpop")
        observer.rpush(key, "done")
        thread.join(timeout=5)
        assert outcome == [(key.encode(), b"done")]
        # Generous: a shared machine is noisy; a held GIL gives (next to) nothing.
        assert during > baseline * 0.1, (baseline, during)
    finally:
        if thread.is_alive():
            observer.rpush(key, "done")
            thread.join(timeout=5)
        observer.delete(key)
        observer.close()
        waiter.close()
