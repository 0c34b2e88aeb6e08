"""Pipelines and transactions, sync and async: redis-py's API and results,
its error messages, WATCH sessions on a connection of their own, and
MULTI..EXEC kept whole on a connection other callers share."""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
import tracemalloc
from typing import Any

import pytest
import redis
import redis.asyncio

import babushka
import babushka.asyncio
from support.scenario import same
from support.servers import RedisServer

Queued = tuple[str, tuple[Any, ...], dict[str, Any]]


def q(method: str, *args: Any, **kwargs: Any) -> Queued:
    return (method, args, kwargs)


def queue(pipe: Any, commands: list[Queued]) -> None:
    for method, args, kwargs in commands:
        assert getattr(pipe, method)(*args, **kwargs) is pipe  # chaining


#: Commands whose replies are shaped by the core, or parsed in Python
#: (ping, info, a score_cast_func), and what a pipeline returns for them.
SHAPES: list[Queued] = [
    q("set", "s", "1"),
    q("get", "s"),
    q("incr", "n"),
    q("incrbyfloat", "f", 1.5),
    q("hset", "h", mapping={"a": "1", "b": "2"}),
    q("hgetall", "h"),
    q("sadd", "set", "x", "y"),
    q("smembers", "set"),
    q("zadd", "z", {"m": 1, "n": 2}),
    q("zrange", "z", 0, -1, withscores=True),
    q("zrange", "z", 0, -1, withscores=True, score_cast_func=int),
    q("zscore", "z", "m"),
    q("expire", "s", 100),
    q("ping"),
    q("mget", ["s", "missing"]),
    q("delete", "s"),
    q("get", "s"),
]
SHAPES_RESULTS = [
    True,
    b"1",
    1,
    1.5,
    2,
    {b"a": b"1", b"b": b"2"},
    2,
    {b"x", b"y"},
    2,
    [(b"m", 1.0), (b"n", 2.0)],
    [(b"m", 1), (b"n", 2)],
    1.0,
    True,
    True,
    [b"1", None],
    1,
    None,
]


@pytest.mark.parametrize("transaction", [True, False])
def test_results_and_shapes(r: babushka.Redis, transaction: bool) -> None:
    pipe = r.pipeline(transaction=transaction)
    queue(pipe, SHAPES)
    assert len(pipe) == len(SHAPES)
    results = pipe.execute()
    assert same(results, SHAPES_RESULTS), results
    assert len(pipe) == 0  # reset after execute


@pytest.mark.parametrize("transaction", [True, False])
async def test_results_and_shapes_async(ar: babushka.asyncio.Redis, transaction: bool) -> None:
    pipe = ar.pipeline(transaction=transaction)
    queue(pipe, SHAPES)
    assert len(pipe) == len(SHAPES)
    results = await pipe.execute()
    assert same(results, SHAPES_RESULTS), results
    assert len(pipe) == 0


@pytest.mark.parametrize("transaction", [True, False])
def test_results_match_redis_py(
    r: babushka.Redis, redis_server: RedisServer, transaction: bool
) -> None:
    reference = redis.Redis(host=redis_server.host, port=redis_server.port, db=1)
    reference.flushdb()
    try:
        theirs = reference.pipeline(transaction=transaction)
        for method, args, kwargs in SHAPES:
            getattr(theirs, method)(*args, **kwargs)
        expected = theirs.execute()
        pipe = r.pipeline(transaction=transaction)
        queue(pipe, SHAPES)
        assert same(pipe.execute(), expected)
    finally:
        reference.close()


def test_info_is_parsed_per_command(r: babushka.Redis) -> None:
    ping, info, echo = r.pipeline().ping().info("server").echo("e").execute()
    assert ping is True
    assert isinstance(info, dict) and "redis_version" in info
    assert echo == b"e"


