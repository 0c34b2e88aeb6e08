"""Connection commands and ways of connecting, on every transport."""

from __future__ import annotations

import pytest

import babushka
import babushka.asyncio
from support.servers import RedisServer


def test_ping_and_echo(r: babushka.Redis, rd: babushka.Redis) -> None:
    assert r.ping() is True
    assert r.echo("héllo") == "héllo".encode()
    assert r.echo(b"\x00\xff") == b"\x00\xff"
    assert r.echo(12) == b"12"
    assert rd.echo("héllo") == "héllo"
    with pytest.raises(babushka.DataError, match="'value'"):
        r.echo(None)  # type: ignore[arg-type]


def test_client_name_and_id(r: babushka.Redis) -> None:
    assert r.client_getname() is None
    assert r.client_setname("babushka-test") is True
    assert r.client_getname() == "babushka-test"  # str, as redis-py
    client_id = r.client_id()
    assert isinstance(client_id, int) and client_id > 0
    with pytest.raises(babushka.ResponseError, match="spaces"):
        r.client_setname("has spaces")


def test_client_name_from_the_constructor(redis_server: RedisServer, transport: str) -> None:
    with babushka.Redis(
        host=redis_server.host, port=redis_server.port, client_name="named", transport=transport
    ) as client:
        assert client.client_getname() == "named"  # str, as redis-py


def test_db_selects_the_database(redis_server: RedisServer, transport: str) -> None:
    db3 = babushka.Redis(host=redis_server.host, port=redis_server.port, db=3, transport=transport)
    db0 = babushka.Redis(host=redis_server.host, port=redis_server.port, transport=transport)
    with db3, db0:
        db3.flushdb()
        db0.delete("only-in-3")
        assert db3.set("only-in-3", "v") is True
        assert db0.exists("only-in-3") == 0
        assert db3.get("only-in-3") == b"v"
        assert db3.info("keyspace")["db3"]["keys"] == 1
        db3.flushdb()


def test_from_url_tcp(redis_server: RedisServer, transport: str) -> None:
    url = f"redis://{redis_server.host}:{redis_server.port}/4?decode_responses=true"
    with babushka.Redis.from_url(url, transport=transport) as client:
        assert client.connection_kwargs["db"] == 4
        client.flushdb()
        client.set("k", "v")
        assert client.get("k") == "v"  # decode_responses from the query string
        assert client.info("keyspace")["db4"]["keys"] == 1
        client.flushdb()


def test_from_url_unix_socket(redis_server: RedisServer, transport: str) -> None:
    url = f"unix://{redis_server.unix_socket}?db=5"
    with babushka.Redis.from_url(url, transport=transport) as client:
        assert client.ping() is True
        assert client.info("server")["tcp_port"] == redis_server.port
        client.flushdb()
        client.set("over-unix", 1)
        assert client.info("keyspace")["db5"]["keys"] == 1
        client.flushdb()


def test_from_url_rejects_bad_urls() -> None:
    with pytest.raises(ValueError, match="scheme"):
        babushka.Redis.from_url("http://localhost")
    with pytest.raises(ValueError, match="Invalid value for 'db'"):
        babushka.Redis.from_url("redis://localhost/?db=zero")


async def test_async_connection(redis_server: RedisServer, transport: str) -> None:
    url = f"unix://{redis_server.unix_socket}"
    async with babushka.asyncio.Redis.from_url(
        url, transport=transport, client_name="async-one"
    ) as client:
        assert await client.ping() is True
        assert await client.echo("x") == b"x"
        assert await client.client_getname() == "async-one"  # str, as redis-py
        assert await client.client_setname("renamed") is True
        assert await client.client_getname() == "renamed"  # str, as redis-py
        assert isinstance(await client.client_id(), int)


async def test_async_select_via_db(redis_server: RedisServer, transport: str) -> None:
    url = f"redis://{redis_server.host}:{redis_server.port}/6"
    async with babushka.asyncio.Redis.from_url(url, transport=transport) as client:
        await client.flushdb()
        await client.set("k", "v")
        assert (await client.info("keyspace"))["db6"]["keys"] == 1
        await client.flushdb()
