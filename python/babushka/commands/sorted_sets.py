"""Sorted-set commands: ZADD, ZRANGE, ZSCORE and friends.

Scores come back as floats, built by the core (the ``SCORED`` shapes). A
``score_cast_func`` other than ``float`` is applied here in Python, to the
score as RESP2 writes it (``bytes``/``str``, the ``FLAT`` shape on either
protocol), as redis-py does.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Literal, Mapping, overload

from babushka import _shapes as S
from babushka._typing import Reply, ScanIter, ValueT
from babushka.commands.base import (
    CommandsBase,
    EncodableT,
    KeyT,
    ResponseT,
    blocking_timeout,
    count_option,
    key_count,
    key_list,
    require_cursor,
    require_int,
    scan_options,
)
from babushka.exceptions import DataError

ScoreCastT = Callable[[Any], Any]


def _cast_scored(cast: ScoreCastT) -> Callable[[Any], list[tuple[Any, Any]]]:
    """Parses a WITHSCORES reply in its RESP2 form (the ``FLAT`` shape, also
    on RESP3: ``cast`` sees the score as RESP2 writes it, as in redis-py)
    into ``[(member, cast(score)), ...]``."""

    def parse(reply: Any) -> list[tuple[Any, Any]]:
        items = iter(reply or ())  # [member, score, member, score, ...]
        return [(member, cast(score)) for member, score in zip(items, items)]

    return parse


def _cast_scan(cast: ScoreCastT) -> Callable[[Any], tuple[int, list[tuple[Any, Any]]]]:
    scored = _cast_scored(cast)

    def parse(reply: Any) -> tuple[int, list[tuple[Any, Any]]]:
        cursor, items = reply
        return cursor, scored(items)

    return parse


def _cast_rank(cast: ScoreCastT) -> Callable[[Any], Any]:
    def parse(reply: Any) -> Any:
        return None if reply is None else [reply[0], cast(reply[1])]

    return parse


def _limit(offset: int | None, num: int | None, offset_name: str) -> list[Any]:
    if (offset is None) != (num is None):
        raise DataError(f"{offset_name} and num must be given together")
    if offset is None:
        return []
    return ["LIMIT", require_int(offset, offset_name), require_int(num, "num")]


def _range_options(
    byscore: bool,
    bylex: bool,
    desc: bool,
    offset: int | None,
    num: int | None,
    withscores: bool = False,
) -> list[Any]:
    """ZRANGE's and ZRANGESTORE's ``[BYSCORE|BYLEX] [REV] [LIMIT offset num]``
    (``withscores``: ZRANGE's, which BYLEX refuses)."""
    if byscore and bylex:
        raise DataError("byscore and bylex are mutually exclusive")
    if bylex and withscores:
        raise DataError("withscores cannot be used with bylex")
    limit = _limit(offset, num, "offset")
    if limit and not (byscore or bylex):
        raise DataError("offset and num need byscore or bylex")
    words = ["BYSCORE"] if byscore else ["BYLEX"] if bylex else []
    if desc:
        words.append("REV")
    return words + limit


class SortedSetCommands(CommandsBase[ValueT]):
    def _scored_range(self, words: list[Any], withscores: bool, cast: ScoreCastT) -> ResponseT:
        """A range reply: members, or ``(member, score)`` tuples with ``withscores``."""
        if not withscores:
            return self._execute(S.RAW, *words)
        if cast is float:
            return self._execute(S.SCORED, *words, "WITHSCORES")
        return self._execute_then(_cast_scored(cast), S.FLAT, *words, "WITHSCORES")

    def _rank(
        self, command: str, name: KeyT, value: EncodableT, withscore: bool, cast: ScoreCastT
    ) -> ResponseT:
        """ZRANK or ZREVRANK: the rank, or ``[rank, cast(score)]`` with ``withscore``."""
        if withscore:
            return self._execute_then(_cast_rank(cast), S.FLAT, command, name, value, "WITHSCORE")
        return self._execute(S.RAW, command, name, value)

    def _zscan_page(
        self, name: KeyT, cursor: int, options: list[Any], cast: ScoreCastT
    ) -> ResponseT:
        """One ZSCAN page, the scores made by the core or by ``cast``."""
        if cast is float:
            return self._execute(S.SCAN_SCORED, "ZSCAN", name, cursor, *options)
        return self._execute_then(_cast_scan(cast), S.SCAN, "ZSCAN", name, cursor, *options)

    def _pop(self, command: str, name: KeyT, count: int | None) -> ResponseT:
        """ZPOPMIN or ZPOPMAX: ``[(member, score)]``."""
        return self._execute(S.SCORED, command, name, *([] if count is None else [count]))

    def _blocking_pop(
        self, command: str, keys: Iterable[KeyT] | KeyT, timeout: float | None
    ) -> ResponseT:
        """BZPOPMIN or BZPOPMAX: ``(key, member, score)`` or ``None``."""
        words = key_list(keys, ())
        return self._execute(S.KEY_MEMBER_SCORE, command, *words, blocking_timeout(timeout))

    def zadd(
        self,
        name: KeyT,
        mapping: Mapping[EncodableT, EncodableT],
        nx: bool = False,
        xx: bool = False,
        ch: bool = False,
        incr: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> Reply[int | float | None]:
        """Adds ``{member: score}``; returns how many were added (changed, with
        ``ch``). With ``incr``, the member's new score, or ``None`` when a
        condition prevented the update."""
        if not isinstance(mapping, Mapping):
            raise DataError(f"mapping must be a mapping, got {type(mapping).__name__}")
        if not mapping:
            raise DataError("zadd needs at least one member and score")
        if nx and xx:
            raise DataError("nx and xx are mutually exclusive")
        if gt and lt:
            raise DataError("gt and lt are mutually exclusive")
        if nx and (gt or lt):
            raise DataError("nx cannot be combined with gt or lt")
        if incr and len(mapping) != 1:
            raise DataError("incr takes exactly one member and score")
        words: list[Any] = ["ZADD", name]
        for word, on in (("NX", nx), ("XX", xx), ("GT", gt), ("LT", lt), ("CH", ch)):
            if on:
                words.append(word)
        if incr:
            words.append("INCR")
        for member, score in mapping.items():
            words += [score, member]
        return self._execute(S.FLOAT if incr else S.RAW, *words)

    def zincrby(self, name: KeyT, amount: float, value: EncodableT) -> Reply[float]:
        """Adds ``amount`` to the member's score; returns the new score."""
        return self._execute(S.FLOAT, "ZINCRBY", name, amount, value)

    def zrem(self, name: KeyT, *values: EncodableT) -> Reply[int]:
        if not values:
            raise DataError("zrem needs at least one member")
        return self._execute(S.RAW, "ZREM", name, *values)

    def zcard(self, name: KeyT) -> Reply[int]:
        return self._execute(S.RAW, "ZCARD", name)

    def zcount(self, name: KeyT, min: EncodableT, max: EncodableT) -> Reply[int]:
        """Members with scores in ``[min, max]`` (``"(1"`` excludes, ``"-inf"`` works)."""
        return self._execute(S.RAW, "ZCOUNT", name, min, max)

    def zscore(self, name: KeyT, value: EncodableT) -> Reply[float | None]:
        """The member's score, or ``None``."""
        return self._execute(S.FLOAT, "ZSCORE", name, value)

    def zmscore(self, key: KeyT, members: Iterable[EncodableT]) -> Reply[list[float | None]]:
        """The members' scores, ``None`` for each missing one."""
        words = key_list(members, (), "members")  # type: ignore[arg-type]
        return self._execute(S.FLOAT_LIST, "ZMSCORE", key, *words)

    def zrank(
        self,
        name: KeyT,
        value: EncodableT,
        withscore: bool = False,
        score_cast_func: ScoreCastT = float,
    ) -> Reply[int | list[Any] | None]:
        """The member's 0-based rank by ascending score, or ``None``; with
        ``withscore`` (Redis 7.2+), ``[rank, score]``."""
        return self._rank("ZRANK", name, value, withscore, score_cast_func)

    def zrevrank(
        self,
        name: KeyT,
        value: EncodableT,
        withscore: bool = False,
        score_cast_func: ScoreCastT = float,
    ) -> Reply[int | list[Any] | None]:
        return self._rank("ZREVRANK", name, value, withscore, score_cast_func)

    @overload
    def zrange(
        self,
        name: KeyT,
        start: EncodableT,
        end: EncodableT,
        desc: bool = False,
        withscores: Literal[False] = False,
        score_cast_func: ScoreCastT = float,
        byscore: bool = False,
        bylex: bool = False,
        offset: int | None = None,
        num: int | None = None,
    ) -> Reply[list[ValueT]]: ...
    @overload
    def zrange(
        self,
        name: KeyT,
        start: EncodableT,
        end: EncodableT,
        desc: bool = False,
        *,
        withscores: Literal[True],
        byscore: bool = False,
        bylex: bool = False,
        offset: int | None = None,
        num: int | None = None,
    ) -> Reply[list[tuple[ValueT, float]]]: ...
    @overload
    def zrange(
        self,
        name: KeyT,
        start: EncodableT,
        end: EncodableT,
        desc: bool = False,
        withscores: bool = False,
        score_cast_func: ScoreCastT = float,
        byscore: bool = False,
        bylex: bool = False,
        offset: int | None = None,
        num: int | None = None,
    ) -> Reply[list[ValueT] | list[tuple[ValueT, Any]]]: ...
    def zrange(
        self,
        name: KeyT,
        start: EncodableT,
        end: EncodableT,
        desc: bool = False,
        withscores: bool = False,
        score_cast_func: ScoreCastT = float,
        byscore: bool = False,
        bylex: bool = False,
        offset: int | None = None,
        num: int | None = None,
    ) -> Reply[list[ValueT] | list[tuple[ValueT, Any]]]:
        """Members from ``start`` to ``end`` (ranks; scores with ``byscore``;
        ``"[a"``-style bounds with ``bylex``). With ``desc`` the order is
        reversed and ``start`` is the upper bound for ``byscore``/``bylex``."""
        options = _range_options(byscore, bylex, desc, offset, num, withscores)
        words = ["ZRANGE", name, start, end, *options]
        return self._scored_range(words, withscores, score_cast_func)

    @overload
    def zrevrange(
        self,
        name: KeyT,
        start: int,
        end: int,
        withscores: Literal[False] = False,
        score_cast_func: ScoreCastT = float,
    ) -> Reply[list[ValueT]]: ...
    @overload
    def zrevrange(
        self,
        name: KeyT,
        start: int,
        end: int,
        *,
        withscores: Literal[True],
    ) -> Reply[list[tuple[ValueT, float]]]: ...
    @overload
    def zrevrange(
        self,
        name: KeyT,
        start: int,
        end: int,
        withscores: bool = False,
        score_cast_func: ScoreCastT = float,
    ) -> Reply[list[ValueT] | list[tuple[ValueT, Any]]]: ...
    def zrevrange(
        self,
        name: KeyT,
        start: int,
        end: int,
        withscores: bool = False,
        score_cast_func: ScoreCastT = float,
    ) -> Reply[list[ValueT] | list[tuple[ValueT, Any]]]:
        """Members by descending score, ranks ``start`` to ``end``."""
        return self._scored_range(["ZREVRANGE", name, start, end], withscores, score_cast_func)

    @overload
    def zrangebyscore(
        self,
        name: KeyT,
        min: EncodableT,
        max: EncodableT,
        start: int | None = None,
        num: int | None = None,
        withscores: Literal[False] = False,
        score_cast_func: ScoreCastT = float,
    ) -> Reply[list[ValueT]]: ...
    @overload
    def zrangebyscore(
        self,
        name: KeyT,
        min: EncodableT,
        max: EncodableT,
        start: int | None = None,
        num: int | None = None,
        *,
        withscores: Literal[True],
    ) -> Reply[list[tuple[ValueT, float]]]: ...
    @overload
    def zrangebyscore(
        self,
        name: KeyT,
        min: EncodableT,
        max: EncodableT,
        start: int | None = None,
        num: int | None = None,
        withscores: bool = False,
        score_cast_func: ScoreCastT = float,
    ) -> Reply[list[ValueT] | list[tuple[ValueT, Any]]]: ...
    def zrangebyscore(
        self,
        name: KeyT,
        min: EncodableT,
        max: EncodableT,
        start: int | None = None,
        num: int | None = None,
        withscores: bool = False,
        score_cast_func: ScoreCastT = float,
    ) -> Reply[list[ValueT] | list[tuple[ValueT, Any]]]:
        words = ["ZRANGEBYSCORE", name, min, max, *_limit(start, num, "start")]
        return self._scored_range(words, withscores, score_cast_func)

    @overload
    def zrevrangebyscore(
        self,
        name: KeyT,
        max: EncodableT,
        min: EncodableT,
        start: int | None = None,
        num: int | None = None,
        withscores: Literal[False] = False,
        score_cast_func: ScoreCastT = float,
    ) -> Reply[list[ValueT]]: ...
    @overload
    def zrevrangebyscore(
        self,
        name: KeyT,
        max: EncodableT,
        min: EncodableT,
        start: int | None = None,
        num: int | None = None,
        *,
        withscores: Literal[True],
    ) -> Reply[list[tuple[ValueT, float]]]: ...
    @overload
    def zrevrangebyscore(
        self,
        name: KeyT,
        max: EncodableT,
        min: EncodableT,
        start: int | None = None,
        num: int | None = None,
        withscores: bool = False,
        score_cast_func: ScoreCastT = float,
    ) -> Reply[list[ValueT] | list[tuple[ValueT, Any]]]: ...
    def zrevrangebyscore(
        self,
        name: KeyT,
        max: EncodableT,
        min: EncodableT,
        start: int | None = None,
        num: int | None = None,
        withscores: bool = False,
        score_cast_func: ScoreCastT = float,
    ) -> Reply[list[ValueT] | list[tuple[ValueT, Any]]]:
        words = ["ZREVRANGEBYSCORE", name, max, min, *_limit(start, num, "start")]
        return self._scored_range(words, withscores, score_cast_func)

    def zpopmin(self, name: KeyT, count: int | None = None) -> Reply[list[tuple[ValueT, float]]]:
        """Removes and returns the lowest-scored members as ``[(member, score)]``."""
        return self._pop("ZPOPMIN", name, count)

    def zpopmax(self, name: KeyT, count: int | None = None) -> Reply[list[tuple[ValueT, float]]]:
        return self._pop("ZPOPMAX", name, count)

    def bzpopmin(
        self, keys: Iterable[KeyT] | KeyT, timeout: float | None = 0
    ) -> Reply[tuple[ValueT, ValueT, float] | None]:
        """Pops the lowest-scored member of the first non-empty sorted set in
        ``keys``, waiting up to ``timeout`` seconds (0: for ever): ``(key,
        member, score)``, or ``None`` when the time ran out."""
        return self._blocking_pop("BZPOPMIN", keys, timeout)

    def bzpopmax(
        self, keys: Iterable[KeyT] | KeyT, timeout: float | None = 0
    ) -> Reply[tuple[ValueT, ValueT, float] | None]:
        """:meth:`bzpopmin` for the highest score."""
        return self._blocking_pop("BZPOPMAX", keys, timeout)

    def bzmpop(
        self,
        timeout: float,
        numkeys: int,
        keys: Iterable[KeyT] | KeyT,
        min: bool = False,
        max: bool = False,
        count: int | None = 1,
    ) -> Reply[list[Any] | None]:
        """Pops up to ``count`` members (the lowest with ``min``, the highest
        with ``max``) of the first non-empty sorted set, waiting up to
        ``timeout`` seconds: ``[key, [[member, score], ...]]`` as the server
        sends it on RESP2 (scores as strings, on either protocol), or ``None``."""
        if bool(min) == bool(max):
            raise DataError("Either min or max, but not both must be set")
        wait = blocking_timeout(timeout)
        names = key_list(keys, ())
        words: list[Any] = ["BZMPOP", wait, key_count(numkeys, names), *names]
        words.append("MIN" if min else "MAX")
        return self._execute(S.FLAT, *words, *count_option(count))

    def zremrangebyrank(self, name: KeyT, min: int, max: int) -> Reply[int]:
        return self._execute(S.RAW, "ZREMRANGEBYRANK", name, min, max)

    def zremrangebyscore(self, name: KeyT, min: EncodableT, max: EncodableT) -> Reply[int]:
        return self._execute(S.RAW, "ZREMRANGEBYSCORE", name, min, max)

    def zscan(
        self,
        name: KeyT,
        cursor: int = 0,
        match: EncodableT | None = None,
        count: int | None = None,
        score_cast_func: ScoreCastT = float,
    ) -> Reply[tuple[int, list[tuple[ValueT, Any]]]]:
        """One page: ``(next_cursor, [(member, score), ...])``."""
        cursor = require_cursor(cursor)
        return self._zscan_page(name, cursor, scan_options(match, count), score_cast_func)

    def zscan_iter(
        self,
        name: KeyT,
        match: EncodableT | None = None,
        count: int | None = None,
        score_cast_func: ScoreCastT = float,
    ) -> ScanIter[tuple[ValueT, Any]]:
        """Every ``(member, score)``, page by page."""
        options = scan_options(match, count)
        return self._iter_cursor(
            lambda cursor: self._zscan_page(name, cursor, options, score_cast_func)
        )