async def test_parse_functions_apply_in_the_async_pipeline(ar: babushka.asyncio.Redis) -> None:
    await ar.set("z", "not a sorted set")
    pipe = ar.pipeline()
    pipe.ping().info("server").zrange("z", 0, -1, withscores=True, score_cast_func=int)
    ping, info, error = await pipe.execute(raise_on_error=False)
    assert ping is True and "redis_version" in info
    assert isinstance(error, babushka.ResponseError)


def test_empty_pipeline(r: babushka.Redis) -> None:
    for transaction in (True, False):
        pipe = r.pipeline(transaction=transaction)
        assert bool(pipe) is True  # truthy even when empty, as redis-py's
        assert len(pipe) == 0
        assert pipe.execute() == []


async def test_empty_pipeline_async(ar: babushka.asyncio.Redis) -> None:
    for transaction in (True, False):
        pipe = ar.pipeline(transaction=transaction)
        assert bool(pipe) is True
        assert len(pipe) == 0
        assert await pipe.execute() == []


def test_reset_and_context_manager(r: babushka.Redis) -> None:
    pipe = r.pipeline()
    pipe.set("a", 1).set("b", 2)
    assert len(pipe) == 2
    pipe.reset()
    assert len(pipe) == 0
    assert pipe.execute() == []
    assert r.exists("a", "b") == 0
    with r.pipeline() as pipe:
        pipe.set("a", 1)
        assert pipe.execute() == [True]
        pipe.set("b", 2)
    assert len(pipe) == 0  # left unsent, reset on exit
    assert r.exists("b") == 0


async def test_reset_and_context_manager_async(ar: babushka.asyncio.Redis) -> None:
    pipe = ar.pipeline()
    pipe.set("a", 1).set("b", 2)
    await pipe.reset()
    assert len(pipe) == 0
    async with ar.pipeline() as pipe:
        # The async pipeline may be awaited after a queued command, as redis-py's.
        assert await pipe.set("a", 1) is pipe
        assert await pipe.execute() == [True]
        pipe.set("b", 2)
    assert len(pipe) == 0
    assert await ar.exists("b") == 0


def test_execute_command(r: babushka.Redis) -> None:
    pipe = r.pipeline()
    pipe.execute_command("SET", "k", "v").execute_command("get", "k")
    pipe.execute_command(b"HSET", "h", "f", "v").execute_command("HGETALL", "h")
    assert pipe.execute() == [True, b"v", 1, {b"f": b"v"}]


async def test_execute_command_async(ar: babushka.asyncio.Redis) -> None:
    pipe = ar.pipeline(transaction=False)
    pipe.execute_command("SET", "k", "v").execute_command("GET", "k")
    assert await pipe.execute() == [True, b"v"]


# -- errors ------------------------------------------------------------------------

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def _with_an_error(pipe: Any) -> None:
    pipe.set("a", "x").lpush("a", 1).get("a")


@pytest.mark.parametrize("transaction", [True, False])
def test_raise_on_error(r: babushka.Redis, transaction: bool) -> None:
    pipe = r.pipeline(transaction=transaction)
    _with_an_error(pipe)
    with pytest.raises(babushka.ResponseError) as raised:
        pipe.execute()
    assert str(raised.value) == (f"Command # 2 (LPUSH a 1) of pipeline caused error: {WRONGTYPE}")
    assert r.get("a") == b"x"  # the other commands ran
    _with_an_error(pipe)
    set_a, error, get_a = pipe.execute(raise_on_error=False)
    assert (set_a, get_a) == (True, b"x")
    assert isinstance(error, babushka.ResponseError)
    assert str(error) == WRONGTYPE  # in place, not annotated (as redis-py)


@pytest.mark.parametrize("transaction", [True, False])
async def test_raise_on_error_async(ar: babushka.asyncio.Redis, transaction: bool) -> None:
    pipe = ar.pipeline(transaction=transaction)
    _with_an_error(pipe)
    with pytest.raises(babushka.ResponseError) as raised:
        await pipe.execute()
    assert str(raised.value) == (f"Command # 2 (LPUSH a 1) of pipeline caused error: {WRONGTYPE}")
    _with_an_error(pipe)
    set_a, error, get_a = await pipe.execute(raise_on_error=False)
    assert (set_a, get_a) == (True, b"x")
    assert isinstance(error, babushka.ResponseError)


