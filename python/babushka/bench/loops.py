"""The event loops an async cell can run on: asyncio's own and uvloop's."""

from __future__ import annotations

import asyncio
from typing import Any, Coroutine, TypeVar

T = TypeVar("T")

#: The first is the default, whose clients keep their plain names.
LOOPS = ("asyncio", "uvloop")


def new_loop(name: str) -> asyncio.AbstractEventLoop:
    if name == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def suffix(name: str) -> str:
    """What a client's name gets on this loop: ``babushka-async-managed@uvloop``."""
    return "" if name == LOOPS[0] else f"@{name}"


def run(coro: Coroutine[Any, Any, T], name: str) -> T:
    """``asyncio.run`` on a new loop of ``name`` (Python 3.9 to 3.11 have no
    loop factory for it)."""
    loop = new_loop(name)
    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(coro)
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()
