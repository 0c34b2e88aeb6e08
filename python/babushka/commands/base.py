"""What every command group builds on.

A command method is written once and serves the sync and the async client
(and pipelines): it returns ``self._execute(shape, *words)``, which is the reply itself on
:class:`babushka.Redis` and an awaitable of it on
:class:`babushka.asyncio.Redis`. ``_execute`` is a bound method of the Rust
core, so the common command costs one Python frame and one native call.

Commands whose reply needs Python-side parsing that depends on the call
(``zrange(..., score_cast_func=)``) use ``self._execute_then(parse, shape,
*words)``, which applies ``parse`` to the reply in whichever way suits the
client. A reply that always needs the same parsing (``INFO``) has a shape of
its own instead, parsed by ``babushka._replies``, so ``execute_command``
gives the same value.

The ``*scan_iter`` methods build one page request and hand it to
``self._iter_cursor(page)``, which the sync client turns into a generator and
the async client into an async generator.

Pipelines and transactions use ``self._execute_request(lease, kind,
commands)`` (one call per batch, on every transport) and, for a ``WATCH``
session, a lease from ``self._lease()``.
"""

from __future__ import annotations

import datetime
import math
from typing import Any, Awaitable, Callable, Generic, Iterable, Mapping, Protocol, Union

from babushka._typing import ValueT
from babushka.exceptions import DataError

#: A command's result: the reply on the sync client, an awaitable of it on the
#: async one. Command methods say their reply's type instead (``Reply[T]``, see
#: ``babushka/_typing.py``); one still returning ``ResponseT`` is typed ``Any``.
ResponseT = Union[Awaitable[Any], Any]
#: What may be sent as a key, a value or a member.
EncodableT = Union[bytes, bytearray, memoryview, str, int, float]
KeyT = Union[bytes, str, memoryview]
ExpiryT = Union[int, float, datetime.timedelta]
AbsExpiryT = Union[int, datetime.datetime]


class LeaseT(Protocol):
    """A dedicated connection held across requests (a ``WATCH`` session), as
    ``CommandsBase._lease()`` returns it: ``_core.Lease`` on the managed and
    ffi transports, ``_core.UdsLease`` on uds. Dropping it gives the
    connection back to its client."""

    def set_reusable(self, reusable: bool) -> None:
        """``False`` when the session may have left state on the connection
        (a ``WATCH`` never followed by ``EXEC`` or ``UNWATCH``): it is then
        closed instead of reused once let go."""

    def close(self) -> None:
        """Closes the connection now; requests waiting on it and later ones on
        this lease fail."""


