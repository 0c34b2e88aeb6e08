"""Looking at a client from outside: what the server and the kernel see of it."""

from __future__ import annotations

import redis


def server_side(observer: redis.Redis, name: str) -> dict[str, str] | None:
    """The server's CLIENT LIST entry of the connection named ``name``."""
    for entry in observer.client_list():
        if entry.get("name") == name:
            return dict(entry)
    return None


def is_blocked(observer: redis.Redis, name: str, command: str = "blpop") -> bool:
    """Whether the connection named ``name`` waits in a blocking ``command``."""
    entry = server_side(observer, name)
    return entry is not None and entry["cmd"] == command and "b" in entry["flags"]


def unread_bytes(observer: redis.Redis, name: str) -> int | None:
    """How many bytes the server sent to the connection named ``name`` that
    the client has not read from its socket yet (its TCP receive queue, from
    /proc/net/tcp), or None if the connection is not found."""
    entry = server_side(observer, name)
    if entry is None:
        return None
    local = entry["addr"].rsplit(":", 1)[1]
    server = entry["laddr"].rsplit(":", 1)[1]
    with open("/proc/net/tcp") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            if fields[1].endswith(f":{int(local):04X}") and fields[2].endswith(
                f":{int(server):04X}"
            ):
                return int(fields[4].split(":")[1], 16)
    return None
