"""Lua scripts and functions, sync and async: redis-py's values for EVAL,
EVALSHA, SCRIPT ..., FUNCTION ... and FCALL; arguments checked before
sending; registered scripts that survive a flushed script cache on a client,
in a pipeline and in a transaction; SCRIPT KILL and FUNCTION KILL."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from typing import Any, Callable

import pytest
import redis

import babushka
import babushka.asyncio
from babushka.script import AsyncScript, Script
from support.scenario import same
from support.servers import RedisServer

LIBRARY = """#!lua name=mylib
redis.register_function{
    function_name = 'echo_arg',
    callback = function(keys, args) return args[1] end,
    flags = {'no-writes'},
}
redis.register_function('incr_key', function(keys, args)
    return redis.call('incrby', keys[1], args[1])
end)
"""

#: KEYS and ARGV back, with the key's value, as a table.
ECHO = "return {KEYS[1], ARGV[1], redis.call('get', KEYS[1])}"


@pytest.fixture(autouse=True)
def empty_caches(redis_server: RedisServer) -> Iterator[None]:
    """Scripts and functions live in the server, past FLUSHDB: each test
    starts and ends without any."""
    admin = redis.Redis(host=redis_server.host, port=redis_server.port, protocol=2)
    admin.script_flush()
    admin.function_flush()
    yield
    admin.script_flush()
    admin.function_flush()
    admin.close()


@pytest.fixture
def reference(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """redis-py on the same server, RESP2 as our clients' default, db 1."""
    client = redis.Redis(host=redis_server.host, port=redis_server.port, db=1, protocol=2)
    client.flushdb()
    yield client
    client.close()


# -- EVAL and friends: redis-py's values ----------------------------------------

#: (method, args) run on babushka and on redis-py, whose values must agree.
CALLS: list[tuple[str, tuple[Any, ...]]] = [
    ("eval", ("return 1", 0)),
    ("eval", ("return 'text'", 0)),
    ("eval", ("return {1, 'two', {3}, true, false}", 0)),
    ("eval", ("return nil", 0)),
    ("eval", ("return 3.99", 0)),  # Lua numbers become integers
    ("eval", ("return redis.status_reply('FINE')", 0)),
    ("eval", ("return redis.call('set', KEYS[1], ARGV[1])", 1, "k", "v")),
    ("eval", (ECHO, 1, "k", "arg")),
    ("eval", ("return #KEYS + 10 * #ARGV", 2, "a", "b", "c")),
    ("eval_ro", (ECHO, 1, "k", "ro")),
    ("script_load", ("return 'loaded'",)),
    ("evalsha", (hashlib.sha1(b"return 'loaded'").hexdigest(), 0)),
    ("evalsha_ro", (hashlib.sha1(b"return 'loaded'").hexdigest(), 0)),
    ("script_exists", (hashlib.sha1(b"return 'loaded'").hexdigest(), "0" * 40)),
    ("script_flush", ()),
    ("script_exists", (hashlib.sha1(b"return 'loaded'").hexdigest(),)),
    ("script_flush", ("ASYNC",)),
    ("script_flush", ("SYNC",)),
]


def test_values_match_redis_py(r: babushka.Redis, reference: redis.Redis) -> None:
    for method, args in CALLS:
        ours = getattr(r, method)(*args)
        theirs = getattr(reference, method)(*args)
        assert same(ours, theirs), f"{method}{args}: {ours!r} != redis-py's {theirs!r}"


async def test_values_match_redis_py_async(
    ar: babushka.asyncio.Redis, reference: redis.Redis
) -> None:
    for method, args in CALLS:
        ours = await getattr(ar, method)(*args)
        theirs = getattr(reference, method)(*args)
        assert same(ours, theirs), f"{method}{args}: {ours!r} != redis-py's {theirs!r}"


def test_values(r: babushka.Redis) -> None:
    assert r.eval("return {KEYS[1], ARGV[1], ARGV[2]}", 1, "k", 2, 1.5) == [b"k", b"2", b"1.5"]
    sha = r.script_load("return ARGV[1]")
    assert isinstance(sha, str) and sha == hashlib.sha1(b"return ARGV[1]").hexdigest()
    assert r.evalsha(sha, 0, "x") == b"x"
    assert r.script_exists(sha) == [True]
    assert r.script_flush() is True
    assert r.script_exists(sha) == [False]
    # execute_command gives the methods' shapes.
    assert r.execute_command("SCRIPT", "LOAD", "return 1") == sha_of("return 1").encode()
    assert r.execute_command("SCRIPT", "EXISTS", sha_of("return 1")) == [True]
    assert r.execute_command("SCRIPT", "FLUSH") is True


def test_decoded_values(rd: babushka.Redis) -> None:
    assert rd.eval("return {'a', 1}", 0) == ["a", 1]
    assert rd.script_load("return 1") == sha_of("return 1")


