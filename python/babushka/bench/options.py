"""Command-line options of ``python -m babushka.bench``."""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

from babushka.bench.loops import LOOPS


@dataclass
class Options:
    """What to run; the defaults are the full benchmark of DESIGN.md."""

    host: Optional[str] = None
    port: Optional[int] = None
    clients: list[str] = field(default_factory=list)
    #: The event loops the async clients run on: asyncio's, uvloop, or both
    #: (a column per loop: ``babushka-async-managed@uvloop``).
    loops: list[str] = field(default_factory=lambda: ["asyncio"])
    concurrency: list[int] = field(default_factory=lambda: [1, 10, 100, 1000])
    sizes: list[int] = field(default_factory=lambda: [100, 4000])
    data_sizes: list[int] = field(default_factory=lambda: [64 << 10, 1 << 20])
    data_concurrency: int = 10
    #: Commands per batch of the pipeline row (half SET, half GET); 0 for none.
    pipeline_size: int = 1000
    duration: float = 2.0
    warmup: float = 0.5
    repetitions: int = 3
    keyspace: int = 10_000
    idle_seconds: float = 3.0
    out: Path = Path("bench/results")
    quick: bool = False
    #: The cluster row instead of the standalone rows: a throw-away cluster,
    #: each client's cluster flavour, async at ``cluster_tasks`` tasks and
    #: sync at ``cluster_threads`` threads, 100-byte values.
    cluster: bool = False
    cluster_tasks: int = 100
    cluster_threads: int = 10


#: --quick: a smoke run for CI that checks the harness works end to end, in seconds.
QUICK = Options(
    concurrency=[1, 10],
    sizes=[100],
    data_sizes=[64 << 10],
    data_concurrency=4,
    pipeline_size=100,
    duration=0.2,
    warmup=0.05,
    repetitions=1,
    keyspace=1000,
    idle_seconds=0.2,
    quick=True,
)
#: The options that --quick changes and an explicit flag overrides.
TUNABLE = (
    "concurrency",
    "sizes",
    "data_sizes",
    "data_concurrency",
    "pipeline_size",
    "duration",
    "warmup",
    "repetitions",
    "keyspace",
    "idle_seconds",
)


def parse_size(text: str) -> int:
    """``100``, ``4000``, ``64k`` (KiB) or ``1m`` (MiB)."""
    text = text.strip().lower()
    scale = {"k": 1 << 10, "m": 1 << 20}.get(text[-1:], 1)
    number = text[:-1] if scale != 1 else text
    try:
        size = int(number) * scale
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r}") from None
    if size < 0:
        raise argparse.ArgumentTypeError(f"size must be >= 0: {text!r}")
    return size


def _list_of(parse: Callable[[str], int]) -> Callable[[str], list[int]]:
    def parse_list(text: str) -> list[int]:
        return [parse(item) for item in text.split(",") if item.strip()]

    return parse_list


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1: {text!r}")
    return value


def _loop_list(text: str) -> list[str]:
    loops = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in loops if name not in LOOPS]
    if not loops or unknown:
        raise argparse.ArgumentTypeError(f"loops are {', '.join(LOOPS)}; got {text!r}")
    return loops


def parse(argv: Optional[Sequence[str]] = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m babushka.bench",
        description="Babushka vs redis-py (vs valkey-glide) on the GLIDE/Babushka workload: "
        "80%% GET (80%% hits), 20%% SET. Starts a throw-away redis-server unless "
        "--host/--port is given.",
    )
    parser.add_argument("--host", help="use this server instead of starting one")
    parser.add_argument("--port", type=int, help="with --host (default 6379)")
    parser.add_argument(
        "--clients",
        default="",
        help="comma-separated names or globs, e.g. 'babushka-async-*,redis-py-async' "
        "(default: every available client)",
    )
    parser.add_argument(
        "--loop",
        type=_loop_list,
        default=["asyncio"],
        help="event loops of the async clients: asyncio, uvloop or asyncio,uvloop "
        "(default asyncio)",
    )
    parser.add_argument(
        "--concurrency", type=_list_of(_positive_int), help="tasks/threads, e.g. 1,10,100,1000"
    )
    parser.add_argument("--sizes", type=_list_of(parse_size), help="value sizes, e.g. 100,4000")
    parser.add_argument(
        "--data-sizes",
        type=_list_of(parse_size),
        help="data-intensive value sizes, e.g. 64k,1m ('' for none)",
    )
    parser.add_argument(
        "--data-concurrency", type=_positive_int, help="concurrency of the data-intensive row"
    )
    parser.add_argument(
        "--pipeline-size",
        type=int,
        help="commands per batch of the pipeline row, half SET, half GET (default 1000; 0: none)",
    )
    parser.add_argument("--duration", type=float, help="measured seconds per cell (default 2)")
    parser.add_argument("--warmup", type=float, help="warm-up seconds per cell (default 0.5)")
    parser.add_argument("--repetitions", type=_positive_int, help="default 3; medians reported")
    parser.add_argument("--keyspace", type=_positive_int, help="existing keys (default 10000)")
    parser.add_argument(
        "--idle-seconds", type=float, help="how long to watch each idle client's CPU (default 3)"
    )
    parser.add_argument("--out", type=Path, default=Path("bench/results"), help="output dir")
    parser.add_argument(
        "--quick", action="store_true", help="a short smoke run (CI): checks it runs, not speed"
    )
    parser.add_argument(
        "--cluster",
        action="store_true",
        help="the cluster row: a throw-away 3-primary cluster (or --host/--port of one), "
        "each client's cluster client, async 100 tasks and sync 10 threads, 100 B values",
    )
    args = parser.parse_args(argv)
    if args.port is not None and args.host is None:
        args.host = "127.0.0.1"
    if args.host is not None and args.port is None:
        args.port = 6379
    options = dataclasses.replace(QUICK) if args.quick else Options()
    for name in TUNABLE:
        if getattr(args, name) is not None:
            setattr(options, name, getattr(args, name))
    options.host = args.host
    options.port = args.port
    options.clients = [c.strip() for c in args.clients.split(",") if c.strip()]
    options.out = args.out
    options.loops = args.loop
    options.cluster = args.cluster
    return options
