"""Connection commands: PING, ECHO, CLIENT names."""

from __future__ import annotations

from typing import Any

from babushka import _shapes as S
from babushka._typing import Reply, ValueT
from babushka.commands.base import CommandsBase, EncodableT


def _is_pong(reply: Any) -> bool:
    return reply in (b"PONG", "PONG") or isinstance(reply, list)


class ConnectionCommands(CommandsBase[ValueT]):
    def ping(self) -> Reply[bool]:
        """``True`` when the server answers."""
        return self._execute_then(_is_pong, S.RAW, "PING")

    def echo(self, value: EncodableT) -> Reply[ValueT]:
        return self._execute(S.RAW, "ECHO", value)

    def client_setname(self, name: str) -> Reply[bool]:
        return self._execute(S.OK, "CLIENT", "SETNAME", name)

    def client_getname(self) -> Reply[ValueT | None]:
        return self._execute(S.RAW, "CLIENT", "GETNAME")

    def client_id(self) -> Reply[int]:
        return self._execute(S.RAW, "CLIENT", "ID")
