"""The synchronous subscriber, :class:`PubSub` (``babushka.Redis.pubsub()``),
and :class:`PubSubWorkerThread` (``run_in_thread``), with redis-py's API.

The subscriber is the core's: a connection of its own, opened on the first
command, whose messages wait in a bounded backlog until read. After a lost
connection the core reconnects and restores every subscription by itself,
then delivers a ``{'type': 'reconnected', ...}`` message (see
:meth:`PubSub.get_message`). Waiting for a message releases the GIL: on the
managed and uds transports it blocks in the core, on ffi the core calls back
when messages arrive.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional, Sequence

from babushka._pubsub import (
    CHANNEL,
    DEFAULT_MAX_BUFFERED_MESSAGES,
    PATTERN,
    SHARD,
    HandlerT,
    PubSubBase,
    PushHandlerT,
    SubscriberT,
    Subscription,
    message_from_push,
    push_list,
)
from babushka._waiter import Waiter

if TYPE_CHECKING:
    from babushka.client import Redis

__all__ = ["PubSub", "PubSubWorkerThread", "Subscription"]

#: How long one wait of ``run_in_thread``'s loop lasts when ``sleep_time`` is
#: 0; ``stop()`` ends it at once, so this only bounds a wait for the first
#: subscription.
_WORKER_WAIT = 1.0


class PubSub(PubSubBase):
    """A subscriber: ``subscribe``/``psubscribe``/``ssubscribe`` (handlers as
    keyword arguments or ``Subscription`` objects), then ``get_message``,
    ``listen()`` or ``run_in_thread``. Its methods may be called from any
    thread; one thread should read its messages."""

    def __init__(
        self,
        client: Redis[Any],
        ignore_subscribe_messages: bool = False,
        shard_hint: str | None = None,
        *,
        max_buffered_messages: int = DEFAULT_MAX_BUFFERED_MESSAGES,
        on_reconnect: Optional[HandlerT] = None,
        push_handler_func: Optional[PushHandlerT] = None,
    ) -> None:
        super().__init__(
            client,
            ignore_subscribe_messages,
            max_buffered_messages,
            on_reconnect,
            push_handler_func,
        )
        self._client = client
        #: Accepted for redis-py compatibility; a standalone client has one node.
        self.shard_hint = shard_hint
        #: Set while subscribed to anything, as redis-py's.
        self.subscribed_event = threading.Event()
        #: ffi: set by the core's callback when messages arrive.
        self._ready: threading.Event | None = None
        #: ffi: set by ``_interrupt`` to end the wait for messages.
        self._interrupted = False
        self._lock = threading.Lock()

    def _open_native(self) -> SubscriberT:
        client = self._client
        native: SubscriberT
        if client._uds is not None:
            native = client._uds.subscriber(self.max_buffered_messages)
        else:
            native = client._core.subscriber(self.max_buffered_messages)
        if client.transport == "ffi":
            # The ffi transport's way: the core calls back (on a runtime
            # thread) when messages start waiting; we then take them.
            ready = self._ready = threading.Event()
            native.set_waker(ready.set)
        return native

    def _native_subscriber(self) -> SubscriberT:
        with self._lock:  # two threads subscribing at once share one subscriber
            return super()._native_subscriber()

    @property
    def subscribed(self) -> bool:
        """Whether anything is subscribed to (set at the call, cleared by the
        last unsubscribe confirmation)."""
        return self.subscribed_event.is_set()

    def _subscriptions_changed(self) -> None:
        if not (self.channels or self.patterns or self.shard_channels):
            self.subscribed_event.clear()

    def _subscribe(self, kind: int, args: tuple[Any, ...], handlers: dict[str, HandlerT]) -> None:
        native, names, undo = self._prepare(kind, args, handlers)
        # Set before the wait, so a get_message waiting in another thread
        # starts reading and sees the confirmation.
        self.subscribed_event.set()
        try:
            self._confirm(native, kind, names)
        except Exception:
            undo()
            raise

    @staticmethod
    def _confirm(native: SubscriberT, kind: int, names: Sequence[Any]) -> None:
        """Sends a subscribe and waits (GIL released) until the server has
        confirmed it; raises what it failed with (``ConnectionError`` when
        the connection cannot be opened, ``TimeoutError`` past
        ``socket_timeout``, the server's refusal)."""
        waiter = Waiter()
        native.subscribe(waiter, kind, *names)
        waiter.wait()

    def subscribe(self, *args: Any, **kwargs: HandlerT) -> None:
        """Subscribes to channels; ``name=handler`` keywords (or
        ``Subscription(name, handler)``) have their messages go to the
        handler instead of ``get_message``. Returns once the server has
        confirmed the subscription, so a message published afterwards, from
        any connection, reaches it; the confirmation is still a message."""
        self._subscribe(CHANNEL, args, kwargs)

    def psubscribe(self, *args: Any, **kwargs: HandlerT) -> None:
        """Subscribes to channel patterns (``news.*``), as :meth:`subscribe`."""
        self._subscribe(PATTERN, args, kwargs)

    def ssubscribe(self, *args: Any, target_node: Any = None, **kwargs: HandlerT) -> None:
        """Subscribes to shard channels (Redis 7 and later), as :meth:`subscribe`."""
        self._subscribe(SHARD, args, kwargs)

    def unsubscribe(self, *args: Any) -> None:
        """Unsubscribes from channels, or from every channel if none is named."""
        self._unsubscribe(CHANNEL, args)

    def punsubscribe(self, *args: Any) -> None:
        self._unsubscribe(PATTERN, args)

    def sunsubscribe(self, *args: Any, target_node: Any = None) -> None:
        self._unsubscribe(SHARD, args)

    def ping(self, message: Any = None) -> None:
        """Sends a PING; its answer is a ``pong`` message."""
        self._native_subscriber().ping(message)
        self._sent()

    def execute_command(self, *args: Any) -> None:
        """Sends a (un)subscribe command or PING as it is (without updating
        ``channels`` and ``patterns``, as redis-py's); a subscribe returns
        once confirmed, as :meth:`subscribe`."""
        subscribe = self._command(args)
        if subscribe is not None:
            self._confirm(*subscribe)

    def get_message(
        self, ignore_subscribe_messages: bool = False, timeout: float | None = 0.0
    ) -> dict[str, Any] | None:
        """The next message, waiting up to ``timeout`` seconds (``None``: for
        ever), or ``None``. Not subscribed to anything, it first waits for a
        subscription (from another thread), as redis-py's does.

        Messages are redis-py's dicts (``type``, ``pattern``, ``channel``,
        ``data``), plus ``{'type': 'reconnected', 'data': <subscriptions
        restored>}`` after the core restored a lost connection's
        subscriptions (messages published in between are lost), which
        ``ignore_subscribe_messages`` skips like the subscribe confirmations.
        An error the server answered a subscriber command with is raised.
        """
        return self._get(ignore_subscribe_messages, timeout, None)

    def get_sharded_message(
        self,
        ignore_subscribe_messages: bool = False,
        timeout: float | None = 0.0,
        target_node: Any = None,
    ) -> dict[str, Any] | None:
        """As :meth:`get_message` (one inbox holds every message); with a
        cluster client's ``target_node`` (a ``ClusterNode``), the next
        message that came on that node's connection, as redis-py's cluster
        ``PubSub`` reads one node's: the others read meanwhile wait for the
        next reads, in their order."""
        return self._get(ignore_subscribe_messages, timeout, self._target(target_node))

    def _get(
        self, ignore_subscribe_messages: bool, timeout: float | None, node: str | None
    ) -> dict[str, Any] | None:
        if not self.subscribed:
            started = time.monotonic()
            if not self.subscribed_event.wait(timeout):
                return None
            if timeout is not None:
                timeout = max(0.0, timeout - (time.monotonic() - started))
        message = self._next(timeout, node)
        if message is None:
            return None
        return self._process(message, ignore_subscribe_messages)

    def _next(self, timeout: float | None, node: str | None) -> dict[str, Any] | None:
        """The next message (of ``node``, if given: the others are parked)."""
        parked = self._unpark(node)
        if parked is not None:
            return parked
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            message = self._receive(remaining)
            if message is None or node is None or self._origin == node:
                return message
            self._parked.append((self._origin, message))

    def _receive(self, timeout: float | None) -> dict[str, Any] | None:
        self._raise_deferred()
        native = self._live_native()
        if native is None:
            return None
        self._check_health(native)
        ready = self._ready
        message = (
            native.get_message(timeout) if ready is None else self._wait(native, ready, timeout)
        )
        if message is None:
            return None
        self._origin = native.last_node
        self._received(native)
        handler = self.push_handler_func
        if handler is not None and self._pushed(message):
            return message_from_push(handler(push_list(message, self._decoded)))
        return message

    def _wait(
        self, native: SubscriberT, ready: threading.Event, timeout: float | None
    ) -> dict[str, Any] | None:
        """ffi: takes a message, waiting on the event the core's callback sets.
        A callback delayed past an earlier take sets it with nothing new to
        take, so the wait goes on until the deadline."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            ready.clear()
            message = native.pop()
            if message is not None or native.closed or self._interrupted:
                self._interrupted = False
                return message
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return None
            ready.wait(remaining)

    def _process(self, message: dict[str, Any], ignore: bool) -> dict[str, Any] | None:
        returned, handler = self._handle(message, ignore)
        if handler is not None:
            handler(message)
        return returned

    def handle_message(
        self, response: dict[str, Any], ignore_subscribe_messages: bool = False
    ) -> dict[str, Any] | None:
        """What a received message gives: itself, or ``None`` when a handler
        took it or it is ignored (redis-py's hook, for a received dict)."""
        return self._process(response, ignore_subscribe_messages)

    def listen(self) -> Iterator[dict[str, Any]]:
        """Yields messages as they come, while anything is subscribed to."""
        while self.subscribed:
            message = self._receive(None)
            if message is None:
                native = self._native
                if native is None or native.closed:
                    return
                continue
            returned = self._process(message, False)
            if returned is not None:
                yield returned

    def run_in_thread(
        self,
        sleep_time: float = 0.0,
        daemon: bool = False,
        exception_handler: Optional[
            Callable[[BaseException, PubSub, PubSubWorkerThread], object]
        ] = None,
        pubsub: PubSub | None = None,
        sharded_pubsub: bool = False,
    ) -> PubSubWorkerThread:
        """Runs the handlers in a thread of their own: every subscription
        needs one. ``stop()`` on the thread ends it (and closes this
        subscriber); an exception goes to ``exception_handler(error,
        pubsub, thread)``, or ends the thread if there is none."""
        self._check_handlers()
        thread = PubSubWorkerThread(
            self if pubsub is None else pubsub,
            sleep_time,
            daemon=daemon,
            exception_handler=exception_handler,
            sharded_pubsub=sharded_pubsub,
        )
        thread.start()
        return thread

    def _interrupt(self) -> None:
        """Ends a wait for messages now (a worker thread being stopped)."""
        native = self._native
        if native is not None:
            native.interrupt()
        if self._ready is not None:
            self._interrupted = True
            self._ready.set()

    def reset(self) -> None:
        """Closes the connection and forgets every subscription; the object
        can subscribe again (on a new connection)."""
        self._close_native()
        self._ready = None
        self._clear_subscriptions()
        self.subscribed_event.clear()

    def close(self) -> None:
        self.reset()

    def __enter__(self) -> PubSub:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.reset()


class PubSubWorkerThread(threading.Thread):
    """Reads a subscriber's messages so its handlers run (``run_in_thread``)."""

    def __init__(
        self,
        pubsub: PubSub,
        sleep_time: float,
        daemon: bool = False,
        exception_handler: Optional[
            Callable[[BaseException, PubSub, PubSubWorkerThread], object]
        ] = None,
        sharded_pubsub: bool = False,
    ) -> None:
        super().__init__(name="babushka-pubsub-worker")
        self.daemon = daemon
        self.pubsub = pubsub
        self.sleep_time = sleep_time
        self.exception_handler = exception_handler
        self.sharded_pubsub = sharded_pubsub
        self._running = threading.Event()

    def run(self) -> None:
        if self._running.is_set():
            return
        self._running.set()
        pubsub = self.pubsub
        # redis-py polls every sleep_time seconds (0: without pause); here a
        # wait ends as soon as a message comes or stop() is called, so it
        # can be long without delaying anything.
        wait = self.sleep_time if self.sleep_time > 0 else _WORKER_WAIT
        while self._running.is_set():
            try:
                pubsub.get_message(ignore_subscribe_messages=True, timeout=wait)
            except BaseException as error:
                if self.exception_handler is None:
                    raise
                self.exception_handler(error, pubsub, self)
        pubsub.close()

    def stop(self) -> None:
        """Ends the loop (its wait at once) and closes the subscriber."""
        self._running.clear()
        self.pubsub._interrupt()
