"""String commands: GET, SET and friends."""

from __future__ import annotations

from typing import Any, Iterable, Literal, Mapping, overload

from babushka import _shapes as S
from babushka._typing import Reply, ValueT
from babushka.commands.base import (
    AbsExpiryT,
    CommandsBase,
    EncodableT,
    ExpiryT,
    KeyT,
    key_list,
    milliseconds,
    pairs_of,
    seconds,
    unix_milliseconds,
    unix_seconds,
)
from babushka.exceptions import DataError


class StringCommands(CommandsBase[ValueT]):
    def get(self, name: KeyT) -> Reply[ValueT | None]:
        """The value of ``name``, or ``None`` when it does not exist."""
        return self._execute(S.RAW, "GET", name)

    @overload
    def set(
        self,
        name: KeyT,
        value: EncodableT,
        ex: ExpiryT | None = None,
        px: ExpiryT | None = None,
        nx: bool = False,
        xx: bool = False,
        keepttl: bool = False,
        get: Literal[False] = False,
        exat: AbsExpiryT | None = None,
        pxat: AbsExpiryT | None = None,
    ) -> Reply[bool | None]: ...
    @overload
    def set(
        self,
        name: KeyT,
        value: EncodableT,
        ex: ExpiryT | None = None,
        px: ExpiryT | None = None,
        nx: bool = False,
        xx: bool = False,
        keepttl: bool = False,
        *,
        get: Literal[True],
        exat: AbsExpiryT | None = None,
        pxat: AbsExpiryT | None = None,
    ) -> Reply[ValueT | None]: ...
    @overload
    def set(
        self,
        name: KeyT,
        value: EncodableT,
        ex: ExpiryT | None = None,
        px: ExpiryT | None = None,
        nx: bool = False,
        xx: bool = False,
        keepttl: bool = False,
        get: bool = False,
        exat: AbsExpiryT | None = None,
        pxat: AbsExpiryT | None = None,
    ) -> Reply[bool | ValueT | None]: ...
    def set(
        self,
        name: KeyT,
        value: EncodableT,
        ex: ExpiryT | None = None,
        px: ExpiryT | None = None,
        nx: bool = False,
        xx: bool = False,
        keepttl: bool = False,
        get: bool = False,
        exat: AbsExpiryT | None = None,
        pxat: AbsExpiryT | None = None,
    ) -> Reply[bool | ValueT | None]:
        """Sets ``name`` to ``value``. Returns ``True``, or ``None`` when NX/XX
        prevented the write; with ``get=True``, the previous value."""
        if (
            ex is None
            and px is None
            and exat is None
            and pxat is None
            and not (nx or xx or keepttl or get)
        ):
            return self._execute(S.OK, "SET", name, value)
        args: list[Any] = ["SET", name, value]
        expiries = sum(x is not None for x in (ex, px, exat, pxat)) + bool(keepttl)
        if expiries > 1:
            raise DataError("ex, px, exat, pxat and keepttl are mutually exclusive")
        if nx and xx:
            raise DataError("nx and xx are mutually exclusive")
        if ex is not None:
            args += ["EX", _positive(seconds(ex, "ex"), "ex")]
        if px is not None:
            args += ["PX", _positive(milliseconds(px, "px"), "px")]
        if exat is not None:
            args += ["EXAT", unix_seconds(exat, "exat")]
        if pxat is not None:
            args += ["PXAT", unix_milliseconds(pxat, "pxat")]
        if keepttl:
            args.append("KEEPTTL")
        if nx:
            args.append("NX")
        if xx:
            args.append("XX")
        if get:
            args.append("GET")
            return self._execute(S.RAW, *args)
        return self._execute(S.OK, *args)

    def mget(self, keys: Iterable[KeyT] | KeyT, *args: KeyT) -> Reply[list[ValueT | None]]:
        """The values of the keys, ``None`` for each missing one."""
        return self._execute(S.RAW, "MGET", *key_list(keys, args))

    def mset(self, mapping: Mapping[KeyT, EncodableT]) -> Reply[bool]:
        """Sets every key of ``mapping``. Returns ``True``."""
        return self._execute(S.OK, "MSET", *pairs_of(mapping, "mapping"))

    def msetnx(self, mapping: Mapping[KeyT, EncodableT]) -> Reply[bool]:
        """Sets the keys only if none exists. Returns whether it did."""
        return self._execute(S.BOOL, "MSETNX", *pairs_of(mapping, "mapping"))

    def setnx(self, name: KeyT, value: EncodableT) -> Reply[bool]:
        return self._execute(S.BOOL, "SETNX", name, value)

    def setex(self, name: KeyT, time: ExpiryT, value: EncodableT) -> Reply[bool]:
        return self._execute(S.OK, "SETEX", name, _positive(seconds(time, "time"), "time"), value)

    def psetex(self, name: KeyT, time_ms: ExpiryT, value: EncodableT) -> Reply[bool]:
        ms = _positive(milliseconds(time_ms, "time_ms"), "time_ms")
        return self._execute(S.OK, "PSETEX", name, ms, value)

    def incr(self, name: KeyT, amount: int = 1) -> Reply[int]:
        return self.incrby(name, amount)

    def incrby(self, name: KeyT, amount: int = 1) -> Reply[int]:
        return self._execute(S.RAW, "INCRBY", name, amount)

    def incrbyfloat(self, name: KeyT, amount: float = 1.0) -> Reply[float]:
        return self._execute(S.FLOAT, "INCRBYFLOAT", name, amount)

    def decr(self, name: KeyT, amount: int = 1) -> Reply[int]:
        return self.decrby(name, amount)

    def decrby(self, name: KeyT, amount: int = 1) -> Reply[int]:
        return self._execute(S.RAW, "DECRBY", name, amount)

    def append(self, key: KeyT, value: EncodableT) -> Reply[int]:
        return self._execute(S.RAW, "APPEND", key, value)

    def strlen(self, name: KeyT) -> Reply[int]:
        return self._execute(S.RAW, "STRLEN", name)

    def getrange(self, key: KeyT, start: int, end: int) -> Reply[ValueT]:
        return self._execute(S.RAW, "GETRANGE", key, start, end)

    def setrange(self, name: KeyT, offset: int, value: EncodableT) -> Reply[int]:
        if isinstance(offset, int) and offset < 0:
            raise DataError(f"offset must not be negative, got {offset}")
        return self._execute(S.RAW, "SETRANGE", name, offset, value)

    def getdel(self, name: KeyT) -> Reply[ValueT | None]:
        return self._execute(S.RAW, "GETDEL", name)

    def getex(
        self,
        name: KeyT,
        ex: ExpiryT | None = None,
        px: ExpiryT | None = None,
        exat: AbsExpiryT | None = None,
        pxat: AbsExpiryT | None = None,
        persist: bool = False,
    ) -> Reply[ValueT | None]:
        """The value of ``name``, changing its expiry as asked."""
        if sum(x is not None for x in (ex, px, exat, pxat)) + bool(persist) > 1:
            raise DataError("ex, px, exat, pxat and persist are mutually exclusive")
        args: list[Any] = ["GETEX", name]
        if ex is not None:
            args += ["EX", seconds(ex, "ex")]
        if px is not None:
            args += ["PX", milliseconds(px, "px")]
        if exat is not None:
            args += ["EXAT", unix_seconds(exat, "exat")]
        if pxat is not None:
            args += ["PXAT", unix_milliseconds(pxat, "pxat")]
        if persist:
            args.append("PERSIST")
        return self._execute(S.RAW, *args)

    def getset(self, name: KeyT, value: EncodableT) -> Reply[ValueT | None]:
        return self._execute(S.RAW, "GETSET", name, value)


def _positive(value: int, name: str) -> int:
    if value == 0:
        raise DataError(f"{name} must be positive")
    return value
