"""redis-py's API around the commands, found missing by running redis-py's
own test files against Babushka: ``get_encoder()`` (which redis-py's
``Lock`` and ``Script`` and libraries built on redis-py call on the client
they are given), ``client()``, asyncio's ``initialize()``, a pipeline's
``connection_pool`` and ``babushka.Subscription`` at the top level."""

from __future__ import annotations

import time
from typing import Any

import pytest
import redis
import redis.commands.core
import redis.lock

import babushka
import babushka.asyncio
from babushka._encoding import Encoder
from support.servers import RedisServer

# -- get_encoder ---------------------------------------------------------------


def test_encoder_encodes_as_the_commands_send(r: babushka.Redis) -> None:
    encoder = r.get_encoder()
    assert isinstance(encoder, Encoder)
    assert (encoder.encoding, encoder.encoding_errors, encoder.decode_responses) == (
        "utf-8",
        "strict",
        False,
    )
    assert encoder.encode("é") == "é".encode()
    assert encoder.encode(b"\xff") == b"\xff"
    view = memoryview(b"ab")
    assert encoder.encode(view) is view
    assert encoder.encode(bytearray(b"ab")) == b"ab"
    assert encoder.encode(12) == b"12"
    assert encoder.encode(1.5) == b"1.5"
    # What the encoder says is what the server stores.
    for value in ("é", b"\xff", 12, 1.5):
        r.set("k", value)
        assert r.get("k") == encoder.encode(value)


@pytest.mark.parametrize("value", [True, None, [1], {"a": 1}])
def test_encoder_refuses_what_the_commands_refuse(r: babushka.Redis, value: Any) -> None:
    with pytest.raises(babushka.DataError, match=type(value).__name__):
        r.get_encoder().encode(value)
    with pytest.raises(babushka.DataError):
        r.set("k", value)


def test_encoder_decodes_only_with_decode_responses(
    redis_server: RedisServer, transport: str
) -> None:
    raw = babushka.Redis(port=redis_server.port, transport=transport)
    text = babushka.Redis(
        port=redis_server.port,
        transport=transport,
        decode_responses=True,
        encoding="latin-1",
        encoding_errors="replace",
    )
    try:
        assert raw.get_encoder().decode(b"\xe9") == b"\xe9"
        assert raw.get_encoder().decode(b"\xc3\xa9", force=True) == "é"
        encoder = text.get_encoder()
        assert (encoder.encoding, encoder.encoding_errors) == ("latin-1", "replace")
        assert encoder.decode(b"\xe9") == "é"
        assert encoder.decode(memoryview(b"\xe9")) == "é"
        assert encoder.decode(7) == 7
        assert encoder.encode("é") == b"\xe9"
        text.set("k", "é")
        assert raw.get("k") == b"\xe9"
    finally:
        raw.close()
        text.close()


def test_pool_and_pipeline_give_the_clients_encoder(rd: babushka.Redis) -> None:
    assert rd.connection_pool.get_encoder().decode_responses is True
    with rd.pipeline() as pipe:
        assert pipe.connection_pool is rd.connection_pool
        assert pipe.get_encoder().decode(b"x") == "x"


async def test_async_client_has_the_encoder(ar: babushka.asyncio.Redis) -> None:
    encoder = ar.get_encoder()
    assert encoder.encode("x") == b"x"
    assert encoder.decode(b"x") == b"x"
    assert ar.pipeline().get_encoder().encoding == "utf-8"


