"""The programs in examples/ run as a user runs them (``python
examples/x.py URL``, in a subprocess, the transport given by
``BABUSHKA_TRANSPORT``) against both servers, and print what they should:
an example that breaks fails the suite. Warnings are errors in them, as
here, so one that leaks a connection fails too.

On the default transport only (``default_transport``, conftest.py): an
example is a user's program, each a few seconds in a fresh interpreter, and
the commands it sends are carried by every transport in the rest of the
suite. ``BABUSHKA_TEST_FULL_MATRIX=1`` runs them on every transport."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from support.servers import RedisServer

pytestmark = pytest.mark.default_transport

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name: str, server: RedisServer, transport: str, *args: str) -> list[str]:
    # Database 9: the examples' keys stay out of the other tests' way.
    url = f"redis://{server.host}:{server.port}/9"
    completed = subprocess.run(
        [sys.executable, "-W", "error", str(EXAMPLES / name), *args, url],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "BABUSHKA_TRANSPORT": transport},
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    return completed.stdout.splitlines()


def test_every_example_is_tested() -> None:
    tested = {"web_cache.py", "job_queue.py", "chat.py", "rate_limiter.py", "distributed_lock.py"}
    assert {path.name for path in EXAMPLES.glob("*.py")} == tested


def test_web_cache(redis_server: RedisServer, transport: str) -> None:
    product = '"product": {"id": 7, "name": "product 7", "price": 70}'
    lines = run_example("web_cache.py", redis_server, transport, "--demo")
    # Each line ends with how long the request took, which is not checked.
    assert [re.sub(r" \(\d+ ms\)$", "", line) for line in lines] == [
        f'GET /products/7 -> {{"cached": false, {product}}}',
        f'GET /products/7 -> {{"cached": true, {product}}}',
        'DELETE /products/7 -> {"invalidated": true}',
        f'GET /products/7 -> {{"cached": false, {product}}}',
        "ttl of the cached entry: 60 s",
    ]


def test_job_queue(redis_server: RedisServer, transport: str) -> None:
    assert run_example("job_queue.py", redis_server, transport) == [
        "producer: added 12 jobs",
        "worker-crashed: took jobs 0, 1 and died",
        "workers: finished 10 jobs",
        "pending (read, never acknowledged): 2",
        "reaper: reclaimed 2 stuck jobs with XAUTOCLAIM",
        "pending now: 0",
        "every job done exactly once: True",
    ]


def test_chat(redis_server: RedisServer, transport: str) -> None:
    lines = run_example("chat.py", redis_server, transport)
    said = ["alice: hi all", "bob: hello alice", "carol: morning!", "alice: bye"]
    # Listeners run concurrently: each one's lines are in order, the
    # interleaving of listeners is not fixed.
    for user in ("alice", "bob", "carol"):
        seen = [line for line in lines if line.startswith(f"[{user} sees] ")]
        assert seen == [f"[{user} sees] chat:lobby: {line}" for line in said]
    assert [line for line in lines if line.startswith("[moderator sees] ")] == [
        *(f"[moderator sees] chat:lobby: {line}" for line in said),
        "[moderator sees] chat:help: moderator: anyone there?",
    ]
    assert [line for line in lines if " says " in line] == [
        f"{user} says {text!r} to 4 listeners"
        for user, text in (line.split(": ", 1) for line in said)
    ]
    assert len(lines) == 4 * 4 + 1 + 4


def test_rate_limiter(redis_server: RedisServer, transport: str) -> None:
    lines = run_example("rate_limiter.py", redis_server, transport)
    assert lines[:5] == [f"alice request {n}: allowed" for n in range(1, 6)]
    for n, line in zip((6, 7), lines[5:7]):
        wait = re.fullmatch(rf"alice request {n}: refused, retry in (\d+) ms", line)
        assert wait is not None, line
        assert 0 < int(wait.group(1)) <= 1000
    assert lines[7:] == [
        "bob request 1: allowed (each client has its own window)",
        "alice after waiting: allowed",
    ]


def test_distributed_lock(redis_server: RedisServer, transport: str) -> None:
    assert run_example("distributed_lock.py", redis_server, transport) == [
        "balance after 40 locked deposits: 400",
        "expected: 400",
        "slow worker acquires: True",
        "other worker acquires at once: False",
        "after extend, still owned by the slow worker: True",
        "after stalling, lock held by anyone: False",
        "other worker acquires: True",
        "slow worker's release: LockNotOwnedError (the lock is another's now)",
    ]


@pytest.mark.parametrize("name", ["job_queue.py", "chat.py", "rate_limiter.py"])
# What is under test is the programs reading REDIS_URL; the server's kind cannot matter.
@pytest.mark.any_server
def test_the_url_may_come_from_the_environment(redis_server: RedisServer, name: str) -> None:
    completed = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "REDIS_URL": f"redis://{redis_server.host}:{redis_server.port}/9"},
    )
    assert completed.returncode == 0, completed.stderr