@pytest.mark.parametrize("transaction", [True, False])
def test_error_message_matches_redis_py(
    r: babushka.Redis, redis_server: RedisServer, transaction: bool
) -> None:
    reference = redis.Redis(host=redis_server.host, port=redis_server.port, db=1)
    reference.flushdb()
    long_values = ["v" * 10] * 30  # the command is shortened to 100 characters
    try:
        outcomes = []
        for client in (reference, r):
            pipe = client.pipeline(transaction=transaction)
            pipe.set("a", "x").lpush("a", *long_values).lpush("a", b"\xff\xfe", 1.5)
            with pytest.raises(
                redis.ResponseError if client is reference else babushka.ResponseError
            ) as raised:
                pipe.execute()
            outcomes.append(str(raised.value))
        assert outcomes[0] == outcomes[1]
        assert "..." in outcomes[1]
    finally:
        reference.close()


def test_parse_is_not_applied_to_an_error(r: babushka.Redis) -> None:
    r.set("z", "not a sorted set")
    pipe = r.pipeline(transaction=False)
    pipe.zrange("z", 0, -1, withscores=True, score_cast_func=int).ping()
    error, pong = pipe.execute(raise_on_error=False)
    assert isinstance(error, babushka.ResponseError) and pong is True


def test_discarded_transaction_raises_the_queueing_error(r: babushka.Redis) -> None:
    for raise_on_error in (True, False):
        pipe = r.pipeline()
        pipe.set("a", 1).execute_command("SET", "only-a-key").get("a")
        # EXECABORT: raised whatever raise_on_error says, as redis-py does.
        with pytest.raises(babushka.ResponseError) as raised:
            pipe.execute(raise_on_error=raise_on_error)
        message = str(raised.value)
        assert message.startswith("Command # 2 (SET only-a-key) of pipeline caused error: ")
        assert "wrong number of arguments" in message
        assert raised.value.command_index == 1  # type: ignore[attr-defined]
        assert r.exists("a") == 0  # nothing ran
        assert len(pipe) == 0


async def test_discarded_transaction_raises_the_queueing_error_async(
    ar: babushka.asyncio.Redis,
) -> None:
    pipe = ar.pipeline()
    pipe.set("a", 1).execute_command("NOSUCHCOMMAND", "x")
    with pytest.raises(babushka.ResponseError, match=r"^Command # 2 \(NOSUCHCOMMAND x\)"):
        await pipe.execute()
    assert await ar.exists("a") == 0


# -- WATCH ---------------------------------------------------------------------------


@pytest.fixture
def other(redis_server: RedisServer, transport: str) -> Any:
    """Another client, which changes keys under a watching pipeline."""
    client = babushka.Redis(host=redis_server.host, port=redis_server.port, transport=transport)
    yield client
    client.close()


def test_watch_multi_execute(r: babushka.Redis) -> None:
    r.set("balance", 10)
    with r.pipeline() as pipe:
        assert pipe.watch("balance") is True
        assert pipe.watching
        # Until multi(), commands run at once and return their replies.
        balance = int(pipe.get("balance"))
        pipe.multi()
        assert pipe.set("balance", balance - 3) is pipe
        assert pipe.get("balance") is pipe
        assert pipe.execute() == [True, b"7"]
        assert not pipe.watching


def test_watched_key_changed_raises_watch_error(r: babushka.Redis, other: babushka.Redis) -> None:
    r.set("balance", 10)
    pipe = r.pipeline()
    pipe.watch("balance")
    other.set("balance", 100)
    pipe.multi()
    pipe.set("balance", 7)
    with pytest.raises(babushka.WatchError, match="Watched variable changed"):
        pipe.execute()
    assert r.get("balance") == b"100"
    assert len(pipe) == 0 and not pipe.watching
    # A WATCH without commands still tells whether the key changed.
    pipe.watch("balance")
    assert pipe.execute() == []
    pipe.watch("balance")
    other.set("balance", 1)
    with pytest.raises(babushka.WatchError):
        pipe.execute()


