"""Hash commands: HSET, HGET, HGETALL and friends."""

from __future__ import annotations

import warnings
from typing import Any, Iterable, Literal, Mapping, Sequence, overload

from babushka import _shapes as S
from babushka._typing import Reply, ScanIter, ValueT
from babushka.commands.base import (
    CommandsBase,
    EncodableT,
    KeyT,
    key_list,
    pairs_of,
    require_cursor,
    require_int,
    scan_options,
)
from babushka.exceptions import DataError


def _hset_pairs(
    key: EncodableT | None,
    value: EncodableT | None,
    mapping: Mapping[Any, Any] | None,
    items: Sequence[Any] | None,
) -> list[Any]:
    """HSET's field/value words from the three ways redis-py accepts them."""
    pairs: list[Any] = []
    if key is not None or value is not None:
        if key is None:
            raise DataError("hset: value given without key")
        # A None value is left for the encoder, which names the argument.
        pairs += [key, value]
    if items is not None:
        if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Sequence):
            raise DataError("items must be a flat sequence [field, value, ...]")
        if len(items) % 2:
            raise DataError("items must hold field/value pairs (an even number of elements)")
        pairs.extend(items)
    if mapping is not None:
        if not isinstance(mapping, Mapping):
            raise DataError(f"mapping must be a mapping, got {type(mapping).__name__}")
        for field, field_value in mapping.items():
            # Checked here because the encoder cannot tell which None-valued
            # argument a None came from (``key`` and ``value`` default to None).
            if field_value is None:
                raise DataError(f"mapping: field {field!r} has the value None")
            pairs += [field, field_value]
    if not pairs:
        raise DataError("hset needs at least one field and value")
    return pairs


class HashCommands(CommandsBase[ValueT]):
    def hset(
        self,
        name: KeyT,
        key: EncodableT | None = None,
        value: EncodableT | None = None,
        mapping: Mapping[EncodableT, EncodableT] | None = None,
        items: Sequence[EncodableT] | None = None,
    ) -> Reply[int]:
        """Sets fields from ``key``/``value``, ``mapping`` and ``items``;
        returns how many fields were added (not updated)."""
        return self._execute(S.RAW, "HSET", name, *_hset_pairs(key, value, mapping, items))

    def hmset(self, name: KeyT, mapping: Mapping[EncodableT, EncodableT]) -> Reply[bool]:
        """Deprecated alias of ``hset(name, mapping=...)`` that returns ``True``."""
        warnings.warn(
            "hmset() is deprecated; use hset(name, mapping=...)",
            DeprecationWarning,
            stacklevel=2,
        )
        return self._execute(S.OK, "HMSET", name, *pairs_of(mapping, "mapping"))

    def hsetnx(self, name: KeyT, key: EncodableT, value: EncodableT) -> Reply[bool]:
        """Sets the field only when it is new; returns whether it did."""
        return self._execute(S.BOOL, "HSETNX", name, key, value)

    def hget(self, name: KeyT, key: EncodableT) -> Reply[ValueT | None]:
        return self._execute(S.RAW, "HGET", name, key)

    def hmget(
        self, name: KeyT, keys: Iterable[EncodableT] | EncodableT, *args: EncodableT
    ) -> Reply[list[ValueT | None]]:
        """The values of the fields, ``None`` for each missing one."""
        return self._execute(S.RAW, "HMGET", name, *key_list(keys, args))  # type: ignore[arg-type]

    def hgetall(self, name: KeyT) -> Reply[dict[ValueT, ValueT]]:
        """Every field and value as a dict (empty when the key is missing)."""
        return self._execute(S.PAIRS, "HGETALL", name)

    def hdel(self, name: KeyT, *keys: EncodableT) -> Reply[int]:
        if not keys:
            raise DataError("hdel needs at least one field")
        return self._execute(S.RAW, "HDEL", name, *keys)

    def hexists(self, name: KeyT, key: EncodableT) -> Reply[bool]:
        return self._execute(S.BOOL, "HEXISTS", name, key)

    def hkeys(self, name: KeyT) -> Reply[list[ValueT]]:
        return self._execute(S.RAW, "HKEYS", name)

    def hvals(self, name: KeyT) -> Reply[list[ValueT]]:
        return self._execute(S.RAW, "HVALS", name)

    def hlen(self, name: KeyT) -> Reply[int]:
        return self._execute(S.RAW, "HLEN", name)

    def hstrlen(self, name: KeyT, key: EncodableT) -> Reply[int]:
        return self._execute(S.RAW, "HSTRLEN", name, key)

    def hincrby(self, name: KeyT, key: EncodableT, amount: int = 1) -> Reply[int]:
        return self._execute(S.RAW, "HINCRBY", name, key, amount)

    def hincrbyfloat(self, name: KeyT, key: EncodableT, amount: float = 1.0) -> Reply[float]:
        return self._execute(S.FLOAT, "HINCRBYFLOAT", name, key, amount)

    @overload
    def hrandfield(self, key: KeyT, count: None = None) -> Reply[ValueT | None]: ...
    @overload
    def hrandfield(
        self, key: KeyT, count: int, withvalues: Literal[False] = False
    ) -> Reply[list[ValueT]]: ...
    @overload
    def hrandfield(
        self, key: KeyT, count: int, withvalues: bool
    ) -> Reply[list[ValueT] | list[list[ValueT]]]: ...
    def hrandfield(
        self, key: KeyT, count: int | None = None, withvalues: bool = False
    ) -> Reply[ValueT | list[ValueT] | list[list[ValueT]] | None]:
        """A random field; with ``count``, a list of fields (``withvalues``:
        a flat ``[field, value, ...]`` list, as redis-py returns it; on RESP3
        ``[[field, value], ...]`` as the server sends it)."""
        if count is None:
            if withvalues:
                raise DataError("withvalues needs count")
            return self._execute(S.RAW, "HRANDFIELD", key)
        require_int(count, "count")
        if withvalues:
            return self._execute(S.RAW, "HRANDFIELD", key, count, "WITHVALUES")
        return self._execute(S.RAW, "HRANDFIELD", key, count)

    def hscan(
        self,
        name: KeyT,
        cursor: int = 0,
        match: EncodableT | None = None,
        count: int | None = None,
        no_values: bool | None = None,
    ) -> Reply[tuple[int, dict[ValueT, ValueT] | list[ValueT]]]:
        """One page of fields: ``(next_cursor, {field: value})``, or
        ``(next_cursor, [field, ...])`` with ``no_values`` (Redis 7.4+)."""
        words = ["HSCAN", name, require_cursor(cursor), *scan_options(match, count)]
        if no_values:
            return self._execute(S.SCAN, *words, "NOVALUES")
        return self._execute(S.SCAN_PAIRS, *words)

    def hscan_iter(
        self,
        name: KeyT,
        match: EncodableT | None = None,
        count: int | None = None,
        no_values: bool | None = None,
    ) -> ScanIter[tuple[ValueT, ValueT] | ValueT]:
        """Every ``(field, value)`` (or field, with ``no_values``), page by page."""
        options = scan_options(match, count)
        if no_values:
            options.append("NOVALUES")
            shape = S.SCAN
        else:
            shape = S.SCAN_PAIRS
        return self._iter_cursor(
            lambda cursor: self._execute(shape, "HSCAN", name, cursor, *options)
        )
