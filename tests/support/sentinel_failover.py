"""A ``SENTINEL FAILOVER`` under steady write load, measured per client.

Each writer sends ``RPUSH <its key> <n>`` for n = 0, 1, 2, ... back to back
(with a 1 ms pause, so four writers leave the two test CPUs some room) and
records when each push was acknowledged. After the failover the new
primary's lists are read back: an acknowledged push missing there was
accepted by the old primary after the replica took over, and is lost.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from support.sentinel import Sentinels


@dataclass
class Writer:
    """One client's pushes: ``acked[n]`` is when push ``n`` was acknowledged."""

    name: str
    key: str
    push: Callable[[str, int], Any]
    acked: dict[int, float] = field(default_factory=dict)
    errors: list[tuple[float, str]] = field(default_factory=list)

    def run(self, stop: threading.Event) -> None:
        n = 0
        while not stop.is_set():
            try:
                self.push(self.key, n)
                self.acked[n] = time.monotonic()
            except Exception as error:
                self.errors.append((time.monotonic(), f"{type(error).__name__}: {error}"))
            n += 1
            time.sleep(0.001)


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


def fail_over(setup: Sentinels, writers: list[Writer], settle: float) -> list[Figures]:
    """Runs the writers, fails the service over, keeps them writing until
    ``settle`` seconds after the promotion, and measures each."""
    old = setup.current_primary()
    new = setup.replica if old is setup.primary else setup.primary
    stop = threading.Event()
    threads = [threading.Thread(target=w.run, args=(stop,), daemon=True) for w in writers]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.0)  # steady load before the failover
        setup.failover()
        promoted = _wait_promoted(setup, new)
        time.sleep(settle)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
    figures = []
    for writer in writers:
        on_new = {int(v) for v in _lrange(setup, new, writer.key)}
        lost = [n for n in writer.acked if n not in on_new]
        figures.append(
            Figures(
                name=writer.name,
                acknowledged=len(writer.acked),
                lost=len(lost),
                errors=len(writer.errors),
                error_kinds=sorted({kind for _, kind in writer.errors}),
                on_new_primary_after=_landed_after(writer, on_new, promoted),
                longest_pause=_longest_pause(writer),
            )
        )
    return figures


def _wait_promoted(setup: Sentinels, node: Any, timeout: float = 30.0) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if setup.info(node, "replication").get("role") == "master":
            return time.monotonic()
        time.sleep(0.01)
    raise AssertionError("the replica was not promoted")


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
