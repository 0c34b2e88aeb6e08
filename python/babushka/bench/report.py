"""The run's outputs: the table printed on stdout, ``results.json``,
``results.csv`` and ``throughput.png``."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Optional

from babushka.bench.results import CLUSTER, DATA, MAIN, PIPELINE, Cell, Run

COLUMNS = (
    ("client", 30, "<"),
    ("conc", 5, ">"),
    ("TPS", 9, ">"),
    ("p50 ms", 8, ">"),
    ("p90 ms", 8, ">"),
    ("p99 ms", 8, ">"),
    ("CPU ms/1k", 9, ">"),
    ("x redis-py", 10, ">"),
    ("x glide", 7, ">"),
)


def size_label(size: int) -> str:
    if size >= 1 << 20 and size % (1 << 20) == 0:
        return f"{size >> 20} MiB"
    if size >= 1 << 10 and size % (1 << 10) == 0:
        return f"{size >> 10} KiB"
    return f"{size} B"


def _fmt(value: Optional[float], spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _row(values: list[str]) -> str:
    return "  ".join(
        f"{v:{align}{width}}" for v, (_n, width, align) in zip(values, COLUMNS)
    ).rstrip()


def _cell_row(cell: Cell) -> str:
    if not cell.samples:
        return _row([cell.client, str(cell.concurrency), "failed: " + "; ".join(cell.errors)])
    return _row(
        [
            cell.client,
            str(cell.concurrency),
            _fmt(cell.tps, ",.0f"),
            _fmt(cell.latency_ms(0.50), ".3f"),
            _fmt(cell.latency_ms(0.90), ".3f"),
            _fmt(cell.latency_ms(0.99), ".3f"),
            _fmt(cell.cpu_ms_per_1k_ops, ".1f"),
            _fmt(cell.vs_redis_py, ".2f"),
            _fmt(cell.vs_glide, ".2f"),
        ]
    )


def table(run: Run) -> str:
    """Grouped by section, value size and kind; within a group by concurrency,
    so the clients to compare sit on adjacent lines."""
    lines: list[str] = []
    order = {c.name: n for n, c in enumerate(run.clients)}
    groups: dict[tuple[str, int, str], list[Cell]] = {}
    for cell in run.cells:
        groups.setdefault((cell.section, cell.value_size, cell.kind), []).append(cell)
    for (section, size, kind), cells in sorted(
        groups.items(),
        key=lambda g: ([MAIN, DATA, PIPELINE, CLUSTER].index(g[0][0]), g[0][1], g[0][2] != "async"),
    ):
        unit = "tasks" if kind == "async" else "threads"
        if section == PIPELINE:
            batch = run.options.get("pipeline_size", "?")
            lines.append(
                f"== {kind}, pipelines of {batch} commands (half SET, half GET, "
                f"{size_label(size)} values); TPS = commands/s, latency = one batch =="
            )
        else:
            what = {
                DATA: "data-intensive",
                CLUSTER: "80% GET / 20% SET on a 3-primary cluster",
            }.get(section, "80% GET / 20% SET")
            lines.append(f"== {kind}, {size_label(size)} values, {what} (conc = {unit}) ==")
        lines.append(_row([name for name, _w, _a in COLUMNS]))
        previous = None
        for cell in sorted(cells, key=lambda c: (c.concurrency, order.get(c.client, 0))):
            if previous is not None and cell.concurrency != previous:
                lines.append("")
            previous = cell.concurrency
            lines.append(_cell_row(cell))
        lines.append("")
    if run.idle:
        lines.append("== idle: CPU of the process with one connected, idle client ==")
        for idle in run.idle:
            s = idle.summary()
            lines.append(
                f"{idle.client:<30}  {s['cpu_ms']:8.1f} ms over {idle.seconds:g} s"
                f"  ({s['cpu_percent_of_one_core']:.2f}% of a core)"
            )
        lines.append("")
    for note in run.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines).rstrip() + "\n"


def write_json(run: Run, path: Path) -> None:
    path.write_text(json.dumps(run.to_json(), indent=2) + "\n")


def write_csv(run: Run, path: Path) -> None:
    rows = [cell.summary() for cell in run.cells]
    with path.open("w", newline="") as f:
        if not rows:
            return
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def write_chart(run: Run, path: Path) -> None:
    plot_throughput(
        [cell.summary() for cell in run.cells],
        [(spec.name, spec.kind) for spec in run.clients],
        path,
    )


def replot(results_json: Path, path: Path) -> None:
    """Draws ``throughput.png`` again from a ``results.json``."""
    data = json.loads(results_json.read_text())
    plot_throughput(data["cells"], [(c["name"], c["kind"]) for c in data["clients"]], path)


def plot_throughput(
    cells: list[dict[str, Any]], clients: list[tuple[str, str]], path: Path
) -> None:
    """Throughput against concurrency, log-log, one line per client (sync ones
    dashed), one panel per value size of the standard workload. Log-y keeps
    the slow clients readable beside the asyncio ceiling."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = [c for c in cells if c["section"] == MAIN and c["tps"]]
    sizes = sorted({c["value_size"] for c in cells}) or [0]
    fig, axes = plt.subplots(1, len(sizes), figsize=(6 * len(sizes) + 2.5, 5.5), squeeze=False)
    # Yardsticks in black (reference dotted, ceiling dash-dot); every client
    # its own colour (the default cycle has ten, fewer than the clients).
    yardsticks = {"reference-async": ":", "asyncio-ceiling": "-."}
    palette = iter([f"C{i}" for i in range(10)] * 2)  # the tab10 cycle
    colours = {name: "black" if name in yardsticks else next(palette) for name, _ in clients}
    for ax, size in zip(axes[0], sizes):
        for name, kind in clients:
            points = sorted(
                (c["concurrency"], c["tps"])
                for c in cells
                if c["value_size"] == size and c["client"] == name
            )
            if not points:
                continue
            ax.plot(
                [p[0] for p in points],
                [p[1] for p in points],
                marker="o",
                color=colours[name],
                linestyle=yardsticks.get(name, "--" if kind == "sync" else "-"),
                label=name,
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"{size_label(size)} values")
        ax.set_xlabel("concurrency (tasks / threads)")
        ax.set_ylabel("operations per second (log)")
        ax.grid(True, which="both", alpha=0.3)
    # One legend for every panel, beside them, so it never hides a line.
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="center right", fontsize="small")
    fig.suptitle("Babushka benchmark: 80% GET / 20% SET, one client (median of repetitions)")
    fig.tight_layout(rect=(0, 0, 0.82, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
