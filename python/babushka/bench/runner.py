"""Runs cells: one client object, one value size, one concurrency, a warm-up
and then a measured stretch of fixed duration.

Async clients run ``concurrency`` asyncio tasks on a fresh event loop; sync
clients run ``concurrency`` threads sharing the client. Both loops do the same
work per operation: read the next pre-drawn operation, take a timestamp, call
the client, record the latency.

CPU time is ``getrusage(RUSAGE_SELF)`` (user + system) over the measured
stretch: every thread of this process counts, including Babushka's and GLIDE's
Rust runtime threads, which is the honest cost of a client.
"""

from __future__ import annotations

import asyncio
import gc
import resource
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from babushka.bench import loops
from babushka.bench.clients import AsyncHandle, ClientSpec, SyncHandle
from babushka.bench.workload import Workload

PROBE_KEY = b"bench:probe"
PROBE_VALUE = b"probe-value"


@dataclass
class Sample:
    """One measured stretch of one cell."""

    ops: int
    seconds: float
    cpu_seconds: float
    latencies_ns: list[int] = field(repr=False)

    @property
    def tps(self) -> float:
        return self.ops / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_ms_per_1k_ops(self) -> float:
        return self.cpu_seconds * 1e6 / self.ops if self.ops else 0.0

    def percentile_ms(self, q: float) -> float:
        """The ``q`` quantile (nearest rank) of the latencies, in milliseconds."""
        lat = self.latencies_ns
        if not lat:
            return 0.0
        return lat[min(len(lat) - 1, int(q * len(lat)))] / 1e6


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _finish(ops: int, seconds: float, cpu: float, per_worker: list[list[int]]) -> Sample:
    latencies = [x for worker in per_worker for x in worker]
    latencies.sort()
    return Sample(ops, seconds, cpu, latencies)


# async


async def _async_worker(
    get: Callable[[bytes], Awaitable[Any]],
    set_: Callable[[bytes, bytes], Awaitable[Any]],
    workload: Workload,
    start: int,
    running: list[bool],
    latencies: list[int],
) -> None:
    is_get = workload.is_get
    keys = workload.keys
    value = workload.value
    size = len(keys)
    clock = time.perf_counter_ns
    record = latencies.append
    i = start
    while running[0]:
        key = keys[i]
        began = clock()
        if is_get[i]:
            await get(key)
        else:
            await set_(key, value)
        record(clock() - began)
        i += 1
        if i == size:
            i = 0


async def _drive_async(
    handle: AsyncHandle, workload: Workload, concurrency: int, duration: float
) -> Sample:
    running = [True]
    per_worker: list[list[int]] = [[] for _ in range(concurrency)]
    loop = asyncio.get_running_loop()
    # Tasks only start running at the next await, so creating them stays
    # outside the measured stretch.
    tasks = [
        loop.create_task(
            _async_worker(
                handle.get,
                handle.set,
                workload,
                workload.offset(n, concurrency),
                running,
                per_worker[n],
            )
        )
        for n in range(concurrency)
    ]
    cpu_before = cpu_seconds()
    began = time.perf_counter()
    loop.call_later(duration, running.__setitem__, 0, False)
    try:
        await asyncio.gather(*tasks)
    finally:
        running[0] = False
    seconds = time.perf_counter() - began
    cpu = cpu_seconds() - cpu_before
    return _finish(sum(map(len, per_worker)), seconds, cpu, per_worker)


async def _async_cell(
    spec: ClientSpec,
    host: str,
    port: int,
    workload: Workload,
    concurrency: int,
    duration: float,
    warmup: float,
) -> Sample:
    assert spec.open_async is not None
    handle = await spec.open_async(host, port)
    try:
        if warmup > 0:
            await _drive_async(handle, workload, concurrency, warmup)
        gc.collect()
        return await _drive_async(handle, workload, concurrency, duration)
    finally:
        await handle.close()


# sync


def _sync_worker(
    handle: SyncHandle,
    workload: Workload,
    start: int,
    go: threading.Event,
    running: list[bool],
    latencies: list[int],
    errors: list[BaseException],
) -> None:
    get = handle.get
    set_ = handle.set
    is_get = workload.is_get
    keys = workload.keys
    value = workload.value
    size = len(keys)
    clock = time.perf_counter_ns
    record = latencies.append
    i = start
    go.wait()
    try:
        while running[0]:
            key = keys[i]
            began = clock()
            if is_get[i]:
                get(key)
            else:
                set_(key, value)
            record(clock() - began)
            i += 1
            if i == size:
                i = 0
    except BaseException as error:
        errors.append(error)
        running[0] = False


def _drive_threads(
    handle: SyncHandle, workload: Workload, concurrency: int, duration: float
) -> Sample:
    running = [True]
    go = threading.Event()
    errors: list[BaseException] = []
    per_worker: list[list[int]] = [[] for _ in range(concurrency)]
    threads = [
        threading.Thread(
            target=_sync_worker,
            args=(
                handle,
                workload,
                workload.offset(n, concurrency),
                go,
                running,
                per_worker[n],
                errors,
            ),
            daemon=True,
        )
        for n in range(concurrency)
    ]
    # Every thread exists and waits on `go` before the clock starts.
    for thread in threads:
        thread.start()
    cpu_before = cpu_seconds()
    began = time.perf_counter()
    go.set()
    time.sleep(duration)
    running[0] = False
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    cpu = cpu_seconds() - cpu_before
    if errors:
        raise errors[0]
    return _finish(sum(map(len, per_worker)), seconds, cpu, per_worker)


