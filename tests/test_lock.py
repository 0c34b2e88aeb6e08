"""Distributed locks, sync and async (redis-py's ``Lock``): one holder at a
time among threads and tasks, tokens per thread, expiry, extend, reacquire,
refusal of a holder that lost the lock, the context managers, and the same
key format as redis-py's, so both clients exclude each other."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any, Callable

import pytest
import redis

import babushka
import babushka.asyncio
import babushka.exceptions
from babushka.asyncio.lock import Lock as AsyncLock
from babushka.lock import Lock
from support.servers import RedisServer


@pytest.fixture
def reference(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis(host=redis_server.host, port=redis_server.port)
    yield client
    client.close()


# -- one holder at a time ----------------------------------------------------


def _critical_section(client: babushka.Redis, state: dict[str, int], guard: threading.Lock) -> None:
    """Increments a counter in Redis by read, pause, write: any overlap of
    two holders loses an increment. ``state`` counts the holders inside."""
    with guard:
        state["inside"] += 1
        state["most"] = max(state["most"], state["inside"])
    value = int(client.get("counter") or 0)
    time.sleep(0.002)
    client.set("counter", value + 1)
    with guard:
        state["inside"] -= 1


@pytest.mark.parametrize("shared_object", [True, False])
def test_threads_take_turns(r: babushka.Redis, shared_object: bool) -> None:
    threads, rounds = 6, 5
    state = {"inside": 0, "most": 0}
    guard = threading.Lock()
    # One Lock object for every thread (its token is per thread), or one each.
    shared = r.lock("resource", timeout=10, sleep=0.005)

    def worker() -> None:
        lock = shared if shared_object else r.lock("resource", timeout=10, sleep=0.005)
        for _ in range(rounds):
            with lock:
                _critical_section(r, state, guard)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(30)
    assert not any(thread.is_alive() for thread in pool)
    assert state["most"] == 1
    assert r.get("counter") == str(threads * rounds).encode()
    assert r.exists("resource") == 0


async def test_tasks_take_turns(ar: babushka.asyncio.Redis) -> None:
    tasks, rounds = 6, 5
    state = {"inside": 0, "most": 0}

    async def worker() -> None:
        # A Lock object per task: with thread_local the token is per thread,
        # which the tasks of one loop share (as in redis-py).
        lock = ar.lock("resource", timeout=10, sleep=0.005)
        for _ in range(rounds):
            async with lock:
                state["inside"] += 1
                state["most"] = max(state["most"], state["inside"])
                value = int(await ar.get("counter") or 0)
                await asyncio.sleep(0.002)
                await ar.set("counter", value + 1)
                state["inside"] -= 1

    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(tasks))), 30)
    assert state["most"] == 1
    assert await ar.get("counter") == str(tasks * rounds).encode()


def test_acquire_release(r: babushka.Redis) -> None:
    lock = r.lock("l")
    assert isinstance(lock, Lock)
    assert lock.locked() is False and lock.owned() is False
    assert lock.acquire() is True
    token = r.get("l")
    # redis-py's tokens: uuid1 in hex, as bytes.
    assert lock.local.token == token and len(token) == 32 and int(token, 16) > 0
    assert r.ttl("l") == -1  # no timeout: held until released
    assert lock.locked() is True and lock.owned() is True
    other = r.lock("l", blocking=False)
    assert other.acquire() is False
    assert other.locked() is True and other.owned() is False
    lock.release()
    assert lock.locked() is False and lock.owned() is False
    assert other.acquire() is True
    other.release()


def test_given_token(rd: babushka.Redis) -> None:
    lock = rd.lock("l")
    assert lock.acquire(token="mine") is True
    assert rd.get("l") == "mine"
    assert lock.owned() is True  # the decoded value is compared as bytes
    lock.release()


async def test_acquire_release_async(ar: babushka.asyncio.Redis) -> None:
    lock = ar.lock("l", timeout=5)
    assert isinstance(lock, AsyncLock)
    assert await lock.acquire() is True
    assert await lock.locked() is True and await lock.owned() is True
    assert 0 < await ar.pttl("l") <= 5000
    other = ar.lock("l")
    assert await other.acquire(blocking=False) is False
    await lock.release()
    assert await lock.locked() is False
    assert await other.acquire(token=b"t") is True
    assert await ar.get("l") == b"t"
    await other.release()


# -- expiry, extend, reacquire ------------------------------------------------


def test_expiry_frees_the_lock(r: babushka.Redis) -> None:
    first = r.lock("l", timeout=0.2)
    assert first.acquire() is True
    assert r.pttl("l") <= 200
    second = r.lock("l", sleep=0.02, blocking_timeout=5)
    started = time.monotonic()
    assert second.acquire() is True  # once the first expired
    assert time.monotonic() - started < 5
    # The first holder lost it: it may not release the second's lock.
    assert first.owned() is False
    with pytest.raises(babushka.LockNotOwnedError):
        first.release()
    assert second.owned() is True
    second.release()


def test_extend(r: babushka.Redis) -> None:
    lock = r.lock("l", timeout=1)
    with pytest.raises(babushka.LockError, match="unlocked"):
        lock.extend(1)
    lock.acquire()
    assert lock.extend(2) is True  # added to the remaining time
    assert 1500 < r.pttl("l") <= 3000
    assert lock.extend(0.5, replace_ttl=True) is True
    assert 0 < r.pttl("l") <= 500
    r.set("l", "someone else")
    with pytest.raises(babushka.LockNotOwnedError):
        lock.extend(1)
    untimed = r.lock("u")
    untimed.acquire()
    with pytest.raises(babushka.LockError, match="no timeout"):
        untimed.extend(1)
    with pytest.raises(babushka.DataError, match="additional_time"):
        r.lock("t", timeout=1).do_extend("soon", False)  # type: ignore[arg-type]


def test_reacquire(r: babushka.Redis) -> None:
    lock = r.lock("l", timeout=2)
    with pytest.raises(babushka.LockError, match="unlocked"):
        lock.reacquire()
    lock.acquire()
    lock.extend(0.5, replace_ttl=True)
    assert r.pttl("l") <= 500
    assert lock.reacquire() is True
    assert 1000 < r.pttl("l") <= 2000
    r.delete("l")
    with pytest.raises(babushka.LockNotOwnedError):
        lock.reacquire()
    untimed = r.lock("u")
    untimed.acquire()
    with pytest.raises(babushka.LockError, match="no timeout"):
        untimed.reacquire()


async def test_expiry_extend_reacquire_async(ar: babushka.asyncio.Redis) -> None:
    lock = ar.lock("l", timeout=0.2)
    with pytest.raises(babushka.LockError):
        await lock.extend(1)
    assert await lock.acquire() is True
    assert await lock.extend(1) is True  # added to what remains of 0.2 s
    assert 500 < await ar.pttl("l") <= 1200
    assert await lock.extend(1.5, replace_ttl=True) is True
    assert 500 < await ar.pttl("l") <= 1500
    assert await lock.reacquire() is True  # back to the lock's 0.2 s
    assert await ar.pttl("l") <= 200
    await asyncio.sleep(0.4)
    assert await lock.locked() is False
    with pytest.raises(babushka.LockNotOwnedError):
        await lock.extend(1)
    with pytest.raises(babushka.LockNotOwnedError):
        await lock.release()
    with pytest.raises(babushka.LockError):  # the token is gone now
        await lock.release()


# -- who may release -----------------------------------------------------------


def test_release_by_a_non_owner_is_refused(r: babushka.Redis) -> None:
    lock = r.lock("l")
    with pytest.raises(babushka.LockError) as raised:
        lock.release()  # never acquired
    assert not isinstance(raised.value, babushka.LockNotOwnedError)
    assert raised.value.lock_name == "l"
    lock.acquire()
    r.set("l", "taken over")  # another holder's token
    with pytest.raises(babushka.LockNotOwnedError) as refused:
        lock.release()
    assert refused.value.lock_name == "l"
    assert r.get("l") == b"taken over"  # left alone
    with pytest.raises(babushka.LockError):
        lock.release()  # the token was dropped with the refusal


@pytest.mark.parametrize("thread_local", [True, False])
def test_tokens_per_thread(r: babushka.Redis, thread_local: bool) -> None:
    lock = r.lock("l", thread_local=thread_local)
    lock.acquire()
    outcome: list[Any] = []

    def other_thread() -> None:
        try:
            outcome.append(lock.owned())
            lock.release()
            outcome.append("released")
        except babushka.LockError as error:
            outcome.append(error)

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join(10)
    if thread_local:  # the other thread has no token: it holds nothing
        assert outcome[0] is False and isinstance(outcome[1], babushka.LockError)
        assert lock.owned() is True
        lock.release()
    else:  # one token for all: handed over to the other thread
        assert outcome == [True, "released"]
    assert r.exists("l") == 0


# -- waiting --------------------------------------------------------------------


def test_blocking_timeout_gives_up(r: babushka.Redis) -> None:
    holder = r.lock("l")
    holder.acquire()
    waiter = r.lock("l", sleep=0.05, blocking_timeout=0.3)
    started = time.monotonic()
    assert waiter.acquire() is False
    assert 0.1 <= time.monotonic() - started < 5
    started = time.monotonic()
    assert waiter.acquire(blocking=False) is False
    assert waiter.acquire(blocking_timeout=0.1) is False
    assert waiter.acquire(blocking_timeout=0) is False
    assert time.monotonic() - started < 5
    assert r.lock("l", blocking=False).acquire() is False


async def test_blocking_timeout_gives_up_async(ar: babushka.asyncio.Redis) -> None:
    holder = ar.lock("l")
    await holder.acquire()
    waiter = ar.lock("l", sleep=0.05, blocking_timeout=0.3)
    started = time.monotonic()
    assert await waiter.acquire() is False
    assert 0.1 <= time.monotonic() - started < 5
    assert await waiter.acquire(blocking=False) is False
    assert await ar.lock("l", blocking=False).acquire() is False


def test_waiter_gets_the_lock_when_released(r: babushka.Redis) -> None:
    holder = r.lock("l", thread_local=False)  # released by the timer's thread
    holder.acquire()
    threading.Timer(0.1, holder.release).start()
    assert r.lock("l", sleep=0.01, blocking_timeout=5).acquire() is True


# -- context managers -----------------------------------------------------------


def test_context_manager(r: babushka.Redis) -> None:
    with r.lock("l", timeout=5) as lock:
        assert lock.owned() is True
    assert r.exists("l") == 0
    with pytest.raises(ValueError, match="boom"), r.lock("l"):  # released on errors too
        raise ValueError("boom")
    assert r.exists("l") == 0
    r.set("l", "held elsewhere")
    with (
        pytest.raises(babushka.LockError, match="Unable to acquire"),
        r.lock("l", blocking_timeout=0.1),
    ):
        pass


def test_context_manager_lost_lock(r: babushka.Redis, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(babushka.LockNotOwnedError), r.lock("l"):
        r.delete("l")
    with (
        caplog.at_level(logging.WARNING, logger="babushka.lock"),
        r.lock("l", raise_on_release_error=False),
    ):
        r.delete("l")
    assert "no longer owned" in caplog.text


async def test_context_manager_async(ar: babushka.asyncio.Redis) -> None:
    async with ar.lock("l", timeout=5) as lock:
        assert await lock.owned() is True
    assert await ar.exists("l") == 0
    await ar.set("l", "held elsewhere")
    with pytest.raises(babushka.LockError, match="Unable to acquire"):
        async with ar.lock("l", blocking=False):
            pass
    await ar.delete("l")
    with pytest.raises(babushka.LockNotOwnedError):
        async with ar.lock("l"):
            await ar.delete("l")
    async with ar.lock("l", raise_on_release_error=False):
        await ar.delete("l")


# -- the scripts, the arguments, the classes ------------------------------------


def test_scripts_survive_a_flushed_cache(r: babushka.Redis) -> None:
    lock = r.lock("l", timeout=5)
    lock.acquire()
    r.script_flush()
    assert lock.extend(1) is True  # EVALSHA: NOSCRIPT, loaded, run again
    r.script_flush()
    assert lock.reacquire() is True
    r.script_flush()
    lock.release()
    assert r.exists("l") == 0


async def test_scripts_survive_a_flushed_cache_async(ar: babushka.asyncio.Redis) -> None:
    lock = ar.lock("l", timeout=5)
    await lock.acquire()
    await ar.script_flush()
    assert await lock.extend(1) is True
    await ar.script_flush()
    await lock.release()
    assert await ar.exists("l") == 0


@pytest.mark.parametrize(
    ("make", "argument"),
    [
        (lambda c: c.lock("l", timeout=-1), "timeout"),
        (lambda c: c.lock("l", timeout=0), "timeout"),
        (lambda c: c.lock("l", timeout="10"), "timeout"),
        (lambda c: c.lock("l", sleep=None), "sleep"),
        (lambda c: c.lock("l", blocking_timeout=-0.5), "blocking_timeout"),
        (lambda c: c.lock(7), "name"),
        (lambda c: c.lock("l").acquire(blocking_timeout="1"), "blocking_timeout"),
        (lambda c: c.lock("l").acquire(sleep=-1), "sleep"),
        (lambda c: c.lock("l").acquire(token=object()), "token"),
    ],
)
def test_bad_arguments(
    r: babushka.Redis, make: Callable[[babushka.Redis], Any], argument: str
) -> None:
    with pytest.raises(babushka.DataError, match=argument):
        make(r)
    assert r.exists("l") == 0


def test_lock_class(r: babushka.Redis) -> None:
    class Named(Lock):
        pass

    lock = r.lock("l", timeout=3, lock_class=Named, thread_local=False)
    assert type(lock) is Named and lock.timeout == 3 and lock.thread_local is False
    with lock:
        assert lock.owned() is True


def test_error_classes() -> None:
    for module in (babushka, babushka.exceptions, babushka.asyncio):
        assert module.LockNotOwnedError is babushka.exceptions.LockNotOwnedError
        assert module.LockError is babushka.exceptions.LockError
    assert issubclass(babushka.LockNotOwnedError, babushka.LockError)
    assert issubclass(babushka.LockError, babushka.RedisError)
    assert issubclass(babushka.LockError, ValueError)
    error = babushka.LockError("message", lock_name="name")
    assert (error.message, error.lock_name, str(error)) == ("message", "name", "message")


def test_excludes_redis_py_locks(r: babushka.Redis, reference: redis.Redis) -> None:
    ours = r.lock("l", timeout=5)
    assert ours.acquire() is True
    assert reference.lock("l", blocking=False).acquire() is False
    # The key holds what redis-py's does (a uuid1 hex token, PX timeout), so
    # redis-py's Lock given our token releases it, and the other way round.
    theirs = reference.lock("l")
    theirs.local.token = ours.local.token
    assert theirs.owned() is True
    theirs.release()
    assert reference.lock("l", timeout=5).acquire(token="t") is True
    ours.local.token = b"t"
    assert ours.owned() is True
    ours.release()
    assert r.exists("l") == 0
