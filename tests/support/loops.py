"""The event loop implementations the suite runs on: asyncio's own and
uvloop (the test extra installs it).

A module (or test) marked ``every_loop`` runs its async tests once per loop
(pytest-asyncio's loop factories, ``conftest.py``); the rest run on asyncio's.
``BABUSHKA_TEST_LOOPS=asyncio`` (default ``asyncio,uvloop``) narrows it.
"""

from __future__ import annotations

import asyncio
import os
from typing import Callable

LOOP_KINDS = ("asyncio", "uvloop")


def _uvloop_factory() -> asyncio.AbstractEventLoop:
    import uvloop

    return uvloop.new_event_loop()


LOOP_FACTORIES: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop,
    "uvloop": _uvloop_factory,
}


def selected_loops() -> list[str]:
    raw = os.environ.get("BABUSHKA_TEST_LOOPS", ",".join(LOOP_KINDS))
    loops = [name.strip() for name in raw.split(",") if name.strip()]
    if not loops or any(name not in LOOP_KINDS for name in loops):
        raise ValueError(
            f"BABUSHKA_TEST_LOOPS={raw!r}: expected a comma-separated list of "
            f"{', '.join(LOOP_KINDS)}"
        )
    return loops