def test_errors(r: babushka.Redis) -> None:
    with pytest.raises(babushka.ResponseError, match="boom"):
        r.eval("return redis.error_reply('boom')", 0)
    with pytest.raises(babushka.ResponseError):
        r.eval("this is not lua", 0)
    with pytest.raises(babushka.ResponseError):  # a read-only script may not write
        r.eval_ro("return redis.call('set', KEYS[1], 1)", 1, "k")
    with pytest.raises(babushka.NoScriptError):
        r.evalsha("0" * 40, 0)
    with pytest.raises(babushka.NoScriptError):
        r.evalsha_ro("0" * 40, 0)
    with pytest.raises(babushka.ResponseError, match="NOTBUSY"):
        r.script_kill()
    assert r.ping() is True


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda c: c.eval("return 1", "0"), "numkeys"),
        (lambda c: c.eval("return 1", 2, "only-one"), "numkeys"),
        (lambda c: c.eval("return 1", -1), "numkeys"),
        (lambda c: c.eval(42, 0), "script"),
        (lambda c: c.eval_ro(None, 0), "script"),
        (lambda c: c.evalsha(b"0" * 40, True), "numkeys"),
        (lambda c: c.evalsha(1234, 0), "sha"),
        (lambda c: c.evalsha_ro("0" * 40, 1), "numkeys"),
        (lambda c: c.script_load(["return 1"]), "script"),
        (lambda c: c.script_exists(), "sha"),
        (lambda c: c.script_flush("SOON"), "sync_type"),
        (lambda c: c.function_load(7), "code"),
        (lambda c: c.function_flush("LATER"), "mode"),
        (lambda c: c.function_restore(b"payload", "MERGE"), "policy"),
        (lambda c: c.function_delete(None), "library"),
        (lambda c: c.fcall("f", 3, "a"), "numkeys"),
        (lambda c: c.fcall_ro(None, 0), "function"),
        (lambda c: c.register_script(1), "script"),
        (lambda c: c.register_script("return 1")(keys="k"), "keys"),
        (lambda c: c.register_script("return 1")(args=5), "args"),
    ],
)
def test_bad_arguments_raise_before_sending(
    r: babushka.Redis, call: Callable[[babushka.Redis], Any], argument: str
) -> None:
    with pytest.raises(babushka.DataError, match=argument):
        call(r)
    assert r.ping() is True


# -- functions ---------------------------------------------------------------


def test_functions(r: babushka.Redis) -> None:
    assert r.function_load(LIBRARY) == b"mylib"
    with pytest.raises(babushka.ResponseError):  # already there
        r.function_load(LIBRARY)
    assert r.function_load(LIBRARY, replace=True) == b"mylib"
    assert r.fcall("echo_arg", 0, "hello") == b"hello"
    assert r.fcall_ro("echo_arg", 0, "ro") == b"ro"
    assert r.fcall("incr_key", 1, "counter", 5) == 5
    with pytest.raises(babushka.ResponseError):  # incr_key writes
        r.fcall_ro("incr_key", 1, "counter", 5)
    [library] = r.function_list()
    assert library[:4] == [b"library_name", b"mylib", b"engine", b"LUA"]
    names = sorted(function[1] for function in library[5])
    assert names == [b"echo_arg", b"incr_key"]
    assert r.function_list(library="nope*") == []
    assert r.function_list(withcode=True)[0][-1] == LIBRARY.encode()
    payload = r.function_dump()
    assert isinstance(payload, bytes)
    assert r.function_delete("mylib") is True
    with pytest.raises(babushka.ResponseError):
        r.fcall("echo_arg", 0, "gone")
    assert r.function_restore(payload) is True
    assert r.function_restore(payload, "REPLACE") is True
    assert r.function_restore(payload, policy="flush") is True
    assert r.fcall("echo_arg", 0, "back") == b"back"
    stats = r.function_stats()
    assert b"engines" in stats
    assert r.function_flush() is True
    assert r.function_flush("ASYNC") is True
    assert r.function_list() == []
    with pytest.raises(babushka.ResponseError, match="NOTBUSY"):
        r.function_kill()


async def test_functions_async(ar: babushka.asyncio.Redis) -> None:
    assert await ar.function_load(LIBRARY) == b"mylib"
    assert await ar.fcall("incr_key", 1, "counter", 2) == 2
    assert await ar.fcall_ro("echo_arg", 0, "x") == b"x"
    payload = await ar.function_dump()
    assert await ar.function_flush() is True
    assert await ar.function_restore(payload) is True
    assert len(await ar.function_list()) == 1
    assert await ar.function_delete("mylib") is True


