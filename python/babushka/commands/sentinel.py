"""The ``SENTINEL`` commands, sent to a sentinel (a client made with the
sentinel's address, or :class:`babushka.sentinel.Sentinel`, which sends them
to all of its sentinels), with redis-py's names and reply values: an
instance's state as a dict of ``str`` (numbers as ``int``, ``flags`` as the
server's text, and ``is_master``/``is_slave``/``is_sdown``/... from it)."""

from __future__ import annotations

from typing import Any, Callable

from babushka import _shapes as S
from babushka._typing import Reply, ValueT
from babushka.commands.base import CommandsBase, EncodableT

#: The fields of an instance's state that are numbers (redis-py's
#: ``SENTINEL_STATE_TYPES``); the others stay text.
_INT_FIELDS = frozenset(
    {
        "can-failover-its-master",
        "config-epoch",
        "down-after-milliseconds",
        "failover-timeout",
        "info-refresh",
        "last-hello-message",
        "last-ok-ping-reply",
        "last-ping-reply",
        "last-ping-sent",
        "master-link-down-time",
        "master-port",
        "num-other-sentinels",
        "num-slaves",
        "o-down-time",
        "pending-commands",
        "parallel-syncs",
        "port",
        "quorum",
        "role-reported-time",
        "s-down-time",
        "slave-priority",
        "slave-repl-offset",
        "voted-leader-epoch",
    }
)

#: Booleans derived from the ``flags`` field, by the flag each one means.
_FLAG_BOOLEANS = {
    "is_master": "master",
    "is_slave": "slave",
    "is_sdown": "s_down",
    "is_odown": "o_down",
    "is_sentinel": "sentinel",
    "is_disconnected": "disconnected",
    "is_master_down": "master_down",
}


