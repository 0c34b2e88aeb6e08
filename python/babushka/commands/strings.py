"""String commands: GET, SET and friends."""

from __future__ import annotations

import builtins
import functools
from typing import Any, Iterable, Literal, Mapping, overload

from babushka import _shapes as S
from babushka._typing import Reply, ValueT
from babushka.commands.base import (
    AbsExpiryT,
    CommandsBase,
    EncodableT,
    ExpiryT,
    KeyT,
    expiry_words,
    key_list,
    milliseconds,
    pairs_of,
    require_int,
    seconds,
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
        ifeq: EncodableT | None = None,
        ifne: EncodableT | None = None,
        ifdeq: str | None = None,
        ifdne: str | None = None,
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
        ifeq: EncodableT | None = None,
        ifne: EncodableT | None = None,
        ifdeq: str | None = None,
        ifdne: str | None = None,
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
        ifeq: EncodableT | None = None,
        ifne: EncodableT | None = None,
        ifdeq: str | None = None,
        ifdne: str | None = None,
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
        ifeq: EncodableT | None = None,
        ifne: EncodableT | None = None,
        ifdeq: str | None = None,
        ifdne: str | None = None,
    ) -> Reply[bool | ValueT | None]:
        """Sets ``name`` to ``value``. Returns ``True``, or ``None`` when a
        condition (NX/XX; IFEQ/IFNE/IFDEQ/IFDNE on Redis 8.4+: the value, or
        its ``digest``, equal or not) prevented the write; with ``get=True``,
        the previous value (https://redis.io/docs/latest/commands/set/)."""
        if (
            ex is None
            and px is None
            and exat is None
            and pxat is None
            and not (nx or xx or keepttl or get)
            and ifeq is None
            and ifne is None
            and ifdeq is None
            and ifdne is None
        ):
            return self._execute(S.OK, "SET", name, value)
        expiries = sum(x is not None for x in (ex, px, exat, pxat)) + bool(keepttl)
        if expiries > 1:
            raise DataError("ex, px, exat, pxat and keepttl are mutually exclusive")
        compare = _compare_words(ifeq, ifne, ifdeq, ifdne)
        if bool(nx) + bool(xx) + bool(compare) > 1:
            raise DataError("nx, xx, ifeq, ifne, ifdeq and ifdne are mutually exclusive")
        expiry = expiry_words(ex, px, exat, pxat, keepttl=keepttl)
        if expiry and expiry[0] in ("EX", "PX"):
            _positive(expiry[1], expiry[0].lower())  # the server refuses 0 (and says less)
        args: list[Any] = ["SET", name, value, *expiry]
        if nx:
            args.append("NX")
        if xx:
            args.append("XX")
        args += compare
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

    def msetex(
        self,
        mapping: Mapping[KeyT, EncodableT],
        data_persist_option: Any = None,
        ex: ExpiryT | None = None,
        px: ExpiryT | None = None,
        exat: AbsExpiryT | None = None,
        pxat: AbsExpiryT | None = None,
        keepttl: bool = False,
    ) -> Reply[int]:
        """Sets every key of ``mapping`` with one expiry, if every key is new
        (``NX``) or there (``XX``) as ``data_persist_option`` asks; returns 1
        if it did, 0 if not (Redis 8.4+)
        (https://redis.io/docs/latest/commands/msetex/)."""
        pairs = pairs_of(mapping, "mapping")
        words: list[Any] = ["MSETEX", len(pairs) // 2, *pairs]
        if data_persist_option is not None:
            # redis-py's DataPersistOptions enum, or its value.
            option = getattr(data_persist_option, "value", data_persist_option)
            if option not in ("NX", "XX"):
                raise DataError(f"data_persist_option must be NX or XX, got {option!r}")
            words.append(option)
        words += expiry_words(ex, px, exat, pxat, keepttl=keepttl)
        return self._execute(S.RAW, *words)

    def delex(
        self,
        name: KeyT,
        ifeq: EncodableT | None = None,
        ifne: EncodableT | None = None,
        ifdeq: str | None = None,
        ifdne: str | None = None,
    ) -> Reply[int]:
        """Deletes the key if its value (or its ``digest``) is equal or not as
        asked; returns 1 if it did (Redis 8.4+)
        (https://redis.io/docs/latest/commands/delex/)."""
        return self._execute(S.RAW, "DELEX", name, *_compare_words(ifeq, ifne, ifdeq, ifdne))

    def digest(self, name: KeyT) -> Reply[ValueT | None]:
        """A hash of the key's value as hex, ``None`` when the key is missing
        (Redis 8.4+) (https://redis.io/docs/latest/commands/digest/)."""
        return self._execute(S.RAW, "DIGEST", name)

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
        return self._execute(
            S.RAW, "GETEX", name, *expiry_words(ex, px, exat, pxat, persist=persist)
        )

    def getset(self, name: KeyT, value: EncodableT) -> Reply[ValueT | None]:
        return self._execute(S.RAW, "GETSET", name, value)

    def substr(self, name: KeyT, start: int, end: int = -1) -> Reply[ValueT]:
        """The value's bytes from ``start`` to ``end`` (the old name of
        GETRANGE) (https://redis.io/docs/latest/commands/substr/)."""
        return self._execute(S.RAW, "SUBSTR", name, start, end)

    def increx(
        self,
        name: KeyT,
        *,
        byfloat: EncodableT | None = None,
        byint: EncodableT | None = None,
        lbound: EncodableT | None = None,
        ubound: EncodableT | None = None,
        saturate: bool = False,
        ex: ExpiryT | None = None,
        px: ExpiryT | None = None,
        exat: AbsExpiryT | None = None,
        pxat: AbsExpiryT | None = None,
        persist: bool = False,
        enx: bool = False,
    ) -> Reply[list[Any]]:
        """Increments ``name`` by ``byint`` or ``byfloat`` (1 by default)
        within ``lbound``..``ubound`` (``saturate``: clamped there instead of
        refused), setting or keeping its expiry (``enx``: only if it has none);
        the server's reply as a list. Newer than the test servers (its words
        are tested). https://redis.io/docs/latest/commands/increx/"""
        if byfloat is not None and byint is not None:
            raise DataError("byfloat and byint are mutually exclusive")
        expiry = expiry_words(ex, px, exat, pxat, persist=persist)
        if enx and (not expiry or persist):
            raise DataError("enx requires one of ex, px, exat or pxat")
        words: list[Any] = [name]
        if byfloat is not None:
            words += ["BYFLOAT", byfloat]
        elif byint is not None:
            words += ["BYINT", byint]
        for word, bound in (("LBOUND", lbound), ("UBOUND", ubound)):
            if bound is not None:
                words += [word, bound]
        if saturate:
            words.append("SATURATE")
        words += expiry
        if enx:
            words.append("ENX")
        return self._execute(S.RAW, "INCREX", *words)

    def stralgo(
        self,
        algo: str,
        value1: KeyT,
        value2: KeyT,
        specific_argument: str = "strings",
        len: bool = False,
        idx: bool = False,
        minmatchlen: int | None = None,
        withmatchlen: bool = False,
    ) -> Reply[str | int | dict[str, Any]]:
        """Redis 6's ``STRALGO LCS`` (Redis 7 has :meth:`lcs` instead) of two
        ``strings`` or two ``keys``: the common subsequence as ``str``, its
        length with ``len``, with ``idx`` ``{"matches": [...], "len": n}``
        whose ranges are tuples (with ``withmatchlen``, each match starts with
        its length), as redis-py returns them. Its words are tested; the test
        servers no longer have it. https://redis.io/docs/latest/commands/stralgo/"""
        if algo != "LCS":
            raise DataError("The supported algorithms are: LCS")
        if specific_argument not in ("strings", "keys"):
            raise DataError("specific_argument can be only keys or strings")
        if len and idx:
            raise DataError("len and idx cannot be provided together.")
        words: list[Any] = ["LCS", specific_argument.upper(), value1, value2]
        if len:
            words.append("LEN")
        if idx:
            words.append("IDX")
        if minmatchlen is not None:
            words += ["MINMATCHLEN", require_int(minmatchlen, "minmatchlen")]
        if withmatchlen:
            words.append("WITHMATCHLEN")
        parse = functools.partial(stralgo_reply, len=len, idx=idx, withmatchlen=withmatchlen)
        return self._execute_then(parse, S.RAW, "STRALGO", *words)

    def lcs(
        self,
        key1: KeyT,
        key2: KeyT,
        len: bool | None = False,
        idx: bool | None = False,
        minmatchlen: int | None = 0,
        withmatchlen: bool | None = False,
    ) -> Reply[ValueT | int | list[Any]]:
        """The longest common subsequence of two values; its length with
        ``len``; with ``idx`` the matches as RESP2 gives them (a flat
        ``[b"matches", [...], b"len", n]``, as redis-py returns it)
        (https://redis.io/docs/latest/commands/lcs/)."""
        words: list[Any] = ["LCS", key1, key2]
        if len:
            words.append("LEN")
        if idx:
            words.append("IDX")
        if minmatchlen:
            words += ["MINMATCHLEN", minmatchlen]
        if withmatchlen:
            words.append("WITHMATCHLEN")
        return self._execute(S.FLAT, *words)


def _compare_words(
    ifeq: EncodableT | None, ifne: EncodableT | None, ifdeq: str | None, ifdne: str | None
) -> list[Any]:
    """SET's and DELEX's value conditions (at most one)."""
    given = [
        (word, value)
        for word, value in (("IFEQ", ifeq), ("IFNE", ifne), ("IFDEQ", ifdeq), ("IFDNE", ifdne))
        if value is not None
    ]
    if len(given) > 1:
        raise DataError("only one of ifeq, ifne, ifdeq and ifdne may be given")
    return [*given[0]] if given else []


def _positive(value: int, name: str) -> int:
    if value == 0:
        raise DataError(f"{name} must be positive")
    return value


def stralgo_reply(
    reply: Any, *, len: bool, idx: bool, withmatchlen: bool
) -> str | int | dict[str, Any]:
    """STRALGO's reply as redis-py's: the subsequence as ``str``, the length,
    or the ``IDX`` matches as ``{"matches": [[(a, b), (c, d)], ...], "len":
    n}`` (a RESP2 flat list or a RESP3 map alike)."""
    if len:
        return int(reply)
    if idx:
        if isinstance(reply, dict):
            fields = {_text(k): v for k, v in reply.items()}
        else:
            fields = {_text(reply[i]): reply[i + 1] for i in range(0, builtins.len(reply), 2)}
        matches = []
        for match in fields["matches"]:
            ranges = [tuple(r) for r in (match[:-1] if withmatchlen else match)]
            matches.append([int(match[-1]), *ranges] if withmatchlen else ranges)
        return {"matches": matches, "len": int(fields["len"])}
    return _text(reply)


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
