"""``monitor()``: redis-py's Monitor on a connection of its own, sync and
async, every transport, RESP2 and RESP3; the lines parsed as redis-py's
dicts; a lost connection ends it with ConnectionError."""

from __future__ import annotations

import time
from typing import Any

import pytest

import babushka
import babushka.asyncio
from babushka.monitor import parse_line
from support.servers import RedisServer


def next_matching(monitor: Any, word: str) -> dict[str, Any]:
    """The next command whose text contains ``word`` (other clients' and the
    test client's own handshake commands may come first)."""
    for _ in range(50):
        command = monitor.next_command()
        if word in command["command"]:
            return command
    raise AssertionError(f"no command with {word!r} seen")


@pytest.mark.parametrize("protocol", [2, 3])
def test_monitor_sees_the_commands_of_other_connections(
    redis_server: RedisServer, transport: str, protocol: int
) -> None:
    r = babushka.Redis(
        host=redis_server.host, port=redis_server.port, transport=transport, protocol=protocol
    )
    try:
        with r.monitor() as m:
            before = time.time()
            r.set("monitored", 'a "quoted" value')
            command = next_matching(m, "monitored")
            assert command["command"] == 'SET monitored a "quoted" value'
            assert command["db"] == 0
            assert command["client_type"] == "tcp"
            assert command["client_address"] == "127.0.0.1"
            assert int(command["client_port"]) > 0
            assert isinstance(command["time"], float)
            assert command["time"] >= before - 5
            r.get("second")
            assert next_matching(m, "second")["command"] == "GET second"
        # The monitor's connection closes with the block (on uds the close
        # is a frame the core acts on shortly after).
        for _ in range(100):
            if not any("O" in c["flags"] for c in r.client_list()):
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the monitor's connection is still open")
    finally:
        r.close()


def test_listen_yields_commands_and_lua_is_named(r: babushka.Redis) -> None:
    with r.monitor() as m:
        r.eval("return redis.call('GET', 'from-lua')", 0)
        seen = []
        for command in m.listen():
            seen.append(command)
            if command["client_type"] == "lua":
                break
        assert seen[-1]["command"] == "GET from-lua"
        assert seen[-1]["client_address"] == "lua"
        assert seen[-1]["client_port"] == ""


def test_decoded_client_gives_str_too(rd: babushka.Redis) -> None:
    with rd.monitor() as m:
        rd.set("k", "v")
        assert next_matching(m, "SET")["command"] == "SET k v"


def test_a_killed_monitor_raises_connection_error(r: babushka.Redis) -> None:
    with r.monitor() as m:
        r.ping()
        next_matching(m, "PING")
        ids = [c["id"] for c in r.client_list() if "O" in c["flags"]]
        assert len(ids) == 1
        r.client_kill_filter(_id=ids[0])
        with pytest.raises(babushka.ConnectionError):
            for _ in range(50):
                m.next_command()


def test_monitor_refused_by_acl_raises_the_servers_error(
    r: babushka.Redis, redis_server: RedisServer, transport: str
) -> None:
    r.acl_setuser("nomonitor", enabled=True, passwords=["+pw"], commands=["+@all", "-monitor"])
    try:
        limited = babushka.Redis(
            host=redis_server.host,
            port=redis_server.port,
            transport=transport,
            username="nomonitor",
            password="pw",
        )
        with pytest.raises(babushka.exceptions.NoPermissionError):
            limited.monitor().__enter__()
        limited.close()
    finally:
        r.acl_deluser("nomonitor")


@pytest.mark.parametrize("protocol", [2, 3])
async def test_async_monitor(redis_server: RedisServer, transport: str, protocol: int) -> None:
    r = babushka.asyncio.Redis(
        host=redis_server.host, port=redis_server.port, transport=transport, protocol=protocol
    )
    try:
        async with r.monitor() as m:
            await r.set("async-monitored", "1")
            async for command in m.listen():
                if "async-monitored" in command["command"]:
                    assert command["command"] == "SET async-monitored 1"
                    break
            await r.get("again")
            for _ in range(50):
                if (await m.next_command())["command"] == "GET again":
                    break
            else:
                raise AssertionError("GET again not seen")
    finally:
        await r.aclose()


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            b'1700000000.123456 [3 [::1]:6000] "SET" "a b" "x\\"y"',
            {
                "time": 1700000000.123456,
                "db": 3,
                "client_address": "[::1]",
                "client_port": "6000",
                "client_type": "tcp",
                "command": 'SET a b x"y',
            },
        ),
        (
            '1.5 [0 unix:/tmp/redis.sock] "PING"',
            {
                "time": 1.5,
                "db": 0,
                "client_address": "unix",
                "client_port": "/tmp/redis.sock",
                "client_type": "unix",
                "command": "PING",
            },
        ),
        (
            '2 [1 ] "GET" "k"',
            {
                "time": 2.0,
                "db": 1,
                "client_address": "",
                "client_port": "",
                "client_type": "unknown",
                "command": "GET k",
            },
        ),
    ],
)
def test_lines_parse_as_redis_py_does(line: bytes | str, expected: dict[str, Any]) -> None:
    assert parse_line(line) == expected


def test_an_unreadable_line_raises() -> None:
    with pytest.raises(babushka.RedisError, match="unexpected MONITOR line"):
        parse_line(b"garbage")
