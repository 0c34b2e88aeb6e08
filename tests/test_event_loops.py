"""A client outlives its event loops, and loops in several threads at once
each get their replies: ``asyncio.run`` twice with one client, a loop closed
by hand, a client per loop in several threads, one client shared by loops in
two threads. Every transport keeps something per loop (managed: a completion
queue; ffi: the loop its callbacks wake; uds: a stream), found again from the
running loop. This module also runs under uvloop (``every_loop``)."""

from __future__ import annotations

import asyncio
import functools
import gc
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import babushka
import babushka.asyncio
from support.loops import LOOP_FACTORIES, selected_loops
from support.servers import RedisServer

# What is under test is the client's state per event loop; the server only
# answers plain commands and pub/sub, alike on both kinds (conftest.py).
pytestmark = [pytest.mark.every_loop, pytest.mark.any_server]


def _client(server: RedisServer, transport: str) -> babushka.asyncio.Redis:
    return babushka.asyncio.Redis(host=server.host, port=server.port, transport=transport)


def _run(call: Callable[[], Awaitable[Any]], loop_name: str) -> Any:
    """``asyncio.run(call())`` on a new loop of ``loop_name``, as a script
    would (``asyncio.run`` has no loop factory before Python 3.12)."""

    async def main() -> Any:
        return await call()

    loop = LOOP_FACTORIES[loop_name]()
    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(main())
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


@pytest.fixture(params=selected_loops())
def loop_name(request: pytest.FixtureRequest) -> str:
    """For the sync tests that run loops themselves: each loop implementation."""
    return str(request.param)


async def _round_trip(r: babushka.asyncio.Redis, n: int) -> list[Any]:
    """A command, a reshaped reply, a pipeline, a transaction with WATCH and
    a blocking command on a dedicated connection: every path a loop serves."""
    await r.set(f"loop:{n}", n)
    value = await r.get(f"loop:{n}")
    pong = await r.ping()
    async with r.pipeline(transaction=False) as pipe:
        pipe.incr("loop:count").get(f"loop:{n}")
        piped = await pipe.execute()

    async def bump(pipe: Any) -> None:
        current = int(await pipe.get("loop:watched") or 0)
        pipe.multi()
        pipe.set("loop:watched", current + 1)

    await r.transaction(bump, "loop:watched")
    await r.rpush("loop:list", n)
    popped = await r.blpop(["loop:list"], timeout=1)
    return [value, pong, piped[1], popped]


def test_one_client_serves_one_loop_after_another(
    redis_server: RedisServer, transport: str, loop_name: str
) -> None:
    r = _client(redis_server, transport)
    _run(r.flushdb, loop_name)
    for n in range(3):
        assert _run(functools.partial(_round_trip, r, n), loop_name) == [
            str(n).encode(),
            True,
            str(n).encode(),
            (b"loop:list", str(n).encode()),
        ]
    assert _run(lambda: r.get("loop:count"), loop_name) == b"3"
    assert _run(lambda: r.get("loop:watched"), loop_name) == b"3"
    _run(r.aclose, loop_name)


def test_asyncio_run_twice(redis_server: RedisServer, transport: str) -> None:
    """The case from the issue, with ``asyncio.run`` itself."""
    r = _client(redis_server, transport)

    async def main(n: int) -> Any:
        await r.set("twice", n)
        return await r.get("twice")

    assert asyncio.run(main(1)) == b"1"
    assert asyncio.run(main(2)) == b"2"
    asyncio.run(r.aclose())


def test_a_loop_closed_without_shutting_down(
    redis_server: RedisServer, transport: str, loop_name: str
) -> None:
    """A loop closed by hand (no ``shutdown_asyncgens``) gives no notice; the
    next loop still works. What the client kept for the closed loop is let go
    when the next loop calls, without a ResourceWarning (the suite makes
    warnings errors: uvloop's ``close()`` used to hang on the uds stream's
    transport then, its warning raised inside uvloop's handle walk)."""
    r = _client(redis_server, transport)
    loop = LOOP_FACTORIES[loop_name]()

    async def set_and_leave() -> Any:
        return await r.set("closed", 1)

    assert loop.run_until_complete(set_and_leave()) is True
    loop.close()
    assert _run(lambda: r.get("closed"), loop_name) == b"1"
    _run(r.aclose, loop_name)
    gc.collect()


def test_a_request_pending_when_its_loop_closed(
    redis_server: RedisServer, transport: str, loop_name: str
) -> None:
    """A reply that arrives after its loop closed is dropped; the client goes
    on serving the next loop."""
    r = _client(redis_server, transport)

    async def leave_pending() -> None:
        r.execute_command("DEBUG", "SLEEP", "0.2")  # never awaited

    _run(leave_pending, loop_name)
    assert _run(lambda: r.echo("after"), loop_name) == b"after"
    _run(r.aclose, loop_name)


def _in_threads(count: int, target: Callable[[int], Any]) -> list[Any]:
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            results[n] = target(n)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a thread's loop hung"
    if errors:
        raise errors[0]
    return results


async def _count_up(r: babushka.asyncio.Redis, n: int) -> list[Any]:
    own = await asyncio.gather(*(r.incr(f"thread:{n}") for _ in range(200)))
    shared = await asyncio.gather(*(r.incr("thread:all") for _ in range(50)))
    return [own[-1], len(shared)]


