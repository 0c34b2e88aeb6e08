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
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional, Protocol, Union

from babushka import _core
from babushka.exceptions import DataError, PubSubError

#: Subscription kinds, as ``_core.Subscriber`` numbers them.
CHANNEL, PATTERN, SHARD = 0, 1, 2

DEFAULT_MAX_BUFFERED_MESSAGES: int = _core.DEFAULT_MAX_BUFFERED_MESSAGES

PUBLISH_MESSAGE_TYPES = ("message", "pmessage", "smessage")
UNSUBSCRIBE_MESSAGE_TYPES = ("unsubscribe", "punsubscribe", "sunsubscribe")
#: Ours: every subscription holds again after a lost connection.
RECONNECTED = "reconnected"

#: A channel, pattern or shard channel name.
ChannelT = Union[bytes, str, memoryview]
#: Called with a message dict instead of returning it (may be a coroutine
#: function on the asyncio client).
HandlerT = Callable[[dict[str, Any]], Any]

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

    def subscribe(self, kind: int, *names: Any) -> None: ...
    def unsubscribe(self, kind: int, *names: Any) -> None: ...
    def ping(self, message: Any | None = None) -> None: ...
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
        ignore_subscribe_messages: bool,
        max_buffered_messages: int,
        on_reconnect: Optional[HandlerT],
    ) -> None:
        if (
            isinstance(max_buffered_messages, bool)
            or not isinstance(max_buffered_messages, int)
            or max_buffered_messages < 1
        ):
            raise DataError(
                f"max_buffered_messages must be a positive int, got {max_buffered_messages!r}"
            )
        self.ignore_subscribe_messages = ignore_subscribe_messages
        #: At most this many published messages wait unread in the core;
        #: one more drops the oldest (see :attr:`dropped_messages`).
        self.max_buffered_messages = max_buffered_messages
        #: Called with the ``reconnected`` message whatever
        #: ``ignore_subscribe_messages`` says (``run_in_thread`` ignores them).
        self.on_reconnect = on_reconnect
        self._native: SubscriberT | None = None
        #: The process ``_native`` was made in.
        self._pid = os.getpid()
        self._dropped_seen = 0
        #: The drops reported by the last warning, and when it was logged.
        self._dropped_warned = 0
        self._warned_at = -DROP_WARNING_INTERVAL
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
                    native.subscribe(kind, *table)
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

    def _subscribe(self, kind: int, args: tuple[Any, ...], handlers: dict[str, HandlerT]) -> None:
        subscriptions = parse_subscriptions(args, handlers)
        if not subscriptions:
            raise DataError("subscribe needs at least one channel or pattern")
        native = self._native_subscriber()
        native.subscribe(kind, *subscriptions)
        # Recorded under the names messages will carry (bytes, or str when
        # the client decodes responses), as redis-py normalises them.
        normalized = {native.key(name): handler for name, handler in subscriptions.items()}
        table, pending = self._tables(kind)
        table.update(normalized)
        pending.difference_update(normalized)

    def _unsubscribe(self, kind: int, args: tuple[Any, ...]) -> None:
        names = _names(args)
        table, pending = self._tables(kind)
        native = self._native
        if native is None:
            return  # never subscribed: nothing to undo
        pending.update([native.key(name) for name in names] if names else table)
        native.unsubscribe(kind, *names)

    def _command(self, args: tuple[Any, ...]) -> None:
        """``execute_command`` on a subscriber: the (un)subscribe family and PING."""
        if not args:
            raise DataError("execute_command needs at least the command name")
        word = args[0]
        name = (word.decode(errors="replace") if isinstance(word, bytes) else str(word)).upper()
        if name == "PING":
            if len(args) > 2:
                raise DataError("PING on a subscriber takes at most one message")
            self._native_subscriber().ping(*args[1:])
            return
        if name not in _COMMANDS:
            raise DataError(
                f"{name} cannot be sent on a subscriber's connection: it takes "
                "SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE, their UNSUBSCRIBE forms and PING"
            )
        kind, subscribes = _COMMANDS[name]
        native = self._native_subscriber()
        if subscribes:
            native.subscribe(kind, *args[1:])
        else:
            native.unsubscribe(kind, *args[1:])

    def _close_native(self) -> None:
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
