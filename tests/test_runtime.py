"""The shared runtime: worker count (default, configured, environment) checked
on the live threads of a fresh interpreter, since the runtime starts once per
process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from support.servers import RedisServer, cpu_count_for_process

PROBE = textwrap.dedent(
    """
    import json, os, sys
    import babushka
    configure = {configure!r}
    if configure is not None:
        babushka.configure(worker_threads=configure)
    r = babushka.Redis(port={port})
    r.ping()
    tasks = os.listdir("/proc/self/task")
    names = [open(f"/proc/self/task/{{t}}/comm").read().strip() for t in tasks]
    error = None
    try:
        babushka.configure(worker_threads=3)
    except babushka.RedisError as exc:
        error = str(exc)
    print(json.dumps({{"workers": babushka.worker_threads(),
                      "live": sum(n == "babushka-worker" for n in names),
                      "late_configure_error": error}}))
    """
)


def probe(
    port: int, configure: int | None = None, env: dict[str, str] | None = None
) -> dict[str, object]:
    code = PROBE.format(configure=configure, port=port)
    full_env = {k: v for k, v in os.environ.items() if k != "BABUSHKA_WORKER_THREADS"}
    full_env.update(env or {})
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=full_env, timeout=60
    )
    assert out.returncode == 0, out.stderr
    result: dict[str, object] = json.loads(out.stdout)
    return result


def test_default_worker_count_is_the_cpus_available(redis_server: RedisServer) -> None:
    result = probe(redis_server.port)
    assert result["workers"] == cpu_count_for_process()
    assert result["live"] == cpu_count_for_process()


def test_configure_sets_worker_count(redis_server: RedisServer) -> None:
    result = probe(redis_server.port, configure=5)
    assert result["workers"] == 5
    assert result["live"] == 5


def test_environment_sets_worker_count(redis_server: RedisServer) -> None:
    result = probe(redis_server.port, env={"BABUSHKA_WORKER_THREADS": "3"})
    assert result["workers"] == 3
    assert result["live"] == 3


def test_configure_after_start_raises(redis_server: RedisServer) -> None:
    result = probe(redis_server.port, configure=2)
    assert isinstance(result["late_configure_error"], str)
    assert "before the first client" in result["late_configure_error"]


def test_affinity_limits_default(redis_server: RedisServer) -> None:
    if cpu_count_for_process() < 2:
        pytest.skip("needs at least two CPUs to restrict")
    code = PROBE.format(configure=None, port=redis_server.port)
    env = {k: v for k, v in os.environ.items() if k != "BABUSHKA_WORKER_THREADS"}
    out = subprocess.run(
        ["taskset", "-c", "0", sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["workers"] == 1
    assert result["live"] == 1  # the threads the runtime runs, not just the number it reports


def test_bad_worker_count_is_rejected() -> None:
    import babushka

    with pytest.raises(babushka.DataError):
        babushka.configure(worker_threads="4")  # type: ignore[arg-type]
    code = "import babushka; babushka.configure(worker_threads=0)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "at least 1" in out.stderr