async def test_watched_key_changed_raises_watch_error_async(
    ar: babushka.asyncio.Redis, other: babushka.Redis
) -> None:
    await ar.set("balance", 10)
    pipe = ar.pipeline()
    assert await pipe.watch("balance") is True
    balance = await pipe.get("balance")  # an awaitable while watching
    assert balance == b"10"
    other.set("balance", 100)
    pipe.multi()
    pipe.set("balance", 7)
    with pytest.raises(babushka.WatchError):
        await pipe.execute()
    assert await ar.get("balance") == b"100"
    await pipe.watch("balance")
    pipe.multi()
    pipe.incr("balance")
    assert await pipe.execute() == [101]


def test_watch_rules(r: babushka.Redis) -> None:
    pipe = r.pipeline()
    pipe.multi()
    with pytest.raises(babushka.RedisError, match="Cannot issue nested calls to MULTI"):
        pipe.multi()
    with pytest.raises(babushka.RedisError, match="Cannot issue a WATCH after a MULTI"):
        pipe.watch("k")
    pipe.reset()
    pipe.set("k", 1)
    with pytest.raises(babushka.RedisError, match="Commands without an initial WATCH"):
        pipe.multi()
    pipe.reset()
    with pytest.raises(babushka.DataError, match="at least one key"):
        pipe.watch()


async def test_watch_rules_async(ar: babushka.asyncio.Redis) -> None:
    pipe = ar.pipeline()
    pipe.multi()
    with pytest.raises(babushka.RedisError, match="Cannot issue nested calls to MULTI"):
        pipe.multi()
    with pytest.raises(babushka.RedisError, match="Cannot issue a WATCH after a MULTI"):
        await pipe.watch("k")
    await pipe.reset()
    pipe.set("k", 1)
    with pytest.raises(babushka.RedisError, match="Commands without an initial WATCH"):
        pipe.multi()


def test_unwatch(r: babushka.Redis, other: babushka.Redis) -> None:
    pipe = r.pipeline()
    assert pipe.unwatch() is True  # not watching: nothing sent
    pipe.watch("k")
    assert pipe.unwatch() is True
    assert not pipe.watching
    other.set("k", "changed")
    pipe.multi()
    pipe.set("k", "mine")
    assert pipe.execute() == [True]  # no longer watched


async def test_unwatch_async(ar: babushka.asyncio.Redis, other: babushka.Redis) -> None:
    pipe = ar.pipeline()
    assert await pipe.unwatch() is True
    await pipe.watch("k")
    assert await pipe.unwatch() is True
    other.set("k", "changed")
    pipe.multi()
    pipe.set("k", "mine")
    assert await pipe.execute() == [True]


def _transaction_watching(client: babushka.Redis, other: babushka.Redis, key: str) -> Any:
    """Watches ``key`` on a fresh pipeline, changes ``stale`` and runs a
    transaction; returns the session connection's id and the results."""
    pipe = client.pipeline()
    pipe.watch(key)
    session = pipe.client_id()
    other.set("stale", "changed")
    pipe.multi()
    pipe.set(key, 1)
    return session, pipe.execute()


def test_reset_unwatches_before_the_connection_is_reused(
    r: babushka.Redis, other: babushka.Redis
) -> None:
    first = r.pipeline()
    first.watch("stale")
    session = first.client_id()
    first.reset()
    # The next WATCH session gets the same connection, which watches nothing.
    assert _transaction_watching(r, other, "fresh") == (session, [True])