class CommandsBase(Generic[ValueT]):
    """The hooks a client provides to the command groups; ``ValueT`` is the
    type of the values the client returns (``bytes``, or ``str`` with
    ``decode_responses``)."""

    _execute: Callable[..., Any]
    #: ``(lease, kind, commands)``: one request, the same on every transport
    #: (see ``_core.Client.execute_request``); pipelines are built on it.
    #: ``kind`` is 0 for one command, 1 for a pipeline, 2 for a transaction
    #: (MULTI/EXEC); ``commands`` a sequence of ``(shape, name, *args)``
    #: tuples; ``lease`` ``None`` (the client routes it) or a lease from
    #: :meth:`_lease`, of this same client. A batch's reply is a list, with
    #: each command's shape applied and error replies in place as exception
    #: objects. The reply itself on the sync client, an awaitable on the
    #: async one (cancelling it while the request runs on a dedicated
    #: connection closes that connection).
    _execute_request: Callable[..., Any]

    def _lease(self, slot: int | None = None) -> LeaseT:
        """A dedicated connection for a ``WATCH`` session, to pass as
        ``_execute_request``'s ``lease`` (synchronous on both clients); a
        cluster client's connects to the primary serving ``slot``. Raises
        ``ClientClosedError`` on a closed client; on uds, a lease the core
        cannot open (``max_connections`` in use) fails its first request."""
        raise NotImplementedError

    def _check_session(self, method: str, transaction: bool) -> None:
        """Raises if a pipeline (a ``transaction`` one or not) cannot run
        ``method`` (``watch``, ``multi``, ``unwatch``): a cluster client's
        non-transactional pipelines cannot, as redis-py's."""

    def _session_slot(self, args: tuple[Any, ...], slot: int | None) -> int | None:
        """The slot a ``WATCH`` session's command ``args`` runs in, given the
        session's ``slot`` so far: a cluster client's sessions keep to one
        slot (raising before anything is sent otherwise); ``None`` on one
        server, where a session needs none."""
        return None

    def _execute_then(self, parse: Callable[[Any], Any], shape: int, *args: Any) -> ResponseT:
        raise NotImplementedError

    def _check_shard_channels(self, channels: list[Any]) -> None:
        """Raises before a subscriber subscribes to ``channels`` (every shard
        channel it would have) if this client cannot serve them on one
        connection: a cluster client refuses several slots. One server
        serves every channel."""

    def _check_transaction(
        self, commands: Iterable[tuple[Any, ...]], watched_slot: int | None = None
    ) -> None:
        """Raises before a transaction of ``commands`` (``(shape, name,
        *args)`` tuples) is sent if this client cannot run it: a cluster
        client refuses keys in several slots. Nothing to check on one server."""

    def _execute_outcome(
        self, settle: Callable[[Any, BaseException | None], Any], shape: int, *args: Any
    ) -> ResponseT:
        """Sends a command and returns ``settle(reply, None)``, or
        ``settle(None, error)`` when it fails with a ``RedisError`` (SHUTDOWN
        succeeds by losing its connection)."""
        raise NotImplementedError

    def _execute_alone(self, shape: int, *args: Any) -> ResponseT:
        """Sends a command that ends or resets the connection it is sent on
        (``QUIT``, ``RESET``, ``HELLO``: the table's ``alone`` flag) on a
        dedicated connection, closed afterwards, so the shared one never
        sees it. A pipeline queues it and sends its whole batch that way."""
        lease = self._lease()
        lease.set_reusable(False)
        return self._execute_request(lease, 0, [(shape, *args)])

    def _iter_cursor(self, page: Callable[[int], ResponseT]) -> Any:
        """Iterates a SCAN-family cursor: ``page(cursor)`` gives ``(cursor, items)``
        (a dict's items are yielded as pairs) until the server returns cursor 0."""
        raise NotImplementedError


def seconds(value: ExpiryT, name: str) -> int:
    """A relative expiry in whole seconds; rejects negatives and non-numbers."""
    if isinstance(value, datetime.timedelta):
        value = int(value.total_seconds())
    return _non_negative_int(value, name)


def milliseconds(value: ExpiryT, name: str) -> int:
    """A relative expiry in whole milliseconds."""
    if isinstance(value, datetime.timedelta):
        value = int(value.total_seconds() * 1000)
    return _non_negative_int(value, name)


def unix_seconds(value: AbsExpiryT, name: str) -> int:
    """An absolute expiry as a Unix time in seconds."""
    if isinstance(value, datetime.datetime):
        return int(value.timestamp())
    return _non_negative_int(value, name)


def unix_milliseconds(value: AbsExpiryT, name: str) -> int:
    """An absolute expiry as a Unix time in milliseconds."""
    if isinstance(value, datetime.datetime):
        return int(value.timestamp() * 1000)
    return _non_negative_int(value, name)


def expiry_words(
    ex: ExpiryT | None,
    px: ExpiryT | None,
    exat: AbsExpiryT | None,
    pxat: AbsExpiryT | None,
    **flags: bool,
) -> list[Any]:
    """The ``EX|PX|EXAT|PXAT`` words of GETEX, HGETEX and HSETEX; each of
    ``flags`` (``persist=True``) is a word of its own that excludes them."""
    given = [x is not None for x in (ex, px, exat, pxat)] + [bool(on) for on in flags.values()]
    if sum(given) > 1:
        names = ", ".join(["ex", "px", "exat", "pxat", *flags])
        raise DataError(f"{names} are mutually exclusive")
    if ex is not None:
        return ["EX", seconds(ex, "ex")]
    if px is not None:
        return ["PX", milliseconds(px, "px")]
    if exat is not None:
        return ["EXAT", unix_seconds(exat, "exat")]
    if pxat is not None:
        return ["PXAT", unix_milliseconds(pxat, "pxat")]
    return [name.upper() for name, on in flags.items() if on]


