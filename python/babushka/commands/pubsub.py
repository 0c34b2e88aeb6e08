"""Publish/subscribe commands a client (or a pipeline) sends: PUBLISH,
SPUBLISH and the PUBSUB introspection commands. Subscribing is the job of a
subscriber object, :meth:`babushka.Redis.pubsub`."""

from __future__ import annotations

from typing import Any

from babushka import _shapes as S
from babushka._typing import Reply, ValueT
from babushka.commands.base import CommandsBase, EncodableT, KeyT


def _pairs(reply: Any) -> list[tuple[Any, int]]:
    """``[channel, count, ...]`` as ``[(channel, count), ...]``, as redis-py gives it."""
    return list(zip(reply[0::2], reply[1::2]))


class PubSubCommands(CommandsBase[ValueT]):
    def publish(self, channel: KeyT, message: EncodableT) -> Reply[int]:
        """Publishes ``message`` on ``channel``; the number of subscribers that got it."""
        return self._execute(S.RAW, "PUBLISH", channel, message)

    def spublish(self, shard_channel: KeyT, message: EncodableT) -> Reply[int]:
        """Publishes ``message`` on a shard channel (Redis 7 and later)."""
        return self._execute(S.RAW, "SPUBLISH", shard_channel, message)

    def pubsub_channels(self, pattern: EncodableT = "*") -> Reply[list[ValueT]]:
        """The channels with at least one subscriber, matching ``pattern``."""
        return self._execute(S.RAW, "PUBSUB", "CHANNELS", pattern)

    def pubsub_shardchannels(self, pattern: EncodableT = "*") -> Reply[list[ValueT]]:
        """The shard channels with at least one subscriber, matching ``pattern``."""
        return self._execute(S.RAW, "PUBSUB", "SHARDCHANNELS", pattern)

    def pubsub_numpat(self) -> Reply[int]:
        """How many patterns are subscribed to, by every client."""
        return self._execute(S.RAW, "PUBSUB", "NUMPAT")

    def pubsub_numsub(self, *channels: KeyT) -> Reply[list[tuple[ValueT, int]]]:
        """``[(channel, subscribers), ...]`` for each of ``channels``."""
        return self._execute_then(_pairs, S.RAW, "PUBSUB", "NUMSUB", *channels)

    def pubsub_shardnumsub(self, *shard_channels: KeyT) -> Reply[list[tuple[ValueT, int]]]:
        """``[(shard channel, subscribers), ...]`` for each of ``shard_channels``."""
        return self._execute_then(_pairs, S.RAW, "PUBSUB", "SHARDNUMSUB", *shard_channels)
