"""HyperLogLog commands: PFADD, PFCOUNT, PFMERGE."""

from __future__ import annotations

from babushka import _shapes as S
from babushka._typing import Reply, ValueT
from babushka.commands.base import CommandsBase, EncodableT, KeyT
from babushka.exceptions import DataError


class HyperLogLogCommands(CommandsBase[ValueT]):
    def pfadd(self, name: KeyT, *values: EncodableT) -> Reply[int]:
        """Adds elements; 1 if the estimate changed
        (https://redis.io/docs/latest/commands/pfadd/)."""
        return self._execute(S.RAW, "PFADD", name, *values)

    def pfcount(self, *sources: KeyT) -> Reply[int]:
        """The estimated number of distinct elements of the union of ``sources``
        (https://redis.io/docs/latest/commands/pfcount/)."""
        if not sources:
            raise DataError("pfcount needs at least one key")
        return self._execute(S.RAW, "PFCOUNT", *sources)

    def pfmerge(self, dest: KeyT, *sources: KeyT) -> Reply[bool]:
        """Merges ``sources`` into ``dest``; ``True``
        (https://redis.io/docs/latest/commands/pfmerge/)."""
        return self._execute(S.OK, "PFMERGE", dest, *sources)
