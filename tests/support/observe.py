"""Looking at a client from outside: what the server and the kernel see of it.

A client's connections are found by the name it gives them (``client_name=``):
a client may have more than one (blocking commands run on a connection leased
for them), and every one carries the name.
"""

from __future__ import annotations

from typing import Any

import redis


def connections(observer: redis.Redis, name: str) -> list[dict[str, Any]]:
    """The server's CLIENT LIST entries of the connections named ``name``."""
    return [dict(entry) for entry in observer.client_list() if entry.get("name") == name]


def is_blocked(observer: redis.Redis, name: str, command: str) -> bool:
    """Whether a connection named ``name`` waits in ``command`` (a blocking
    command, or a write held by CLIENT PAUSE WRITE)."""
    return any(
        entry["cmd"] == command and "b" in entry["flags"] for entry in connections(observer, name)
    )


class Paused:
    """``with Paused(observer):`` holds every client's writes in the server
    (CLIENT PAUSE WRITE) until the block ends; reads are still answered. A
    connection whose write is held answers nothing after it until then."""

    def __init__(self, observer: redis.Redis) -> None:
        self._observer = observer

    def __enter__(self) -> Paused:
        self._observer.execute_command("CLIENT PAUSE", 30_000, "WRITE")
        return self

    def __exit__(self, *_: object) -> None:
        self._observer.execute_command("CLIENT UNPAUSE")


def unread_bytes(observer: redis.Redis, name: str) -> int | None:
    """How many bytes the server sent to the connections named ``name`` that
    the client has not read from its sockets yet (their TCP receive queues,
    from /proc/net/tcp), or None if no such connection is found."""
    found = connections(observer, name)
    if not found:
        return None
    total = 0
    with open("/proc/net/tcp") as table:
        rows = [line.split() for line in table.readlines()[1:]]
    for entry in found:
        local = int(entry["addr"].rsplit(":", 1)[1])
        server = int(entry["laddr"].rsplit(":", 1)[1])
        for fields in rows:
            if fields[1].endswith(f":{local:04X}") and fields[2].endswith(f":{server:04X}"):
                total += int(fields[4].split(":")[1], 16)
    return total
