"""Array commands (redis-py 8.1's ``ar*`` methods): a key holding values at
integer indices, with ranges, grep, aggregates and ring buffers. Neither test
server has them: their tests check the words sent
(``tests/test_commands_newer.py``); replies are the server's, as redis-py
returns them, but ``ARINFO``'s dict."""

from __future__ import annotations

from enum import Enum
from typing import Any, Mapping

from babushka import _shapes as S
from babushka._typing import Reply, ValueT
from babushka.commands.base import CommandsBase, EncodableT, KeyT, require_int
from babushka.exceptions import DataError


class ArrayPredicateType(Enum):
    """How an ``argrep`` predicate matches a value (redis-py's enum)."""

    EXACT = "EXACT"
    MATCH = "MATCH"
    GLOB = "GLOB"
    RE = "RE"


class ArrayPredicateCombinator(Enum):
    """How ``argrep`` combines its predicates."""

    AND = "AND"
    OR = "OR"


class ArrayAggregateOperations(Enum):
    """What ``arop`` computes over a range."""

    SUM = "SUM"
    MIN = "MIN"
    MAX = "MAX"
    AND = "AND"
    OR = "OR"
    XOR = "XOR"
    MATCH = "MATCH"
    USED = "USED"


def _member(kind: type[Enum], value: object, name: str) -> str:
    """An enum argument, given as the member or its value."""
    try:
        return str(kind(getattr(value, "value", value)).value)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise DataError(f"{name} must be one of {allowed}, got {value!r}") from None


def _indices(indices: tuple[int, ...], name: str = "indices") -> list[int]:
    if not indices:
        raise DataError(f"{name} needs at least one index")
    return [require_int(index, name) for index in indices]


def _arinfo(reply: Any) -> dict[str, Any]:
    """ARINFO as redis-py's dict: ``str`` keys, from RESP2 pairs or a RESP3 map."""
    pairs = reply.items() if isinstance(reply, dict) else zip(reply[::2], reply[1::2])
    return {(k.decode() if isinstance(k, bytes) else str(k)): v for k, v in pairs}


