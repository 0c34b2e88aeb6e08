"""The asyncio client, :class:`babushka.asyncio.Redis`."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import weakref
from types import TracebackType
from typing import Any, AsyncIterator, Awaitable, Callable, Sequence

from babushka import _core
from babushka._base import ClientBase
from babushka._loops import running_loop
from babushka._pubsub import DEFAULT_MAX_BUFFERED_MESSAGES, HandlerT
from babushka._uds import AsyncStream
from babushka.asyncio.lock import Lock
from babushka.asyncio.pipeline import Pipeline
from babushka.asyncio.pubsub import PubSub
from babushka.commands.base import KeyT, LeaseT, ResponseT, page_items
from babushka.commands.scripting import ScriptTextT
from babushka.exceptions import WatchError
from babushka.script import AsyncScript

#: One completion queue per event loop, shared by every managed client on it,
#: so a loop watches one file descriptor however many clients it has. Held
#: weakly on both sides: the loop's reader and the clients keep a queue alive,
#: and a queue's pending replies keep their loop alive, so a strong value here
#: would pin a closed loop forever.
_queues: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, weakref.ref[_core.CompletionQueue]
] = weakref.WeakKeyDictionary()

# A forked child must not drain the parent's queues: their eventfds are shared
# with the parent, so a drain here would take the parent's wake-ups.
os.register_at_fork(after_in_child=_queues.clear)


def _queue_for(loop: asyncio.AbstractEventLoop) -> _core.CompletionQueue:
    known = _queues.get(loop)
    queue = known() if known is not None else None
    if queue is None:
        queue = _core.CompletionQueue()
        # One wake-up per batch: the fd turns readable when the queue goes from
        # empty to non-empty, and one drain resolves every finished future.
        loop.add_reader(queue.fd(), queue.drain)
        _queues[loop] = weakref.ref(queue)
    return queue


async def _then(reply: Awaitable[Any], parse: Callable[[Any], Any]) -> Any:
    return parse(await reply)


class Redis(ClientBase):
    """An asyncio client, with redis-py's constructor and command methods.

    Command methods return awaitables of the event loop that calls them. A
    client may be used from any loop, one after another (``asyncio.run``
    twice, a loop per test) or at once from loops in several threads: what a
    transport keeps per loop (a completion queue, a uds stream) is found
    again from the running loop, and let go when that loop shuts down.
    """

    #: The uds stream of the loop that sent last, and every loop's.
    _uds: AsyncStream | None = None
    _uds_streams: dict[asyncio.AbstractEventLoop, AsyncStream]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._uds_streams = {}
        if self.transport == "managed":
            # Made on the first command, which starts the core's runtime.
            self._execute = self._bind_and_execute
            self._execute_request = self._bind_and_execute_request
        elif self.transport == "ffi":
            loops = _LastLoop()
            self._execute = _callback_executor(self._core, loops)
            self._execute_request = _callback_request_executor(self._core, loops)
        else:
            self._execute = self._uds_submit
            self._execute_request = self._uds_submit_request

    def _bind(self) -> None:
        # The managed sender replaces ``_execute`` and ``_execute_request``
        # for the rest of the client's life; it follows the running loop.
        sender = self._core.managed_sender(_queue_for)
        self._execute = sender.submit
        self._execute_request = sender.submit_request

    def _bind_and_execute(self, shape: int, *args: Any) -> Any:
        self._bind()
        return self._execute(shape, *args)

    def _bind_and_execute_request(
        self, lease: _core.Lease | None, kind: int, commands: Sequence[tuple[Any, ...]]
    ) -> Any:
        self._bind()
        return self._execute_request(lease, kind, commands)

    def _uds_submit(self, shape: int, *args: Any) -> Any:
        stream = self._uds
        if stream is None or stream.loop is not running_loop():
            stream = self._uds_stream()
        return stream.submit(shape, *args)

    def _uds_submit_request(
        self, lease: _core.UdsLease | None, kind: int, commands: Sequence[tuple[Any, ...]]
    ) -> Any:
        stream = self._uds
        if stream is None or stream.loop is not running_loop():
            stream = self._uds_stream()
        return stream.submit_request(lease, kind, commands)

    def _execute_then(self, parse: Callable[[Any], Any], shape: int, *args: Any) -> ResponseT:
        return _then(self._execute(shape, *args), parse)

    def _lease(self) -> LeaseT:
        if self.transport != "uds":
            return self._core.lease()
        return self._uds_stream().lease()

    def _uds_stream(self) -> AsyncStream:
        """The uds stream of the running loop (leases and subscribers live on
        it), opened on the loop's first use; outside a running loop, the
        last one used."""
        loop = running_loop()
        if loop is None:
            if self._uds is None:
                raise RuntimeError("no running event loop")
            return self._uds
        stream = self._uds_streams.get(loop)
        if stream is None:
            # Streams of loops that closed without shutting down (no notice
            # reached them) are closed now; the others close at their loop's
            # shutdown.
            for old_loop in [old for old in self._uds_streams if old.is_closed()]:
                self._uds_streams.pop(old_loop).close()
            stream = self._uds_streams[loop] = AsyncStream(self._core, loop)
        self._uds = stream
        return stream

    async def _iter_cursor(self, page: Callable[[int], Any]) -> AsyncIterator[Any]:
        cursor = 0
        while True:
            cursor, items = await page(cursor)
            for item in page_items(items):
                yield item
            if cursor == 0:
                return

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> Pipeline:
        """A pipeline: queued commands sent as one request by ``await
        execute()``, in MULTI/EXEC when ``transaction`` is true."""
        return Pipeline(self, transaction, shard_hint)

    def pubsub(
        self,
        ignore_subscribe_messages: bool = False,
        shard_hint: str | None = None,
        *,
        max_buffered_messages: int = DEFAULT_MAX_BUFFERED_MESSAGES,
        on_reconnect: HandlerT | None = None,
    ) -> PubSub:
        """A subscriber (:class:`babushka.asyncio.pubsub.PubSub`); see
        :meth:`babushka.Redis.pubsub`."""
        return PubSub(
            self,
            ignore_subscribe_messages,
            shard_hint,
            max_buffered_messages=max_buffered_messages,
            on_reconnect=on_reconnect,
        )

    def register_script(self, script: ScriptTextT) -> AsyncScript:
        """A callable :class:`~babushka.script.AsyncScript`: ``await
        script(keys=[...], args=[...])`` runs it by its SHA1, loading it when
        the server lacks it."""
        return AsyncScript(self, script)

    def lock(
        self,
        name: KeyT,
        timeout: float | None = None,
        sleep: float = 0.1,
        blocking: bool = True,
        blocking_timeout: float | None = None,
        lock_class: type[Lock] | None = None,
        thread_local: bool = True,
        raise_on_release_error: bool = True,
    ) -> Lock:
        """A distributed :class:`~babushka.asyncio.lock.Lock` on the key
        ``name`` (redis-py's): ``async with r.lock("job", timeout=10): ...``."""
        cls = Lock if lock_class is None else lock_class
        return cls(
            self,
            name,
            timeout=timeout,
            sleep=sleep,
            blocking=blocking,
            blocking_timeout=blocking_timeout,
            thread_local=thread_local,
            raise_on_release_error=raise_on_release_error,
        )

    async def transaction(
        self,
        func: Callable[[Pipeline], Any],
        *watches: KeyT,
        shard_hint: str | None = None,
        value_from_callable: bool = False,
        watch_delay: float | None = None,
    ) -> Any:
        """Runs ``func(pipe)`` (a function or a coroutine function) and the
        transaction it queues, watching ``watches``, until no watched key
        changed under it; see :meth:`babushka.Redis.transaction`."""
        async with self.pipeline(True, shard_hint) as pipe:
            while True:
                try:
                    if watches:
                        await pipe.watch(*watches)
                    func_value = func(pipe)
                    if inspect.isawaitable(func_value):
                        func_value = await func_value
                    exec_value = await pipe.execute()
                    return func_value if value_from_callable else exec_value
                except WatchError:
                    if watch_delay is not None and watch_delay > 0:
                        await asyncio.sleep(watch_delay)

    async def aclose(self) -> None:
        """Closes the connection; later commands raise ``ClientClosedError``."""
        self._core.close()
        for stream in self._uds_streams.values():
            stream.close()

    async def close(self) -> None:
        """Alias of :meth:`aclose`, as in redis-py."""
        await self.aclose()

    async def __aenter__(self) -> Redis:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __del__(self) -> None:
        # The core closes the connections of a client nobody references once
        # its requests in flight are answered (``await Redis().get(k)`` drops
        # the client while its reply is on the way), so nothing to do here
        # but for the uds streams, which live in Python.
        for stream in getattr(self, "_uds_streams", {}).values():
            stream.close()


def _resolve(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


def _reject(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


class _LastLoop:
    """The ffi transport's choice of loop: the running one; outside a running
    loop (``loop.run_until_complete(r.get(k))``), the one that called last."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: asyncio.AbstractEventLoop | None = None

    def __call__(self) -> asyncio.AbstractEventLoop:
        loop = running_loop()
        if loop is not None:
            self._last = loop
            return loop
        if self._last is None:
            raise RuntimeError("no running event loop")
        return self._last


def _callback_future(
    loop: asyncio.AbstractEventLoop,
) -> tuple[asyncio.Future[Any], Callable[[Any], None], Callable[[BaseException], None]]:
    """A future of ``loop`` and the two callbacks a runtime thread calls."""
    future = loop.create_future()
    call_soon_threadsafe = loop.call_soon_threadsafe

    # A reply can outlive its loop (a cancelled request answered after
    # the loop closed); nobody awaits it then, so it is dropped.
    def on_success(value: Any) -> None:
        with contextlib.suppress(RuntimeError):
            call_soon_threadsafe(_resolve, future, value)

    def on_failure(error: BaseException) -> None:
        with contextlib.suppress(RuntimeError):
            call_soon_threadsafe(_reject, future, error)

    return future, on_success, on_failure


def _cancel_with(future: asyncio.Future[Any], cancel: _core.Cancel | None) -> None:
    """Closes a request's dedicated connection if its future is cancelled."""
    if cancel is not None:
        future.add_done_callback(lambda done: cancel() if done.cancelled() else None)


def _callback_executor(core: _core.Client, loops: _LastLoop) -> Callable[..., Any]:
    """The ffi transport: a runtime thread calls back, and hands the outcome to
    the caller's loop with ``call_soon_threadsafe`` (one loop wake-up per reply)."""
    call = core.call

    def execute(shape: int, *args: Any) -> Any:
        future, on_success, on_failure = _callback_future(loops())
        _cancel_with(future, call(on_success, on_failure, shape, *args))
        return future

    return execute


def _callback_request_executor(core: _core.Client, loops: _LastLoop) -> Callable[..., Any]:
    """The ffi transport's ``execute_request``: as ``_callback_executor``."""
    call_request = core.call_request

    def execute_request(
        lease: _core.Lease | None, kind: int, commands: Sequence[tuple[Any, ...]]
    ) -> Any:
        future, on_success, on_failure = _callback_future(loops())
        _cancel_with(future, call_request(on_success, on_failure, lease, kind, commands))
        return future

    return execute_request
