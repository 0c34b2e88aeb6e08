"""List commands: LPUSH, LRANGE, LMOVE and friends, and the blocking ones
(BLPOP, BLMOVE, ...), which the core sends on a dedicated connection so they
hold up nobody else's requests."""

from __future__ import annotations

from typing import Any, Iterable, overload

from babushka import _shapes as S
from babushka._typing import Reply, ValueT
from babushka.commands.base import (
    CommandsBase,
    EncodableT,
    KeyT,
    blocking_timeout,
    count_option,
    key_count,
    key_list,
    require_int,
)
from babushka.exceptions import DataError


def _values(values: tuple[EncodableT, ...], command: str) -> tuple[EncodableT, ...]:
    if not values:
        raise DataError(f"{command} needs at least one value")
    return values


def _word(value: str, allowed: tuple[str, ...], name: str) -> str:
    """A keyword argument such as ``where="before"``, checked and upper-cased,
    so a typo is a ``DataError`` rather than a server syntax error. Given as
    bytes too (``src=b"LEFT"``), as redis-py sends whatever it is given."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        value = bytes(value).decode("ascii", "replace")
    word = value.upper() if isinstance(value, str) else None
    if word not in allowed:
        raise DataError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return word


class ListCommands(CommandsBase[ValueT]):
    def lpush(self, name: KeyT, *values: EncodableT) -> Reply[int]:
        """Prepends the values (the last ends up first); returns the new length."""
        return self._execute(S.RAW, "LPUSH", name, *_values(values, "lpush"))

    def rpush(self, name: KeyT, *values: EncodableT) -> Reply[int]:
        """Appends the values; returns the new length."""
        return self._execute(S.RAW, "RPUSH", name, *_values(values, "rpush"))

    def lpushx(self, name: KeyT, *values: EncodableT) -> Reply[int]:
        """:meth:`lpush` only when the list exists; returns its length (0 if not)."""
        return self._execute(S.RAW, "LPUSHX", name, *_values(values, "lpushx"))

    def rpushx(self, name: KeyT, *values: EncodableT) -> Reply[int]:
        return self._execute(S.RAW, "RPUSHX", name, *_values(values, "rpushx"))

    @overload
    def lpop(self, name: KeyT, count: None = None) -> Reply[ValueT | None]: ...
    @overload
    def lpop(self, name: KeyT, count: int) -> Reply[list[ValueT] | None]: ...
    def lpop(self, name: KeyT, count: int | None = None) -> Reply[ValueT | list[ValueT] | None]:
        """The first element (``None`` when empty); with ``count``, a list of up
        to ``count`` elements (``None`` when the key is missing)."""
        if count is None:
            return self._execute(S.RAW, "LPOP", name)
        return self._execute(S.RAW, "LPOP", name, count)

    @overload
    def rpop(self, name: KeyT, count: None = None) -> Reply[ValueT | None]: ...
    @overload
    def rpop(self, name: KeyT, count: int) -> Reply[list[ValueT] | None]: ...
    def rpop(self, name: KeyT, count: int | None = None) -> Reply[ValueT | list[ValueT] | None]:
        if count is None:
            return self._execute(S.RAW, "RPOP", name)
        return self._execute(S.RAW, "RPOP", name, count)

    def lrange(self, name: KeyT, start: int, end: int) -> Reply[list[ValueT]]:
        """Elements ``start`` to ``end``, both inclusive (negative from the end)."""
        return self._execute(S.RAW, "LRANGE", name, start, end)

    def llen(self, name: KeyT) -> Reply[int]:
        return self._execute(S.RAW, "LLEN", name)

    def lindex(self, name: KeyT, index: int) -> Reply[ValueT | None]:
        return self._execute(S.RAW, "LINDEX", name, index)

    def lset(self, name: KeyT, index: int, value: EncodableT) -> Reply[bool]:
        return self._execute(S.OK, "LSET", name, index, value)

    def lrem(self, name: KeyT, count: int, value: EncodableT) -> Reply[int]:
        """Removes ``count`` occurrences of ``value`` (from the tail when
        negative, all when 0); returns how many it removed."""
        return self._execute(S.RAW, "LREM", name, count, value)

    def ltrim(self, name: KeyT, start: int, end: int) -> Reply[bool]:
        return self._execute(S.OK, "LTRIM", name, start, end)

    def linsert(
        self, name: KeyT, where: str, refvalue: EncodableT, value: EncodableT
    ) -> Reply[int]:
        """Inserts ``value`` before or after ``refvalue``; returns the new length,
        or -1 when ``refvalue`` is not in the list."""
        where = _word(where, ("BEFORE", "AFTER"), "where")
        return self._execute(S.RAW, "LINSERT", name, where, refvalue, value)

    def lpos(
        self,
        name: KeyT,
        value: EncodableT,
        rank: int | None = None,
        count: int | None = None,
        maxlen: int | None = None,
    ) -> Reply[int | list[int] | None]:
        """The index of ``value`` (``None`` if absent); with ``count``, a list of indexes."""
        words: list[Any] = ["LPOS", name, value]
        if rank is not None:
            words += ["RANK", rank]
        if count is not None:
            words += ["COUNT", count]
        if maxlen is not None:
            words += ["MAXLEN", maxlen]
        return self._execute(S.RAW, *words)

    def lmove(
        self, first_list: KeyT, second_list: KeyT, src: str = "LEFT", dest: str = "RIGHT"
    ) -> Reply[ValueT | None]:
        """Pops from ``src`` end of one list, pushes onto ``dest`` end of the
        other; returns the element (``None`` when the source is empty)."""
        src = _word(src, ("LEFT", "RIGHT"), "src")
        dest = _word(dest, ("LEFT", "RIGHT"), "dest")
        return self._execute(S.RAW, "LMOVE", first_list, second_list, src, dest)

    def rpoplpush(self, src: KeyT, dst: KeyT) -> Reply[ValueT | None]:
        return self._execute(S.RAW, "RPOPLPUSH", src, dst)

    def blpop(
        self, keys: Iterable[KeyT] | KeyT, timeout: float | None = 0
    ) -> Reply[tuple[ValueT, ValueT] | None]:
        """Pops the first element of the first non-empty list in ``keys``,
        waiting up to ``timeout`` seconds (0: for ever) for one: ``(key,
        element)``, or ``None`` when the time ran out."""
        words = key_list(keys, ())
        return self._execute(S.TUPLE, "BLPOP", *words, blocking_timeout(timeout))

    def brpop(
        self, keys: Iterable[KeyT] | KeyT, timeout: float | None = 0
    ) -> Reply[tuple[ValueT, ValueT] | None]:
        """:meth:`blpop` from the tail: ``(key, element)`` or ``None``."""
        words = key_list(keys, ())
        return self._execute(S.TUPLE, "BRPOP", *words, blocking_timeout(timeout))

    def brpoplpush(self, src: KeyT, dst: KeyT, timeout: float | None = 0) -> Reply[ValueT | None]:
        """:meth:`rpoplpush`, waiting up to ``timeout`` seconds for an element;
        ``None`` when the time ran out."""
        return self._execute(S.RAW, "BRPOPLPUSH", src, dst, blocking_timeout(timeout))

    def blmove(
        self,
        first_list: KeyT,
        second_list: KeyT,
        timeout: float,
        src: str = "LEFT",
        dest: str = "RIGHT",
    ) -> Reply[ValueT | None]:
        """:meth:`lmove`, waiting up to ``timeout`` seconds for an element;
        ``None`` when the time ran out."""
        src = _word(src, ("LEFT", "RIGHT"), "src")
        dest = _word(dest, ("LEFT", "RIGHT"), "dest")
        wait = blocking_timeout(timeout)
        return self._execute(S.RAW, "BLMOVE", first_list, second_list, src, dest, wait)

    def lmovem(
        self,
        first_list: KeyT,
        second_list: KeyT,
        src: str = "LEFT",
        dest: str = "RIGHT",
        count: int | None = None,
        mode: str | None = None,
        ordering: str | None = None,
    ) -> Reply[list[ValueT] | None]:
        """:meth:`lmove` of up to ``count`` elements (``mode="EXACTLY"``: all
        or none), moved one by one (``ordering="OBO"``) or as a block
        (``"BULK"``); the moved elements, ``None`` when none moved. Newer
        than the test servers (its words are tested).
        https://redis.io/docs/latest/commands/lmovem/"""
        words = [first_list, second_list, *_move_words(src, dest)]
        return self._execute(S.RAW, "LMOVEM", *words, *_many_words(count, mode, ordering))

    def blmovem(
        self,
        first_list: KeyT,
        second_list: KeyT,
        timeout: float,
        src: str = "LEFT",
        dest: str = "RIGHT",
        count: int | None = None,
        mode: str | None = None,
        ordering: str | None = None,
    ) -> Reply[list[ValueT] | None]:
        """:meth:`lmovem`, waiting up to ``timeout`` seconds for elements on a
        connection of its own; ``None`` when the time ran out.
        https://redis.io/docs/latest/commands/blmovem/"""
        words = [first_list, second_list, *_move_words(src, dest), blocking_timeout(timeout)]
        return self._execute(S.RAW, "BLMOVEM", *words, *_many_words(count, mode, ordering))

    def blmpop(
        self,
        timeout: float,
        numkeys: int,
        *args: KeyT,
        direction: str,
        count: int | None = 1,
    ) -> Reply[list[ValueT | list[ValueT]] | None]:
        """Pops up to ``count`` elements from the ``direction`` end of the first
        non-empty list of ``args``, waiting up to ``timeout`` seconds:
        ``[key, [element, ...]]``, or ``None`` when the time ran out."""
        wait = blocking_timeout(timeout)
        keys = list(args)
        words: list[Any] = ["BLMPOP", wait, key_count(numkeys, keys), *keys]
        words.append(_word(direction, ("LEFT", "RIGHT"), "direction"))
        return self._execute(S.RAW, *words, *count_option(count))

    def lmpop(
        self,
        num_keys: int,
        *args: KeyT,
        direction: str,
        count: int | None = 1,
    ) -> Reply[list[ValueT | list[ValueT]] | None]:
        """Pops up to ``count`` elements from the ``direction`` end of the first
        non-empty list of ``args``: ``[key, [element, ...]]``, or ``None``
        (https://redis.io/docs/latest/commands/lmpop/)."""
        keys = list(args)
        words: list[Any] = ["LMPOP", key_count(num_keys, keys), *keys]
        words.append(_word(direction, ("LEFT", "RIGHT"), "direction"))
        return self._execute(S.RAW, *words, *count_option(count))


def _move_words(src: str, dest: str) -> list[str]:
    return [_word(src, ("LEFT", "RIGHT"), "src"), _word(dest, ("LEFT", "RIGHT"), "dest")]


def _many_words(count: int | None, mode: str | None, ordering: str | None) -> list[Any]:
    """LMOVEM's ``COUNT|EXACTLY n OBO|BULK``: ``count`` needs ``ordering``,
    and ``mode`` or ``ordering`` need ``count`` (redis-py's rules)."""
    if count is None:
        if mode is not None or ordering is not None:
            raise DataError("count is required when mode or ordering is set")
        return []
    if ordering is None:
        raise DataError("ordering (OBO or BULK) is required when count is set")
    word = "COUNT" if mode is None else _word(mode, ("COUNT", "EXACTLY"), "mode")
    return [word, require_int(count, "count"), _word(ordering, ("OBO", "BULK"), "ordering")]
