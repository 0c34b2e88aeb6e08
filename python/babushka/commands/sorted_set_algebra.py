"""Sorted sets combined and ranged in ways beyond ZRANGE: ZUNION, ZINTER,
ZDIFF (and their STORE forms), ZINTERCARD, ZMPOP, ZRANDMEMBER, ZRANGESTORE
and the lexicographic ranges."""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

from babushka import _shapes as S
from babushka._typing import Reply, ValueT
from babushka.commands.base import (
    EncodableT,
    KeyT,
    card_words,
    count_option,
    key_count,
    key_list,
    require_int,
)
from babushka.commands.sorted_sets import (
    ScoreCastT,
    SortedSetCommands,
    _limit,
    _range_options,
)
from babushka.exceptions import DataError

AGGREGATES = ("SUM", "MIN", "MAX")


def _weighted(
    keys: Sequence[KeyT] | Mapping[KeyT, float] | KeyT, aggregate: str | None
) -> list[Any]:
    """``numkeys key ... [WEIGHTS w ...] [AGGREGATE a]``; ``keys`` a
    ``{key: weight}`` mapping gives the weights."""
    if isinstance(keys, Mapping):
        names: list[Any] = list(keys)
        weights: list[Any] = ["WEIGHTS", *keys.values()] if keys else []
    else:
        names, weights = key_list(keys, ()), []
    if not names:
        raise DataError("keys must name at least one key")
    words = [len(names), *names, *weights]
    if aggregate is not None:
        word = aggregate.upper() if isinstance(aggregate, str) else None
        if word not in AGGREGATES:
            raise DataError(f"aggregate must be one of {', '.join(AGGREGATES)}, got {aggregate!r}")
        words += ["AGGREGATE", word]
    return words


def _numbered(keys: Iterable[KeyT] | KeyT) -> list[Any]:
    names = key_list(keys, ())
    return [len(names), *names]


