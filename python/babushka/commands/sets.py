"""Set commands: SADD, SMEMBERS, SINTER and friends."""

from __future__ import annotations

from typing import Iterable, overload

from babushka import _shapes as S
from babushka._typing import Reply, ScanIter, ValueT
from babushka.commands.base import (
    CommandsBase,
    EncodableT,
    KeyT,
    card_words,
    key_list,
    require_cursor,
    scan_options,
)
from babushka.exceptions import DataError


def _members(values: tuple[EncodableT, ...], command: str) -> tuple[EncodableT, ...]:
    if not values:
        raise DataError(f"{command} needs at least one member")
    return values


class SetCommands(CommandsBase[ValueT]):
    def sadd(self, name: KeyT, *values: EncodableT) -> Reply[int]:
        """Adds the members; returns how many were new."""
        return self._execute(S.RAW, "SADD", name, *_members(values, "sadd"))

    def srem(self, name: KeyT, *values: EncodableT) -> Reply[int]:
        """Removes the members; returns how many were there."""
        return self._execute(S.RAW, "SREM", name, *_members(values, "srem"))

    def smembers(self, name: KeyT) -> Reply[set[ValueT]]:
        """Every member, as a set."""
        return self._execute(S.SET, "SMEMBERS", name)

    def sismember(self, name: KeyT, value: EncodableT) -> Reply[bool]:
        return self._execute(S.BOOL, "SISMEMBER", name, value)

    def smismember(
        self, name: KeyT, values: Iterable[EncodableT] | EncodableT, *args: EncodableT
    ) -> Reply[list[bool]]:
        """Whether each value is a member, as a list of bools."""
        members = key_list(values, args, "values")  # type: ignore[arg-type]
        return self._execute(S.BOOL_LIST, "SMISMEMBER", name, *members)

    def sintercard(self, numkeys: int, keys: list[KeyT], limit: int = 0) -> Reply[int]:
        """The size of the intersection, counting up to ``limit`` (0: all)
        (https://redis.io/docs/latest/commands/sintercard/)."""
        return self._execute(S.RAW, "SINTERCARD", *card_words(numkeys, keys, limit))

    def sdiffcard(self, numkeys: int, keys: list[KeyT], limit: int = 0) -> Reply[int]:
        """The size of the difference, counting up to ``limit`` (0: all)
        (newer Redis than 8.4) (https://redis.io/docs/latest/commands/sdiffcard/)."""
        return self._execute(S.RAW, "SDIFFCARD", *card_words(numkeys, keys, limit))

    def sunioncard(
        self, numkeys: int, keys: list[KeyT], limit: int = 0, approx: bool = False
    ) -> Reply[int]:
        """The size of the union, counting up to ``limit``; ``approx`` lets the
        server estimate it (newer Redis than 8.4)
        (https://redis.io/docs/latest/commands/sunioncard/)."""
        flags = ["APPROX"] if approx else []
        return self._execute(S.RAW, "SUNIONCARD", *card_words(numkeys, keys, limit, *flags))

    def scard(self, name: KeyT) -> Reply[int]:
        return self._execute(S.RAW, "SCARD", name)

    @overload
    def spop(self, name: KeyT, count: None = None) -> Reply[ValueT | None]: ...
    @overload
    def spop(self, name: KeyT, count: int) -> Reply[list[ValueT] | set[ValueT]]: ...
    def spop(
        self, name: KeyT, count: int | None = None
    ) -> Reply[ValueT | list[ValueT] | set[ValueT] | None]:
        """Removes and returns a random member (``None`` when empty); with
        ``count``, a list of up to ``count`` members (a set on RESP3, which
        sends one)."""
        if count is None:
            return self._execute(S.RAW, "SPOP", name)
        return self._execute(S.RAW, "SPOP", name, count)

    @overload
    def srandmember(self, name: KeyT, number: None = None) -> Reply[ValueT | None]: ...
    @overload
    def srandmember(self, name: KeyT, number: int) -> Reply[list[ValueT]]: ...
    def srandmember(
        self, name: KeyT, number: int | None = None
    ) -> Reply[ValueT | list[ValueT] | None]:
        """A random member; with ``number``, a list (repeats allowed when negative)."""
        if number is None:
            return self._execute(S.RAW, "SRANDMEMBER", name)
        return self._execute(S.RAW, "SRANDMEMBER", name, number)

    def sinter(self, keys: Iterable[KeyT] | KeyT, *args: KeyT) -> Reply[set[ValueT]]:
        return self._execute(S.SET, "SINTER", *key_list(keys, args))

    def sunion(self, keys: Iterable[KeyT] | KeyT, *args: KeyT) -> Reply[set[ValueT]]:
        return self._execute(S.SET, "SUNION", *key_list(keys, args))

    def sdiff(self, keys: Iterable[KeyT] | KeyT, *args: KeyT) -> Reply[set[ValueT]]:
        """Members of the first set that are in none of the others."""
        return self._execute(S.SET, "SDIFF", *key_list(keys, args))

    def sinterstore(self, dest: KeyT, keys: Iterable[KeyT] | KeyT, *args: KeyT) -> Reply[int]:
        """Stores :meth:`sinter` in ``dest``; returns its size."""
        return self._execute(S.RAW, "SINTERSTORE", dest, *key_list(keys, args))

    def sunionstore(self, dest: KeyT, keys: Iterable[KeyT] | KeyT, *args: KeyT) -> Reply[int]:
        return self._execute(S.RAW, "SUNIONSTORE", dest, *key_list(keys, args))

    def sdiffstore(self, dest: KeyT, keys: Iterable[KeyT] | KeyT, *args: KeyT) -> Reply[int]:
        return self._execute(S.RAW, "SDIFFSTORE", dest, *key_list(keys, args))

    def smove(self, src: KeyT, dst: KeyT, value: EncodableT) -> Reply[bool]:
        """Moves a member between sets; returns whether it was in ``src``."""
        return self._execute(S.BOOL, "SMOVE", src, dst, value)

    def sscan(
        self,
        name: KeyT,
        cursor: int = 0,
        match: EncodableT | None = None,
        count: int | None = None,
    ) -> Reply[tuple[int, list[ValueT]]]:
        """One page of members: ``(next_cursor, [member, ...])``."""
        words = ["SSCAN", name, require_cursor(cursor), *scan_options(match, count)]
        return self._execute(S.SCAN, *words)

    def sscan_iter(
        self,
        name: KeyT,
        match: EncodableT | None = None,
        count: int | None = None,
    ) -> ScanIter[ValueT]:
        """Every member, page by page."""
        options = scan_options(match, count)
        return self._iter_cursor(
            lambda cursor: self._execute(S.SCAN, "SSCAN", name, cursor, *options)
        )
