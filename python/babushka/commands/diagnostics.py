"""Looking into the server: MEMORY, SLOWLOG, LATENCY, COMMAND, DEBUG OBJECT.

Where redis-py leaves a command out on purpose (its text is for people:
``MEMORY DOCTOR``, ``LATENCY GRAPH``; or ``COMMAND INFO``/``DOCS``, whose
replies it does not parse), the method raises ``NotImplementedError`` as
redis-py's does; ``execute_command`` still sends them.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, NoReturn

from babushka import _shapes as S
from babushka._typing import Reply, ValueT
from babushka.commands.base import CommandsBase, EncodableT, KeyT, require_int
from babushka.exceptions import DataError


def _left_out(name: str) -> NoReturn:
    raise NotImplementedError(f"{name} is intentionally not implemented in the client.")


class HotkeysMetricsTypes(Enum):
    """What ``hotkeys_start`` ranks keys by (redis-py's enum, same values)."""

    CPU = "CPU"
    NET = "NET"


def _hotkeys_reports(reply: Any) -> list[dict[Any, Any]]:
    """HOTKEYS GET: a list of reports, each a RESP2 flat list of pairs or a
    RESP3 map, as dicts (keys as the server sent them, as redis-py's)."""
    return [
        dict(report) if isinstance(report, dict) else dict(zip(report[::2], report[1::2]))
        for report in reply
    ]


class DiagnosticsCommands(CommandsBase[ValueT]):
    # -- MEMORY ----------------------------------------------------------------

    def hotkeys_start(
        self,
        metrics: list[HotkeysMetricsTypes],
        count: int | None = None,
        duration: int | None = None,
        sample_ratio: int | None = None,
        slots: list[int] | None = None,
    ) -> Reply[ValueT]:
        """Starts tracking the hottest keys by ``metrics`` (``CPU``, ``NET``),
        keeping ``count`` of them, for ``duration`` seconds, sampling one
        command in ``sample_ratio``, in ``slots`` only. Newer than the test
        servers (its words are tested). https://redis.io/docs/latest/commands/hotkeys-start/"""
        if not metrics:
            raise DataError("hotkeys_start needs at least one metric")
        words: list[Any] = ["METRICS", len(metrics)]
        words += [HotkeysMetricsTypes(m).value for m in metrics]
        options = (
            ("COUNT", count, "count"),
            ("DURATION", duration, "duration"),
            ("SAMPLE", sample_ratio, "sample_ratio"),
        )
        for word, value, name in options:
            if value is not None:
                words += [word, require_int(value, name)]
        if slots is not None:
            words += ["SLOTS", len(slots), *(require_int(slot, "slots") for slot in slots)]
        return self._execute(S.RAW, "HOTKEYS", "START", *words)

    def hotkeys_get(self) -> Reply[list[dict[Any, Any]]]:
        """What the tracking found: one dict per report, as redis-py's."""
        return self._execute_then(_hotkeys_reports, S.RAW, "HOTKEYS", "GET")

    def hotkeys_stop(self) -> Reply[ValueT]:
        """Stops the tracking, keeping what it found."""
        return self._execute(S.RAW, "HOTKEYS", "STOP")

    def hotkeys_reset(self) -> Reply[ValueT]:
        """Forgets what the tracking found."""
        return self._execute(S.RAW, "HOTKEYS", "RESET")

    def memory_doctor(self) -> NoReturn:
        """Not implemented, as in redis-py. https://redis.io/docs/latest/commands/memory-doctor/"""
        _left_out("MEMORY DOCTOR")

    def memory_help(self) -> NoReturn:
        """Not implemented, as in redis-py. https://redis.io/docs/latest/commands/memory-help/"""
        _left_out("MEMORY HELP")

    def memory_malloc_stats(self) -> Reply[ValueT]:
        """The allocator's statistics, as text.
        https://redis.io/docs/latest/commands/memory-malloc-stats/"""
        return self._execute(S.RAW, "MEMORY", "MALLOC-STATS")

    def memory_purge(self) -> Reply[bool]:
        """Asks the allocator to release memory.
        https://redis.io/docs/latest/commands/memory-purge/"""
        return self._execute(S.OK, "MEMORY", "PURGE")

    def memory_stats(self) -> Reply[dict[str, Any]]:
        """The server's memory use as a dict (``str`` keys).
        https://redis.io/docs/latest/commands/memory-stats/"""
        return self._execute(S.MEMORY_STATS, "MEMORY", "STATS")

    def memory_usage(self, key: KeyT, samples: int | None = None) -> Reply[int | None]:
        """Bytes a key and its value take (nested values estimated from
        ``samples`` of them; 0: all). https://redis.io/docs/latest/commands/memory-usage/"""
        words: list[Any] = []
        if samples is not None:
            if require_int(samples, "samples") < 0:
                raise DataError(f"samples must not be negative, got {samples}")
            words = ["SAMPLES", samples]
        return self._execute(S.RAW, "MEMORY", "USAGE", key, *words)

    # -- SLOWLOG -----------------------------------------------------------------

    def slowlog_get(self, num: int | None = None) -> Reply[list[dict[str, Any]]]:
        """The slow log's latest ``num`` entries (the server's default: 10)
        as dicts. https://redis.io/docs/latest/commands/slowlog-get/"""
        words: list[Any] = [] if num is None else [require_int(num, "num")]
        return self._execute(S.SLOWLOG_GET, "SLOWLOG", "GET", *words)

    def slowlog_len(self) -> Reply[int]:
        """How many entries the slow log holds. https://redis.io/docs/latest/commands/slowlog-len/"""
        return self._execute(S.RAW, "SLOWLOG", "LEN")

    def slowlog_reset(self) -> Reply[bool]:
        """Empties the slow log. https://redis.io/docs/latest/commands/slowlog-reset/"""
        return self._execute(S.OK, "SLOWLOG", "RESET")

    # -- LATENCY -----------------------------------------------------------------

    def latency_doctor(self) -> NoReturn:
        """Not implemented, as in redis-py. https://redis.io/docs/latest/commands/latency-doctor/"""
        _left_out("LATENCY DOCTOR")

    def latency_graph(self) -> NoReturn:
        """Not implemented, as in redis-py. https://redis.io/docs/latest/commands/latency-graph/"""
        _left_out("LATENCY GRAPH")

    def latency_histogram(self, *args: str) -> NoReturn:
        """Not implemented, as in redis-py.
        https://redis.io/docs/latest/commands/latency-histogram/"""
        _left_out("LATENCY HISTOGRAM")

    def latency_history(self, event: str) -> Reply[list[list[int]]]:
        """An event's ``[timestamp, latency]`` samples.
        https://redis.io/docs/latest/commands/latency-history/"""
        return self._execute(S.RAW, "LATENCY", "HISTORY", event)

    def latency_latest(self) -> Reply[list[list[Any]]]:
        """Each event's latest latency sample. https://redis.io/docs/latest/commands/latency-latest/"""
        return self._execute(S.RAW, "LATENCY", "LATEST")

    def latency_reset(self, *events: str) -> Reply[int]:
        """Forgets the samples of ``events`` (of all, with none); how many
        were reset. https://redis.io/docs/latest/commands/latency-reset/"""
        return self._execute(S.RAW, "LATENCY", "RESET", *events)

    # -- COMMAND -----------------------------------------------------------------

    def command(self) -> Reply[dict[str, dict[str, Any]]]:
        """Every command's details, by name. https://redis.io/docs/latest/commands/command/"""
        return self._execute(S.COMMAND_INFO, "COMMAND")

    def command_count(self) -> Reply[int]:
        """How many commands the server has. https://redis.io/docs/latest/commands/command-count/"""
        return self._execute(S.RAW, "COMMAND", "COUNT")

    def command_list(
        self,
        module: str | None = None,
        category: str | None = None,
        pattern: str | None = None,
    ) -> Reply[list[ValueT]]:
        """The command names, filtered by ``module``, ACL ``category`` or a
        ``pattern``; the server takes one filter, and answers more with an
        error, as redis-py lets it. https://redis.io/docs/latest/commands/command-list/"""
        filters = (("MODULE", module), ("ACLCAT", category), ("PATTERN", pattern))
        words: list[Any] = [word for pair in filters if pair[1] is not None for word in pair]
        if words:
            words.insert(0, "FILTERBY")
        return self._execute(S.RAW, "COMMAND", "LIST", *words)

    def command_getkeys(self, *args: EncodableT) -> Reply[list[str]]:
        """The keys of the command ``args``, as ``str``.
        https://redis.io/docs/latest/commands/command-getkeys/"""
        if not args:
            raise DataError("command_getkeys needs a command")
        return self._execute(S.STR_LIST, "COMMAND", "GETKEYS", *args)

    def command_getkeysandflags(self, *args: EncodableT) -> Reply[list[list[Any]]]:
        """The keys of the command ``args``, each with its flags.
        https://redis.io/docs/latest/commands/command-getkeysandflags/"""
        if not args:
            raise DataError("command_getkeysandflags needs a command")
        return self._execute(S.RAW, "COMMAND", "GETKEYSANDFLAGS", *args)

    def command_info(self) -> NoReturn:
        """Not implemented, as in redis-py. https://redis.io/docs/latest/commands/command-info/"""
        _left_out("COMMAND INFO")

    def command_docs(self, *args: str) -> NoReturn:
        """Not implemented, as in redis-py. https://redis.io/docs/latest/commands/command-docs/"""
        _left_out("COMMAND DOCS")

    # -- DEBUG -------------------------------------------------------------------

    def debug_segfault(self) -> NoReturn:
        """Not implemented, as in redis-py. https://redis.io/docs/latest/commands/debug/"""
        _left_out("DEBUG SEGFAULT")

    def debug_object(self, key: KeyT) -> Reply[dict[str, Any]]:
        """A key's internals (``type``, ``encoding``, ``refcount``, ...) as a
        dict. https://redis.io/docs/latest/commands/debug-object/"""
        # DEBUG's other subcommands answer otherwise: the table gives DEBUG
        # a raw reply, and this shape is the method's.
        words: list[Any] = ["DEBUG", "OBJECT", key]
        return self._execute(S.DEBUG_OBJECT, *words)
