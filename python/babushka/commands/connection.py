"""Connection commands: PING, ECHO, QUIT, RESET, HELLO."""

from __future__ import annotations

from typing import NoReturn

from babushka import _shapes as S
from babushka._typing import Reply, ValueT
from babushka.commands.base import CommandsBase, EncodableT, ResponseT


class ConnectionCommands(CommandsBase[ValueT]):
    def ping(self) -> Reply[bool]:
        """``True`` when the server answers PONG. https://redis.io/docs/latest/commands/ping/"""
        return self._execute(S.PONG, "PING")

    def echo(self, value: EncodableT) -> Reply[ValueT]:
        """The value, sent back. https://redis.io/docs/latest/commands/echo/"""
        return self._execute(S.RAW, "ECHO", value)

    def quit(self) -> ResponseT:
        """Sends QUIT on a connection of its own, which the server then closes;
        the client's other connections stay open (``True``).
        https://redis.io/docs/latest/commands/quit/"""
        return self._execute_alone(S.OK, "QUIT")

    def reset(self) -> ResponseT:
        """Sends RESET on a connection of its own, closed afterwards (``"RESET"``):
        the shared connection keeps its database, user and name.
        https://redis.io/docs/latest/commands/reset/"""
        return self._execute_alone(S.STR, "RESET")

    def hello(self) -> NoReturn:
        """Not implemented, as in redis-py: the client negotiates the protocol
        itself (``protocol=``). https://redis.io/docs/latest/commands/hello/"""
        raise NotImplementedError("HELLO is intentionally not implemented in the client.")
