"""The synchronous client, :class:`Redis`."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any, Callable, Iterator, Sequence

from babushka import _core
from babushka._base import ClientBase
from babushka._pubsub import DEFAULT_MAX_BUFFERED_MESSAGES, HandlerT
from babushka._uds import SyncStream
from babushka._waiter import Waiter
from babushka.commands.base import KeyT, LeaseT, ResponseT, page_items
from babushka.commands.scripting import ScriptTextT
from babushka.exceptions import RedisError, WatchError
from babushka.lock import Lock
from babushka.pipeline import Pipeline
from babushka.pubsub import PubSub
from babushka.script import Script


class Redis(ClientBase):
    """A synchronous client, with redis-py's constructor and command methods.

    One client serves any number of threads: each call waits (with the GIL
    released) for its own reply while other threads' requests share the same
    pipelined connection.
    """

    #: The stream to the socket listener, on the uds transport.
    _uds: SyncStream | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.transport == "managed":
            # The bound native method itself: no Python frame between the
            # command method and the core.
            self._execute = self._core.execute
            self._execute_request = self._core.execute_request
        elif self.transport == "ffi":
            self._execute = _callback_executor(self._core)
            self._execute_request = _callback_request_executor(self._core)
        else:
            self._uds = SyncStream(self._core)
            self._execute = self._uds.execute
            self._execute_request = self._uds.execute_request

    def _execute_then(self, parse: Callable[[Any], Any], shape: int, *args: Any) -> ResponseT:
        return parse(self._execute(shape, *args))

    def _execute_outcome(
        self, settle: Callable[[Any, BaseException | None], Any], shape: int, *args: Any
    ) -> ResponseT:
        try:
            reply = self._execute(shape, *args)
        except RedisError as error:
            return settle(None, error)
        return settle(reply, None)

    def _lease(self) -> LeaseT:
        if self._uds is not None:
            return self._uds.lease()
        return self._core.lease()

    def _iter_cursor(self, page: Callable[[int], Any]) -> Iterator[Any]:
        cursor = 0
        while True:
            cursor, items = page(cursor)
            yield from page_items(items)
            if cursor == 0:
                return

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> Pipeline:
        """A pipeline: queued commands sent as one request by ``execute()``,
        in MULTI/EXEC when ``transaction`` is true."""
        return Pipeline(self, transaction, shard_hint)

    def pubsub(
        self,
        ignore_subscribe_messages: bool = False,
        shard_hint: str | None = None,
        *,
        max_buffered_messages: int = DEFAULT_MAX_BUFFERED_MESSAGES,
        on_reconnect: HandlerT | None = None,
    ) -> PubSub:
        """A subscriber (:class:`babushka.pubsub.PubSub`): a connection of its
        own, opened on its first command, restored with its subscriptions after
        a lost connection. At most ``max_buffered_messages`` published messages
        wait unread; more drop the oldest. ``on_reconnect(message)`` is called
        after every restore."""
        return PubSub(
            self,
            ignore_subscribe_messages,
            shard_hint,
            max_buffered_messages=max_buffered_messages,
            on_reconnect=on_reconnect,
        )

    def register_script(self, script: ScriptTextT) -> Script:
        """A callable :class:`~babushka.script.Script`: ``script(keys=[...],
        args=[...])`` runs it by its SHA1, loading it when the server lacks it."""
        return Script(self, script)

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
        """A distributed :class:`~babushka.lock.Lock` on the key ``name``
        (redis-py's): ``with r.lock("job", timeout=10): ...``. ``lock_class``
        makes another class's (one taking the same arguments)."""
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

    def transaction(
        self,
        func: Callable[[Pipeline], Any],
        *watches: KeyT,
        shard_hint: str | None = None,
        value_from_callable: bool = False,
        watch_delay: float | None = None,
    ) -> Any:
        """Runs ``func(pipe)`` and the transaction it queues, watching
        ``watches``, until no watched key changed under it (redis-py's retry
        loop: ``func`` reads with the pipeline, calls ``pipe.multi()``, queues).

        Returns ``execute()``'s results, or ``func``'s value with
        ``value_from_callable``; ``watch_delay`` seconds pass between tries.
        """
        with self.pipeline(True, shard_hint) as pipe:
            while True:
                try:
                    if watches:
                        pipe.watch(*watches)
                    func_value = func(pipe)
                    exec_value = pipe.execute()
                    return func_value if value_from_callable else exec_value
                except WatchError:
                    if watch_delay is not None and watch_delay > 0:
                        time.sleep(watch_delay)

    def close(self) -> None:
        """Closes the connection; later commands raise ``ClientClosedError``."""
        self._core.close()
        if self._uds is not None:
            self._uds.close()

    def __enter__(self) -> Redis:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        core = getattr(self, "_core", None)
        if core is not None:
            core.close()
        if self._uds is not None:
            self._uds.close()


def _callback_executor(core: _core.Client) -> Callable[..., Any]:
    """The ffi transport: the core calls back on a runtime thread; we wait for it."""
    call = core.call

    def execute(shape: int, *args: Any) -> Any:
        waiter = Waiter()
        call(waiter.set_result, waiter.set_exception, shape, *args)
        return waiter.wait()

    return execute


def _callback_request_executor(core: _core.Client) -> Callable[..., Any]:
    """The ffi transport's ``execute_request``: as ``_callback_executor``."""
    call_request = core.call_request

    def execute_request(
        lease: _core.Lease | None, kind: int, commands: Sequence[tuple[Any, ...]]
    ) -> Any:
        waiter = Waiter()
        call_request(waiter.set_result, waiter.set_exception, lease, kind, commands)
        return waiter.wait()

    return execute_request
