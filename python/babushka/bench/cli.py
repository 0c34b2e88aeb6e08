"""``python -m babushka.bench``: start a server, probe the clients, run every
cell round-robin over the clients, then print and write the results."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import fnmatch
import importlib.metadata
import os
import platform
import signal
import sys
from typing import Any, Optional, Sequence

import babushka
from babushka.bench import options as cli_options
from babushka.bench import report
from babushka.bench.clients import ClientSpec, discover
from babushka.bench.cluster import ThrowawayCluster, seed_cluster
from babushka.bench.results import CLUSTER, DATA, MAIN, PIPELINE, Cell, Idle, Run
from babushka.bench.runner import probe_and_idle, run_cell
from babushka.bench.server import ThrowawayServer, seed, server_version
from babushka.bench.workload import Workload

#: The families compared on the data-intensive row (large values): the
#: transports against redis-py (and GLIDE when present).
DATA_FAMILIES = ("babushka", "redis-py", "glide")


class Progress:
    """A one-line counter on stderr (a line per step when stderr is not a terminal)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self._tty = sys.stderr.isatty()

    def step(self, label: str) -> None:
        self.done += 1
        text = f"[{self.done:>4}/{self.total}] {label}"
        if self._tty:
            sys.stderr.write(f"\r\033[K{text}")
        else:
            sys.stderr.write(text + "\n")
        sys.stderr.flush()

    def finish(self) -> None:
        if self._tty:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _select(specs: list[ClientSpec], patterns: list[str]) -> list[ClientSpec]:
    if not patterns:
        return specs
    return [s for s in specs if any(fnmatch.fnmatchcase(s.name, p) for p in patterns)]


def _version(distribution: str) -> Optional[str]:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _environment(host: str, port: int, own_server: bool) -> dict[str, Any]:
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": platform.machine(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpus_available": len(os.sched_getaffinity(0)),
        "babushka": babushka.__version__,
        "babushka_worker_threads": babushka.worker_threads(),
        "uvloop": _version("uvloop"),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "redis_py": _version("redis"),
        "hiredis": _version("hiredis"),
        "valkey_glide": _version("valkey-glide"),
        "valkey_glide_sync": _version("valkey-glide-sync"),
        "server": server_version(host, port),
        "server_address": f"{host}:{port}",
        "throwaway_server": own_server,
    }


def _plan(
    options: cli_options.Options, specs: list[ClientSpec]
) -> list[tuple[str, int, list[int], list[ClientSpec]]]:
    """(section, value size, concurrencies, clients) in the order they run."""
    if options.cluster:
        return [
            (CLUSTER, 100, [options.cluster_tasks], [s for s in specs if s.kind == "async"]),
            (CLUSTER, 100, [options.cluster_threads], [s for s in specs if s.kind == "sync"]),
        ]
    plan = [(MAIN, size, options.concurrency, specs) for size in options.sizes]
    data_specs = [s for s in specs if s.family in DATA_FAMILIES]
    if data_specs:
        plan += [
            (DATA, size, [options.data_concurrency], data_specs) for size in options.data_sizes
        ]
    # The pipeline row: clients with a pipeline API, 100-byte values, one caller.
    if data_specs and options.pipeline_size:
        plan.append((PIPELINE, 100, [1], data_specs))
    return plan


def _probe(
    specs: list[ClientSpec], host: str, port: int, seconds: float, notes: list[str]
) -> tuple[list[ClientSpec], list[Idle]]:
    """The clients that pass a SET/GET round trip, and their idle CPU."""
    usable: list[ClientSpec] = []
    idle: list[Idle] = []
    progress = Progress(len(specs))
    for spec in specs:
        progress.step(f"probe + idle CPU: {spec.name}")
        watch = seconds if spec.real else 0.0
        try:
            cpu = probe_and_idle(spec, host, port, watch)
        except NotImplementedError as error:
            notes.append(f"{spec.name} skipped: not implemented yet ({error})")
            continue
        except Exception as error:
            notes.append(f"{spec.name} skipped: its SET/GET probe failed: {error!r}")
            continue
        usable.append(spec)
        if spec.real:
            idle.append(Idle(spec.name, watch, cpu))
    progress.finish()
    return usable, idle