async def test_reset_unwatches_before_the_connection_is_reused_async(
    ar: babushka.asyncio.Redis, other: babushka.Redis
) -> None:
    first = ar.pipeline()
    await first.watch("stale")
    session = await first.client_id()
    await first.reset()
    pipe = ar.pipeline()
    await pipe.watch("fresh")
    assert await pipe.client_id() == session
    other.set("stale", "changed")
    pipe.multi()
    pipe.set("fresh", 1)
    assert await pipe.execute() == [True]


def test_dropped_watching_pipeline_closes_its_connection(
    r: babushka.Redis, other: babushka.Redis
) -> None:
    dropped = r.pipeline()
    dropped.watch("stale")
    session = dropped.client_id()
    del dropped
    gc.collect()
    # Still watching, so not reused: the next session has a new connection.
    new_session, results = _transaction_watching(r, other, "fresh")
    assert results == [True]
    assert new_session != session


def test_lost_connection_while_watching_raises_watch_error(
    r: babushka.Redis, other: babushka.Redis
) -> None:
    pipe = r.pipeline()
    pipe.watch("k")
    session = pipe.client_id()  # runs on the WATCH session's connection
    assert session != r.client_id()
    other.execute_command("CLIENT", "KILL", "ID", session)
    with pytest.raises(babushka.WatchError, match="occurred while watching"):
        pipe.get("k")
    assert not pipe.watching
    assert r.ping() is True


async def test_lost_connection_while_watching_raises_watch_error_async(
    ar: babushka.asyncio.Redis, other: babushka.Redis
) -> None:
    pipe = ar.pipeline()
    await pipe.watch("k")
    other.execute_command("CLIENT", "KILL", "ID", await pipe.client_id())
    with pytest.raises(babushka.WatchError, match="occurred while watching"):
        await pipe.get("k")
    assert not pipe.watching
    assert await ar.ping() is True


def test_transaction_helper_retries_on_watch_error(
    r: babushka.Redis, other: babushka.Redis
) -> None:
    r.set("counter", 1)
    calls = 0

    def double(pipe: babushka.pipeline.Pipeline) -> str:
        nonlocal calls
        calls += 1
        value = int(pipe.get("counter"))
        if calls == 1:
            other.incr("counter")  # the first try loses the race
        pipe.multi()
        pipe.set("counter", value * 2)
        return f"doubled {value}"

    assert r.transaction(double, "counter") == [True]
    assert calls == 2
    assert r.get("counter") == b"4"
    calls = 5
    assert r.transaction(double, "counter", value_from_callable=True, watch_delay=0.01) == (
        "doubled 4"
    )


async def test_transaction_helper_retries_on_watch_error_async(
    ar: babushka.asyncio.Redis, other: babushka.Redis
) -> None:
    await ar.set("counter", 1)
    calls = 0

    async def double(pipe: babushka.asyncio.Pipeline) -> str:
        nonlocal calls
        calls += 1
        value = int(await pipe.get("counter"))
        if calls == 1:
            other.incr("counter")
        pipe.multi()
        pipe.set("counter", value * 2)
        return f"doubled {value}"

    assert await ar.transaction(double, "counter") == [True]
    assert calls == 2
    assert await ar.get("counter") == b"4"
    assert await ar.transaction(double, "counter", value_from_callable=True) == "doubled 4"

    def plain(pipe: babushka.asyncio.Pipeline) -> None:  # a plain function works too
        pipe.multi()
        pipe.incr("counter")

    assert await ar.transaction(plain, "counter") == [9]


# -- MULTI, EXEC, WATCH given by hand ------------------------------------------------

SESSION_COMMANDS = [("MULTI",), ("EXEC",), ("DISCARD",), ("WATCH", "k"), ("UNWATCH",)]


@pytest.mark.parametrize("words", SESSION_COMMANDS)
def test_client_refuses_session_commands(r: babushka.Redis, words: tuple[str, ...]) -> None:
    with pytest.raises(babushka.DataError, match=r"pipeline\(\)"):
        r.execute_command(*words)
    with pytest.raises(babushka.DataError, match=words[0]):
        r.execute_command(words[0].lower(), *words[1:])
    assert r.set("k", 1) is True  # the shared connection is not in MULTI