def _text(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return value


def _number(text: Any) -> Any:
    """An int, or the text as it is when it is not one (as redis-py)."""
    try:
        return int(text)
    except (TypeError, ValueError):
        return text


def parse_state(reply: Any) -> dict[str, Any]:
    """One instance's ``[field, value, ...]`` as redis-py's state dict."""
    state: dict[str, Any] = {}
    for name, value in zip(reply[::2], reply[1::2]):
        key = _text(name)
        state[key] = _number(_text(value)) if key in _INT_FIELDS else _text(value)
    flags = set(str(state.get("flags", "")).split(","))
    for name, flag in _FLAG_BOOLEANS.items():
        state[name] = flag in flags
    return state


def parse_states(reply: Any) -> list[dict[str, Any]]:
    return [parse_state(item) for item in reply or []]


def parse_masters(reply: Any) -> dict[str, dict[str, Any]]:
    """``SENTINEL MASTERS`` as ``{name: state}``."""
    return {state["name"]: state for state in parse_states(reply)}


def parse_address(reply: Any) -> tuple[Any, int] | None:
    """``SENTINEL GET-MASTER-ADDR-BY-NAME``: ``(ip, port)``, or ``None``."""
    if not reply:
        return None
    return (reply[0], int(reply[1]))


def _bool_ok(reply: Any) -> bool:
    """redis-py's ``bool_ok``: whether the reply is exactly ``OK``."""
    return bool(_text(reply) == "OK")


#: How each ``SENTINEL`` subcommand's reply is shaped (a parser, or ``None``
#: when the shape alone gives the value), for the ``sentinel_*`` methods and
#: for ``execute_command("SENTINEL", ...)`` alike: the subcommands redis-py
#: parses (its ``SENTINEL ...`` response callbacks); the others (``REPLICAS``,
#: ``CONFIG``, ...) come raw there as in redis-py.
REPLIES: dict[str, tuple[Callable[[Any], Any] | None, int]] = {
    "CKQUORUM": (_bool_ok, S.RAW),
    "FAILOVER": (None, S.OK),
    "FLUSHCONFIG": (None, S.OK),
    "GET-MASTER-ADDR-BY-NAME": (parse_address, S.FLAT),
    "MASTER": (parse_state, S.FLAT),
    "MASTERS": (parse_masters, S.FLAT),
    "MONITOR": (None, S.OK),
    "REMOVE": (None, S.OK),
    "RESET": (_bool_ok, S.RAW),
    "SENTINELS": (parse_states, S.FLAT),
    "SET": (None, S.OK),
    "SLAVES": (parse_states, S.FLAT),
}


def reply_of(args: tuple[Any, ...]) -> tuple[Callable[[Any], Any] | None, int] | None:
    """How the reply to a ``SENTINEL`` command given as its words is shaped
    (``None``: not a ``SENTINEL`` subcommand of :data:`REPLIES`)."""
    if len(args) < 2:
        return None
    name, sub = (
        bytes(word).decode(errors="replace") if isinstance(word, (bytes, bytearray)) else word
        for word in args[:2]
    )
    if not isinstance(name, str) or not isinstance(sub, str) or name.upper() != "SENTINEL":
        return None
    return REPLIES.get(sub.upper())


class SentinelCommands(CommandsBase[ValueT]):
    """redis-py's ``SentinelCommands``. ``return_responses`` matters to
    :class:`babushka.sentinel.Sentinel`, which sends a command to every
    sentinel (it then returns the list of replies instead of ``True``); on
    a client of one sentinel the reply is returned either way, as in
    redis-py."""

    def _sentinel_command(
        self,
        parse: Any,
        shape: int,
        *args: Any,
        once: bool = False,
        return_responses: bool = False,
    ) -> Any:
        """Sends a ``SENTINEL`` command: here, to this client's server (the
        reply parsed by ``parse``; ``once`` and ``return_responses`` are
        :class:`babushka.sentinel.Sentinel`'s, which sends it to every
        sentinel, or one with ``once``)."""
        if parse is None:
            return self._execute(shape, *args)
        return self._execute_then(parse, shape, *args)

    def sentinel(self, *args: EncodableT) -> Reply[Any]:
        """Any ``SENTINEL`` subcommand, its reply as the server sends it."""
        return self._sentinel_command(None, S.RAW, "SENTINEL", *args)

    def sentinel_get_master_addr_by_name(
        self, service_name: str, return_responses: bool = False
    ) -> Reply[Any]:
        """``(ip, port)`` of ``service_name``'s primary, or ``None``."""
        return self._sentinel_command(
            *REPLIES["GET-MASTER-ADDR-BY-NAME"],
            "SENTINEL",
            "GET-MASTER-ADDR-BY-NAME",
            service_name,
            return_responses=return_responses,
        )

    def sentinel_master(self, service_name: str, return_responses: bool = False) -> Reply[Any]:
        """The state of ``service_name``'s primary."""
        return self._sentinel_command(
            *REPLIES["MASTER"],
            "SENTINEL",
            "MASTER",
            service_name,
            return_responses=return_responses,
        )

    def sentinel_masters(self) -> Reply[Any]:
        """Every monitored primary's state, by service name."""
        return self._sentinel_command(*REPLIES["MASTERS"], "SENTINEL", "MASTERS")

    def sentinel_slaves(self, service_name: str) -> Reply[Any]:
        """The states of ``service_name``'s replicas."""
        return self._sentinel_command(*REPLIES["SLAVES"], "SENTINEL", "SLAVES", service_name)

    def sentinel_sentinels(self, service_name: str, return_responses: bool = False) -> Reply[Any]:
        """The states of the other sentinels monitoring ``service_name``."""
        return self._sentinel_command(
            *REPLIES["SENTINELS"],
            "SENTINEL",
            "SENTINELS",
            service_name,
            return_responses=return_responses,
        )

    def sentinel_monitor(self, name: str, ip: str, port: int, quorum: int) -> Reply[bool]:
        """Starts monitoring a primary as ``name``."""
        return self._sentinel_command(
            *REPLIES["MONITOR"], "SENTINEL", "MONITOR", name, ip, port, quorum
        )

    def sentinel_remove(self, name: str) -> Reply[bool]:
        """Stops monitoring ``name``."""
        return self._sentinel_command(*REPLIES["REMOVE"], "SENTINEL", "REMOVE", name)

    def sentinel_set(self, name: str, option: str, value: EncodableT) -> Reply[bool]:
        """Sets one of ``name``'s monitoring options."""
        return self._sentinel_command(*REPLIES["SET"], "SENTINEL", "SET", name, option, value)

    def sentinel_reset(self, pattern: str) -> Reply[bool]:
        """Resets the primaries whose names match ``pattern``. As redis-py:
        ``True`` only for the reply ``OK`` (the server answers a count, so
        ``False``)."""
        return self._sentinel_command(*REPLIES["RESET"], "SENTINEL", "RESET", pattern, once=True)

    def sentinel_failover(self, new_master_name: str) -> Reply[bool]:
        """Fails ``new_master_name`` over without asking the other sentinels."""
        return self._sentinel_command(*REPLIES["FAILOVER"], "SENTINEL", "FAILOVER", new_master_name)

    def sentinel_ckquorum(self, new_master_name: str) -> Reply[bool]:
        """Checks that the sentinels can reach the quorum to fail over (an
        error reply raises). As redis-py: ``True`` only for the reply ``OK``,
        and the server adds words to it, so ``False`` when it succeeds."""
        return self._sentinel_command(
            *REPLIES["CKQUORUM"], "SENTINEL", "CKQUORUM", new_master_name, once=True
        )

    def sentinel_flushconfig(self) -> Reply[bool]:
        """Rewrites the sentinel's configuration file."""
        return self._sentinel_command(*REPLIES["FLUSHCONFIG"], "SENTINEL", "FLUSHCONFIG")


__all__ = [
    "REPLIES",
    "SentinelCommands",
    "parse_masters",
    "parse_state",
    "parse_states",
    "reply_of",
]
