"""Many threads and many tasks on one client: every caller gets its own reply."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any, Callable

import pytest
import redis

import babushka
import babushka.asyncio
from support.faults import Proxy, wait_until
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


async def _async_wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def test_in_flight_limit_holds_back_the_rest(proxy: Proxy, transport: str) -> None:
    client = babushka.asyncio.Redis(port=proxy.port, transport=transport, max_in_flight=LIMIT)
    try:
        await client.delete("order")  # connected, handshake done
        start = len(proxy.commands)
        proxy.hold()  # the server seems to stall: no reply comes back
        pending = [client.rpush("order", i) for i in range(10 * LIMIT)]
        assert await _async_wait_until(lambda: _rpushes(proxy, start) >= LIMIT)
        # Without the limit the rest would follow at once; give them the chance.
        await asyncio.sleep(0.3)
        assert _rpushes(proxy, start) == LIMIT, "more requests reached the server than allowed"
        assert not any(asyncio.ensure_future(p).done() for p in pending)
        proxy.release()
        # Every request completes (in which order: see the test below).
        results = await asyncio.wait_for(asyncio.gather(*pending), 10)
        assert sorted(results) == list(range(1, 10 * LIMIT + 1))
        assert sorted(await client.lrange("order", 0, -1), key=int) == [
            str(i).encode() for i in range(10 * LIMIT)
        ]
    finally:
        proxy.release()
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


#: Client settings under which async calls must still reach the server in call order.
ORDER_SETTINGS: dict[str, dict[str, Any]] = {
    "plain": {},
    "max_in_flight": {"max_in_flight": LIMIT},
    "socket_timeout": {"socket_timeout": 30},
}


@pytest.mark.parametrize("setting", ORDER_SETTINGS)
async def test_async_calls_reach_the_server_in_call_order(
    redis_server: RedisServer, transport: str, setting: str, request: pytest.FixtureRequest
) -> None:
    # DESIGN.md, the request model: "nothing is spawned per request, so call
    # order is kept in every setting". Today a request is spawned on the
    # runtime on ffi, uds, and managed with a limit or a timeout, and workers
    # start those tasks in any order; the request-path rewrite removes that.
    if transport != "managed" or setting != "plain":
        request.applymarker(
            pytest.mark.xfail(strict=True, reason="requests spawned per call lose their order")
        )
    client = babushka.asyncio.Redis(
        port=redis_server.port, transport=transport, **ORDER_SETTINGS[setting]
    )
    try:
        await client.delete("order")
        count = 200
        results = await asyncio.gather(*(client.rpush("order", i) for i in range(count)))
        assert results == list(range(1, count + 1))
        assert await client.lrange("order", 0, -1) == [str(i).encode() for i in range(count)]
    finally:
        await client.aclose()


def _count_for(seconds: float) -> int:
    """How many iterations a Python loop makes in ``seconds``."""
    count = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        count += 1
    return count


def _is_blocked(observer: redis.Redis, client_id: int) -> bool:
    return any(
        entry["cmd"] == "blpop" and "b" in entry["flags"]
        for entry in observer.client_list(client_id=[client_id])
    )


def test_a_waiting_sync_call_lets_other_threads_run(
    redis_server: RedisServer, transport: str
) -> None:
    # redis-py looks on, so a broken client under test cannot stall the observer.
    observer = redis.Redis(port=redis_server.port)
    waiter = babushka.Redis(port=redis_server.port, transport=transport)  # blocked: its own
    key = f"gil:{transport}"
    outcome: list[Any] = []

    def wait() -> None:
        outcome.append(waiter.execute_command("BLPOP", key, 5))

    thread = threading.Thread(target=wait, daemon=True)
    try:
        observer.delete(key)
        waiter_id = waiter.client_id()
        baseline = _count_for(0.3)
        thread.start()
        # Were the GIL held through the wait, this thread would only get here
        # once the BLPOP had ended.
        assert wait_until(lambda: not thread.is_alive() or _is_blocked(observer, waiter_id))
        assert thread.is_alive(), "this thread did not run while the BLPOP waited"
        during = _count_for(0.3)
        assert thread.is_alive() and _is_blocked(observer, waiter_id)  # the window was inside it
        observer.rpush(key, "done")
        thread.join(timeout=5)
        assert outcome == [[key.encode(), b"done"]]
        # Generous: a shared machine is noisy; a held GIL gives (next to) nothing.
        assert during > baseline * 0.1, (baseline, during)
    finally:
        if thread.is_alive():
            observer.rpush(key, "done")
            thread.join(timeout=5)
        observer.delete(key)
        observer.close()
        waiter.close()