@pytest.mark.parametrize("words", SESSION_COMMANDS)
async def test_client_refuses_session_commands_async(
    ar: babushka.asyncio.Redis, words: tuple[str, ...]
) -> None:
    with pytest.raises(babushka.DataError, match=r"pipeline\(\)"):
        ar.execute_command(*words)
    assert await ar.set("k", 1) is True


def test_transaction_pipeline_refuses_to_nest_them(r: babushka.Redis) -> None:
    for words in (("MULTI",), ("EXEC",), ("DISCARD",)):
        with pytest.raises(babushka.DataError, match="cannot be queued in a transaction"):
            r.pipeline().execute_command(*words)
    pipe = r.pipeline()
    pipe.multi()  # before multi(), WATCH runs at once instead
    with pytest.raises(babushka.DataError, match="cannot be queued in a transaction"):
        pipe.execute_command("WATCH", "k")
    pipe.execute_command("UNWATCH")  # queued like any command inside MULTI
    assert pipe.execute() == [True]


def test_watching_pipeline_refuses_them_but_watch_and_unwatch(r: babushka.Redis) -> None:
    pipe = r.pipeline()
    assert pipe.execute_command("WATCH", "k") is True
    for name in ("MULTI", "EXEC", "DISCARD"):
        with pytest.raises(babushka.DataError, match="while the pipeline watches"):
            pipe.execute_command(name)
    assert pipe.watching
    assert pipe.execute_command("UNWATCH") is True
    assert not pipe.watching


def test_plain_pipeline_may_send_multi_itself(r: babushka.Redis) -> None:
    pipe = r.pipeline(transaction=False)
    pipe.execute_command("MULTI").set("k", 1).incr("n").execute_command("EXEC")
    assert pipe.execute() == [b"OK", b"QUEUED", b"QUEUED", [b"OK", 1]]
    # A MULTI left open dies with the pipeline's own connection: the shared
    # one answers plainly afterwards.
    pipe.execute_command("MULTI").set("k", 2)
    assert pipe.execute() == [b"OK", b"QUEUED"]
    assert r.get("k") == b"1"
    assert r.incr("n") == 2


async def test_plain_pipeline_may_send_multi_itself_async(ar: babushka.asyncio.Redis) -> None:
    pipe = ar.pipeline(transaction=False)
    pipe.execute_command("MULTI").set("k", 1).execute_command("EXEC")
    assert await pipe.execute() == [b"OK", b"QUEUED", [b"OK"]]
    pipe.execute_command("MULTI").set("k", 2)
    assert await pipe.execute() == [b"OK", b"QUEUED"]
    assert await ar.get("k") == b"1"


# -- the shared connection ---------------------------------------------------------


def test_transactions_stay_whole_while_another_thread_sends(r: babushka.Redis) -> None:
    stop = threading.Event()
    hammer_replies: list[Any] = []

    def hammer() -> None:
        while not stop.is_set():
            hammer_replies.append(r.incr("hammered"))

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        for i in range(300):
            pipe = r.pipeline()
            pipe.set("tx", i).incr("tx").get("tx")
            assert pipe.execute() == [True, i + 1, str(i + 1).encode()]
    finally:
        stop.set()
        thread.join(10)
    # Had a MULTI caught one of them, its reply would be b"QUEUED".
    assert hammer_replies == list(range(1, len(hammer_replies) + 1))
    assert len(hammer_replies) > 0


async def test_transactions_stay_whole_while_another_task_sends(
    ar: babushka.asyncio.Redis,
) -> None:
    done = False

    async def hammer() -> list[Any]:
        replies = []
        while not done:
            replies.extend(await asyncio.gather(*(ar.incr("hammered") for _ in range(10))))
        return replies

    async def transactions() -> None:
        nonlocal done
        try:
            for i in range(300):
                pipe = ar.pipeline()
                pipe.set("tx", i).incr("tx").get("tx")
                assert await pipe.execute() == [True, i + 1, str(i + 1).encode()]
        finally:
            done = True

    replies, _ = await asyncio.gather(hammer(), transactions())
    assert replies == list(range(1, len(replies) + 1))


