"""The ``babushka`` command (``python -m babushka``): ``--version``, and
``ping``, ``info`` and ``bench`` against a real server. The installed
console script itself is run by ``test_packaging.py``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import babushka
from support.servers import RedisServer


def run_cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "babushka", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def url(server: RedisServer) -> str:
    return f"redis://{server.host}:{server.port}/0"


def test_version() -> None:
    completed = run_cli("--version")
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == f"babushka {babushka.__version__}"


def test_no_command_prints_help() -> None:
    completed = run_cli()
    assert completed.returncode == 2
    assert "ping" in completed.stdout and "bench" in completed.stdout


# The command's output is the program's; both kinds answer PING alike.
@pytest.mark.any_server
def test_ping(redis_server: RedisServer, transport: str) -> None:
    completed = run_cli("ping", "--url", url(redis_server), "--transport", transport, "-c", "3")
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert len(lines) == 3
    assert all(line.startswith(f"PONG from {url(redis_server)}: ") for line in lines)
    assert lines[0].endswith("ms (connecting)") and lines[1].endswith(" ms")


def test_ping_without_a_server_fails_with_the_reason() -> None:
    completed = run_cli("ping", "--url", "redis://127.0.0.1:1", "--timeout", "2")
    assert completed.returncode == 1
    assert completed.stderr.startswith("error: ConnectionError: ")
    assert "Traceback" not in completed.stderr


def test_bad_arguments_are_usage_errors() -> None:
    assert run_cli("ping", "--count", "0").returncode == 2
    assert run_cli("ping", "--transport", "carrier-pigeon").returncode == 2
    assert run_cli("frobnicate").returncode == 2


def test_info_summary(redis_server: RedisServer) -> None:
    r = babushka.Redis(host=redis_server.host, port=redis_server.port)
    r.flushdb()
    r.set("cli:a", 1)
    r.close()
    completed = run_cli("info", "--url", url(redis_server))
    assert completed.returncode == 0, completed.stderr
    fields = dict(line.split(":", 1) for line in completed.stdout.splitlines())
    version = ".".join(map(str, redis_server.version))
    assert fields["server"].strip() == f"{redis_server.kind} {version}"
    assert fields["role"].strip() == "master"
    assert "db0=1" in fields["keys"]


def test_info_sections(redis_server: RedisServer) -> None:
    completed = run_cli("info", "--url", url(redis_server), "--section", "clients")
    assert completed.returncode == 0, completed.stderr
    fields = dict(line.split(":", 1) for line in completed.stdout.splitlines())
    assert int(fields["connected_clients"]) >= 1
    assert "redis_version" not in fields


# The benchmark harness is what runs; both kinds answer its GET/SET alike.
@pytest.mark.any_server
def test_bench_against_a_url(redis_server: RedisServer, tmp_path: Path) -> None:
    completed = run_cli(
        "bench",
        "--url",
        url(redis_server),
        "--clients",
        "babushka-sync-managed",
        "--data-sizes",
        "",
        "--pipeline-size",
        "0",
        "--out",
        str(tmp_path),
        timeout=55,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    # --quick unless --full, against the given server rather than one of its own.
    assert results["options"]["quick"] is True
    assert results["environment"]["server_address"] == f"{redis_server.host}:{redis_server.port}"
    assert results["environment"]["throwaway_server"] is False
    assert {c["client"] for c in results["cells"]} == {"babushka-sync-managed"}
    assert "babushka-sync-managed" in completed.stdout


@pytest.mark.parametrize("bad", ["rediss://localhost:6380", "redis://:secret@localhost:6379"])
def test_bench_refuses_what_it_cannot_measure(bad: str) -> None:
    completed = run_cli("bench", "--url", bad)
    assert completed.returncode == 2
    assert "plain redis://HOST:PORT" in completed.stderr
