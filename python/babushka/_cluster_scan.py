"""``scan_iter`` on a cluster: one walk over the 16384 slots that survives
resharding and failover.

A ``SCAN`` cursor belongs to one node's keyspace, so a cursor per node breaks
as soon as a slot moves. The walk keeps a slot-coverage cursor instead: the
set of slots whose keys have all been returned. Each round takes the first
slot not yet covered, asks the cluster which primary serves it, and scans that
node from cursor 0 to 0. The node's own ``CLUSTER NODES`` line, read before
and after that scan, decides what the round covered:

- a slot the node served, not migrating, both before and after: every key
  that was in it all along is on the node for the whole scan, so SCAN's
  guarantee holds and the slot is covered;
- a slot the node served before and after but was migrating away after:
  keys only move from the source to the target during a migration, so a key
  the scan of the source missed is on the target; the target is scanned next
  (only that slot's keys kept) and the slot is covered;
- anything else (the slot moved away, the node became a replica in a
  failover, the node went down mid-scan) stays uncovered, and a later round
  scans it again on whichever node serves it then.

So every key that exists for the whole walk is returned at least once (a key
may come twice when its slot is scanned twice; keys of covered slots are
dropped to keep that rare), and the walk ends once the cluster holds still
long enough to scan each primary once.

The walk is written once as a generator of steps (:class:`Ask` a node,
:class:`Keys` to hand out, :class:`Pause`); the sync and async clients each
run it with their own I/O (:func:`run_sync`, :func:`run_async`).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable, Generator, Iterator, Union

from babushka import _core
from babushka import _shapes as S
from babushka.exceptions import ClusterError, ConnectionError, TimeoutError, TryAgainError

SLOTS = 16384
#: Rounds in a row that may fail (a node down, the cluster re-electing)
#: before the walk gives up; with the pauses below, about 10 s, longer than
#: a failover takes with the default node timeout.
MAX_FAILED_ROUNDS = 40
PAUSE = 0.25
#: What a round may fail with and be tried again after a pause.
RETRIABLE = (ConnectionError, TimeoutError, ClusterError, TryAgainError)


@dataclass
class Ask:
    """Send ``words`` (reply ``shape``) to the node named ``node`` (``None``:
    wherever the client sends keyless commands); the reply is sent back."""

    node: str | None
    shape: int
    words: tuple[Any, ...]


@dataclass
class Keys:
    """Keys for the caller."""

    keys: list[Any]


@dataclass
class Pause:
    seconds: float


Step = Union[Ask, Keys, Pause]


@dataclass
class NodeView:
    """What one line of ``CLUSTER NODES`` says of a node."""

    name: str
    primary: bool
    failed: bool
    slots: set[int] = field(default_factory=set)
    #: slot -> id of the node it is migrating to (only on the source's own line).
    migrating: dict[int, str] = field(default_factory=dict)


def parse_nodes(text: Any, asked: str | None) -> tuple[dict[str, NodeView], NodeView | None]:
    """``CLUSTER NODES``: the nodes by id, and the line of the node that
    answered (``myself``). ``asked`` names that node when its own line has no
    address (a node may not know its own IP)."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode()
    views: dict[str, NodeView] = {}
    myself = None
    for line in str(text).splitlines():
        parts = line.split()
        if len(parts) < 8:
            continue
        address = parts[1].split("@")[0].split(",")[0]
        host, _, port = address.rpartition(":")
        flags = parts[2].split(",")
        if not host and asked is not None and "myself" in flags:
            host = asked.rpartition(":")[0]
        view = NodeView(
            f"{host}:{port}",
            primary="master" in flags,
            failed="fail" in flags or "noaddr" in flags,
        )
        for spec in parts[8:]:
            if spec.startswith("["):
                slot, arrow, target = spec.strip("[]").partition("->-")
                if arrow:
                    view.migrating[int(slot)] = target
                continue
            low, _, high = spec.partition("-")
            view.slots.update(range(int(low), int(high or low) + 1))
        views[parts[0]] = view
        if "myself" in flags:
            myself = view
    return views, myself