def test_blocking_commands_in_a_pipeline(r: babushka.Redis) -> None:
    r.rpush("l", "a")
    pipe = r.pipeline(transaction=False)
    pipe.blpop("l", 1).blpop("l", 0.1).set("k", "v").bzpopmin("z", 0.1)
    assert pipe.execute() == [(b"l", b"a"), None, True, None]


async def test_blocking_commands_in_a_pipeline_async(ar: babushka.asyncio.Redis) -> None:
    await ar.rpush("l", "a")
    pipe = ar.pipeline(transaction=False)
    pipe.blpop("l", 1).blpop("l", 0.1).set("k", "v").bzpopmin("z", 0.1)
    assert await pipe.execute() == [(b"l", b"a"), None, True, None]


# -- size ------------------------------------------------------------------------


# The memory is the client's (tracemalloc); the server only counts with INCR,
# alike on both kinds (conftest.py's any_server).
@pytest.mark.any_server
@pytest.mark.parametrize("transaction", [True, False])
def test_large_pipeline_holds_nothing_per_command_but_its_result(
    r: babushka.Redis, transaction: bool
) -> None:
    count = 100_000
    pipe = r.pipeline(transaction=transaction)
    for _ in range(count):
        pipe.incr("n")
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        results = pipe.execute()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert results == list(range(1, count + 1))
    # The list and its ints; a copy of the queue or a Python object per
    # command besides the result would add megabytes more.
    result_size = sys.getsizeof(results) + sum(sys.getsizeof(n) for n in results)
    assert peak - before < result_size * 1.5 + 1_000_000, (peak - before, result_size)


# The size is the client's concern; the server only stores SETs.
@pytest.mark.any_server
async def test_large_pipeline_async(ar: babushka.asyncio.Redis) -> None:
    pipe = ar.pipeline(transaction=False)
    for i in range(100_000):
        pipe.set(f"k{i % 100}", i)
    results = await pipe.execute()
    assert len(results) == 100_000 and all(result is True for result in results)
    assert await ar.get("k99") == b"99999"


def test_a_bad_argument_names_its_command_and_sends_nothing(r: babushka.Redis) -> None:
    pipe = r.pipeline(transaction=False)
    pipe.set("first", 1).set("second", None)  # type: ignore[arg-type]
    with pytest.raises(babushka.DataError, match=r"Command # 2 \(SET\) of the pipeline") as caught:
        pipe.execute()
    assert getattr(caught.value, "command_index", None) == 1
    assert r.exists("first") == 0


def test_a_failed_session_gives_its_connection_back_at_once(
    redis_server: RedisServer, transport: str
) -> None:
    # One dedicated connection: if a WatchError (or an error reply) kept the
    # session's lease alive in a reference cycle until the collector ran,
    # the next session would find none free ("Too many connections").
    client = babushka.Redis(
        host=redis_server.host, port=redis_server.port, transport=transport, max_connections=1
    )
    other = babushka.Redis(host=redis_server.host, port=redis_server.port)
    enabled = gc.isenabled()
    gc.disable()
    try:
        client.set("failing", 0)
        for attempt in range(6):
            pipe = client.pipeline()
            pipe.watch("failing")
            pipe.get("failing")
            pipe.multi()
            if attempt % 2:
                pipe.incr("failing").lpush("failing", "x")  # WRONGTYPE
                with pytest.raises(babushka.ResponseError):
                    pipe.execute()
            else:
                other.incr("failing")
                pipe.incr("failing")
                with pytest.raises(babushka.WatchError):
                    pipe.execute()
            del pipe
    finally:
        if enabled:
            gc.enable()
        client.close()
        other.close()