def _sync_cell(
    spec: ClientSpec,
    host: str,
    port: int,
    workload: Workload,
    concurrency: int,
    duration: float,
    warmup: float,
) -> Sample:
    assert spec.open_sync is not None
    handle = spec.open_sync(host, port)
    try:
        if warmup > 0:
            _drive_threads(handle, workload, concurrency, warmup)
        gc.collect()
        return _drive_threads(handle, workload, concurrency, duration)
    finally:
        handle.close()


# pipelines: one caller sending batches back to back


def _batch_keys(workload: Workload, size: int) -> list[bytes]:
    """The keys of one batch of ``size`` commands (a SET and a GET each)."""
    return [workload.keys[i % len(workload.keys)] for i in range(size // 2)]


def _check_batch(replies: list[Any], keys: list[bytes], value: bytes) -> None:
    # Every GET must see its SET: a batch that came back short or crossed
    # would make the row's number meaningless.
    if len(replies) != 2 * len(keys) or replies[1] != value or replies[-1] != value:
        raise RuntimeError(f"a batch of {2 * len(keys)} commands answered {len(replies)} replies")


async def _async_batches(
    spec: ClientSpec, host: str, port: int, workload: Workload, size: int, duration: float
) -> Sample:
    assert spec.open_async is not None
    handle = await spec.open_async(host, port)
    batch = handle.batch
    if batch is None:
        await handle.close()
        raise NotImplementedError(f"{spec.name} has no pipeline")
    keys = _batch_keys(workload, size)
    value = workload.value
    latencies: list[int] = []
    clock = time.perf_counter_ns
    try:
        _check_batch(await batch(keys, value), keys, value)  # warm-up and check
        gc.collect()
        cpu_before = cpu_seconds()
        began = time.perf_counter()
        end = began + duration
        while time.perf_counter() < end:
            started = clock()
            await batch(keys, value)
            latencies.append(clock() - started)
        seconds = time.perf_counter() - began
        cpu = cpu_seconds() - cpu_before
    finally:
        await handle.close()
    return _finish(len(latencies) * 2 * len(keys), seconds, cpu, [latencies])


def _sync_batches(
    spec: ClientSpec, host: str, port: int, workload: Workload, size: int, duration: float
) -> Sample:
    assert spec.open_sync is not None
    handle = spec.open_sync(host, port)
    batch = handle.batch
    if batch is None:
        handle.close()
        raise NotImplementedError(f"{spec.name} has no pipeline")
    keys = _batch_keys(workload, size)
    value = workload.value
    latencies: list[int] = []
    clock = time.perf_counter_ns
    try:
        _check_batch(batch(keys, value), keys, value)
        gc.collect()
        cpu_before = cpu_seconds()
        began = time.perf_counter()
        end = began + duration
        while time.perf_counter() < end:
            started = clock()
            batch(keys, value)
            latencies.append(clock() - started)
        seconds = time.perf_counter() - began
        cpu = cpu_seconds() - cpu_before
    finally:
        handle.close()
    return _finish(len(latencies) * 2 * len(keys), seconds, cpu, [latencies])


def run_cell(
    spec: ClientSpec,
    host: str,
    port: int,
    workload: Workload,
    concurrency: int,
    duration: float,
    warmup: float,
    batch_size: int = 0,
) -> Sample:
    """Opens a client, warms it up, measures it for ``duration`` seconds, closes it.

    With ``batch_size``, one caller sends pipelines of that many commands back
    to back instead (``concurrency`` is then 1): the sample's operations are
    commands and its latencies are whole batches'."""
    if batch_size:
        if spec.kind == "async":
            return loops.run(
                _async_batches(spec, host, port, workload, batch_size, duration), spec.loop
            )
        return _sync_batches(spec, host, port, workload, batch_size, duration)
    if spec.kind == "async":
        return loops.run(
            _async_cell(spec, host, port, workload, concurrency, duration, warmup), spec.loop
        )
    return _sync_cell(spec, host, port, workload, concurrency, duration, warmup)


# probing and idle CPU


def _check_probe(spec: ClientSpec, reply: Any) -> None:
    if spec.real and reply != PROBE_VALUE:
        raise RuntimeError(f"GET returned {reply!r} after SET of {PROBE_VALUE!r}")


async def _async_idle(spec: ClientSpec, host: str, port: int, seconds: float) -> float:
    assert spec.open_async is not None
    handle = await spec.open_async(host, port)
    try:
        await handle.set(PROBE_KEY, PROBE_VALUE)
        _check_probe(spec, await handle.get(PROBE_KEY))
        if seconds <= 0:
            return 0.0
        before = cpu_seconds()
        await asyncio.sleep(seconds)
        return cpu_seconds() - before
    finally:
        await handle.close()


def _sync_idle(spec: ClientSpec, host: str, port: int, seconds: float) -> float:
    assert spec.open_sync is not None
    handle = spec.open_sync(host, port)
    try:
        handle.set(PROBE_KEY, PROBE_VALUE)
        _check_probe(spec, handle.get(PROBE_KEY))
        if seconds <= 0:
            return 0.0
        before = cpu_seconds()
        time.sleep(seconds)
        return cpu_seconds() - before
    finally:
        handle.close()


def probe_and_idle(spec: ClientSpec, host: str, port: int, seconds: float) -> float:
    """Opens the client, checks a SET/GET round trip (so a client that does not
    really talk to the server cannot be measured), then returns the CPU seconds
    the process burns over ``seconds`` with the client connected and idle.

    Raises whatever the client raises, e.g. ``NotImplementedError`` for a
    transport that is not built yet.
    """
    if spec.kind == "async":
        return loops.run(_async_idle(spec, host, port, seconds), spec.loop)
    return _sync_idle(spec, host, port, seconds)
