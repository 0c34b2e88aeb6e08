"""The synchronous client, :class:`Redis`."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any, Callable, Iterator

from babushka import _core
from babushka._base import ClientBase
from babushka.commands.base import ResponseT, page_items


class Redis(ClientBase):
    """A synchronous client, with redis-py's constructor and command methods.

    One client serves any number of threads: each call waits (with the GIL
    released) for its own reply while other threads' requests share the same
    pipelined connection.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.transport == "managed":
            # The bound native method itself: no Python frame between the
            # command method and the core.
            self._execute = self._core.execute
        elif self.transport == "ffi":
            self._execute = _callback_executor(self._core)
        else:
            raise NotImplementedError("the uds transport is not available yet")

    def _execute_then(self, parse: Callable[[Any], Any], shape: int, *args: Any) -> ResponseT:
        return parse(self._execute(shape, *args))

    def _iter_cursor(self, page: Callable[[int], Any]) -> Iterator[Any]:
        cursor = 0
        while True:
            cursor, items = page(cursor)
            yield from page_items(items)
            if cursor == 0:
                return

    def close(self) -> None:
        """Closes the connection; later commands raise ``ClientClosedError``."""
        self._core.close()

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


class _Waiter:
    """One caller waiting for one callback, on a lock released by the callback."""

    __slots__ = ("_error", "_lock", "_value")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()
        self._value: Any = None
        self._error: BaseException | None = None

    def set_result(self, value: Any) -> None:
        self._value = value
        self._lock.release()

    def set_exception(self, error: BaseException) -> None:
        self._error = error
        self._lock.release()

    def wait(self) -> Any:
        self._lock.acquire()
        if self._error is not None:
            raise self._error
        return self._value


def _callback_executor(core: _core.Client) -> Callable[..., Any]:
    """The ffi transport: the core calls back on a runtime thread; we wait for it."""
    call = core.call

    def execute(shape: int, *args: Any) -> Any:
        waiter = _Waiter()
        call(waiter.set_result, waiter.set_exception, shape, *args)
        return waiter.wait()

    return execute
