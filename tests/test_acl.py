"""ACL commands against both servers: acl_setuser encodes every keyword as
redis-py does (the same user, made by each client, reads back the same),
the replies are parsed as redis-py parses them, and the server's ACL errors
raise redis-py's classes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis

import babushka
import babushka.asyncio
from support.servers import RedisServer

pytestmark = pytest.mark.command_shapes

#: Every keyword of redis-py's acl_setuser, in each form it takes.
RULES: dict[str, Any] = {
    "enabled": True,
    "passwords": ["+first", "+second", "-second"],
    "hashed_passwords": ["+" + "a" * 64],
    "categories": ["+@hash", "-@dangerous", "+list", "-set"],
    "commands": ["+get", "-flushall"],
    "keys": ["cache:*", "~direct:*", "%R~read:*"],
    "channels": ["news.*"],
    "selectors": [("+set", "~sel:*"), ("-get", "%W~w:*")],
    "reset_keys": True,
    "reset_channels": True,
    "reset_passwords": True,
}


@pytest.fixture
def users(r: babushka.Redis) -> Iterator[list[str]]:
    """Usernames to make; deleted afterwards."""
    names: list[str] = []
    yield names
    if names:
        r.acl_deluser(*names)


@pytest.mark.every_transport
def test_acl_setuser_encodes_every_keyword_as_redis_py(
    r: babushka.Redis, redis_server: RedisServer, users: list[str]
) -> None:
    theirs = redis.Redis(host=redis_server.host, port=redis_server.port, protocol=2)
    try:
        users += ["ours", "theirs"]
        assert r.acl_setuser("ours", **RULES) is True
        assert theirs.acl_setuser("theirs", **RULES) is True
        ours_user = r.acl_getuser("ours")
        assert ours_user == theirs.acl_getuser("theirs") == theirs.acl_getuser("ours")
        assert ours_user["enabled"] is True
        assert ours_user["keys"] == ["~cache:*", "~direct:*", "%R~read:*"]
        assert ours_user["channels"] == ["&news.*"]
        assert len(ours_user["passwords"]) == 2  # first and the hashed one
        assert "+@hash" in ours_user["categories"] and "+get" in ours_user["commands"]
        assert len(ours_user["selectors"]) == 2
        lines = r.acl_list()
        assert any(line.startswith("user ours on") for line in lines)
        assert lines == theirs.acl_list()
        assert r.acl_setuser("ours", reset=True, nopass=True) is True
        assert r.acl_getuser("ours")["flags"] == theirs.acl_getuser("ours")["flags"]
    finally:
        theirs.close()


def test_acl_setuser_refuses_bad_rules_before_sending(r: babushka.Redis) -> None:
    bad: list[tuple[dict[str, Any], str]] = [
        ({"passwords": ["nosign"]}, "passwords"),
        ({"hashed_passwords": ["nosign"]}, "hashed_passwords"),
        ({"passwords": ["+a"], "nopass": True}, "nopass"),
        ({"categories": ["hash"]}, "category"),
        ({"commands": ["get"]}, "command"),
        ({"selectors": [("get", "k")]}, "selectors"),
        ({"selectors": ["get"]}, "selector"),
        ({"keys": [5]}, "keys"),
    ]
    for rules, match in bad:
        with pytest.raises(babushka.DataError, match=match):
            r.acl_setuser("never-made", **rules)
    assert r.acl_getuser("never-made") is None


def test_acl_reads(r: babushka.Redis, users: list[str]) -> None:
    assert r.acl_whoami() == "default"
    assert "default" in r.acl_users()
    categories = r.acl_cat()
    assert "keyspace" in categories and all(isinstance(c, str) for c in categories)
    assert "get" in r.acl_cat("string")
    assert all(isinstance(line, str) for line in r.acl_help())
    password = r.acl_genpass()
    assert isinstance(password, str) and len(password) == 64
    assert len(r.acl_genpass(32)) == 8
    for bits in (-1, 4097, "many"):
        with pytest.raises(babushka.DataError, match="bits"):
            r.acl_genpass(bits)  # type: ignore[arg-type]
    users.append("reader")
    r.acl_setuser("reader", enabled=True, nopass=True, commands=["+get"], keys=["k*"])
    assert r.acl_dryrun("reader", "get", "key") == b"OK"
    assert b"no permissions" in r.acl_dryrun("reader", "set", "key", "v")
    assert r.acl_deluser("reader", "nobody") == 1
    users.clear()
    with pytest.raises(babushka.DataError, match="username"):
        r.acl_deluser()


def test_acl_file_commands_raise_the_servers_error(r: babushka.Redis) -> None:
    # The test servers have no ACL file.
    for call in (r.acl_load, r.acl_save):
        with pytest.raises(babushka.ResponseError, match="ACL file"):
            call()


def test_permission_and_authentication_errors_come_from_the_server(
    r: babushka.Redis, redis_server: RedisServer, users: list[str], transport: str
) -> None:
    users.append("limited")
    r.acl_setuser("limited", enabled=True, passwords=["+pw"], commands=["+get"], keys=["*"])
    where = {"host": redis_server.host, "port": redis_server.port, "transport": transport}
    with babushka.Redis(username="limited", password="pw", **where) as limited:
        assert limited.get("k") is None
        with pytest.raises(babushka.NoPermissionError) as caught:
            limited.set("k", "v")
    theirs = redis.Redis(username="limited", password="pw", port=redis_server.port, protocol=2)
    with pytest.raises(redis.exceptions.NoPermissionError) as expected:
        theirs.set("k", "v")
    theirs.close()
    assert str(caught.value) == str(expected.value)  # "User limited has no permissions ..."
    assert caught.value.status_code == "NOPERM"
    with pytest.raises(babushka.AuthenticationError) as wrong:
        babushka.Redis(username="limited", password="wrong", **where).ping()
    assert str(wrong.value).startswith("invalid username-password pair")  # WRONGPASS stripped
    with pytest.raises(babushka.AuthenticationWrongNumberOfArgsError):
        r.execute_command("AUTH")
    log = r.acl_log()
    assert log and {"reason", "username", "age-seconds", "client-info"} <= set(log[0])
    assert isinstance(log[0]["age-seconds"], float) and isinstance(log[0]["client-info"], dict)
    assert len(r.acl_log(count=1)) == 1
    assert r.acl_log_reset() is True
    assert r.acl_log() == []
    with pytest.raises(babushka.DataError, match="count"):
        r.acl_log(count="1")  # type: ignore[arg-type]


@pytest.mark.parametrize("protocol", [2, 3])
def test_acl_replies_are_the_same_on_resp3(
    redis_server: RedisServer, users: list[str], protocol: int
) -> None:
    theirs = redis.Redis(port=redis_server.port, protocol=2)
    users.append("both")
    theirs.acl_setuser("both", **RULES)
    with babushka.Redis(port=redis_server.port, protocol=protocol) as r:
        assert r.acl_getuser("both") == theirs.acl_getuser("both")
        assert r.acl_getuser("nobody") is None
        assert r.acl_users() == theirs.acl_users()
        assert r.acl_cat() == theirs.acl_cat()
    theirs.close()


@pytest.mark.every_transport
async def test_async_acl_commands(ar: babushka.asyncio.Redis) -> None:
    assert await ar.acl_whoami() == "default"
    assert await ar.acl_setuser("async-user", enabled=False, keys=["a*"]) is True
    try:
        user = await ar.acl_getuser("async-user")
        assert user["enabled"] is False and user["keys"] == ["~a*"]
    finally:
        assert await ar.acl_deluser("async-user") == 1
