"""A blocking caller's wait for one reply (sync client, ffi and uds transports)."""

from __future__ import annotations

import threading
from typing import Any


class Waiter:
    """One caller waiting for one outcome, on a lock its producer releases.

    ``set_result``/``set_exception`` are called once, from another thread (a
    runtime callback or the uds reader); ``wait`` blocks with the GIL released.
    """

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
        if self._error is None:
            return self._value
        # Neither the waiter nor this frame keeps the error: its traceback
        # holds the caller's frames, whose locals (a WATCH session's lease)
        # would otherwise wait in a cycle for the collector.
        error, self._error = self._error, None
        try:
            raise error
        finally:
            del error