class SortedSetAlgebraCommands(SortedSetCommands[ValueT]):
    def zunion(
        self,
        keys: Sequence[KeyT] | Mapping[KeyT, float],
        aggregate: str | None = None,
        withscores: bool = False,
        score_cast_func: ScoreCastT = float,
    ) -> Reply[list[Any]]:
        """The union of sorted sets (``{key: weight}`` weighs them)
        (https://redis.io/docs/latest/commands/zunion/)."""
        words = ["ZUNION", *_weighted(keys, aggregate)]
        return self._scored_range(words, withscores, score_cast_func)

    def zunionstore(
        self,
        dest: KeyT,
        keys: Sequence[KeyT] | Mapping[KeyT, float],
        aggregate: str | None = None,
    ) -> Reply[int]:
        """Stores the union in ``dest``; returns its size
        (https://redis.io/docs/latest/commands/zunionstore/)."""
        return self._execute(S.RAW, "ZUNIONSTORE", dest, *_weighted(keys, aggregate))

    def zinter(
        self,
        keys: Sequence[KeyT] | Mapping[KeyT, float],
        aggregate: str | None = None,
        withscores: bool = False,
    ) -> Reply[list[Any]]:
        """The intersection of sorted sets
        (https://redis.io/docs/latest/commands/zinter/)."""
        return self._scored_range(["ZINTER", *_weighted(keys, aggregate)], withscores, float)

    def zinterstore(
        self,
        dest: KeyT,
        keys: Sequence[KeyT] | Mapping[KeyT, float],
        aggregate: str | None = None,
    ) -> Reply[int]:
        """Stores the intersection in ``dest``; returns its size
        (https://redis.io/docs/latest/commands/zinterstore/)."""
        return self._execute(S.RAW, "ZINTERSTORE", dest, *_weighted(keys, aggregate))

    def zdiff(self, keys: Iterable[KeyT] | KeyT, withscores: bool = False) -> Reply[list[Any]]:
        """The members of the first set in none of the others; with
        ``withscores`` a flat ``[member, score, ...]`` with the scores as
        strings, as redis-py returns it (https://redis.io/docs/latest/commands/zdiff/)."""
        words = ["ZDIFF", *_numbered(keys)]
        if withscores:
            words.append("WITHSCORES")
        return self._execute(S.FLAT, *words)

    def zdiffstore(self, dest: KeyT, keys: Iterable[KeyT] | KeyT) -> Reply[int]:
        """Stores the difference in ``dest``; returns its size
        (https://redis.io/docs/latest/commands/zdiffstore/)."""
        return self._execute(S.RAW, "ZDIFFSTORE", dest, *_numbered(keys))

    def zintercard(self, numkeys: int, keys: list[KeyT], limit: int = 0) -> Reply[int]:
        """The size of the intersection, counting up to ``limit`` (0: all)
        (https://redis.io/docs/latest/commands/zintercard/)."""
        return self._execute(S.RAW, "ZINTERCARD", *card_words(numkeys, keys, limit))

    def zmpop(
        self,
        num_keys: int,
        keys: list[KeyT],
        min: bool | None = False,
        max: bool | None = False,
        count: int | None = 1,
    ) -> Reply[list[Any] | None]:
        """Pops up to ``count`` of the lowest (``min``) or highest (``max``)
        members of the first non-empty set: ``[key, [[member, score], ...]]``
        with the scores as strings, or ``None``
        (https://redis.io/docs/latest/commands/zmpop/)."""
        if bool(min) == bool(max):
            raise DataError("Either min or max, but not both must be set")
        names = key_list(keys, ())
        words = ["ZMPOP", key_count(num_keys, names), *names, "MIN" if min else "MAX"]
        return self._execute(S.FLAT, *words, *count_option(count))

    def zrandmember(
        self, key: KeyT, count: int | None = None, withscores: bool = False
    ) -> Reply[ValueT | list[ValueT] | None]:
        """A random member; with ``count`` a list of them (negative: with
        repeats); ``withscores`` a flat ``[member, score, ...]`` with the
        scores as strings, as redis-py returns it
        (https://redis.io/docs/latest/commands/zrandmember/)."""
        words: list[Any] = ["ZRANDMEMBER", key]
        if count is not None:
            words.append(require_int(count, "count"))
        if withscores:
            if count is None:
                raise DataError("withscores needs count")
            words.append("WITHSCORES")
        return self._execute(S.FLAT, *words)

    def zrangestore(
        self,
        dest: KeyT,
        name: KeyT,
        start: EncodableT,
        end: EncodableT,
        byscore: bool = False,
        bylex: bool = False,
        desc: bool = False,
        offset: int | None = None,
        num: int | None = None,
    ) -> Reply[int]:
        """Stores what ``zrange`` with these arguments gives in ``dest``;
        returns how many (https://redis.io/docs/latest/commands/zrangestore/)."""
        options = _range_options(byscore, bylex, desc, offset, num)
        return self._execute(S.RAW, "ZRANGESTORE", dest, name, start, end, *options)

    def zlexcount(self, name: KeyT, min: EncodableT, max: EncodableT) -> Reply[int]:
        """How many members lie between ``min`` and ``max`` (``"[a"``, ``"(b"``,
        ``"-"``, ``"+"``) (https://redis.io/docs/latest/commands/zlexcount/)."""
        return self._execute(S.RAW, "ZLEXCOUNT", name, min, max)

    def zrangebylex(
        self,
        name: KeyT,
        min: EncodableT,
        max: EncodableT,
        start: int | None = None,
        num: int | None = None,
    ) -> Reply[list[ValueT]]:
        """Members between ``min`` and ``max``, in order
        (https://redis.io/docs/latest/commands/zrangebylex/)."""
        return self._execute(S.RAW, "ZRANGEBYLEX", name, min, max, *_limit(start, num, "start"))

    def zrevrangebylex(
        self,
        name: KeyT,
        max: EncodableT,
        min: EncodableT,
        start: int | None = None,
        num: int | None = None,
    ) -> Reply[list[ValueT]]:
        """Members between ``max`` and ``min``, in reverse order
        (https://redis.io/docs/latest/commands/zrevrangebylex/)."""
        limit = _limit(start, num, "start")
        return self._execute(S.RAW, "ZREVRANGEBYLEX", name, max, min, *limit)

    def zremrangebylex(self, name: KeyT, min: EncodableT, max: EncodableT) -> Reply[int]:
        """Removes the members between ``min`` and ``max``; returns how many
        (https://redis.io/docs/latest/commands/zremrangebylex/)."""
        return self._execute(S.RAW, "ZREMRANGEBYLEX", name, min, max)