def test_functions_match_redis_py(
    r: babushka.Redis, reference: redis.Redis, redis_server: RedisServer
) -> None:
    steps: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
        ("function_load", (LIBRARY,), {}),
        ("function_load", (LIBRARY,), {"replace": True}),
        ("function_list", (), {}),
        ("function_list", ("my*",), {"withcode": True}),
        ("fcall", ("echo_arg", 0, "a"), {}),
        ("fcall_ro", ("echo_arg", 0, "b"), {}),
        ("fcall", ("incr_key", 1, "counter", 3), {}),
        ("function_stats", (), {}),
        ("function_delete", ("mylib",), {}),
        ("function_flush", (), {}),
    ]
    # Libraries are server-wide: the steps run on one client, then the other.
    ours = [getattr(r, method)(*args, **kwargs) for method, args, kwargs in steps]
    theirs = [getattr(reference, method)(*args, **kwargs) for method, args, kwargs in steps]
    for step, mine, expected in zip(steps, ours, theirs):
        assert same(mine, expected), f"{step}: {mine!r} != redis-py's {expected!r}"
    # The dump is binary: bytes even when replies are decoded, as redis-py.
    r.function_load(LIBRARY)
    decoded = babushka.Redis(port=redis_server.port, decode_responses=True, transport=r.transport)
    try:
        payload = decoded.function_dump()
        assert isinstance(payload, bytes) and payload == reference.function_dump()
        assert decoded.fcall("echo_arg", 0, "s") == "s"
    finally:
        decoded.close()


def test_function_list_on_resp3_has_resp2_shape(redis_server: RedisServer, transport: str) -> None:
    clients = [
        babushka.Redis(port=redis_server.port, protocol=protocol, transport=transport)
        for protocol in (2, 3)
    ]
    try:
        clients[0].function_load(LIBRARY)
        resp2, resp3 = (client.function_list() for client in clients)
        assert same(resp3, resp2)
    finally:
        for client in clients:
            client.close()


# -- registered scripts ------------------------------------------------------


def sha_of(script: str) -> str:
    return hashlib.sha1(script.encode()).hexdigest()


def test_script_sha_is_redis_pys(r: babushka.Redis, reference: redis.Redis) -> None:
    for source in ("return 1", "return 'сценарий'", b"return 2"):
        ours, theirs = r.register_script(source), reference.register_script(source)
        assert ours.sha == theirs.sha
        assert r.script_load(source) == ours.sha  # the server agrees


def test_script_sha_uses_the_clients_encoding(redis_server: RedisServer, transport: str) -> None:
    source = "return 'é'"
    client = babushka.Redis(port=redis_server.port, encoding="latin-1", transport=transport)
    try:
        script = client.register_script(source)
        assert script.sha == hashlib.sha1(source.encode("latin-1")).hexdigest()
        assert client.script_load(source) == script.sha
        assert script() == "é".encode("latin-1")
    finally:
        client.close()


def test_script_runs_and_reloads(r: babushka.Redis) -> None:
    script = r.register_script(ECHO)
    assert isinstance(script, Script)
    r.set("k", "value")
    assert script(keys=["k"], args=["a"]) == [b"k", b"a", b"value"]
    assert r.script_exists(script.sha) == [True]
    r.script_flush()
    # NOSCRIPT: loaded again and run.
    assert script(["k"], ["b"]) == [b"k", b"b", b"value"]
    assert r.script_exists(script.sha) == [True]
    assert r.register_script("return 7")() == 7


def test_script_on_another_client(r: babushka.Redis, redis_server: RedisServer) -> None:
    other = babushka.Redis(port=redis_server.port, db=1, transport=r.transport)
    try:
        script = r.register_script("return redis.call('incr', KEYS[1])")
        assert script(keys=["n"], client=other) == 1
        assert other.get("n") == b"1" and r.get("n") is None
    finally:
        other.flushdb()
        other.close()


async def test_script_runs_and_reloads_async(ar: babushka.asyncio.Redis) -> None:
    script = ar.register_script(ECHO)
    assert isinstance(script, AsyncScript)
    await ar.set("k", "value")
    assert await script(keys=["k"], args=["a"]) == [b"k", b"a", b"value"]
    await ar.script_flush()
    assert await script(keys=["k"], args=["b"]) == [b"k", b"b", b"value"]
    assert await ar.script_exists(script.sha) == [True]


@pytest.mark.parametrize("transaction", [False, True])
def test_script_in_pipeline_loads_missing_scripts(r: babushka.Redis, transaction: bool) -> None:
    incr = r.register_script("return redis.call('incrby', KEYS[1], ARGV[1])")
    echo = r.register_script(ECHO)
    incr(["n"], [1])  # cached, then forgotten
    r.script_flush()
    pipe = r.pipeline(transaction=transaction)
    assert incr(["n"], [2], client=pipe) is pipe  # queued
    pipe.set("k", "v")
    echo(["k"], ["x"], client=pipe)
    incr(["n"], [3], client=pipe)
    assert pipe.execute() == [3, True, [b"k", b"x", b"v"], 6]
    assert r.script_exists(incr.sha, echo.sha) == [True, True]
    assert not pipe.scripts  # reset with the pipeline


