"""Scripted command sequences that run unchanged on the sync and async clients.

A scenario is a list of steps ``(method, args, kwargs, expected)``. Each reply
is compared with ``expected`` by value *and* by type, recursively, so ``True``
does not pass for ``1`` nor ``1`` for ``1.0``. ``expected`` may also be a
predicate (a :class:`Check`) for replies that are random by nature.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import pytest

import babushka
import babushka.asyncio

Step = tuple[str, tuple[Any, ...], dict[str, Any], Any]


@dataclass(frozen=True)
class Check:
    """A predicate standing in for an exact expected value."""

    describe: str
    test: Callable[[Any], bool]


def step(method: str, *args: Any, expect: Any, **kwargs: Any) -> Step:
    return (method, args, kwargs, expect)


def same(got: Any, expected: Any) -> bool:
    """Equal, with the same types all the way down."""
    if isinstance(expected, Check):
        return expected.test(got)
    if type(got) is not type(expected):
        return False
    if isinstance(expected, (list, tuple)):
        return len(got) == len(expected) and all(map(same, got, expected))
    if isinstance(expected, dict):
        return got.keys() == expected.keys() and all(same(got[k], v) for k, v in expected.items())
    return bool(got == expected)


def _where(index: int, entry: Step, got: Any) -> str:
    method, args, kwargs, expected = entry
    want = expected.describe if isinstance(expected, Check) else repr(expected)
    return f"step {index}: {method}{args}{kwargs or ''} returned {got!r}, expected {want}"


def run_sync(client: babushka.Redis, steps: list[Step]) -> None:
    for index, entry in enumerate(steps):
        method, args, kwargs, expected = entry
        got = getattr(client, method)(*args, **kwargs)
        assert same(got, expected), _where(index, entry, got)


async def run_async(client: babushka.asyncio.Redis, steps: list[Step]) -> None:
    for index, entry in enumerate(steps):
        method, args, kwargs, expected = entry
        got = await getattr(client, method)(*args, **kwargs)
        assert same(got, expected), _where(index, entry, got)


def run_pipeline(client: babushka.Redis, steps: list[Step], transaction: bool = False) -> None:
    """The steps queued on one pipeline (MULTI/EXEC with ``transaction``):
    each reply in the batch must be what the step expects."""
    pipe = client.pipeline(transaction=transaction)
    for method, args, kwargs, _ in steps:
        getattr(pipe, method)(*args, **kwargs)
    replies = pipe.execute()
    assert len(replies) == len(steps)
    for index, (entry, got) in enumerate(zip(steps, replies)):
        assert same(got, entry[3]), _where(index, entry, got)


def run_resp3(server: Any, steps: list[Step], **options: Any) -> None:
    """The steps on a client speaking RESP3 (``protocol=3``): Babushka gives
    the same values as on RESP2."""
    client = babushka.Redis(host=server.host, port=server.port, protocol=3, **options)
    try:
        client.flushdb()
        run_sync(client, steps)
    finally:
        client.flushdb()
        client.close()


def scenario_tests(
    steps: list[Step], transactions: tuple[bool, ...] = (True,)
) -> tuple[Callable[..., Any], ...]:
    """The tests each command group's scenario gets, for a test module to
    take as its own::

        test_scenario, test_scenario_async, test_scenario_on_resp3, test_pipeline = (
            scenario_tests(SCENARIO)
        )

    The steps on the sync and the asyncio client (on every transport), on a
    RESP3 client, and queued on one pipeline (in MULTI/EXEC, or as each of
    ``transactions`` says)."""

    @pytest.mark.every_transport
    def test_scenario(r: babushka.Redis) -> None:
        run_sync(r, steps)

    @pytest.mark.every_transport
    async def test_scenario_async(ar: babushka.asyncio.Redis) -> None:
        await run_async(ar, steps)

    def test_scenario_on_resp3(redis_server: Any) -> None:
        run_resp3(redis_server, steps)

    @pytest.mark.parametrize("transaction", transactions)
    def test_pipeline(r: babushka.Redis, transaction: bool) -> None:
        run_pipeline(r, steps, transaction=transaction)

    return test_scenario, test_scenario_async, test_scenario_on_resp3, test_pipeline
