"""What an async command returns behaves as an asyncio future on every
transport: Tasks, gather, wait_for, timeout, shield, wait, callbacks,
contextvars and run_until_complete all work as they do with asyncio.Future.
This module also runs under uvloop (``every_loop``).
(Commands whose reply is reshaped in Python, such as ``ping``, return a
coroutine instead, as redis-py's do; these tests use commands that do not.)

The managed transport returns the core's own future type (whose callbacks a
completion drain runs in place), so these tests pin its protocol down.
"""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

import pytest

import babushka
import babushka.asyncio
from support.servers import RedisServer

# What is under test is the future the client returns; the server only
# answers plain commands, alike on both kinds (conftest.py's any_server).
pytestmark = [pytest.mark.every_loop, pytest.mark.any_server]
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


async def test_is_a_future_with_results_and_errors(ar: babushka.asyncio.Redis) -> None:
    await ar.set("k", "v")
    fut = ar.get("k")
    assert asyncio.isfuture(fut)
    assert fut.get_loop() is asyncio.get_running_loop()
    assert not fut.done()
    with pytest.raises(asyncio.InvalidStateError):
        fut.result()
    assert await fut == b"v"
    assert fut.done() and not fut.cancelled()
    assert fut.result() == b"v" and fut.exception() is None
    # Awaiting a finished future again gives the same result.
    assert await fut == b"v"
    # A tuple result arrives whole (not unpacked as StopIteration's arguments).
    cursor_page = await ar.scan(0, match="k", count=100)
    assert type(cursor_page) is tuple and cursor_page == (0, [b"k"])

    failing = ar.execute_command("INCR", "k")
    with pytest.raises(babushka.ResponseError):
        await failing
    assert isinstance(failing.exception(), babushka.ResponseError)
    with pytest.raises(babushka.ResponseError):
        failing.result()


async def test_gather_keeps_order_and_reports_errors(ar: babushka.asyncio.Redis) -> None:
    await ar.mset({f"g{i}": i for i in range(50)})
    assert await asyncio.gather(*(ar.get(f"g{i}") for i in range(50))) == [
        str(i).encode() for i in range(50)
    ]
    await ar.set("text", "x")
    results = await asyncio.gather(ar.get("g1"), ar.incr("text"), return_exceptions=True)
    assert results[0] == b"1"
    assert isinstance(results[1], babushka.ResponseError)


async def test_wait_for_and_timeout_cancel_without_crossing_replies(
    redis_server: RedisServer, transport: str
) -> None:
    client = babushka.asyncio.Redis(port=redis_server.port, transport=transport)
    await client.set("k", "mine")
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(client.execute_command("BLPOP", "empty-list", 0.3), 0.05)
    async with asyncio.timeout(5):
        assert await client.get("k") == b"mine"  # answered after BLPOP's nil
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await client.execute_command("BLPOP", "empty-list", 0.3)
    assert await client.get("k") == b"mine"
    await client.aclose()


async def test_cancelling_the_awaiting_task(redis_server: RedisServer, transport: str) -> None:
    client = babushka.asyncio.Redis(port=redis_server.port, transport=transport)
    await client.set("k", "mine")

    async def blocked() -> Any:
        return await client.execute_command("BLPOP", "empty-list", 0.3)

    task = asyncio.create_task(blocked())
    await asyncio.sleep(0.05)
    task.cancel("stop it")
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()
    assert await client.get("k") == b"mine"
    await client.aclose()


async def test_cancelling_the_future_itself(redis_server: RedisServer, transport: str) -> None:
    client = babushka.asyncio.Redis(port=redis_server.port, transport=transport)
    await client.ping()
    fut = client.execute_command("BLPOP", "empty-list", 0.3)
    seen: list[bool] = []
    fut.add_done_callback(lambda f: seen.append(f.cancelled()))
    assert fut.cancel() is True
    assert fut.cancel() is False
    assert fut.cancelled() and fut.done()
    with pytest.raises(asyncio.CancelledError):
        fut.result()
    with pytest.raises(asyncio.CancelledError):
        await fut
    await asyncio.sleep(0)
    assert seen == [True]  # scheduled with call_soon, as asyncio does
    assert await client.echo("after") == b"after"
    await client.aclose()


async def test_gather_over_futures_cancelled_themselves(ar: babushka.asyncio.Redis) -> None:
    """gather reads a cancelled child's message and error through asyncio's
    private API (``_cancel_message``, ``_make_cancelled_error``)."""
    first, second = ar.execute_command("BLPOP", "none", 0.3), ar.echo("kept")
    first.cancel("changed my mind")
    results = await asyncio.gather(first, second, return_exceptions=True)
    assert isinstance(results[0], asyncio.CancelledError)
    assert results[0].args == ("changed my mind",)
    assert results[1] == b"kept"
    lone = ar.execute_command("BLPOP", "none", 0.3)
    lone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.gather(lone)


async def test_shield_lets_the_request_finish(ar: babushka.asyncio.Redis) -> None:
    await ar.rpush("queue", "job")
    inner = ar.execute_command("BLPOP", "queue", 1)
    outer = asyncio.shield(inner)
    outer.cancel()
    assert await inner == (b"queue", b"job")


async def test_wait_first_completed(ar: babushka.asyncio.Redis) -> None:
    slow = ar.execute_command("BLPOP", "empty-list", 0.2)
    done, pending = await asyncio.wait({slow}, timeout=5)
    assert done == {slow} and not pending
    assert slow.result() is None


