"""The test servers are what the matrix says they are (DESIGN.md, "Tests"): a
test id that says ``valkey`` ran against Valkey, at the version reported, with
the DEBUG command that timeout tests need."""

from __future__ import annotations

import time

import babushka
from support.servers import RedisServer


def test_the_server_is_the_kind_and_version_the_id_says(
    r: babushka.Redis, redis_server: RedisServer, server_kind: str
) -> None:
    assert redis_server.kind == server_kind
    info = r.info("server")
    version = ".".join(map(str, redis_server.version))
    if server_kind == "valkey":
        assert info["valkey_version"] == version
        # Valkey reports the Redis version it forked from, for old clients.
        assert info["redis_version"] == "7.2.4"
    else:
        assert "valkey_version" not in info
        assert info["redis_version"] == version


def test_debug_sleep_is_enabled(r: babushka.Redis) -> None:
    started = time.monotonic()
    assert r.execute_command("DEBUG", "SLEEP", "0.2") == b"OK"
    assert time.monotonic() - started >= 0.2


def test_a_server_started_by_a_test_is_of_the_same_kind(server_kind: str) -> None:
    server = RedisServer.start("--maxmemory", "10mb", kind=server_kind)
    try:
        client = babushka.Redis(port=server.port, decode_responses=True)
        assert client.config_get("maxmemory") == {"maxmemory": str(10 * 1024 * 1024)}
        assert client.info("server")["tcp_port"] == server.port
        client.close()
        assert server.kind == server_kind
    finally:
        server.stop()
