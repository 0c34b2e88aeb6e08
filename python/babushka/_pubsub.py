"""What the sync and async ``PubSub`` share: redis-py's bookkeeping of
channels, patterns and shard channels with their handlers, and what a
received message does to it.

The subscriber itself lives in the core (``_core.Subscriber``, or
``_core.UdsSubscriber`` on the uds transport): its own connection, the
subscriptions it restores after a reconnection, and the bounded backlog its
messages wait in, shaped as redis-py's dicts. This module keeps only what
redis-py users see of it: the ``channels``/``patterns``/``shard_channels``
dicts (name to handler), the names waiting for their unsubscribe
confirmation, handlers called instead of returning a message, and
``ignore_subscribe_messages``.

A subscribe returns once the server has confirmed it (see
``core/src/pubsub/acks.rs`` for why that, and not only the write as in
redis-py): the names are recorded here first, so a message that follows the
confirmation finds its handler, and taken back if the subscribe fails (the
core then holds nothing of it either).

Two of redis-py's ``PubSub`` options live here too: ``health_check_interval``
(the client's keyword; a ``PING`` with redis-py's health-check message when
the connection was idle longer than that, whose pong is never returned) and
``push_handler_func`` (on RESP3, where pub/sub traffic arrives as pushes,
each push goes to it as redis-py's parser hands it over, a list, and what it
returns is the message instead).
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional, Protocol, Union

from babushka import _core
from babushka.exceptions import DataError, PubSubError

if TYPE_CHECKING:
    from babushka._base import ClientBase

#: Subscription kinds, as ``_core.Subscriber`` numbers them.
CHANNEL, PATTERN, SHARD = 0, 1, 2

DEFAULT_MAX_BUFFERED_MESSAGES: int = _core.DEFAULT_MAX_BUFFERED_MESSAGES

PUBLISH_MESSAGE_TYPES = ("message", "pmessage", "smessage")
UNSUBSCRIBE_MESSAGE_TYPES = ("unsubscribe", "punsubscribe", "sunsubscribe")
#: Ours: every subscription holds again after a lost connection.
RECONNECTED = "reconnected"
#: What a health check's PING carries, as in redis-py: its pong is dropped.
HEALTH_CHECK_MESSAGE = "redis-py-health-check"

#: A channel, pattern or shard channel name.
ChannelT = Union[bytes, str, memoryview]
#: Called with a message dict instead of returning it (may be a coroutine
#: function on the asyncio client).
HandlerT = Callable[[dict[str, Any]], Any]
#: redis-py's ``push_handler_func``: called with a RESP3 push as a list
#: (``[b'message', b'news', b'hi']``); what it returns replaces it.
PushHandlerT = Callable[[list[Any]], Any]

logger = logging.getLogger("babushka.pubsub")

#: At most one warning about dropped messages per this many seconds: under a
#: sustained overload every read would otherwise log one.
DROP_WARNING_INTERVAL = 10.0


@dataclass(frozen=True)
class Subscription:
    """A channel or pattern with an optional handler, as redis-py's
    ``redis.typing.Subscription``: ``p.subscribe(Subscription(b"\\xff", f))``
    names a channel that is no valid keyword argument."""

    name: ChannelT
    handler: Optional[HandlerT] = None


class SubscriberT(Protocol):
    """The core's subscriber, on every transport (``_core.Subscriber``,
    ``_core.UdsSubscriber``)."""

    def subscribe(self, waiter: Any, kind: int, *names: Any) -> None: ...
    def unsubscribe(self, kind: int, *names: Any) -> None: ...
    def ping(self, message: Any | None = None) -> None: ...
    def monitor(self) -> None: ...
    def key(self, name: Any) -> Any: ...
    def get_message(self, timeout: float | None) -> dict[str, Any] | None: ...
    def pop(self) -> dict[str, Any] | None: ...
    def set_waker(self, waker: Callable[[], object] | None) -> None: ...
    def interrupt(self) -> None: ...
    def close(self) -> None: ...
    @property
    def dropped(self) -> int: ...
    @property
    def closed(self) -> bool: ...
    @property
    def last_node(self) -> str | None: ...


#: Subscribers a forked child inherited: kept, never closed, since they are
#: the parent's (closing one would ring its eventfd, which the parent shares).
_inherited: list[SubscriberT] = []


def _names(args: tuple[Any, ...]) -> list[Any]:
    """redis-py's ``list_or_args``: names as varargs, or a list of them first."""
    if not args:
        return []
    first, rest = args[0], args[1:]
    if isinstance(first, (bytes, str, memoryview, bytearray, Subscription)):
        names = [first]
    else:
        try:
            names = list(first)
        except TypeError:
            names = [first]
    names.extend(rest)
    return names