def walk(options: tuple[Any, ...], encode: Callable[[Any], bytes]) -> Generator[Step, Any, None]:
    """The slot-coverage walk (see the module's doc). ``options`` follow the
    cursor in each ``SCAN`` (MATCH/COUNT/TYPE); ``encode`` turns a returned
    key into the bytes its slot is hashed from."""
    covered = bytearray(SLOTS)
    failed_rounds = 0

    def fresh(keys: list[Any], wanted: set[int] | None = None) -> list[Any]:
        kept = []
        for key in keys:
            slot = _core.keyslot(encode(key))
            if not covered[slot] and (wanted is None or slot in wanted):
                kept.append(key)
        return kept

    def scan(node: str, wanted: set[int] | None) -> Generator[Step, Any, None]:
        cursor = 0
        while True:
            cursor, keys = yield Ask(node, S.SCAN, ("SCAN", cursor, *options))
            kept = fresh(keys, wanted)
            if kept:
                yield Keys(kept)
            if cursor == 0:
                return

    def own_line(node: str) -> Generator[Step, Any, tuple[dict[str, NodeView], NodeView]]:
        views, myself = parse_nodes((yield Ask(node, S.RAW, ("CLUSTER", "NODES"))), node)
        if myself is None:
            raise ClusterError(f"CLUSTER NODES of {node} has no line for the node itself")
        return views, myself

    while True:
        first = covered.find(0)
        if first < 0:
            return
        try:
            views, _ = parse_nodes((yield Ask(None, S.RAW, ("CLUSTER", "NODES"))), None)
            owner = next(
                (v for v in views.values() if v.primary and not v.failed and first in v.slots),
                None,
            )
            if owner is None:
                if any(first in v.slots for v in views.values()):
                    raise ClusterError(f"slot {first} is served by a failed node")
                # No node serves it (a cluster without full coverage): it
                # holds no key to find.
                covered[first] = 1
                continue
            _, before = yield from own_line(owner.name)
            yield from scan(owner.name, None)
            views, after = yield from own_line(owner.name)
        except RETRIABLE:
            failed_rounds += 1
            if failed_rounds > MAX_FAILED_ROUNDS:
                raise
            yield Pause(PAUSE)
            continue
        failed_rounds = 0
        held = before.slots & after.slots if before.primary and after.primary else set()
        for slot in held - before.migrating.keys() - after.migrating.keys():
            covered[slot] = 1
        leaving: dict[str, set[int]] = {}
        for slot, target in after.migrating.items():
            if slot in held and before.migrating.get(slot, target) == target:
                leaving.setdefault(target, set()).add(slot)
        for target_id, slots in leaving.items():
            heir = views.get(target_id)
            if heir is None:
                continue
            try:
                yield from scan(heir.name, slots)
            except RETRIABLE:
                # The next round scans these slots again wherever they are.
                continue
            for slot in slots:
                covered[slot] = 1
        if covered.find(0) == first and first not in held:
            # Nothing covered (the owner changed under the scan): let the
            # cluster settle a moment before the next round.
            yield Pause(PAUSE)


def run_sync(steps: Generator[Step, Any, None], ask: Callable[[Ask], Any]) -> Iterator[Any]:
    """Runs the walk with blocking calls; yields the keys."""
    reply: Any = None
    error: BaseException | None = None
    while True:
        try:
            step = steps.throw(error) if error is not None else steps.send(reply)
        except StopIteration:
            return
        reply, error = None, None
        if isinstance(step, Keys):
            yield from step.keys
        elif isinstance(step, Pause):
            time.sleep(step.seconds)
        else:
            try:
                reply = ask(step)
            except RETRIABLE as failure:
                error = failure


async def run_async(
    steps: Generator[Step, Any, None], ask: Callable[[Ask], Any]
) -> AsyncIterator[Any]:
    """Runs the walk with awaited calls; yields the keys."""
    reply: Any = None
    error: BaseException | None = None
    while True:
        try:
            step = steps.throw(error) if error is not None else steps.send(reply)
        except StopIteration:
            return
        reply, error = None, None
        if isinstance(step, Keys):
            for key in step.keys:
                yield key
        elif isinstance(step, Pause):
            await asyncio.sleep(step.seconds)
        else:
            try:
                reply = await ask(step)
            except RETRIABLE as failure:
                error = failure