def test_redis_py_lock_runs_on_a_babushka_client(
    r: babushka.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Code written for redis-py builds its own Lock on the client it is
    # handed; the token it compares comes from get_encoder(). The Lock
    # class registers its scripts once, through the first client it is
    # given: through a Babushka client they are Babushka Scripts, which load
    # themselves into an empty script cache. (Registered by a redis-py
    # client first, they are redis-py's, which reload only on redis-py's
    # own NoScriptError: README.)
    for name in ("lua_release", "lua_extend", "lua_reacquire"):
        monkeypatch.setattr(redis.lock.Lock, name, None)
    r.script_flush()
    lock = redis.lock.Lock(r, "resource", timeout=10)
    assert lock.acquire(blocking=False, token="mine")
    assert r.get("resource") == b"mine"
    assert lock.owned()
    assert not redis.lock.Lock(r, "resource").acquire(blocking=False)
    lock.release()
    assert r.get("resource") is None


def test_redis_py_script_hashes_as_babushkas(r: babushka.Redis) -> None:
    source = "return 'é'"
    # redis-py's Script hashes the source as get_encoder() encodes it.
    theirs = redis.commands.core.Script(r, source)
    assert theirs.sha == r.register_script(source).sha == r.script_load(source)


# -- client() and initialize() ----------------------------------------------


def test_client_has_a_connection_of_its_own(r: babushka.Redis) -> None:
    single = r.client()
    try:
        assert type(single) is type(r)
        assert single.single_connection_client
        assert single.connection_pool is r.connection_pool
        single.client_setname("single")
        assert single.client_getname() == "single"
        # The name stays on the single connection; the shared one has none.
        assert r.client_getname() is None
        assert single.client_id() != r.client_id()
    finally:
        single.close()
    # Closing it leaves the pool, and the client it came from, working.
    assert r.ping()


async def test_async_client_and_initialize(ar: babushka.asyncio.Redis) -> None:
    single = ar.client()
    try:
        assert isinstance(single, babushka.asyncio.Redis)
        assert await single.initialize() is single
        assert await ar.initialize() is ar
        await single.client_setname("single")
        assert await single.client_getname() == "single"
        assert await ar.client_getname() is None
    finally:
        await single.aclose()
    assert await ar.ping()


# -- Subscription ------------------------------------------------------------


def test_subscription_is_exported_at_the_top(r: babushka.Redis) -> None:
    assert babushka.Subscription is babushka.pubsub.Subscription
    received: list[dict[str, Any]] = []
    channel = b"\x80\xff"  # not text, so it cannot be a keyword
    with r.pubsub(ignore_subscribe_messages=True) as p:
        p.subscribe(babushka.Subscription(channel, received.append))
        assert r.publish(channel, "hi") == 1
        deadline = time.monotonic() + 5
        while not received and time.monotonic() < deadline:
            assert p.get_message(timeout=0.1) is None
    assert received == [{"type": "message", "pattern": None, "channel": channel, "data": b"hi"}]


def test_script_gives_its_clients_encoder(rd: babushka.Redis) -> None:
    script = rd.register_script("return 1")
    assert script.get_encoder().decode_responses is True
    with rd.pipeline() as pipe:
        assert rd.register_script("return 1").get_encoder().encode("é") == "é".encode()
        assert pipe.get_encoder().decode_responses is True


# -- load_external_module ---------------------------------------------------


def test_load_external_module(r: babushka.Redis) -> None:
    def module_commands(client: babushka.Redis) -> bytes | None:
        return client.get("k")

    r.load_external_module("mymodule", module_commands)
    assert r.mymodule is module_commands  # type: ignore[attr-defined]
    r.set("k", "v")
    assert r.mymodule(r) == b"v"  # type: ignore[attr-defined]
    with pytest.raises(babushka.DataError, match="funcname"):
        r.load_external_module("not a name", module_commands)


# -- asyncio's deprecated aliases of aclose() ---------------------------------


async def test_async_close_aliases_warn_and_still_close(
    redis_server: RedisServer, transport: str
) -> None:
    client = babushka.asyncio.Redis(port=redis_server.port, transport=transport)
    p = client.pubsub()
    await p.subscribe("news")
    with pytest.deprecated_call(match="aclose"):
        await p.close()
    assert not p.subscribed
    await p.subscribe("news")
    with pytest.deprecated_call(match="aclose"):
        await p.reset()
    assert not p.subscribed
    assert await client.ping()
    with pytest.deprecated_call(match="aclose"):
        await client.close()
    await client.aclose()