@pytest.mark.parametrize("transaction", [False, True])
async def test_script_in_pipeline_loads_missing_scripts_async(
    ar: babushka.asyncio.Redis, transaction: bool
) -> None:
    incr = ar.register_script("return redis.call('incrby', KEYS[1], ARGV[1])")
    async with ar.pipeline(transaction=transaction) as pipe:
        assert await incr(["n"], [2], client=pipe) is pipe
        pipe.get("n")
        incr(["n"], [3], client=pipe)  # queued when called
        assert await pipe.execute() == [2, b"2", 5]
    assert await ar.script_exists(incr.sha) == [True]


#: A read (while watching, a write of the watched key would void the watch).
READ = "return redis.call('get', KEYS[1])"
INCR = "return redis.call('incrby', KEYS[1], ARGV[1])"


def test_script_while_watching(r: babushka.Redis) -> None:
    read, incr = r.register_script(READ), r.register_script(INCR)
    r.set("n", 10)
    with r.pipeline() as pipe:
        pipe.watch("n")
        assert read(["n"], client=pipe) == b"10"  # runs at once: NOSCRIPT, load, run
        pipe.multi()
        incr(["n"], [100], client=pipe)  # queued: loaded before MULTI
        read(["n"], client=pipe)
        r.script_flush()
        assert pipe.execute() == [110, b"110"]


async def test_script_while_watching_async(ar: babushka.asyncio.Redis) -> None:
    read, incr = ar.register_script(READ), ar.register_script(INCR)
    await ar.set("n", 10)
    async with ar.pipeline() as pipe:
        await pipe.watch("n")
        assert await read(["n"], client=pipe) == b"10"
        pipe.multi()
        incr(["n"], [100], client=pipe)
        read(["n"], client=pipe)
        await ar.script_flush()
        assert await pipe.execute() == [110, b"110"]


def test_transaction_function_with_script(r: babushka.Redis) -> None:
    double = r.register_script("return redis.call('set', KEYS[1], ARGV[1] * 2)")
    r.set("n", 21)

    def work(pipe: Any) -> None:
        value = int(pipe.get("n"))
        pipe.multi()
        double(["n"], [value], client=pipe)

    assert r.transaction(work, "n") == [b"OK"]
    assert r.get("n") == b"42"


def test_script_registered_on_a_pipeline(r: babushka.Redis) -> None:
    pipe = r.pipeline(transaction=False)
    script = pipe.register_script("return ARGV[1]")
    assert script(args=["queued"]) is pipe
    assert pipe.execute() == [b"queued"]


# -- killing a busy script or function ------------------------------------


@pytest.fixture(scope="module")
def busy_server(server_kind: str) -> Iterator[RedisServer]:
    """A server of its own that lets a client kill a script after 100 ms
    (rather than the default 5 s) of running."""
    server = RedisServer.start("--busy-reply-threshold", "100", kind=server_kind)
    yield server
    server.stop()


def _kill_busy(
    server: RedisServer, transport: str, run: Callable[[babushka.Redis], Any], kill: str
) -> None:
    runner = babushka.Redis(port=server.port, transport=transport)
    killer = babushka.Redis(port=server.port, transport=transport)
    outcome: list[BaseException] = []

    def busy() -> None:
        try:
            run(runner)
        except babushka.ResponseError as error:
            outcome.append(error)

    thread = threading.Thread(target=busy)
    thread.start()
    try:
        give_up_at = time.monotonic() + 10
        while True:
            try:
                killed = getattr(killer, kill)()
                break
            except babushka.ResponseError as error:  # NOTBUSY: not started yet
                assert "NOTBUSY" in str(error) and time.monotonic() < give_up_at
                time.sleep(0.05)
        assert killed in (True, b"OK")
        thread.join(10)
        assert not thread.is_alive() and len(outcome) == 1, outcome
        assert runner.ping() is True  # the connection serves again
    finally:
        thread.join(10)
        runner.close()
        killer.close()


def test_script_kill(busy_server: RedisServer, transport: str) -> None:
    _kill_busy(busy_server, transport, lambda c: c.eval("while true do end", 0), "script_kill")


def test_function_kill(busy_server: RedisServer, transport: str) -> None:
    def spin(client: babushka.Redis) -> Any:
        client.function_load(
            "#!lua name=spin\nredis.register_function{function_name='spin', "
            "callback=function() while true do end end, flags={'no-writes'}}",
            replace=True,
        )
        return client.fcall("spin", 0)

    _kill_busy(busy_server, transport, spin, "function_kill")
