"""The benchmark runs end to end and writes its files.

A smoke test only: it checks the harness, never a timing (timings belong in
the benchmark's output, DESIGN.md). So the standalone runs are shorter still
than ``--quick`` (``SHORT``): what is checked is that every cell ran and
counted operations, and a tenth of a second per cell gives that.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("matplotlib", reason="the bench extra (matplotlib) is not installed")

#: Seconds per cell, its warm-up, and each idle client's watch (--quick: 0.2, 0.05, 0.2).
#: A cell keeps --quick's 0.2 s: every cell must count operations, and a
#: thread of a shorter one may not be scheduled at all on a busy machine.
SHORT = ("--duration", "0.2", "--warmup", "0.01", "--idle-seconds", "0.05")


def _bench(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """``python -m babushka.bench`` with ``args``, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "babushka.bench", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_quick_run_writes_its_files(tmp_path: Path) -> None:
    out = tmp_path / "results"
    completed = _bench("--quick", *SHORT, "--out", str(out), timeout=55)
    assert completed.returncode == 0, completed.stderr[-4000:]
    assert "babushka-async-managed" in completed.stdout

    results = json.loads((out / "results.json").read_text())
    assert results["environment"]["babushka_worker_threads"] >= 1
    names = {c["name"] for c in results["clients"]}
    assert {"babushka-async-managed", "babushka-sync-managed"} <= names
    assert results["cells"], "no cell ran"
    for cell in results["cells"]:
        assert not cell["errors"], cell
        assert cell["tps"] > 0
    assert {i["client"] for i in results["idle"]} >= {"babushka-async-managed"}
    pipelined = {c["client"] for c in results["cells"] if c["section"] == "pipeline"}
    assert {"babushka-async-managed", "babushka-sync-uds", "redis-py-sync"} <= pipelined

    with (out / "results.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(results["cells"])

    png = (out / "throughput.png").read_bytes()
    assert png.startswith(b"\x89PNG")


def test_uvloop_columns(tmp_path: Path) -> None:
    """``--loop asyncio,uvloop``: every async client once per loop, each
    compared with redis-py on the same loop."""
    out = tmp_path / "results"
    completed = _bench(
        "--quick",
        *SHORT,
        "--loop",
        "asyncio,uvloop",
        "--clients",
        "babushka-async-*,redis-py-async*,reference-async*",
        "--data-sizes",
        "",
        "--out",
        str(out),
        timeout=55,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    results = json.loads((out / "results.json").read_text())
    assert results["environment"]["uvloop"]
    loops = {c["name"]: c["loop"] for c in results["clients"]}
    for transport in ("managed", "ffi", "uds"):
        assert loops[f"babushka-async-{transport}"] == "asyncio"
        assert loops[f"babushka-async-{transport}@uvloop"] == "uvloop"
    assert loops["redis-py-async@uvloop"] == "uvloop"
    # uvloop's transports do not subclass asyncio's: the reference client ran too.
    assert loops["reference-async@uvloop"] == "uvloop"
    for cell in results["cells"]:
        assert not cell["errors"], cell
        assert cell["tps"] > 0
        assert cell["vs_redis_py"] is not None, cell
    assert "babushka-async-managed@uvloop" in completed.stdout


def test_bench_rejects_an_unknown_loop() -> None:
    completed = _bench("--loop", "trio", timeout=30)
    assert completed.returncode == 2
    assert "loops are asyncio, uvloop" in completed.stderr


def test_cluster_row(tmp_path: Path) -> None:
    """``--cluster``: a throw-away cluster, each client's cluster client, the
    async row at 100 tasks and the sync row at 10 threads, ratios to redis-py."""
    out = tmp_path / "results"
    completed = _bench(
        "--quick",
        "--cluster",
        "--clients",
        "babushka-*-managed,redis-py-*",
        "--out",
        str(out),
        timeout=90,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    results = json.loads((out / "results.json").read_text())
    cells = {(c["client"], c["concurrency"]): c for c in results["cells"]}
    assert set(cells) == {
        ("babushka-async-managed", 100),
        ("redis-py-async", 100),
        ("babushka-sync-managed", 10),
        ("redis-py-sync", 10),
    }
    for cell in cells.values():
        assert cell["section"] == "cluster"
        assert not cell["errors"], cell
        assert cell["tps"] > 0
    assert cells[("babushka-async-managed", 100)]["vs_redis_py"] > 0
    assert "3-primary cluster" in completed.stdout
