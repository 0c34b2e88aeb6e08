"""What a run produced: per-cell medians over repetitions, ratios to redis-py
and GLIDE, idle CPU, and the environment."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any, Optional

from babushka.bench.clients import ClientSpec
from babushka.bench.loops import suffix
from babushka.bench.runner import Sample

#: The sections of the report: the standard workload, the data-intensive row,
#: and the pipeline row (each operation a batch; TPS counts its commands).
MAIN = "main"
DATA = "data"
PIPELINE = "pipeline"
CLUSTER = "cluster"


@dataclass
class Cell:
    """One (section, value size, concurrency, client) cell and its repetitions."""

    section: str
    value_size: int
    concurrency: int
    client: str
    family: str
    kind: str
    transport: str
    #: The event loop of an async cell (compared with redis-py's on the same loop).
    loop: str = "asyncio"
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    vs_redis_py: Optional[float] = None
    vs_glide: Optional[float] = None

    def _median(self, values: list[float]) -> Optional[float]:
        return statistics.median(values) if values else None

    @property
    def tps(self) -> Optional[float]:
        return self._median([s.tps for s in self.samples])

    def latency_ms(self, q: float) -> Optional[float]:
        return self._median([s.percentile_ms(q) for s in self.samples])

    @property
    def cpu_ms_per_1k_ops(self) -> Optional[float]:
        return self._median([s.cpu_ms_per_1k_ops for s in self.samples])

    def summary(self) -> dict[str, Any]:
        """The cell's figures, flat (one CSV row)."""
        return {
            "section": self.section,
            "value_size": self.value_size,
            "concurrency": self.concurrency,
            "client": self.client,
            "family": self.family,
            "kind": self.kind,
            "transport": self.transport,
            "loop": self.loop,
            "tps": _round(self.tps, 1),
            "p50_ms": _round(self.latency_ms(0.50), 4),
            "p90_ms": _round(self.latency_ms(0.90), 4),
            "p99_ms": _round(self.latency_ms(0.99), 4),
            "cpu_ms_per_1k_ops": _round(self.cpu_ms_per_1k_ops, 2),
            "vs_redis_py": _round(self.vs_redis_py, 3),
            "vs_glide": _round(self.vs_glide, 3),
            "repetitions": len(self.samples),
            "errors": "; ".join(self.errors),
        }

    def detail(self) -> dict[str, Any]:
        """The summary plus every repetition's own figures (for the JSON)."""
        out = self.summary()
        out["errors"] = list(self.errors)
        out["per_repetition"] = [
            {
                "ops": s.ops,
                "seconds": round(s.seconds, 4),
                "tps": round(s.tps, 1),
                "p50_ms": round(s.percentile_ms(0.50), 4),
                "p90_ms": round(s.percentile_ms(0.90), 4),
                "p99_ms": round(s.percentile_ms(0.99), 4),
                "cpu_seconds": round(s.cpu_seconds, 4),
                "cpu_ms_per_1k_ops": round(s.cpu_ms_per_1k_ops, 2),
            }
            for s in self.samples
        ]
        return out


def _round(value: Optional[float], digits: int) -> Optional[float]:
    return None if value is None else round(value, digits)


@dataclass
class Idle:
    client: str
    seconds: float
    cpu_seconds: float

    def summary(self) -> dict[str, Any]:
        return {
            "client": self.client,
            "seconds": self.seconds,
            "cpu_ms": round(self.cpu_seconds * 1000, 2),
            "cpu_percent_of_one_core": round(100 * self.cpu_seconds / self.seconds, 3)
            if self.seconds
            else 0.0,
        }


@dataclass
class Run:
    environment: dict[str, Any]
    options: dict[str, Any]
    clients: list[ClientSpec]
    cells: list[Cell]
    idle: list[Idle]
    notes: list[str]

    def compute_ratios(self) -> None:
        """Each cell's TPS over redis-py's and GLIDE's of the same kind (sync or
        async), value size and concurrency, in this run."""
        by_key = {(c.section, c.value_size, c.concurrency, c.client): c for c in self.cells}
        for cell in self.cells:
            key = (cell.section, cell.value_size, cell.concurrency)
            tps = cell.tps
            for attr, other in (
                ("vs_redis_py", f"redis-py-{cell.kind}{suffix(cell.loop)}"),
                ("vs_glide", f"glide-{cell.kind}{suffix(cell.loop)}"),
            ):
                base = by_key.get((*key, other))
                base_tps = base.tps if base is not None else None
                if tps is not None and base_tps:
                    setattr(cell, attr, tps / base_tps)

    def to_json(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "options": self.options,
            "clients": [
                {
                    "name": c.name,
                    "family": c.family,
                    "kind": c.kind,
                    "transport": c.transport,
                    "loop": c.loop,
                }
                for c in self.clients
            ],
            "notes": self.notes,
            "cells": [c.detail() for c in self.cells],
            "idle": [i.summary() for i in self.idle],
        }
