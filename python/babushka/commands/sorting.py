"""SORT and SORT_RO, with redis-py's ``groups`` (the ``GET`` results of each
element as one tuple)."""

from __future__ import annotations

from typing import Any, Callable, Iterable

from babushka import _shapes as S
from babushka._typing import Reply, ValueT
from babushka.commands.base import CommandsBase, EncodableT, KeyT, require_int
from babushka.exceptions import DataError


def _in_groups(size: int) -> Callable[[Any], Any]:
    def parse(reply: Any) -> Any:
        if not reply:
            return reply
        return list(zip(*(reply[at::size] for at in range(size))))

    return parse


def _sort_words(
    command: str,
    name: KeyT,
    start: int | None,
    num: int | None,
    by: EncodableT | None,
    get: Iterable[EncodableT] | EncodableT | None,
    desc: bool,
    alpha: bool,
) -> list[Any]:
    if (start is None) != (num is None):
        raise DataError("start and num must be given together")
    words: list[Any] = [command, name]
    if by is not None:
        words += ["BY", by]
    if start is not None:
        words += ["LIMIT", require_int(start, "start"), require_int(num, "num")]
    for pattern in _patterns(get):
        words += ["GET", pattern]
    if desc:
        words.append("DESC")
    if alpha:
        words.append("ALPHA")
    return words


def _patterns(get: Iterable[EncodableT] | EncodableT | None) -> list[EncodableT]:
    if get is None:
        return []
    if isinstance(get, (bytes, str)):
        return [get]
    return list(get)  # type: ignore[arg-type]


class SortCommands(CommandsBase[ValueT]):
    def sort(
        self,
        name: KeyT,
        start: int | None = None,
        num: int | None = None,
        by: EncodableT | None = None,
        get: Iterable[EncodableT] | EncodableT | None = None,
        desc: bool = False,
        alpha: bool = False,
        store: KeyT | None = None,
        groups: bool | None = False,
    ) -> Reply[list[Any] | int]:
        """The sorted elements of a list, set or sorted set (with ``get``,
        the values its patterns name; ``groups`` ties them in tuples), or
        with ``store`` how many were stored
        (https://redis.io/docs/latest/commands/sort/)."""
        words = _sort_words("SORT", name, start, num, by, get, desc, alpha)
        if store is not None:
            words += ["STORE", store]
        if groups:
            size = len(_patterns(get))
            if size < 2 or isinstance(get, (bytes, str)):
                raise DataError("groups needs get with at least two patterns")
            if store is None:
                return self._execute_then(_in_groups(size), S.RAW, *words)
        return self._execute(S.RAW, *words)

    def sort_ro(
        self,
        key: KeyT,
        start: int | None = None,
        num: int | None = None,
        by: EncodableT | None = None,
        get: Iterable[EncodableT] | EncodableT | None = None,
        desc: bool = False,
        alpha: bool = False,
    ) -> Reply[list[ValueT | None]]:
        """The read-only SORT (no ``store``)
        (https://redis.io/docs/latest/commands/sort_ro/)."""
        return self._execute(S.RAW, *_sort_words("SORT_RO", key, start, num, by, get, desc, alpha))
