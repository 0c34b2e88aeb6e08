"""Connection commands: PING, ECHO, CLIENT names."""

from __future__ import annotations

from typing import Any

from babushka import _shapes as S
from babushka.commands.base import CommandsBase, EncodableT, ResponseT


def _is_pong(reply: Any) -> bool:
    return reply in (b"PONG", "PONG") or isinstance(reply, list)


class ConnectionCommands(CommandsBase):
    def ping(self) -> ResponseT:
        """``True`` when the server answers."""
        return self._execute_then(_is_pong, S.RAW, "PING")

    def echo(self, value: EncodableT) -> ResponseT:
        return self._execute(S.RAW, "ECHO", value)

    def client_setname(self, name: str) -> ResponseT:
        return self._execute(S.OK, "CLIENT", "SETNAME", name)

    def client_getname(self) -> ResponseT:
        return self._execute(S.RAW, "CLIENT", "GETNAME")

    def client_id(self) -> ResponseT:
        return self._execute(S.RAW, "CLIENT", "ID")
