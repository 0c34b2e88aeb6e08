"""Connection commands: PING, ECHO, AUTH, SELECT, READONLY, READWRITE, QUIT,
RESET, HELLO.

``auth()`` and ``select()`` change the connection they are sent on, as
redis-py's do: here the client's shared connection, which every thread and
task of the client uses (as redis-py's reused pooled connection is, or its
``single_connection_client``). Connections opened later (after a reconnect,
and the dedicated ones of blocking commands and ``WATCH``) start from the
client's ``username``/``password``/``db`` settings, as redis-py's new pooled
connections do. README: "Differences from redis-py worth knowing".
"""

from __future__ import annotations

from typing import NoReturn

from babushka import _shapes as S
from babushka._typing import Reply, ValueT
from babushka.commands.base import CommandsBase, EncodableT, ResponseT, require_int


class ConnectionCommands(CommandsBase[ValueT]):
    def ping(self) -> Reply[bool]:
        """``True`` when the server answers PONG. https://redis.io/docs/latest/commands/ping/"""
        return self._execute(S.PONG, "PING")

    def echo(self, value: EncodableT) -> Reply[ValueT]:
        """The value, sent back. https://redis.io/docs/latest/commands/echo/"""
        return self._execute(S.RAW, "ECHO", value)

    def auth(self, password: EncodableT, username: EncodableT | None = None) -> Reply[bool]:
        """Authenticates the shared connection (``AUTH [username] password``);
        ``True``. https://redis.io/docs/latest/commands/auth/"""
        if username is None:
            return self._execute(S.OK, "AUTH", password)
        return self._execute(S.OK, "AUTH", username, password)

    def select(self, index: int) -> Reply[bool]:
        """Switches the shared connection to database ``index``; ``True``.
        https://redis.io/docs/latest/commands/select/"""
        return self._execute(S.OK, "SELECT", require_int(index, "index"))

    def readonly(self) -> Reply[bool]:
        """Lets the connection read from a cluster replica (an error on a
        server without cluster support). https://redis.io/docs/latest/commands/readonly/"""
        return self._execute(S.OK, "READONLY")

    def readwrite(self) -> Reply[bool]:
        """Ends ``READONLY``. https://redis.io/docs/latest/commands/readwrite/"""
        return self._execute(S.OK, "READWRITE")

    def quit(self) -> Reply[bool]:
        """Sends QUIT on a connection of its own, which the server then closes;
        the client's other connections stay open (``True``).
        https://redis.io/docs/latest/commands/quit/"""
        return self._execute_alone(S.OK, "QUIT")

    def reset(self) -> ResponseT:
        """Sends RESET on a connection of its own, closed afterwards (``"RESET"``):
        the shared connection keeps its database, user and name. (Typed
        ``Any``: on a pipeline, ``reset()`` is redis-py's pipeline reset.)
        https://redis.io/docs/latest/commands/reset/"""
        return self._execute_alone(S.STR, "RESET")

    def hello(self) -> NoReturn:
        """Not implemented, as in redis-py: the client negotiates the protocol
        itself (``protocol=``). https://redis.io/docs/latest/commands/hello/"""
        raise NotImplementedError("HELLO is intentionally not implemented in the client.")
