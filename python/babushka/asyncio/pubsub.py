"""The asyncio subscriber, :class:`PubSub` (``babushka.asyncio.Redis.pubsub()``),
with redis-py's asyncio API: ``await p.subscribe(...)``, ``await
p.get_message(timeout=...)``, ``async for message in p.listen()`` (or ``async
for message in p``), ``await p.run()``, ``await p.aclose()``.

The subscriber is the core's (see :mod:`babushka.pubsub`); the loop is woken
once per batch of messages: by the subscriber's eventfd on the managed
transport, by the core's callback (``call_soon_threadsafe``) on ffi, by the
stream's reader on uds.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
from types import TracebackType
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Optional, Sequence

from babushka import _core
from babushka._loops import running_loop
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
from babushka.asyncio._deprecation import warn_use_aclose

if TYPE_CHECKING:
    from babushka.asyncio.client import Redis

__all__ = ["PubSub", "Subscription"]


class PubSub(PubSubBase):
    """An asyncio subscriber. It serves the running loop: after the loop it
    was used on ends, it goes on from the next one, subscriptions kept (see
    :meth:`_move`). One loop at a time: loops in several threads at once
    need a subscriber each."""

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
        #: Set when messages may be waiting (or the subscriber closed).
        self._ready: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        #: The descriptor the loop watches (managed transport).
        self._watched_fd: int | None = None

    def _open_native(self) -> SubscriberT:
        loop = asyncio.get_running_loop()
        client = self._client
        native: SubscriberT
        if client.transport == "uds":
            native = client._uds_stream().subscriber(self.max_buffered_messages)
        else:
            native = client._core.subscriber(self.max_buffered_messages)
        self._bind(native, loop)
        return native

    def _bind(self, native: SubscriberT, loop: asyncio.AbstractEventLoop) -> None:
        """Has ``native`` wake ``loop`` when messages start waiting."""
        ready = asyncio.Event()
        if isinstance(native, _core.Subscriber) and self._client.transport == "managed":
            # One wake-up per batch: the eventfd turns readable when
            # messages start waiting, and is cleared before they are taken.
            def on_readable() -> None:
                native.clear_signal()
                ready.set()

            loop.add_reader(native.fd(), on_readable)
            self._watched_fd = native.fd()
        elif self._client.transport == "uds":
            # The stream's reader runs on this loop: it sets the event itself.
            native.set_waker(ready.set)
        else:
            # ffi: the core calls back on a runtime thread.
            def wake() -> None:
                with contextlib.suppress(RuntimeError):  # the loop is closed
                    loop.call_soon_threadsafe(ready.set)

            native.set_waker(wake)
        self._ready = ready
        self._loop = loop

    def _live_native(self) -> SubscriberT | None:
        native = super()._live_native()
        loop = running_loop()
        if native is None or loop is None or loop is self._loop:
            return native
        if self._client.transport == "uds":
            # Moved by _follow_running_loop, which can wait; until then the
            # old stream's subscriber answers (closed, if its loop ended).
            return native
        # The core's subscriber stays, with its subscriptions and the
        # messages waiting in it; only its wake-up moves.
        self._stop_watching()
        self._bind(native, loop)
        return native

    async def _follow_running_loop(self) -> None:
        """Serves the running loop from now on, as the client follows it
        (``asyncio.run`` twice, a loop per test): the loop served so far has
        ended, or at least is no longer the caller's. On managed and ffi
        only the wake-up moves (:meth:`_live_native`). On uds a subscriber
        lives on a loop's stream, which closed with its loop: a new one on
        this loop's stream subscribes to everything again and this waits
        for the confirmations, which a read then gets as after a
        reconnection; what was published while no loop listened is lost."""
        native = self._native
        loop = running_loop()
        if (
            native is None
            or loop is None
            or loop is self._loop
            or self._client.transport != "uds"
            or self._pid != os.getpid()
        ):
            return
        self._dropped_seen = max(native.dropped, self._dropped_seen)
        native.close()
        native = self._native = self._client._uds_stream().subscriber(self.max_buffered_messages)
        self._bind(native, loop)
        confirmations = []
        for kind in (CHANNEL, PATTERN, SHARD):
            table, pending = self._tables(kind)
            # An unsubscribe sent on the old stream is done with.
            for name in pending:
                table.pop(name, None)
            pending.clear()
            if table:
                future: asyncio.Future[Any] = loop.create_future()
                native.subscribe(future, kind, *table)
                confirmations.append(future)
        self._sent()
        await asyncio.gather(*confirmations)

    @property
    def subscribed(self) -> bool:
        """Whether anything is subscribed to (until its unsubscribe confirmation)."""
        return bool(self.channels or self.patterns or self.shard_channels)

    async def _subscribe(
        self, kind: int, args: tuple[Any, ...], handlers: dict[str, HandlerT]
    ) -> None:
        await self._follow_running_loop()
        native, names, undo = self._prepare(kind, args, handlers)
        try:
            await self._confirm(native, kind, names)
        except Exception:
            # A cancelled wait (CancelledError) undoes nothing: the
            # subscribe goes ahead in the core.
            undo()
            raise

    async def _confirm(self, native: SubscriberT, kind: int, names: Sequence[Any]) -> None:
        """Sends a subscribe and waits until the server has confirmed it;
        raises what it failed with (see :meth:`babushka.pubsub.PubSub._confirm`)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if self._client.transport == "uds":
            # Resolved by the stream's reader, on this loop.
            native.subscribe(future, kind, *names)
        else:
            native.subscribe(_LoopWaiter(loop, future), kind, *names)
        await future

    async def subscribe(self, *args: Any, **kwargs: HandlerT) -> None:
        """Subscribes to channels; ``name=handler`` keywords (or
        ``Subscription(name, handler)``) have their messages go to the handler
        (a function or a coroutine function) instead of ``get_message``.
        Returns once the server has confirmed the subscription (see
        :meth:`babushka.pubsub.PubSub.subscribe`)."""
        await self._subscribe(CHANNEL, args, kwargs)

    async def psubscribe(self, *args: Any, **kwargs: HandlerT) -> None:
        await self._subscribe(PATTERN, args, kwargs)

    async def ssubscribe(self, *args: Any, target_node: Any = None, **kwargs: HandlerT) -> None:
        await self._subscribe(SHARD, args, kwargs)

    async def unsubscribe(self, *args: Any) -> None:
        await self._follow_running_loop()
        self._unsubscribe(CHANNEL, args)

    async def punsubscribe(self, *args: Any) -> None:
        await self._follow_running_loop()
        self._unsubscribe(PATTERN, args)

    async def sunsubscribe(self, *args: Any, target_node: Any = None) -> None:
        await self._follow_running_loop()
        self._unsubscribe(SHARD, args)

    async def ping(self, message: Any = None) -> None:
        """Sends a PING; its answer is a ``pong`` message."""
        await self._follow_running_loop()
        self._native_subscriber().ping(message)
        self._sent()

    async def execute_command(self, *args: Any) -> None:
        """Sends a (un)subscribe command or PING as it is; a subscribe
        returns once confirmed."""
        await self._follow_running_loop()
        subscribe = self._command(args)
        if subscribe is not None:
            await self._confirm(*subscribe)

    async def get_message(
        self, ignore_subscribe_messages: bool = False, timeout: float | None = 0.0
    ) -> dict[str, Any] | None:
        """The next message, waiting up to ``timeout`` seconds (``None``: for
        ever), or ``None``; see :meth:`babushka.pubsub.PubSub.get_message`
        for the messages. Raises ``RuntimeError`` before the first subscribe,
        as redis-py's does."""
        return await self._get(ignore_subscribe_messages, timeout, None)

    async def get_sharded_message(
        self,
        ignore_subscribe_messages: bool = False,
        timeout: float | None = 0.0,
        target_node: Any = None,
    ) -> dict[str, Any] | None:
        """As :meth:`babushka.pubsub.PubSub.get_sharded_message`."""
        return await self._get(ignore_subscribe_messages, timeout, self._target(target_node))

    async def _get(
        self, ignore_subscribe_messages: bool, timeout: float | None, node: str | None
    ) -> dict[str, Any] | None:
        if self._native is None:
            raise RuntimeError(
                "pubsub connection not set: did you forget to call subscribe() or psubscribe()?"
            )
        message = await self._next(timeout, node)
        if message is None:
            return None
        return await self._process(message, ignore_subscribe_messages)

    async def _next(self, timeout: float | None, node: str | None) -> dict[str, Any] | None:
        """The next message (of ``node``, if given: the others are parked)."""
        parked = self._unpark(node)
        if parked is not None:
            return parked
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            remaining = None if deadline is None else max(0.0, deadline - loop.time())
            message = await self._receive(remaining)
            if message is None or node is None or self._origin == node:
                return message
            self._parked.append((self._origin, message))

    async def _receive(self, timeout: float | None) -> dict[str, Any] | None:
        self._raise_deferred()
        await self._follow_running_loop()
        native = self._live_native()
        ready = self._ready
        loop = self._loop
        if native is None or ready is None or loop is None:
            return None
        self._check_health(native)
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            message = native.pop()
            if message is not None or native.closed:
                break
            ready.clear()
            # Looked at again after clearing: whatever lands from now on sets
            # it. A wake-up with nothing new to take (the ffi callback of an
            # earlier batch, delayed) waits on until the deadline.
            message = native.pop()
            if message is not None or native.closed:
                break
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                break
            if remaining is None:
                await ready.wait()
            else:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(ready.wait(), remaining)
        if message is None:
            return None
        self._origin = native.last_node
        self._received(native)
        handler = self.push_handler_func
        if handler is not None and self._pushed(message):
            replaced = handler(push_list(message, self._decoded))
            if inspect.isawaitable(replaced):
                replaced = await replaced
            return message_from_push(replaced)
        return message

    async def _process(self, message: dict[str, Any], ignore: bool) -> dict[str, Any] | None:
        returned, handler = self._handle(message, ignore)
        if handler is not None:
            outcome = handler(message)
            if inspect.isawaitable(outcome):
                await outcome
        return returned

    async def handle_message(
        self, response: dict[str, Any], ignore_subscribe_messages: bool = False
    ) -> dict[str, Any] | None:
        """What a received message gives: itself, or ``None`` when a handler
        took it or it is ignored."""
        return await self._process(response, ignore_subscribe_messages)

    async def listen(self) -> AsyncIterator[dict[str, Any]]:
        """Yields messages as they come, while anything is subscribed to."""
        while self.subscribed:
            message = await self._receive(None)
            if message is None:
                native = self._native
                if native is None or native.closed:
                    return
                continue
            returned = await self._process(message, False)
            if returned is not None:
                yield returned

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        """``async for message in pubsub``: as :meth:`listen`."""
        return self.listen()

    async def run(
        self,
        *,
        exception_handler: Optional[Callable[[BaseException, PubSub], Any]] = None,
        poll_timeout: float = 1.0,
        pubsub: PubSub | None = None,
    ) -> None:
        """Runs the handlers until cancelled (``asyncio.create_task(p.run())``);
        every subscription needs one. An exception goes to
        ``exception_handler(error, pubsub)`` (which may be a coroutine
        function), or ends the run if there is none."""
        self._check_handlers()
        source = self if pubsub is None else pubsub
        while True:
            try:
                await source.get_message(ignore_subscribe_messages=True, timeout=poll_timeout)
            except asyncio.CancelledError:
                raise
            except BaseException as error:
                if exception_handler is None:
                    raise
                outcome = exception_handler(error, self)
                if inspect.isawaitable(outcome):
                    await outcome
            # Let other tasks run if no wait happened.
            await asyncio.sleep(0)

    async def aclose(self) -> None:
        """Closes the connection and forgets every subscription."""
        self._stop_watching()
        self._close_native()
        if self._ready is not None:
            self._ready.set()  # a listener waiting now sees the end
        self._ready = None
        self._clear_subscriptions()

    async def close(self) -> None:
        """Alias of :meth:`aclose`, deprecated (a ``DeprecationWarning``) as
        in redis-py."""
        warn_use_aclose("close")
        await self.aclose()

    async def reset(self) -> None:
        """Alias of :meth:`aclose`, deprecated (a ``DeprecationWarning``) as
        in redis-py."""
        warn_use_aclose("reset")
        await self.aclose()

    def _stop_watching(self) -> None:
        fd, self._watched_fd = self._watched_fd, None
        loop = self._loop
        if fd is not None and loop is not None and not loop.is_closed():
            loop.remove_reader(fd)

    async def __aenter__(self) -> PubSub:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __del__(self) -> None:
        super().__del__()
        fd, loop = getattr(self, "_watched_fd", None), getattr(self, "_loop", None)
        if fd is not None and loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(loop.remove_reader, fd)


class _LoopWaiter:
    """A subscribe's waiter for the managed and ffi transports: the core
    resolves it on a runtime thread, and it hands the outcome to the loop."""

    __slots__ = ("_future", "_loop")

    def __init__(self, loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any]) -> None:
        self._loop = loop
        self._future = future

    def set_result(self, value: Any) -> None:
        self._call(self._future.set_result, value)

    def set_exception(self, error: BaseException) -> None:
        self._call(self._future.set_exception, error)

    def _call(self, resolve: Callable[[Any], object], outcome: Any) -> None:
        def settle() -> None:
            if not self._future.done():  # a cancelled wait
                resolve(outcome)

        # The loop may be closed by now (nobody waits then).
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(settle)
