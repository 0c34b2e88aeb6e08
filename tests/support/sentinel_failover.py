"""A ``SENTINEL FAILOVER`` under steady write load, measured per client.

Each writer sends ``RPUSH <its key> <n>`` for n = 0, 1, 2, ... back to back
(with a pause of a millisecond or more, so the writers leave the two test
CPUs some room) and records when each push was acknowledged. After the
failover the new primary's lists are read back: an acknowledged push
missing there was accepted by the old primary after the replica took over,
and is lost. Asyncio writers (:class:`AsyncGroup`) run on an event loop of
their own thread.
"""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from support.sentinel import Sentinels


@dataclass
class Writer:
    """One client's pushes: ``acked[n]`` is when push ``n`` was acknowledged."""

    name: str
    key: str
    push: Callable[[str, int], Any]
    acked: dict[int, float] = field(default_factory=dict)
    errors: list[tuple[float, str]] = field(default_factory=list)
    pause: float = 0.001

    def run(self, stop: threading.Event) -> None:
        n = 0
        while not stop.is_set():
            try:
                self.push(self.key, n)
                self.acked[n] = time.monotonic()
            except Exception as error:
                self.errors.append((time.monotonic(), f"{type(error).__name__}: {error}"))
            n += 1
            time.sleep(self.pause)

    async def run_async(self, stop: threading.Event) -> None:
        """:meth:`run` for a writer whose ``push`` is a coroutine function."""
        n = 0
        while not stop.is_set():
            try:
                await self.push(self.key, n)
                self.acked[n] = time.monotonic()
            except Exception as error:
                self.errors.append((time.monotonic(), f"{type(error).__name__}: {error}"))
            n += 1
            await asyncio.sleep(self.pause)


@dataclass
class AsyncGroup:
    """Asyncio writers (their ``push`` coroutine functions) run together on
    one event loop in a thread of their own; ``close`` (a coroutine
    function) runs on that loop after they stop (to close the clients)."""

    writers: list[Writer]
    close: Callable[[], Awaitable[Any]]

    def run(self, stop: threading.Event) -> None:
        asyncio.run(self._main(stop))

    async def _main(self, stop: threading.Event) -> None:
        try:
            await asyncio.gather(*(w.run_async(stop) for w in self.writers))
        finally:
            await self.close()


@dataclass
class Figures:
    """What one writer saw through the failover."""

    name: str
    acknowledged: int
    lost: int
    errors: int
    #: The kinds of error seen (class and message), each once.
    error_kinds: list[str]
    #: Seconds from the replica's promotion to the first acknowledged push
    #: from which on every acknowledged push is on the new primary (``None``:
    #: never, within the run).
    on_new_primary_after: float | None
    #: The longest wait between two acknowledged pushes in the run (the
    #: writer's stall through the failover).
    longest_pause: float

    def line(self) -> str:
        landed = (
            "never in the run"
            if self.on_new_primary_after is None
            else f"{self.on_new_primary_after:.2f} s after the promotion"
        )
        return (
            f"{self.name}: {self.lost} of {self.acknowledged} acknowledged writes not on the "
            f"new primary; writes on the new primary from {landed}; longest pause between "
            f"acknowledged writes {self.longest_pause:.2f} s; {self.errors} errors"
            + (f" ({'; '.join(self.error_kinds)})" if self.error_kinds else "")
        )


def fail_over(
    setup: Sentinels,
    writers: list[Writer],
    settle: float,
    *,
    groups: tuple[AsyncGroup, ...] = (),
    before: Callable[[], None] = lambda: None,
    promoted: Callable[[Any, Any], None] = lambda old, new: None,
) -> list[Figures]:
    """Runs the writers (and the asyncio ``groups``' writers), calls
    ``before`` under steady load, fails the service over, calls
    ``promoted(old, new)`` once the replica reports itself primary, keeps
    them writing until ``settle`` seconds after the promotion, and measures
    each (the groups' writers after the others)."""
    old = setup.current_primary()
    new = setup.replica if old is setup.primary else setup.primary
    stop = threading.Event()
    targets = [w.run for w in writers] + [g.run for g in groups]
    threads = [threading.Thread(target=t, args=(stop,), daemon=True) for t in targets]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.0)  # steady load before the failover
        before()
        setup.failover()
        promoted_at = _wait_promoted(setup, new)
        promoted(old, new)
        time.sleep(max(0.0, promoted_at + settle - time.monotonic()))
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
    figures = []
    for writer in [*writers, *(w for g in groups for w in g.writers)]:
        on_new = {int(v) for v in _lrange(setup, new, writer.key)}
        lost = [n for n in writer.acked if n not in on_new]
        figures.append(
            Figures(
                name=writer.name,
                acknowledged=len(writer.acked),
                lost=len(lost),
                errors=len(writer.errors),
                error_kinds=sorted({kind for _, kind in writer.errors}),
                on_new_primary_after=_landed_after(writer, on_new, promoted_at),
                longest_pause=_longest_pause(writer),
            )
        )
    return figures


def _wait_promoted(setup: Sentinels, node: Any, timeout: float = 30.0) -> float:
    return _wait_role(setup, node, "master", timeout)


def _wait_role(setup: Sentinels, node: Any, role: str, timeout: float) -> float:
    """When ``node`` first reports ``role``. A node changing role may not
    answer ``INFO`` for a moment: asked again."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if setup.info(node, "replication").get("role") == role:
                return time.monotonic()
        except (subprocess.SubprocessError, OSError):
            pass
        time.sleep(0.01)
    raise AssertionError(f"{node.host}:{node.port} never reported role {role}")


def _landed_after(writer: Writer, on_new: set[int], promoted: float) -> float | None:
    """From which acknowledged push on every later one is on the new primary."""
    first = None
    for n in sorted(writer.acked, reverse=True):
        if n not in on_new:
            break
        first = n
    if first is None:
        return None
    return max(0.0, writer.acked[first] - promoted)


def _longest_pause(writer: Writer) -> float:
    times = sorted(writer.acked.values())
    return max((b - a for a, b in zip(times, times[1:])), default=0.0)


def _lrange(setup: Sentinels, node: Any, key: str) -> list[str]:
    import redis  # the reference client reads the result: independent of ours

    with redis.Redis(node.host, node.port, decode_responses=True) as reader:
        values: list[str] = reader.lrange(key, 0, -1)
        return values