class ArrayCommands(CommandsBase[ValueT]):
    def arset(self, name: KeyT, index: int, *values: EncodableT) -> Reply[int]:
        """Sets ``values`` from ``index`` on. https://redis.io/docs/latest/commands/arset/"""
        if not values:
            raise DataError("arset needs at least one value")
        return self._execute(S.RAW, "ARSET", name, require_int(index, "index"), *values)

    def armset(self, name: KeyT, mapping: Mapping[int, EncodableT]) -> Reply[int]:
        """Sets each ``{index: value}``."""
        if not mapping:
            raise DataError("armset needs at least one index")
        words: list[Any] = []
        for index, value in mapping.items():
            words += [require_int(index, "mapping"), value]
        return self._execute(S.RAW, "ARMSET", name, *words)

    def arinsert(self, name: KeyT, *values: EncodableT) -> Reply[int]:
        """Appends ``values`` after the last index used."""
        if not values:
            raise DataError("arinsert needs at least one value")
        return self._execute(S.RAW, "ARINSERT", name, *values)

    def arring(self, name: KeyT, size: int, *values: EncodableT) -> Reply[int]:
        """Appends ``values`` to a ring of ``size`` slots."""
        if not values:
            raise DataError("arring needs at least one value")
        return self._execute(S.RAW, "ARRING", name, require_int(size, "size"), *values)

    def arget(self, name: KeyT, index: int) -> Reply[ValueT | None]:
        """The value at ``index``, ``None`` when there is none."""
        return self._execute(S.RAW, "ARGET", name, require_int(index, "index"))

    def armget(self, name: KeyT, *indices: int) -> Reply[list[ValueT | None]]:
        """The values at ``indices``."""
        return self._execute(S.RAW, "ARMGET", name, *_indices(indices))

    def argetrange(self, name: KeyT, start: int, end: int) -> Reply[list[ValueT | None]]:
        """The values from ``start`` to ``end``."""
        words = [require_int(start, "start"), require_int(end, "end")]
        return self._execute(S.RAW, "ARGETRANGE", name, *words)

    def arlastitems(self, name: KeyT, count: int, rev: bool = False) -> Reply[list[ValueT | None]]:
        """The last ``count`` values inserted (``rev``: newest first)."""
        words: list[Any] = [name, require_int(count, "count")]
        if rev:
            words.append("REV")
        return self._execute(S.RAW, "ARLASTITEMS", *words)

    def ardel(self, name: KeyT, *indices: int) -> Reply[int]:
        """Deletes the values at ``indices``; how many there were."""
        return self._execute(S.RAW, "ARDEL", name, *_indices(indices))

    def ardelrange(self, name: KeyT, *ranges: tuple[int, int]) -> Reply[int]:
        """Deletes the values in each ``(start, end)`` range."""
        if not ranges:
            raise DataError("ardelrange needs at least one range")
        words: list[Any] = []
        for bounds in ranges:
            if not isinstance(bounds, (tuple, list)) or len(bounds) != 2:
                raise DataError(f"ranges must be (start, end) pairs, got {bounds!r}")
            words += [require_int(bounds[0], "ranges"), require_int(bounds[1], "ranges")]
        return self._execute(S.RAW, "ARDELRANGE", name, *words)

    def arcount(self, name: KeyT) -> Reply[int]:
        """How many indices hold a value."""
        return self._execute(S.RAW, "ARCOUNT", name)

    def arlen(self, name: KeyT) -> Reply[int]:
        """One more than the highest index used."""
        return self._execute(S.RAW, "ARLEN", name)

    def arnext(self, name: KeyT) -> Reply[int | None]:
        """The index ``arinsert`` would use next."""
        return self._execute(S.RAW, "ARNEXT", name)

    def arseek(self, name: KeyT, index: int) -> Reply[int]:
        """Moves the insertion point to ``index``."""
        return self._execute(S.RAW, "ARSEEK", name, require_int(index, "index"))

    def arinfo(self, name: KeyT, full: bool = False) -> Reply[dict[str, Any]]:
        """The array's internals as a dict with ``str`` keys."""
        words: list[Any] = [name, "FULL"] if full else [name]
        return self._execute_then(_arinfo, S.RAW, "ARINFO", *words)

    def arscan(
        self, name: KeyT, start: int, end: int, limit: int | None = None
    ) -> Reply[list[list[Any]]]:
        """``[index, value]`` pairs from ``start`` to ``end`` (at most ``limit``)."""
        words: list[Any] = [name, require_int(start, "start"), require_int(end, "end")]
        if limit is not None:
            words += ["LIMIT", require_int(limit, "limit")]
        return self._execute(S.RAW, "ARSCAN", *words)

    def argrep(
        self,
        name: KeyT,
        start: int,
        end: int,
        predicates: list[tuple[ArrayPredicateType, EncodableT]],
        combinator: ArrayPredicateCombinator | None = None,
        limit: int | None = None,
        withvalues: bool = False,
        nocase: bool = False,
    ) -> Reply[list[int] | list[list[Any]]]:
        """The indices from ``start`` to ``end`` whose values match
        ``predicates`` (``withvalues``: ``[index, value]`` pairs)."""
        if not predicates:
            raise DataError("argrep needs at least one predicate")
        words: list[Any] = [name, require_int(start, "start"), require_int(end, "end")]
        for kind, value in predicates:
            words += [_member(ArrayPredicateType, kind, "predicates"), value]
        if combinator is not None:
            words.append(_member(ArrayPredicateCombinator, combinator, "combinator"))
        if limit is not None:
            words += ["LIMIT", require_int(limit, "limit")]
        if withvalues:
            words.append("WITHVALUES")
        if nocase:
            words.append("NOCASE")
        return self._execute(S.RAW, "ARGREP", *words)

    def arop(
        self,
        name: KeyT,
        start: int,
        end: int,
        operation: ArrayAggregateOperations,
        value: EncodableT | None = None,
    ) -> Reply[ValueT | int | None]:
        """``operation`` over the values from ``start`` to ``end`` (``MATCH``
        counts those equal to ``value``)."""
        words: list[Any] = [name, require_int(start, "start"), require_int(end, "end")]
        words.append(_member(ArrayAggregateOperations, operation, "operation"))
        if value is not None:
            words.append(value)
        return self._execute(S.RAW, "AROP", *words)