async def test_done_callbacks_run_once_in_order_and_can_be_removed(
    ar: babushka.asyncio.Redis,
) -> None:
    calls: list[str] = []
    await ar.set("k", "v")
    fut = ar.get("k")

    def first(f: Any) -> None:
        calls.append(f"first:{f.result()}")

    def dropped(f: Any) -> None:
        calls.append("dropped")

    fut.add_done_callback(first)
    fut.add_done_callback(dropped)
    fut.add_done_callback(lambda f: calls.append("third"))
    assert fut.remove_done_callback(dropped) == 1
    assert fut.remove_done_callback(dropped) == 0
    await fut
    await asyncio.sleep(0)
    assert calls == ["first:b'v'", "third"]
    # Added after completion: scheduled, not run on the spot.
    fut.add_done_callback(lambda f: calls.append("late"))
    assert calls[-1] == "third"
    await asyncio.sleep(0)
    assert calls[-1] == "late"


async def test_a_failing_callback_reaches_the_exception_handler(
    ar: babushka.asyncio.Redis,
) -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        await ar.set("k", "v")
        fut = ar.get("k")
        after: list[bytes] = []

        def broken(_f: Any) -> None:
            raise ValueError("boom")

        fut.add_done_callback(broken)
        fut.add_done_callback(lambda f: after.append(f.result()))
        other = ar.echo("still delivered")
        assert await fut == b"v"
        assert await other == b"still delivered"
        await asyncio.sleep(0)
        assert after == [b"v"]
        assert [type(c["exception"]) for c in reported] == [ValueError]
    finally:
        loop.set_exception_handler(None)


async def test_each_task_resumes_in_its_own_context(ar: babushka.asyncio.Redis) -> None:
    async def worker(name: str) -> list[str]:
        request_id.set(name)
        seen = []
        for _ in range(5):
            await ar.ping()
            seen.append(request_id.get())
        return seen

    results = await asyncio.gather(*(worker(f"w{i}") for i in range(20)))
    assert results == [[f"w{i}"] * 5 for i in range(20)]
    assert request_id.get() == "-"


def test_run_until_complete_outside_a_task(redis_server: RedisServer, transport: str) -> None:
    loop = asyncio.new_event_loop()
    try:
        client = babushka.asyncio.Redis(port=redis_server.port, transport=transport)

        async def bind() -> None:
            await client.set("k", "v")

        loop.run_until_complete(bind())
        # The command's awaitable itself, not wrapped in a coroutine.
        assert loop.run_until_complete(client.get("k")) == b"v"
        loop.run_until_complete(client.aclose())
    finally:
        loop.close()


async def test_awaiting_from_another_loop_while_this_one_runs(
    redis_server: RedisServer, transport: str
) -> None:
    """A future is of the loop that called the command, so another loop's
    thread can use the client meanwhile (test_event_loops.py has more)."""
    client = babushka.asyncio.Redis(port=redis_server.port, transport=transport)
    await client.ping()

    def use_from_another_loop() -> Any:
        async def main() -> Any:
            return await client.echo("other loop")

        return asyncio.run(main())

    assert await asyncio.to_thread(use_from_another_loop) == b"other loop"
    assert await client.echo("this loop") == b"this loop"
    await client.aclose()


async def test_callbacks_without_a_context_run_in_a_copy_of_the_adding_one(
    ar: babushka.asyncio.Redis,
) -> None:
    await ar.set("k", "v")
    seen: list[str] = []

    def leak(_f: Any) -> None:
        request_id.set("leaked")  # must stay inside this callback's own copy

    async def add_from(name: str) -> Any:
        request_id.set(name)
        fut = ar.get("k")
        fut.add_done_callback(leak)
        fut.add_done_callback(lambda f: seen.append(request_id.get()))
        return fut

    futures = [await add_from("a"), await add_from("b")]
    request_id.set("main")
    last = ar.get("k")
    last.add_done_callback(lambda f: seen.append(request_id.get()))
    await asyncio.gather(*futures, last)
    await asyncio.sleep(0)
    assert sorted(seen) == ["a", "b", "main"]
    assert request_id.get() == "main"


# asyncio cannot close a transport whose loop is closed, so the uds stream's
# socket is closed by the collector, with a ResourceWarning.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_a_loop_closed_with_a_request_in_flight_is_freed(
    redis_server: RedisServer, transport: str
) -> None:
    import gc
    import time
    import weakref

    client = babushka.asyncio.Redis(port=redis_server.port, transport=transport)

    async def leave_one_pending(client: babushka.asyncio.Redis) -> None:
        await client.set("k", "v")
        waiting = asyncio.ensure_future(client.execute_command("BLPOP", "never", 0))
        await asyncio.sleep(0.05)
        assert not waiting.done()

    loop = asyncio.new_event_loop()
    loop.run_until_complete(leave_one_pending(client))
    # An asyncio.Future failed after its loop closed reports "exception never
    # retrieved" through the loop's handler; a captured log record would keep
    # the future (and the loop) alive, so the report goes nowhere here.
    loop.set_exception_handler(lambda _loop, _context: None)
    loop.close()
    freed = weakref.ref(loop)
    del loop
    client._core.close()  # the BLPOP now fails into a queue nobody drains
    del client
    deadline = time.monotonic() + 5
    while freed() is not None and time.monotonic() < deadline:
        gc.collect()
        time.sleep(0.05)
    assert freed() is None
