"""Stream commands: XADD, XRANGE, XREAD, consumer groups and XINFO.

Replies are shaped by the core as redis-py's default ("legacy") values on
either protocol: entries as ``(id, {field: value})`` tuples, ``xread`` as
``[[stream, entries], ...]`` (the ``STREAM_*`` shapes). ``xread`` and
``xreadgroup`` with ``block`` run on a dedicated connection (the table's
``BLOCK`` timeout), so they hold up nobody else's requests.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from babushka import _shapes as S
from babushka._typing import Reply, ValueT
from babushka.commands.base import CommandsBase, EncodableT, KeyT, require_int, require_non_negative
from babushka.commands.streams_redis8 import idempotency_words, ref_policy_word
from babushka.exceptions import DataError

StreamIdT = EncodableT


def _positive(value: object, name: str) -> int:
    if require_int(value, name) < 1:
        raise DataError(f"{name} must be positive, got {value}")
    return value  # type: ignore[return-value]


def _trim(
    maxlen: int | None, minid: StreamIdT | None, approximate: bool, limit: int | None
) -> list[Any]:
    """The ``MAXLEN|MINID [~] threshold [LIMIT n]`` words of XADD and XTRIM."""
    if maxlen is not None and minid is not None:
        raise DataError("only one of maxlen and minid may be given")
    words: list[Any] = []
    if maxlen is not None:
        words += ["MAXLEN", *(["~"] if approximate else []), require_non_negative(maxlen, "maxlen")]
    elif minid is not None:
        words += ["MINID", *(["~"] if approximate else []), minid]
    if limit is not None:
        if not words:
            raise DataError("limit needs maxlen or minid")
        words += ["LIMIT", require_non_negative(limit, "limit")]
    return words


def _streams(streams: Mapping[KeyT, StreamIdT], command: str) -> list[Any]:
    """``STREAMS key ... id ...`` from ``{key: id}``."""
    if not isinstance(streams, Mapping) or not streams:
        raise DataError(f"{command} streams must be a non-empty dict of {{stream: id}}")
    return ["STREAMS", *streams.keys(), *streams.values()]


def _read_options(
    count: int | None, block: int | None, max_count: int | None, max_size: int | None
) -> list[Any]:
    words: list[Any] = []
    if count is not None:
        words += ["COUNT", _positive(count, "count")]
    if max_count is not None:
        if _positive(max_count, "max_count") < (count or 0):
            raise DataError(f"max_count must not be less than count, got {max_count}")
        words += ["MAXCOUNT", max_count]
    if max_size is not None:
        words += ["MAXSIZE", _positive(max_size, "max_size")]
    if block is not None:
        words += ["BLOCK", require_non_negative(block, "block")]
    return words


def _second(reply: Any) -> Any:
    """XAUTOCLAIM JUSTID: redis-py gives the claimed ids alone."""
    return reply[1]


class StreamCommands(CommandsBase[ValueT]):
    def xadd(
        self,
        name: KeyT,
        fields: Mapping[EncodableT, EncodableT],
        id: StreamIdT = "*",
        maxlen: int | None = None,
        approximate: bool = True,
        nomkstream: bool = False,
        minid: StreamIdT | None = None,
        limit: int | None = None,
        ref_policy: str | None = None,
        idmpauto: EncodableT | None = None,
        idmp: tuple[EncodableT, EncodableT] | None = None,
    ) -> Reply[ValueT | None]:
        """Appends an entry; returns its id. ``ref_policy`` (Redis 8.2+) says
        what trimming does to the trimmed entries' pending references;
        ``idmpauto=producer`` or ``idmp=(producer, id)`` (newer Redis than 8.4) make
        the add idempotent (https://redis.io/docs/latest/commands/xadd/)."""
        if not isinstance(fields, Mapping) or not fields:
            raise DataError("fields must be a non-empty dict")
        words: list[Any] = ["XADD", name]
        if nomkstream:
            words.append("NOMKSTREAM")
        if ref_policy is not None:
            words.append(ref_policy_word(ref_policy))
        words += idempotency_words(idmpauto, idmp, id)
        words += _trim(maxlen, minid, approximate, limit)
        words.append(id)
        for field, value in fields.items():
            words += [field, value]
        return self._execute(S.RAW, *words)

    def xlen(self, name: KeyT) -> Reply[int]:
        """The number of entries (https://redis.io/docs/latest/commands/xlen/)."""
        return self._execute(S.RAW, "XLEN", name)

    def xrange(
        self,
        name: KeyT,
        min: StreamIdT = "-",
        max: StreamIdT = "+",
        count: int | None = None,
    ) -> Reply[list[tuple[ValueT, dict[ValueT, ValueT]]]]:
        """Entries from ``min`` to ``max`` as ``[(id, {field: value})]``
        (https://redis.io/docs/latest/commands/xrange/)."""
        words: list[Any] = ["XRANGE", name, min, max]
        if count is not None:
            words += ["COUNT", require_non_negative(count, "count")]
        return self._execute(S.STREAM_ENTRIES, *words)

    def xrevrange(
        self,
        name: KeyT,
        max: StreamIdT = "+",
        min: StreamIdT = "-",
        count: int | None = None,
    ) -> Reply[list[tuple[ValueT, dict[ValueT, ValueT]]]]:
        """Entries from ``max`` down to ``min``
        (https://redis.io/docs/latest/commands/xrevrange/)."""
        words: list[Any] = ["XREVRANGE", name, max, min]
        if count is not None:
            words += ["COUNT", require_non_negative(count, "count")]
        return self._execute(S.STREAM_ENTRIES, *words)

    def xread(
        self,
        streams: Mapping[KeyT, StreamIdT],
        count: int | None = None,
        block: int | None = None,
        max_count: int | None = None,
        max_size: int | None = None,
    ) -> Reply[list[list[Any]]]:
        """Entries after each id of ``{stream: id}``, waiting up to ``block``
        ms: ``[[stream, [(id, {field: value})]]]``, ``[]`` when none came;
        ``max_count``/``max_size`` bound the reply (newer Redis than 8.4)
        (https://redis.io/docs/latest/commands/xread/)."""
        options = _read_options(count, block, max_count, max_size)
        words = ["XREAD", *options, *_streams(streams, "XREAD")]
        return self._execute(S.STREAMS_READ, *words)

    def xreadgroup(
        self,
        groupname: EncodableT,
        consumername: EncodableT,
        streams: Mapping[KeyT, StreamIdT],
        count: int | None = None,
        block: int | None = None,
        noack: bool = False,
        claim_min_idle_time: int | None = None,
        max_count: int | None = None,
        max_size: int | None = None,
    ) -> Reply[list[list[Any]]]:
        """Reads as ``consumername`` of ``groupname``; ``">"`` as an id asks
        for new entries. ``claim_min_idle_time`` (Redis 8.4+) also claims
        entries pending that long, each then ``(id, fields, idle,
        deliveries)`` (https://redis.io/docs/latest/commands/xreadgroup/)."""
        words: list[Any] = ["XREADGROUP", "GROUP", groupname, consumername]
        words += _read_options(count, block, max_count, max_size)
        if noack:
            words.append("NOACK")
        if claim_min_idle_time is not None:
            words += ["CLAIM", require_non_negative(claim_min_idle_time, "claim_min_idle_time")]
        words += _streams(streams, "XREADGROUP")
        return self._execute(S.STREAMS_READ, *words)

    def xgroup_create(
        self,
        name: KeyT,
        groupname: EncodableT,
        id: StreamIdT = "$",
        mkstream: bool = False,
        entries_read: int | None = None,
    ) -> Reply[bool]:
        """Creates a consumer group; ``True``
        (https://redis.io/docs/latest/commands/xgroup-create/)."""
        words: list[Any] = ["XGROUP", "CREATE", name, groupname, id]
        if mkstream:
            words.append("MKSTREAM")
        if entries_read is not None:
            words += ["ENTRIESREAD", require_int(entries_read, "entries_read")]
        return self._execute(S.OK, *words)

    def xgroup_createconsumer(
        self, name: KeyT, groupname: EncodableT, consumername: EncodableT
    ) -> Reply[int]:
        """Adds a consumer; 1 if it is new
        (https://redis.io/docs/latest/commands/xgroup-createconsumer/)."""
        return self._execute(S.RAW, "XGROUP", "CREATECONSUMER", name, groupname, consumername)

    def xgroup_delconsumer(
        self, name: KeyT, groupname: EncodableT, consumername: EncodableT
    ) -> Reply[int]:
        """Removes a consumer; returns how many entries it had pending
        (https://redis.io/docs/latest/commands/xgroup-delconsumer/)."""
        return self._execute(S.RAW, "XGROUP", "DELCONSUMER", name, groupname, consumername)

    def xgroup_destroy(self, name: KeyT, groupname: EncodableT) -> Reply[bool]:
        """Removes a group; whether it existed
        (https://redis.io/docs/latest/commands/xgroup-destroy/)."""
        return self._execute(S.BOOL, "XGROUP", "DESTROY", name, groupname)

    def xgroup_setid(
        self,
        name: KeyT,
        groupname: EncodableT,
        id: StreamIdT,
        entries_read: int | None = None,
    ) -> Reply[bool]:
        """Sets a group's last delivered id; ``True``
        (https://redis.io/docs/latest/commands/xgroup-setid/)."""
        words: list[Any] = ["XGROUP", "SETID", name, groupname, id]
        if entries_read is not None:
            words += ["ENTRIESREAD", require_int(entries_read, "entries_read")]
        return self._execute(S.OK, *words)

    def xack(self, name: KeyT, groupname: EncodableT, *ids: StreamIdT) -> Reply[int]:
        """Acknowledges entries; returns how many were pending
        (https://redis.io/docs/latest/commands/xack/)."""
        if not ids:
            raise DataError("xack needs at least one id")
        return self._execute(S.RAW, "XACK", name, groupname, *ids)

    def xpending(self, name: KeyT, groupname: EncodableT) -> Reply[dict[str, Any]]:
        """The group's pending summary: ``{"pending", "min", "max", "consumers"}``
        (https://redis.io/docs/latest/commands/xpending/)."""
        return self._execute(S.PENDING, "XPENDING", name, groupname)

    def xpending_range(
        self,
        name: KeyT,
        groupname: EncodableT,
        min: StreamIdT | None,
        max: StreamIdT | None,
        count: int | None,
        consumername: EncodableT | None = None,
        idle: int | None = None,
    ) -> Reply[list[dict[str, Any]]]:
        """Pending entries from ``min`` to ``max`` as dicts (``message_id``,
        ``consumer``, ``time_since_delivered``, ``times_delivered``); with
        none of the three, :meth:`xpending`'s summary
        (https://redis.io/docs/latest/commands/xpending/)."""
        if min is None and max is None and count is None:
            # redis-py's rule: no range at all is the summary.
            if idle is not None or consumername is not None:
                raise DataError("idle and consumername need min, max and count")
            return self.xpending(name, groupname)
        if min is None or max is None or count is None:
            raise DataError("min, max and count go together")
        words: list[Any] = ["XPENDING", name, groupname]
        if idle is not None:
            words += ["IDLE", require_non_negative(idle, "idle")]
        words += [min, max, require_non_negative(count, "count")]
        if consumername is not None:
            words.append(consumername)
        return self._execute(S.PENDING, *words)

    def xclaim(
        self,
        name: KeyT,
        groupname: EncodableT,
        consumername: EncodableT,
        min_idle_time: int,
        message_ids: Sequence[StreamIdT],
        idle: int | None = None,
        time: int | None = None,
        retrycount: int | None = None,
        force: bool = False,
        justid: bool = False,
    ) -> Reply[list[tuple[ValueT, dict[ValueT, ValueT]]] | list[ValueT]]:
        """Takes over pending entries idle for ``min_idle_time`` ms: the
        entries, or their ids with ``justid``
        (https://redis.io/docs/latest/commands/xclaim/)."""
        if not isinstance(message_ids, (list, tuple)) or not message_ids:
            raise DataError("message_ids must be a non-empty list or tuple of ids")
        words: list[Any] = ["XCLAIM", name, groupname, consumername]
        words += [require_non_negative(min_idle_time, "min_idle_time"), *message_ids]
        for word, value in (("IDLE", idle), ("TIME", time), ("RETRYCOUNT", retrycount)):
            if value is not None:
                words += [word, require_int(value, word.lower())]
        if force:
            words.append("FORCE")
        if justid:
            words.append("JUSTID")
        return self._execute(S.STREAM_ENTRIES, *words)

    def xautoclaim(
        self,
        name: KeyT,
        groupname: EncodableT,
        consumername: EncodableT,
        min_idle_time: int,
        start_id: StreamIdT = "0-0",
        count: int | None = None,
        justid: bool = False,
    ) -> Reply[list[Any]]:
        """Claims entries idle for ``min_idle_time`` ms from ``start_id`` on:
        ``[next_id, entries, deleted_ids]``, or the claimed ids alone with
        ``justid`` (https://redis.io/docs/latest/commands/xautoclaim/)."""
        words: list[Any] = ["XAUTOCLAIM", name, groupname, consumername]
        words += [require_non_negative(min_idle_time, "min_idle_time"), start_id]
        if count is not None:
            words += ["COUNT", _positive(count, "count")]
        if justid:
            return self._execute_then(_second, S.RAW, *words, "JUSTID")
        return self._execute(S.AUTO_CLAIM, *words)

    def xtrim(
        self,
        name: KeyT,
        maxlen: int | None = None,
        approximate: bool = True,
        minid: StreamIdT | None = None,
        limit: int | None = None,
        ref_policy: str | None = None,
    ) -> Reply[int]:
        """Trims to ``maxlen`` entries or from ``minid`` on; returns how many
        were removed (https://redis.io/docs/latest/commands/xtrim/)."""
        if maxlen is None and minid is None:
            raise DataError("xtrim needs maxlen or minid")
        words = ["XTRIM", name, *_trim(maxlen, minid, approximate, limit)]
        if ref_policy is not None:
            words.append(ref_policy_word(ref_policy))
        return self._execute(S.RAW, *words)

    def xdel(self, name: KeyT, *ids: StreamIdT) -> Reply[int]:
        """Deletes entries; returns how many existed
        (https://redis.io/docs/latest/commands/xdel/)."""
        if not ids:
            raise DataError("xdel needs at least one id")
        return self._execute(S.RAW, "XDEL", name, *ids)

    def xinfo_stream(self, name: KeyT, full: bool = False) -> Reply[dict[str, Any]]:
        """The stream's state as a dict with ``str`` keys
        (https://redis.io/docs/latest/commands/xinfo-stream/)."""
        if full:
            return self._execute(S.STREAM_INFO, "XINFO", "STREAM", name, "FULL")
        return self._execute(S.STREAM_INFO, "XINFO", "STREAM", name)

    def xinfo_groups(self, name: KeyT) -> Reply[list[dict[str, Any]]]:
        """The stream's groups as dicts with ``str`` keys
        (https://redis.io/docs/latest/commands/xinfo-groups/)."""
        return self._execute(S.STR_DICTS, "XINFO", "GROUPS", name)

    def xinfo_consumers(self, name: KeyT, groupname: EncodableT) -> Reply[list[dict[str, Any]]]:
        """The group's consumers as dicts with ``str`` keys
        (https://redis.io/docs/latest/commands/xinfo-consumers/)."""
        return self._execute(S.STR_DICTS, "XINFO", "CONSUMERS", name, groupname)