def parse_subscriptions(
    args: tuple[Any, ...], handlers: dict[str, HandlerT]
) -> dict[Any, Optional[HandlerT]]:
    """The names to subscribe to, with their handlers (``None`` for none):
    positional names or ``Subscription`` objects, then keyword handlers."""
    subscriptions: dict[Any, Optional[HandlerT]] = {}
    for arg in _names(args):
        if isinstance(arg, Subscription):
            subscriptions[arg.name] = arg.handler
        else:
            subscriptions[arg] = None
    subscriptions.update(handlers)
    return subscriptions


#: ``execute_command`` names a subscriber understands: (kind, subscribes?).
_COMMANDS = {
    "SUBSCRIBE": (CHANNEL, True),
    "PSUBSCRIBE": (PATTERN, True),
    "SSUBSCRIBE": (SHARD, True),
    "UNSUBSCRIBE": (CHANNEL, False),
    "PUNSUBSCRIBE": (PATTERN, False),
    "SUNSUBSCRIBE": (SHARD, False),
}


class PubSubBase:
    """Subscriptions and their handlers; subclasses add the waiting."""

    PUBLISH_MESSAGE_TYPES = PUBLISH_MESSAGE_TYPES
    UNSUBSCRIBE_MESSAGE_TYPES = UNSUBSCRIBE_MESSAGE_TYPES

    def __init__(
        self,
        client: ClientBase,
        ignore_subscribe_messages: bool,
        max_buffered_messages: int,
        on_reconnect: Optional[HandlerT],
        push_handler_func: Optional[PushHandlerT],
    ) -> None:
        if (
            isinstance(max_buffered_messages, bool)
            or not isinstance(max_buffered_messages, int)
            or max_buffered_messages < 1
        ):
            raise DataError(
                f"max_buffered_messages must be a positive int, got {max_buffered_messages!r}"
            )
        if push_handler_func is not None and not callable(push_handler_func):
            raise DataError(f"push_handler_func must be callable, got {push_handler_func!r}")
        self.ignore_subscribe_messages = ignore_subscribe_messages
        #: At most this many published messages wait unread in the core;
        #: one more drops the oldest (see :attr:`dropped_messages`).
        self.max_buffered_messages = max_buffered_messages
        #: Called with the ``reconnected`` message whatever
        #: ``ignore_subscribe_messages`` says (``run_in_thread`` ignores them).
        self.on_reconnect = on_reconnect
        #: redis-py's: on RESP3, each push goes through it (see the module doc).
        self.push_handler_func = push_handler_func
        self._resp3 = client._protocol == 3
        self._decoded = bool(client.decode_responses)
        self._health_check_interval = client._health_check_interval
        self._next_health_check = 0.0
        #: The health check's pong data as messages carry it (bytes or str).
        self._health_check_data: Any = None
        #: An error of a subscribe nobody waited for (a forked child's
        #: resubscription), raised by the next read.
        self._deferred_error: BaseException | None = None
        self._native: SubscriberT | None = None
        #: The process ``_native`` was made in.
        self._pid = os.getpid()
        self._dropped_seen = 0
        #: The drops reported by the last warning, and when it was logged.
        self._dropped_warned = 0
        self._warned_at = -DROP_WARNING_INTERVAL
        # The cluster module imports this one: its classes come in late.
        from babushka.cluster import ClusterMixin

        self._cluster = isinstance(client, ClusterMixin)
        #: Messages a ``get_sharded_message(target_node=)`` read from other
        #: nodes, oldest first, with the node each came on: later reads take
        #: them first, in their turn.
        self._parked: deque[tuple[str | None, dict[str, Any]]] = deque()
        #: The node the message ``_receive`` returned last came on (a
        #: cluster subscriber's shard connections name theirs).
        self._origin: str | None = None
        self._clear_subscriptions()

    def _clear_subscriptions(self) -> None:
        self.channels: dict[Any, Optional[HandlerT]] = {}
        self.patterns: dict[Any, Optional[HandlerT]] = {}
        self.shard_channels: dict[Any, Optional[HandlerT]] = {}
        self.pending_unsubscribe_channels: set[Any] = set()
        self.pending_unsubscribe_patterns: set[Any] = set()
        self.pending_unsubscribe_shard_channels: set[Any] = set()

    def _open_native(self) -> SubscriberT:
        """A new core subscriber on the client's transport."""
        raise NotImplementedError

    def _native_subscriber(self) -> SubscriberT:
        native = self._live_native()
        if native is None:
            native = self._native = self._open_native()
            self._pid = os.getpid()
        return native

    def _live_native(self) -> SubscriberT | None:
        """The core subscriber, if there is one; in a forked child, a new one
        subscribed to everything the parent's was (as redis-py's reconnection
        in a child does), the parent's being left to the parent."""
        native = self._native
        if native is not None and self._pid != os.getpid():
            _inherited.append(native)
            native = self._native = self._open_native()
            self._pid = os.getpid()
            for kind in (CHANNEL, PATTERN, SHARD):
                table, pending = self._tables(kind)
                pending.clear()
                if table:
                    # Nobody waits for it: a failure is raised by the next read.
                    native.subscribe(_Deferred(self), kind, *table)
        return native

    @property
    def dropped_messages(self) -> int:
        """How many published messages were dropped, oldest first, because
        more than ``max_buffered_messages`` waited unread."""
        native = self._native
        return self._dropped_seen if native is None else max(native.dropped, self._dropped_seen)

    def _tables(self, kind: int) -> tuple[dict[Any, Optional[HandlerT]], set[Any]]:
        if kind == CHANNEL:
            return self.channels, self.pending_unsubscribe_channels
        if kind == PATTERN:
            return self.patterns, self.pending_unsubscribe_patterns
        return self.shard_channels, self.pending_unsubscribe_shard_channels

    def _prepare(
        self, kind: int, args: tuple[Any, ...], handlers: dict[str, HandlerT]
    ) -> tuple[SubscriberT, list[Any], Callable[[], None]]:
        """Records a subscribe's names (under the names messages will carry:
        bytes, or str when the client decodes responses, as redis-py
        normalises them) before it is sent, so a message right after its
        confirmation finds its handler. Returns the subscriber, the names to
        send, and what undoes the recording if the subscribe fails."""
        subscriptions = parse_subscriptions(args, handlers)
        if not subscriptions:
            raise DataError("subscribe needs at least one channel or pattern")
        native = self._native_subscriber()
        normalized = {native.key(name): handler for name, handler in subscriptions.items()}
        table, pending = self._tables(kind)
        before = {name: table[name] for name in normalized if name in table}
        was_pending = pending & normalized.keys()
        table.update(normalized)
        pending.difference_update(normalized)

        def undo() -> None:
            for name in normalized:
                if name in before:
                    table[name] = before[name]
                else:
                    table.pop(name, None)
            pending.update(was_pending)
            self._subscriptions_changed()

        self._sent()
        return native, list(subscriptions), undo

    def _unsubscribe(self, kind: int, args: tuple[Any, ...]) -> None:
        names = _names(args)
        table, pending = self._tables(kind)
        native = self._native
        if native is None:
            return  # never subscribed: nothing to undo
        pending.update([native.key(name) for name in names] if names else table)
        native.unsubscribe(kind, *names)

    def _command(self, args: tuple[Any, ...]) -> tuple[SubscriberT, int, tuple[Any, ...]] | None:
        """``execute_command`` on a subscriber: the (un)subscribe family and
        PING. Sends all but a subscribe, which it returns (subscriber, kind,
        names) for the caller to send and wait for."""
        if not args:
            raise DataError("execute_command needs at least the command name")
        word = args[0]
        name = (word.decode(errors="replace") if isinstance(word, bytes) else str(word)).upper()
        if name == "PING":
            if len(args) > 2:
                raise DataError("PING on a subscriber takes at most one message")
            self._native_subscriber().ping(*args[1:])
            self._sent()
            return None
        if name not in _COMMANDS:
            raise DataError(
                f"{name} cannot be sent on a subscriber's connection: it takes "
                "SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE, their UNSUBSCRIBE forms and PING"
            )
        kind, subscribes = _COMMANDS[name]
        native = self._native_subscriber()
        if subscribes:
            return native, kind, args[1:]
        native.unsubscribe(kind, *args[1:])
        self._sent()
        return None

    def _sent(self) -> None:
        """A command went to the connection: the health check's clock
        restarts, as redis-py's does on every write and read."""
        if self._health_check_interval:
            self._next_health_check = time.monotonic() + self._health_check_interval

    def _check_health(self, native: SubscriberT) -> None:
        """redis-py's ``check_health``: a PING when the connection has been
        idle longer than ``health_check_interval``."""
        if self._health_check_interval and time.monotonic() > self._next_health_check:
            native.ping(HEALTH_CHECK_MESSAGE)
            self._sent()

    def _raise_deferred(self) -> None:
        error, self._deferred_error = self._deferred_error, None
        if error is not None:
            raise error

    def _target(self, target_node: Any) -> str | None:
        """``get_sharded_message``'s ``target_node`` as the core names nodes."""
        if target_node is None:
            return None
        from babushka.cluster import ClusterNode

        if not self._cluster:
            raise DataError("target_node is for a cluster client's PubSub")
        if not isinstance(target_node, ClusterNode):
            raise DataError(f"target_node must be a ClusterNode, got {target_node!r}")
        return target_node.name

    def _unpark(self, node: str | None) -> dict[str, Any] | None:
        """The oldest parked message (of ``node``, if given)."""
        for at, (origin, message) in enumerate(self._parked):
            if node is None or origin == node:
                del self._parked[at]
                return message
        return None

    def _close_native(self) -> None:
        self._parked.clear()
        native, self._native = self._native, None
        if native is None:
            return
        if self._pid != os.getpid():
            _inherited.append(native)  # the parent's, to the parent
            return
        self._dropped_seen = max(native.dropped, self._dropped_seen)
        native.close()

    def __del__(self) -> None:
        native = getattr(self, "_native", None)
        if native is not None and getattr(self, "_pid", None) == os.getpid():
            native.close()

    def _received(self, native: SubscriberT) -> None:
        """A message was read: the connection was not idle."""
        self._sent()
        self._note_dropped(native)

    def _note_dropped(self, native: SubscriberT) -> None:
        dropped = native.dropped
        if dropped <= self._dropped_seen:
            return
        self._dropped_seen = dropped
        now = time.monotonic()
        if now - self._warned_at >= DROP_WARNING_INTERVAL:
            logger.warning(
                "%d pub/sub messages were dropped (%d in all): more than "
                "max_buffered_messages=%d waited unread",
                dropped - self._dropped_warned,
                dropped,
                self.max_buffered_messages,
            )
            self._dropped_warned = dropped
            self._warned_at = now

    def _handle(
        self, message: dict[str, Any], ignore_subscribe_messages: bool
    ) -> tuple[dict[str, Any] | None, Optional[HandlerT]]:
        """What a received message does: the message to return (``None``
        when it is ignored or goes to a handler) and the handler to call."""
        message_type = message["type"]
        if message_type == "pong" and self._is_health_check(message["data"]):
            return None, None  # redis-py never returns the health check's pong
        if message_type in UNSUBSCRIBE_MESSAGE_TYPES:
            kind = {"unsubscribe": CHANNEL, "punsubscribe": PATTERN}.get(message_type, SHARD)
            table, pending = self._tables(kind)
            name = message["channel"]
            if name in pending:
                pending.discard(name)
                table.pop(name, None)
            self._subscriptions_changed()
        if message_type in PUBLISH_MESSAGE_TYPES:
            if message_type == "pmessage":
                handler = self.patterns.get(message["pattern"])
            elif message_type == "smessage":
                handler = self.shard_channels.get(message["channel"])
            else:
                handler = self.channels.get(message["channel"])
            if handler is not None:
                return None, handler
            return message, None
        if message_type == RECONNECTED and self.on_reconnect is not None:
            reconnect_handler = self.on_reconnect
        else:
            reconnect_handler = None
        if message_type != "pong" and (ignore_subscribe_messages or self.ignore_subscribe_messages):
            return None, reconnect_handler
        if reconnect_handler is not None:
            return message, reconnect_handler
        return message, None

    def _is_health_check(self, data: Any) -> bool:
        if self._health_check_data is None:
            native = self._native
            if native is None:
                return False
            self._health_check_data = native.key(HEALTH_CHECK_MESSAGE)
        return bool(data == self._health_check_data)

    def _pushed(self, message: dict[str, Any]) -> bool:
        """Whether ``message`` goes through ``push_handler_func``: on RESP3,
        what the server pushed (not a pong, a plain reply there, nor our
        ``reconnected``)."""
        return (
            self.push_handler_func is not None
            and self._resp3
            and message["type"] not in ("pong", RECONNECTED)
        )

    def _subscriptions_changed(self) -> None:
        """Called when a confirmation removed subscriptions (the sync client
        clears its ``subscribed_event`` when none is left)."""

    def _check_handlers(self) -> None:
        """``run_in_thread``/``run`` need a handler for every subscription."""
        for label, table in (
            ("Channel", self.channels),
            ("Pattern", self.patterns),
            ("Shard Channel", self.shard_channels),
        ):
            for name, handler in table.items():
                if handler is None:
                    raise PubSubError(f"{label}: '{name}' has no handler registered")


