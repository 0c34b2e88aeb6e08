"""What OpenTelemetry instrumentation costs: GET of a 100-byte value, async
(100 tasks, one client) and sync (one thread), in rounds that alternate in
one process, so the machine's noise falls on every mode alike.

    python bench/otel_cost.py --port 6379 --modes off,on      # this build
    python bench/otel_cost.py --port 6379 --modes plain       # any build (main)

``off``: the package imported with ``babushka.instrumentation`` imported and
never switched on; ``on``: instrumented, with the SDK's providers (spans
batched to an exporter that drops them, metrics aggregated in memory);
``plain`` (alone): nothing of the instrumentation touched (works on a build
without it). Prints one JSON line: the median operations per second of each mode
and workload over the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from typing import Any

import babushka
import babushka.asyncio


def _instrument(on: bool) -> None:
    from babushka.instrumentation import BabushkaInstrumentor

    if not on:
        BabushkaInstrumentor().uninstrument()
        return
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    class Drop(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(Drop()))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    BabushkaInstrumentor().instrument(
        tracer_provider=tracer_provider, meter_provider=meter_provider
    )


#: One round's figures: operations per second, and the process's CPU time
#: (every thread's: the core's too) per operation in microseconds, which
#: other processes on a busy machine disturb less than the rate.
Round = tuple[float, float]


def sync_round(client: babushka.Redis, seconds: float) -> Round:
    get = client.get
    done = 0
    cpu = time.process_time()
    start = time.perf_counter()
    end = start + seconds
    while True:
        for _ in range(200):
            get("otel-cost")
        done += 200
        now = time.perf_counter()
        if now >= end:
            return done / (now - start), (time.process_time() - cpu) / done * 1e6


async def async_round(client: babushka.asyncio.Redis, seconds: float, tasks: int) -> Round:
    done = 0
    end = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        get = client.get
        while time.perf_counter() < end:
            for _ in range(50):
                await get("otel-cost")
            done += 50

    cpu = time.process_time()
    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(tasks)))
    return done / (time.perf_counter() - start), (time.process_time() - cpu) / done * 1e6


def calls_per_command(client: babushka.Redis, aclient: babushka.asyncio.Redis) -> dict[str, int]:
    """Python and C function calls one GET makes (``sys.setprofile`` events):
    a count, so no noise at all, of the work added per command."""
    counted = [0]

    def profile(_frame: Any, event: str, _arg: Any) -> None:
        if event in ("call", "c_call"):
            counted[0] += 1

    def count(call: Any) -> int:
        counted[0] = 0
        sys.setprofile(profile)
        try:
            call()
        finally:
            sys.setprofile(None)
        return counted[0] - 1  # the setprofile(None) call itself

    async def count_async() -> int:
        await aclient.get("otel-cost")  # binds the managed sender first
        sent: list[Any] = []
        calls = count(lambda: sent.append(aclient.get("otel-cost")))  # sends; no await
        await sent[0]
        await aclient.aclose()
        return calls - 1  # the list's append

    sync = count(lambda: client.get("otel-cost"))
    send = asyncio.run(count_async())
    return {"sync-get": sync, "async-get-send": send}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--modes", default="off,on")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--transport", default="managed")
    parser.add_argument("--calls", action="store_true", help="count calls per command too")
    args = parser.parse_args()
    modes = args.modes.split(",")
    if "plain" in modes and len(modes) > 1:
        parser.error("plain runs alone: after an 'on' round the clients would still be traced")
    sync_client = babushka.Redis(port=args.port, transport=args.transport)
    sync_client.set("otel-cost", b"x" * 100)
    results: dict[str, list[Round]] = {}

    async def run_async(mode: str) -> None:
        client = babushka.asyncio.Redis(port=args.port, transport=args.transport)
        await async_round(client, 0.3, 100)  # warm-up: connect, bind the sender
        results.setdefault(f"async-100-{mode}", []).append(
            await async_round(client, args.seconds, 100)
        )
        await client.aclose()

    for _ in range(args.rounds):
        for mode in modes:
            if mode != "plain":
                _instrument(mode == "on")
            results.setdefault(f"sync-1-{mode}", []).append(sync_round(sync_client, args.seconds))
            asyncio.run(run_async(mode))
    if "on" in modes:
        _instrument(False)
    rates = {
        name: round(statistics.median(r[0] for r in rounds)) for name, rounds in results.items()
    }
    cpu = {
        name: round(statistics.median(r[1] for r in rounds), 1) for name, rounds in results.items()
    }
    report: dict[str, Any] = {
        "transport": args.transport,
        "median_ops_per_s": rates,
        "median_cpu_us_per_op": cpu,
    }
    if args.calls:
        # Counted with instrumentation as the last mode left it (off unless plain).
        report["calls_per_command"] = calls_per_command(
            sync_client, babushka.asyncio.Redis(port=args.port, transport=args.transport)
        )
    print(json.dumps(report))


if __name__ == "__main__":
    main()