def _non_negative_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DataError(f"{name} must be an int or a timedelta, got {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise DataError(f"{name} must be a finite number, got {value}")
    if value < 0:
        raise DataError(f"{name} must not be negative, got {value}")
    return int(value)


def blocking_timeout(value: object, name: str = "timeout") -> int | float:
    """A blocking command's timeout in seconds: a non-negative number, 0 (or
    ``None``, as redis-py allows) waiting for ever. Sent as given, so the core
    reads the same number to extend the request's deadline."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DataError(
            f"{name} must be a number of seconds (0 waits for ever), got {type(value).__name__}"
        )
    if not value >= 0 or value == float("inf"):  # also refuses NaN
        raise DataError(f"{name} must be a finite, non-negative number of seconds, got {value}")
    return value


def key_count(numkeys: object, keys: list[Any]) -> int:
    """``numkeys`` of LMPOP, ZMPOP, *INTERCARD, ..., checked against the keys
    given; digits in a string count as the number (redis-py sends them as
    given, and its own tests pass ``"2"``)."""
    if isinstance(numkeys, (str, bytes)) and numkeys.isdigit():
        numkeys = int(numkeys)
    count = require_int(numkeys, "numkeys")
    if count != len(keys) or count < 1:
        raise DataError(f"numkeys is {count} but {len(keys)} keys were given")
    return count


def count_option(count: object) -> list[Any]:
    """The ``COUNT n`` words of a command whose count is optional (``None``)."""
    if count is None:
        return []
    if require_int(count, "count") < 1:
        raise DataError(f"count must be positive, got {count}")
    return ["COUNT", count]


def page_items(items: Any) -> Iterable[Any]:
    """What a ``*scan_iter`` yields from one page: a dict (HSCAN) as pairs."""
    return items.items() if isinstance(items, dict) else items


def require_int(value: object, name: str) -> int:
    """An integer argument (rejects bool, float and str)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise DataError(f"{name} must be an int, got {type(value).__name__}")
    return value


def require_non_negative(value: object, name: str) -> int:
    """An integer argument that is 0 or more (a count, a limit, a timeout in ms)."""
    number = require_int(value, name)
    if number < 0:
        raise DataError(f"{name} must not be negative, got {number}")
    return number


def card_words(numkeys: object, keys: Iterable[KeyT], limit: object, *flags: str) -> list[Any]:
    """``numkeys key ... [flags] LIMIT limit`` of the *CARD commands
    (SINTERCARD, ZINTERCARD, ...), whose ``limit`` 0 counts everything."""
    names = key_list(keys, ())
    limit = require_non_negative(limit, "limit")
    return [key_count(numkeys, names), *names, *flags, "LIMIT", limit]


def key_list(keys: Iterable[KeyT] | KeyT, args: tuple[KeyT, ...], name: str = "keys") -> list[Any]:
    """redis-py's ``list_or_args``: one key, a list of keys, or keys as varargs."""
    if isinstance(keys, (bytes, str, memoryview, bytearray)):
        result: list[Any] = [keys]
    else:
        try:
            result = list(keys)
        except TypeError:
            # A number (hmget("h", 1)): one key, as redis-py's list_or_args
            # takes it; the encoder refuses what cannot be sent (None).
            result = [keys]
    result.extend(args)
    if not result:
        raise DataError(f"{name} must name at least one key")
    return result


def scan_options(match: EncodableT | None, count: int | None) -> list[Any]:
    """The ``MATCH``/``COUNT`` words shared by the SCAN family."""
    words: list[Any] = []
    if match is not None:
        words += ["MATCH", match]
    if count is not None:
        if require_int(count, "count") <= 0:
            raise DataError(f"count must be positive, got {count}")
        words += ["COUNT", count]
    return words


def require_cursor(cursor: object) -> int:
    """A SCAN cursor: a non-negative int."""
    value = require_int(cursor, "cursor")
    if value < 0:
        raise DataError(f"cursor must not be negative, got {value}")
    return value


def pairs_of(mapping: Mapping[Any, Any], name: str) -> list[Any]:
    """A mapping flattened to ``[k1, v1, k2, v2, ...]``; rejects non-mappings and empties."""
    if not isinstance(mapping, Mapping):
        raise DataError(f"{name} must be a mapping, got {type(mapping).__name__}")
    if not mapping:
        raise DataError(f"{name} must not be empty")
    flat: list[Any] = []
    for key, value in mapping.items():
        flat.append(key)
        flat.append(value)
    return flat
