"""Server commands: INFO, DBSIZE, FLUSHDB, CONFIG, TIME."""

from __future__ import annotations

from typing import Any

from babushka import _shapes as S
from babushka._typing import Reply, ValueT
from babushka.commands.base import CommandsBase, EncodableT
from babushka.exceptions import DataError


def parse_info(reply: Any) -> dict[str, Any]:
    """INFO's text as a dict, with numbers as numbers and ``a=1,b=2`` values
    as nested dicts, as redis-py returns it."""
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    info: dict[str, Any] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        if ":" not in line:
            info.setdefault("__raw__", []).append(line)
            continue
        key, value = line.split(":", 1)
        if key == "cmdstat_host":
            key, value = line.rsplit(":", 1)
        info[key] = _info_value(value)
    return info


def _info_value(value: str) -> Any:
    if "," not in value and "=" not in value:
        return _number_or_text(value)
    if "=" not in value:
        return value
    nested: dict[str, Any] = {}
    for part in value.split(","):
        if "=" in part:
            k, v = part.split("=", 1)
            nested[k] = _number_or_text(v)
    return nested


def _number_or_text(value: str) -> Any:
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value) if "." in value else value
    except ValueError:
        return value


def _time_pair(reply: Any) -> tuple[int, int]:
    return (int(reply[0]), int(reply[1]))


class ServerCommands(CommandsBase[ValueT]):
    def info(self, section: str | None = None, *args: str) -> Reply[dict[str, Any]]:
        """The server's INFO, parsed to a dict."""
        words: list[Any] = ["INFO"]
        if section is not None:
            words.append(section)
            words.extend(args)
        return self._execute_then(parse_info, S.RAW, *words)

    def dbsize(self) -> Reply[int]:
        return self._execute(S.RAW, "DBSIZE")

    def flushdb(self, asynchronous: bool = False) -> Reply[bool]:
        if asynchronous:
            return self._execute(S.OK, "FLUSHDB", "ASYNC")
        return self._execute(S.OK, "FLUSHDB")

    def flushall(self, asynchronous: bool = False) -> Reply[bool]:
        if asynchronous:
            return self._execute(S.OK, "FLUSHALL", "ASYNC")
        return self._execute(S.OK, "FLUSHALL")

    def config_get(self, pattern: str = "*", *args: str) -> Reply[dict[ValueT, ValueT]]:
        """Matching configuration parameters as a dict."""
        return self._execute(S.PAIRS, "CONFIG", "GET", pattern, *args)

    def config_set(self, name: str, value: EncodableT, *args: EncodableT) -> Reply[bool]:
        if len(args) % 2:
            raise DataError("config_set takes name/value pairs")
        return self._execute(S.OK, "CONFIG", "SET", name, value, *args)

    def time(self) -> Reply[tuple[int, int]]:
        """The server's clock as ``(seconds, microseconds)``."""
        return self._execute_then(_time_pair, S.RAW, "TIME")

    def lastsave(self) -> Reply[int]:
        return self._execute(S.RAW, "LASTSAVE")
