"""``auth()``, ``select()``, ``readonly()``/``readwrite()`` and the client's
``watch()``/``unwatch()``, as redis-py's, on every transport, RESP2 and RESP3.

``auth`` and ``select`` change the client's shared connection (README:
"Differences from redis-py worth knowing"): later commands on it see the
new user or database; a connection opened later starts from the client's
settings again, as a new pooled connection of redis-py's does."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

import babushka
import babushka.asyncio
from support.servers import RedisServer


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def client(
    redis_server: RedisServer, transport: str, request: pytest.FixtureRequest
) -> Iterator[babushka.Redis]:
    c = babushka.Redis(
        host=redis_server.host, port=redis_server.port, transport=transport, protocol=request.param
    )
    c.flushall()
    yield c
    c.close()


def test_select_switches_the_shared_connection(client: babushka.Redis) -> None:
    assert client.select(5) is True
    client.set("in-five", "1")
    assert client.client_info()["db"] == 5
    assert client.select(0) is True
    assert client.get("in-five") is None
    client.select(5)
    assert client.get("in-five") == b"1"
    client.select(0)


def test_select_refuses_bad_indexes(client: babushka.Redis) -> None:
    with pytest.raises(babushka.DataError, match="index"):
        client.select("1")  # type: ignore[arg-type]
    with pytest.raises(babushka.ResponseError, match="DB index is out of range"):
        client.select(100000)


def test_auth_changes_the_user_of_the_shared_connection(client: babushka.Redis) -> None:
    user = f"u{uuid.uuid4().hex[:8]}"
    client.acl_setuser(user, enabled=True, passwords=["+secret"], commands=["+@all"], keys=["*"])
    try:
        assert client.auth("secret", username=user) is True
        assert client.acl_whoami() == user
        with pytest.raises(babushka.AuthenticationError):
            client.auth("wrong", username=user)
        # AUTH with no user names the default user, which has no password
        # here: the server says so, in redis-py's class.
        with pytest.raises(babushka.AuthenticationError, match="without any password"):
            client.auth("anything")
        # Named, the default user takes any password (nopass).
        assert client.auth("anything", "default") is True
        assert client.acl_whoami() == "default"
    finally:
        client.acl_deluser(user)


def test_readonly_and_readwrite(client: babushka.Redis, redis_server: RedisServer) -> None:
    for method in (client.readonly, client.readwrite):
        if redis_server.kind == "valkey":
            # Valkey takes them without cluster support.
            assert method() is True
        else:
            with pytest.raises(babushka.ResponseError, match="cluster support disabled"):
                method()


def test_watch_on_the_client_only_warns_as_redis_py(client: babushka.Redis) -> None:
    with pytest.warns(DeprecationWarning, match="Call WATCH from a Pipeline object"):
        assert client.watch("k") is None  # type: ignore[func-returns-value]
    with pytest.warns(DeprecationWarning, match="Call UNWATCH from a Pipeline object"):
        assert client.unwatch() is None  # type: ignore[func-returns-value]
    # A pipeline's watch still watches.
    with client.pipeline() as pipe:
        pipe.watch("k")
        pipe.multi()
        pipe.set("k", "1")
        assert pipe.execute() == [True]


@pytest.mark.parametrize("protocol", [2, 3])
async def test_async_auth_and_select(
    redis_server: RedisServer, transport: str, protocol: int
) -> None:
    r = babushka.asyncio.Redis(
        host=redis_server.host, port=redis_server.port, transport=transport, protocol=protocol
    )
    try:
        assert await r.select(6) is True
        await r.set("six", "6")
        assert (await r.client_info())["db"] == 6
        assert await r.auth("anything", username="default") is True
        assert await r.get("six") == b"6"
        await r.delete("six")
        assert await r.select(0) is True
    finally:
        await r.aclose()


def test_in_a_pipeline(client: babushka.Redis) -> None:
    pipe = client.pipeline(transaction=False)
    pipe.select(7).set("p", "1").select(0).get("p")
    assert pipe.execute() == [True, True, True, None]
    client.select(7)
    assert client.get("p") == b"1"
    client.flushdb()
    client.select(0)


def test_get_connection_kwargs_is_a_copy(client: babushka.Redis) -> None:
    kwargs = client.get_connection_kwargs()
    assert kwargs["port"] == client.connection_kwargs["port"]
    kwargs["port"] = 1
    assert client.connection_kwargs["port"] != 1