def test_a_client_per_loop_in_several_threads(
    redis_server: RedisServer, transport: str, loop_name: str
) -> None:
    def thread(n: int) -> list[Any]:
        async def main() -> list[Any]:
            async with _client(redis_server, transport) as r:
                return await _count_up(r, n)

        return _run(main, loop_name)

    _run(_client(redis_server, transport).flushdb, loop_name)
    assert _in_threads(4, thread) == [[200, 50]] * 4
    assert _run(lambda: _client(redis_server, transport).get("thread:all"), loop_name) == b"200"


def test_one_client_shared_by_loops_in_two_threads(
    redis_server: RedisServer, transport: str, loop_name: str
) -> None:
    """Each call's future is of its caller's loop, however the calls interleave."""
    r = _client(redis_server, transport)
    _run(r.flushdb, loop_name)
    assert _in_threads(2, lambda n: _run(lambda: _count_up(r, n), loop_name)) == [[200, 50]] * 2
    assert _run(lambda: r.get("thread:all"), loop_name) == b"100"
    _run(r.aclose, loop_name)


def test_outside_a_running_loop(redis_server: RedisServer, transport: str, loop_name: str) -> None:
    """A command's future is of a loop: outside one, of the loop the client
    last ran on (``loop.run_until_complete(r.get(k))``), and before any, none."""
    r = _client(redis_server, transport)
    with pytest.raises(RuntimeError, match="no running event loop"):
        r.get("k")
    loop = LOOP_FACTORIES[loop_name]()
    try:

        async def in_a_task() -> Any:
            return await r.echo("in a task")

        assert loop.run_until_complete(in_a_task()) == b"in a task"
        assert loop.run_until_complete(r.echo("outside")) == b"outside"
        loop.run_until_complete(r.aclose())
    finally:
        loop.close()


async def test_an_async_test_runs_on_its_loop_kind(ar: babushka.asyncio.Redis) -> None:
    """This module's async tests run on each selected loop (``every_loop``)."""
    await ar.set("kind", type(asyncio.get_running_loop()).__module__)
    assert await ar.get("kind") is not None


def _pubsub_rounds(
    r: babushka.asyncio.Redis, loop_name: str, close_by_hand: bool
) -> list[tuple[Any, Any]]:
    """One PubSub used from three loops in turn: subscribed on the first,
    read on each; a subscription made on one loop holds on the next."""
    p = r.pubsub(ignore_subscribe_messages=True)

    async def receive(channel: str, data: str) -> tuple[Any, Any]:
        # Used on this loop before the publish: on uds that subscribes again
        # on this loop's stream (what is published while no loop listens is
        # lost there; managed and ffi keep it in the core's subscriber).
        assert await p.get_message(timeout=0.05) is None
        await r.publish(channel, data)
        for _ in range(3):  # None for an ignored subscribe confirmation
            message = await p.get_message(timeout=5)
            if message is not None:
                return message["channel"], message["data"]
        raise AssertionError(f"{data!r} never arrived")

    async def first() -> tuple[Any, Any]:
        await p.subscribe("news")
        return await receive("news", "one")

    async def third() -> tuple[Any, Any]:
        await p.psubscribe("more:*")
        return await receive("more:x", "three")

    rounds = []
    if close_by_hand:
        loop = LOOP_FACTORIES[loop_name]()
        rounds.append(loop.run_until_complete(first()))
        loop.close()
    else:
        rounds.append(_run(first, loop_name))
    rounds.append(_run(lambda: receive("news", "two"), loop_name))
    rounds.append(_run(third, loop_name))
    rounds.append(_run(lambda: receive("news", "four"), loop_name))
    _run(p.aclose, loop_name)
    _run(r.aclose, loop_name)
    return rounds


@pytest.mark.parametrize("close_by_hand", [False, True], ids=["shut-down", "closed-by-hand"])
def test_a_pubsub_serves_one_loop_after_another(
    redis_server: RedisServer, transport: str, loop_name: str, close_by_hand: bool
) -> None:
    """As the clients do: a PubSub first used on a loop that has closed
    works from the next one, its subscriptions kept."""
    assert _pubsub_rounds(_client(redis_server, transport), loop_name, close_by_hand) == [
        (b"news", b"one"),
        (b"news", b"two"),
        (b"more:x", b"three"),
        (b"news", b"four"),
    ]
    gc.collect()


def test_messages_wait_for_the_next_loop(
    redis_server: RedisServer, transport: str, loop_name: str
) -> None:
    """On managed and ffi the core's subscriber outlives the loop, so what is
    published between two loops waits for the next; on uds it went with the
    loop's stream (documented in ``PubSub._follow_running_loop``)."""
    if transport == "uds":
        pytest.skip("uds: a subscriber lives on its loop's stream; messages in between are lost")
    r = _client(redis_server, transport)
    p = r.pubsub(ignore_subscribe_messages=True)
    _run(lambda: p.subscribe("between"), loop_name)
    publisher = babushka.Redis(host=redis_server.host, port=redis_server.port)
    assert publisher.publish("between", "kept") == 1
    publisher.close()

    async def read() -> Any:
        for _ in range(3):
            message = await p.get_message(timeout=5)
            if message is not None:
                return message["data"]
        return None

    assert _run(read, loop_name) == b"kept"
    _run(p.aclose, loop_name)
    _run(r.aclose, loop_name)