def _measure(
    options: cli_options.Options, specs: list[ClientSpec], host: str, port: int
) -> list[Cell]:
    plan = _plan(options, specs)
    workloads = {size: Workload.build(size, options.keyspace) for _s, size, _c, _p in plan}
    cells: dict[tuple[str, int, int, str], Cell] = {}
    for section, size, concurrencies, clients in plan:
        for concurrency in concurrencies:
            for spec in clients:
                cells[(section, size, concurrency, spec.name)] = Cell(
                    section,
                    size,
                    concurrency,
                    spec.name,
                    spec.family,
                    spec.kind,
                    spec.transport,
                    spec.loop,
                )
    progress = Progress(len(cells) * options.repetitions)
    for repetition in range(options.repetitions):
        for section, size, concurrencies, clients in plan:
            workload = workloads[size]
            (seed_cluster if options.cluster else seed)(
                host, port, workload.keyspace, workload.value
            )
            # Round-robin over the clients inside each repetition, starting
            # from a different client each time, so drift in the machine's
            # state (heat, other load) spreads over every client.
            shift = repetition % len(clients)
            rotated = clients[shift:] + clients[:shift]
            for concurrency in concurrencies:
                for spec in rotated:
                    progress.step(
                        f"rep {repetition + 1}/{options.repetitions}  "
                        f"{report.size_label(size):>7}  conc {concurrency:>4}  {spec.name}"
                    )
                    cell = cells[(section, size, concurrency, spec.name)]
                    try:
                        sample = run_cell(
                            spec,
                            host,
                            port,
                            workload,
                            concurrency,
                            options.duration,
                            options.warmup,
                            options.pipeline_size if section == PIPELINE else 0,
                        )
                    except Exception as error:
                        cell.errors.append(repr(error))
                    else:
                        cell.samples.append(sample)
    progress.finish()
    return list(cells.values())


def _terminate(signum: int, frame: object) -> None:
    # SystemExit unwinds through the ExitStack, which stops the server.
    sys.exit(128 + signum)


def main(argv: Optional[Sequence[str]] = None) -> int:
    options = cli_options.parse(argv)
    signal.signal(signal.SIGTERM, _terminate)
    options.out.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        if options.host is None:
            server: ThrowawayServer | ThrowawayCluster = (
                ThrowawayCluster() if options.cluster else ThrowawayServer()
            )
            stack.callback(server.stop)
            host, port, own_server = server.host, server.port, True
        else:
            assert options.port is not None
            host, port, own_server = options.host, options.port, False
        specs, notes = discover(options.loops, options.cluster)
        specs = _select(specs, options.clients)
        if not specs:
            print(f"no client matches --clients {','.join(options.clients)}", file=sys.stderr)
            return 2
        environment = _environment(host, port, own_server)
        specs, idle = _probe(specs, host, port, options.idle_seconds, notes)
        if not specs:
            print("no client could run; see the notes:", *notes, sep="\n", file=sys.stderr)
            return 1
        cells = _measure(options, specs, host, port)
    if options.quick:
        notes.append("--quick smoke run: the figures are not meaningful")
    run = Run(
        environment=environment,
        options={k: (str(v) if k == "out" else v) for k, v in dataclasses.asdict(options).items()},
        clients=specs,
        cells=cells,
        idle=idle,
        notes=notes,
    )
    run.compute_ratios()
    report.write_json(run, options.out / "results.json")
    report.write_csv(run, options.out / "results.csv")
    try:
        report.write_chart(run, options.out / "throughput.png")
    except ImportError:
        run.notes.append("matplotlib is not installed: no throughput.png")
    sys.stdout.write(report.table(run))
    print(f"\nwrote {options.out}/results.json, results.csv, throughput.png", file=sys.stderr)
    return 0
