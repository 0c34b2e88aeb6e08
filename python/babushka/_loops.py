"""Event-loop plumbing for the asyncio client: which loop is running, and a
hook run when a loop shuts down.

A client outlives event loops (``asyncio.run`` twice in a script, a loop per
test, a loop per thread), so whatever it keeps per loop must be found again
from the running loop and let go when that loop ends.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import AsyncGenerator, Callable

#: The running loop or None; asyncio's C accessor, cheaper than
#: ``get_running_loop`` when no loop is a normal answer.
running_loop = asyncio.events._get_running_loop


class ShutdownHook:
    """Calls ``callback`` when the running loop shuts down its asynchronous
    generators, while it can still run callbacks and close transports.

    ``asyncio.run``, ``asyncio.Runner``, pytest-asyncio and uvloop's runner all
    call ``loop.shutdown_asyncgens()`` before ``loop.close()``, and it is the
    only notice a loop gives of its end: the hook is a generator the loop
    knows of (its first step registers it), which the shutdown closes, and
    whose ``finally`` runs the callback. A loop closed without that step gives
    no notice; what the callback would free is then freed when collected.
    Must be made while the loop runs, in its thread.
    """

    __slots__ = ("_callback", "_generator")

    def __init__(self, callback: Callable[[], None]) -> None:
        self._callback: Callable[[], None] | None = callback
        self._generator = self._wait()
        # One step up to the ``yield``: the loop's first-iteration hook
        # records the generator (weakly, hence the reference kept here).
        with contextlib.suppress(StopIteration):
            self._generator.asend(None).send(None)

    async def _wait(self) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            callback, self._callback = self._callback, None
            if callback is not None:
                callback()

    def cancel(self) -> None:
        """Forgets the callback and finishes the generator now, so the loop
        has nothing left to close (or to finalize after it closed)."""
        self._callback = None
        # Not from inside its own ``finally`` (the loop is closing it now).
        if not getattr(self._generator, "ag_running", False):
            with contextlib.suppress(StopIteration, RuntimeError):
                self._generator.aclose().send(None)
