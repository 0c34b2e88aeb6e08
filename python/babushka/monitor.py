"""``Redis.monitor()``: redis-py's ``Monitor``, on a subscriber of the core.

``MONITOR`` turns a connection into a one-way stream of status lines, one
per command the server runs, which is what a subscriber's connection already
is: the core's subscriber sends ``MONITOR`` and hands its lines over as
``monitor`` messages (``_core.Subscriber.monitor``), so the monitor has a
connection of its own on every transport, closed with it, and never touches
the client's shared connection.

A lost connection ends the monitor with ``ConnectionError`` (as redis-py's
read does): the core does not send ``MONITOR`` again on a new connection,
because lines the server ran meanwhile would be missing without a word.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Iterator

from babushka._pubsub import RECONNECTED, SubscriberT
from babushka.exceptions import ConnectionError, RedisError

if TYPE_CHECKING:
    from types import TracebackType

    from babushka._pubsub import PubSubBase

#: ``<time> [<db> <client>] "<word>" "<word>" ...``; the client is
#: ``host:port``, ``unix:<path>`` or ``lua``.
_LINE = re.compile(r"(?P<time>\S+) \[(?P<db>\d+) (?P<client>.*?)\] (?P<words>.*)", re.S)
#: A quoted word; the server escapes quotes inside it as ``\"``.
_WORD = re.compile(r'"((?:[^"\\]|\\.)*)"', re.S)


def parse_line(line: bytes | str) -> dict[str, Any]:
    """One monitor line as redis-py's dict: ``time`` (float), ``db`` (int),
    ``client_address``, ``client_port``, ``client_type`` (``tcp``, ``unix``,
    ``lua``, or ``unknown`` when the server names no client) and ``command``
    (the words joined by spaces, with escaped quotes unescaped). Always
    ``str``, whatever ``decode_responses`` says, as redis-py's."""
    text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
    match = _LINE.fullmatch(text)
    if match is None:
        raise RedisError(f"unexpected MONITOR line: {text!r}")
    client = match["client"]
    if client == "lua":
        address, port, kind = "lua", "", "lua"
    elif client.startswith("unix"):
        address, port, kind = "unix", client[5:], "unix"
    elif not client:
        address, port, kind = "", "", "unknown"
    else:
        address, _, port = client.rpartition(":")
        kind = "tcp"
    words = " ".join(_WORD.findall(match["words"]))
    return {
        "time": float(match["time"]),
        "db": int(match["db"]),
        "client_address": address,
        "client_port": port,
        "client_type": kind,
        "command": words.replace('\\"', '"'),
    }


def check_started(message: dict[str, Any] | None) -> None:
    """``MONITOR``'s own answer: ``OK``, or the monitor fails as redis-py's."""
    data = None if message is None else message.get("data")
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    if message is None or message.get("type") != "monitor" or data != "OK":
        raise RedisError(f"MONITOR failed: {data}")


def command_of(message: dict[str, Any] | None) -> dict[str, Any]:
    """The command a received message reports; a lost or closed connection
    raises ``ConnectionError``."""
    if message is None:
        raise ConnectionError("Connection closed by server.")
    if message["type"] == RECONNECTED:
        raise ConnectionError("the MONITOR connection was lost; open a new monitor")
    if message["type"] != "monitor":
        raise RedisError(f"unexpected message on a MONITOR connection: {message!r}")
    return parse_line(message["data"])


def monitor_subscriber(pubsub: PubSubBase) -> SubscriberT:
    """The pub/sub object's core subscriber, sent ``MONITOR``. Its health
    check is off: a monitoring connection is busy by nature, and the server
    answers nothing but lines on it."""
    pubsub._health_check_interval = 0
    native = pubsub._native_subscriber()
    native.monitor()
    return native


class Monitor:
    """redis-py's ``Monitor``: ``with r.monitor() as m:`` sends ``MONITOR``
    on a connection of its own; :meth:`next_command` waits for the next
    command the server runs, :meth:`listen` yields them for ever."""

    def __init__(self, client: Any) -> None:
        self._pubsub = client.pubsub()

    def __enter__(self) -> Monitor:
        monitor_subscriber(self._pubsub)
        check_started(self._pubsub._receive(None))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Closes the monitor's connection."""
        self._pubsub.close()

    def next_command(self) -> dict[str, Any]:
        """The next command the server runs, as :func:`parse_line` gives it."""
        return command_of(self._pubsub._receive(None))

    def listen(self) -> Iterator[dict[str, Any]]:
        """Yields every command the server runs, until the connection ends."""
        while True:
            yield self.next_command()
