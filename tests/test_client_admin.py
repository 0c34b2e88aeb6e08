"""CLIENT commands against both servers, compared with redis-py where the
reply is parsed (CLIENT LIST, CLIENT INFO, CLIENT TRACKINGINFO)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import redis

import babushka
import babushka.asyncio
from support.faults import wait_until
from support.servers import RedisServer

pytestmark = pytest.mark.command_shapes


@pytest.fixture
def other(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """A connection of another client (redis-py's), to list, kill or unblock."""
    client = redis.Redis(host=redis_server.host, port=redis_server.port, protocol=2)
    client.client_setname("other")
    yield client
    client.close()


def _id_of(r: babushka.Redis, name: str) -> int:
    return next(int(c["id"]) for c in r.client_list() if c["name"] == name)


@pytest.mark.every_transport
def test_client_list_and_info_are_parsed_as_redis_py_does(
    r: babushka.Redis, other: redis.Redis
) -> None:
    r.client_setname("ours")
    assert r.client_getname() == "ours"  # str, as redis-py's
    clients = r.client_list()
    assert all(isinstance(c, dict) and isinstance(c["id"], str) for c in clients)
    ours = next(c for c in clients if c["name"] == "ours")
    assert int(ours["id"]) == r.client_id()
    theirs = other.client_list()
    assert {tuple(sorted(c)) for c in clients} == {tuple(sorted(c)) for c in theirs}
    info = r.client_info()
    assert info["id"] == r.client_id() and info["name"] == "ours"
    assert set(info) == set(other.client_info())
    assert {type(v) for v in info.values()} <= {int, str}
    assert [c["name"] for c in r.client_list(client_id=[r.client_id()])] == ["ours"]
    assert r.client_list(_type="pubsub") == []
    assert r.client_list(_type="normal")


def test_client_list_refuses_bad_arguments(r: babushka.Redis) -> None:
    with pytest.raises(babushka.DataError, match="_type"):
        r.client_list(_type="nosuch")
    with pytest.raises(babushka.DataError, match="client_id"):
        r.client_list(client_id=5)  # type: ignore[arg-type]
    assert r.ping() is True


def test_client_kill_and_kill_filter(r: babushka.Redis, redis_server: RedisServer) -> None:
    victims = [redis.Redis(port=redis_server.port) for _ in range(2)]
    for at, victim in enumerate(victims):
        victim.client_setname(f"victim{at}")
    try:
        address = next(c["addr"] for c in r.client_list() if c["name"] == "victim0")
        assert r.client_kill(address) is True
        assert r.client_kill_filter(_id=_id_of(r, "victim1")) == 1
        assert r.client_kill_filter(_id=999_999, skipme=True) == 0
        assert r.client_kill_filter(_type="pubsub") == 0
        with pytest.raises(babushka.ResponseError, match="No such client"):
            r.client_kill("10.0.0.1:1")
        for bad, match in [
            ({}, "filter"),
            ({"skipme": "yes"}, "skipme"),
            ({"_type": "nosuch"}, "_type"),
        ]:
            with pytest.raises(babushka.DataError, match=match):
                r.client_kill_filter(**bad)  # type: ignore[arg-type]
        assert [c for c in r.client_list() if c["name"].startswith("victim")] == []
    finally:
        for victim in victims:
            victim.close()


def test_client_pause_and_unpause(r: babushka.Redis) -> None:
    assert r.client_pause(1) is True
    assert r.client_pause(1, all=False) is True
    assert r.client_unpause() == b"OK"
    for bad in ("1", 1.5, -1, True):
        with pytest.raises(babushka.DataError, match="timeout"):
            r.client_pause(bad)  # type: ignore[arg-type]


def test_client_unblock_ends_another_clients_blocking_command(
    r: babushka.Redis, other: redis.Redis
) -> None:
    assert r.client_unblock(999_999) is False
    got: list[object] = []
    thread = threading.Thread(target=lambda: got.append(other.blpop(["nothing"], timeout=20)))
    thread.start()
    assert wait_until(lambda: any(c["cmd"] == "blpop" for c in r.client_list()))
    assert r.client_unblock(_id_of(r, "other")) is True
    thread.join(timeout=10)
    assert got == [None]  # unblocked as if it timed out
    with pytest.raises(babushka.DataError, match="client_id"):
        r.client_unblock("1")  # type: ignore[arg-type]


def test_client_no_evict_and_no_touch(r: babushka.Redis, redis_server: RedisServer) -> None:
    assert r.client_no_evict("ON") == b"OK"
    assert r.client_no_evict("off") == b"OK"
    with pytest.raises(babushka.DataError, match="mode"):
        r.client_no_evict("maybe")
    redis_server.require("CLIENT NO-TOUCH", redis=(7, 2), valkey=(7, 2))
    assert r.client_no_touch("ON") == b"OK"
    assert r.client_no_touch("OFF") == b"OK"


def test_client_setinfo(r: babushka.Redis, redis_server: RedisServer) -> None:
    redis_server.require("CLIENT SETINFO", redis=(7, 2), valkey=(7, 2))
    assert r.client_setinfo("LIB-NAME", "babushka-test") is True
    assert r.client_info()["lib-name"] == "babushka-test"


@pytest.mark.parametrize("protocol", [2, 3])
def test_client_tracking(redis_server: RedisServer, other: redis.Redis, protocol: int) -> None:
    # Invalidations go to another connection (RESP2's redirect): with RESP3
    # they would be pushes, which the Python API does not deliver yet.
    with babushka.Redis(port=redis_server.port, protocol=protocol) as r:
        assert r.client_getredir() == -1
        assert r.client_trackinginfo() == ["flags", [b"off"], "redirect", -1, "prefixes", []]
        assert r.client_trackinginfo() == other.client_trackinginfo()
        redirect = _id_of(r, "other")
        assert r.client_tracking_on(clientid=redirect, prefix=["user:"], bcast=True) == b"OK"
        info = r.client_trackinginfo()
        assert info[:2] == ["flags", [b"on", b"bcast"]] and info[3] == redirect
        assert info[4:] == ["prefixes", [b"user:"]]
        assert r.client_getredir() == redirect
        assert r.client_tracking_off() == b"OK"
        with pytest.raises(babushka.DataError, match="bcast"):
            r.client_tracking_on(prefix=["user:"])


def test_client_reply_is_refused_before_anything_is_sent(r: babushka.Redis) -> None:
    with pytest.raises(babushka.DataError, match="shared connection"):
        r.client_reply("OFF")
    with pytest.raises(babushka.DataError, match="ON"):
        r.client_reply("LATER")
    assert r.ping() is True


@pytest.mark.every_transport
async def test_async_client_commands(ar: babushka.asyncio.Redis) -> None:
    assert await ar.client_setname("async-ours") is True
    assert await ar.client_getname() == "async-ours"
    info = await ar.client_info()
    assert info["id"] == await ar.client_id()
    assert any(c["name"] == "async-ours" for c in await ar.client_list())
    assert await ar.client_trackinginfo() == ["flags", [b"off"], "redirect", -1, "prefixes", []]


def test_client_commands_in_a_pipeline(r: babushka.Redis) -> None:
    r.client_setname("piped")
    pipe = r.pipeline(transaction=False)
    pipe.client_getname().client_info().client_list(_type="normal")
    name, info, clients = pipe.execute()
    assert name == "piped" and isinstance(info, dict) and isinstance(clients, list)