def push_list(message: dict[str, Any], decoded: bool) -> list[Any]:
    """A message as redis-py's RESP3 parser hands a push to
    ``push_handler_func``: ``[type, (pattern,) channel, data]``, ``type``
    bytes unless the client decodes responses."""
    kind: str = message["type"]
    head: Any = kind if decoded else kind.encode()
    if kind == "pmessage":
        return [head, message["pattern"], message["channel"], message["data"]]
    return [head, message["channel"], message["data"]]


def message_from_push(response: Any) -> dict[str, Any] | None:
    """What ``push_handler_func`` returned, as a message dict (redis-py
    parses it as it parses any response); ``None`` stays ``None``."""
    if response is None:
        return None
    if not isinstance(response, (list, tuple)) or not response:
        raise PubSubError(f"push_handler_func must return a push list or None, got {response!r}")
    head = response[0]
    kind = head.decode() if isinstance(head, bytes) else str(head)
    if kind == "pmessage":
        return {"type": kind, "pattern": response[1], "channel": response[2], "data": response[3]}
    if kind == "pong":
        return {"type": kind, "pattern": None, "channel": None, "data": response[1]}
    return {"type": kind, "pattern": None, "channel": response[1], "data": response[2]}


class _Deferred:
    """A subscribe's waiter that nobody waits on: a failure is kept for the
    subscriber's next read to raise (set on a runtime thread or the uds
    reader; a plain attribute store)."""

    __slots__ = ("_pubsub",)

    def __init__(self, pubsub: PubSubBase) -> None:
        self._pubsub = pubsub

    def set_result(self, value: Any) -> None:
        pass

    def set_exception(self, error: BaseException) -> None:
        self._pubsub._deferred_error = error
