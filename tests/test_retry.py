"""The retry rule (README, RELIABILITY.md), caused for real through a
forwarding proxy that swallows a request and then drops its connection:

- a read-only request whose connection broke under it is sent again;
- a write whose outcome is unknown is not, unless ``retry=`` asks for it,
  and then it is, as in redis-py;
- the keywords are checked before anything connects, and none is ignored.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

import babushka
from babushka.backoff import (
    AbstractBackoff,
    ConstantBackoff,
    DecorrelatedJitterBackoff,
    EqualJitterBackoff,
    ExponentialBackoff,
    ExponentialWithJitterBackoff,
    FullJitterBackoff,
    NoBackoff,
)
from babushka.exceptions import ConnectionError, DataError, ResponseError, TimeoutError
from babushka.retry import Retry
from support.gate import Gate
from support.servers import RedisServer


@pytest.fixture
def gate(redis_server: RedisServer) -> Iterator[Gate]:
    front = Gate(redis_server.host, redis_server.port)
    yield front
    front.close()


def _lose_in_flight(gate: Gate, client: babushka.Redis, *command: Any) -> Any:
    """Runs ``command`` on ``client`` so that it leaves the client, never
    reaches the server, and its connection then breaks: the outcome a
    client cannot know. Returns what the call returned, or the exception."""
    client.ping()  # the connection is open
    gate.blackhole()
    outcome: list[Any] = []

    def call() -> None:
        try:
            outcome.append(client.execute_command(*command))
        except Exception as error:
            outcome.append(error)

    thread = threading.Thread(target=call)
    thread.start()
    assert gate.wait_swallowed(1), "the request never left the client"
    gate.cut()
    thread.join(timeout=10)
    assert not thread.is_alive(), "the request hung"
    return outcome[0]


def test_a_read_whose_connection_broke_is_sent_again(
    gate: Gate, r: babushka.Redis, transport: str
) -> None:
    r.set("k", "v")
    client = babushka.Redis(port=gate.port, transport=transport, socket_timeout=5)
    try:
        assert _lose_in_flight(gate, client, "GET", "k") == b"v"
    finally:
        client.close()


def test_a_write_whose_outcome_is_unknown_is_not_sent_again_by_default(
    gate: Gate, r: babushka.Redis, transport: str
) -> None:
    client = babushka.Redis(port=gate.port, transport=transport, socket_timeout=5)
    try:
        outcome = _lose_in_flight(gate, client, "INCR", "counter")
        assert isinstance(outcome, ConnectionError), outcome
        # Not sent again: the server never saw it.
        assert r.get("counter") is None
        # The client carries on with a new connection.
        assert client.incr("counter") == 1
    finally:
        client.close()


def test_with_retry_a_write_is_sent_again_as_in_redis_py(
    gate: Gate, r: babushka.Redis, transport: str
) -> None:
    client = babushka.Redis(
        port=gate.port, transport=transport, socket_timeout=5, retry=Retry(NoBackoff(), 2)
    )
    try:
        assert _lose_in_flight(gate, client, "INCR", "counter") == 1
        assert r.get("counter") == b"1"
    finally:
        client.close()


def test_retry_without_connection_errors_does_not_retry_them(
    gate: Gate, r: babushka.Redis, transport: str
) -> None:
    r.set("k", "v")
    client = babushka.Redis(
        port=gate.port,
        transport=transport,
        socket_timeout=5,
        retry=Retry(NoBackoff(), 2, supported_errors=(TimeoutError,)),
    )
    try:
        assert isinstance(_lose_in_flight(gate, client, "GET", "k"), ConnectionError)
    finally:
        client.close()


async def test_the_async_client_retries_a_read(
    gate: Gate, r: babushka.Redis, transport: str
) -> None:
    import babushka.asyncio

    r.set("k", "v")
    client = babushka.asyncio.Redis(port=gate.port, transport=transport, socket_timeout=5)
    try:
        await client.ping()
        gate.blackhole()
        pending = client.get("k")
        import asyncio

        task = asyncio.ensure_future(pending)
        while gate.swallowed == 0:
            await asyncio.sleep(0.01)
        gate.cut()
        assert await asyncio.wait_for(task, 10) == b"v"
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"reconnect_attempts": 0}, "reconnect_attempts"),
        ({"reconnect_attempts": True}, "reconnect_attempts"),
        ({"reconnect_backoff_base": -1}, "reconnect_backoff_base"),
        ({"reconnect_backoff_cap": "1"}, "reconnect_backoff_cap"),
        ({"reconnect_backoff_base": 2, "reconnect_backoff_cap": 1}, "reconnect_backoff_cap"),
        ({"retry": Retry(NoBackoff(), 1), "reconnect_attempts": 2}, "retry="),
        ({"retry": "three"}, "retry"),
        ({"retry_on_timeout": "yes"}, "retry_on_timeout"),
        ({"retry_on_error": [ResponseError]}, "retry_on_error"),
        ({"retry_on_error": ConnectionError}, "retry_on_error"),
        ({"retry": Retry(NoBackoff(), 1, supported_errors=(KeyError,))}, "supported_errors"),
        ({"health_check_interval": -1}, "health_check_interval"),
        ({"health_check_interval": "30"}, "health_check_interval"),
    ],
)
def test_bad_retry_keywords_raise_naming_them(options: dict[str, Any], named: str) -> None:
    with pytest.raises(DataError, match=named):
        babushka.Redis(port=1, **options)


def test_a_backoff_of_ones_own_is_refused() -> None:
    class Mine(AbstractBackoff):
        def compute(self, failures: int) -> float:
            return 0.1

    with pytest.raises(DataError, match="Mine"):
        babushka.Redis(port=1, retry=Retry(Mine(), 3))


def test_retry_on_error_and_timeout_are_accepted() -> None:
    client = babushka.Redis(
        port=1, retry_on_timeout=True, retry_on_error=[ConnectionError, TimeoutError]
    )
    client.close()


@pytest.mark.parametrize(
    "backoff",
    [
        ExponentialBackoff(cap=1, base=0.01),
        FullJitterBackoff(cap=1, base=0.01),
        EqualJitterBackoff(cap=1, base=0.01),
        ExponentialWithJitterBackoff(cap=1, base=0.01),
    ],
)
def test_backoffs_stay_within_redis_pys_bounds(backoff: AbstractBackoff) -> None:
    for failures in range(12):
        top = min(1, 0.01 * 2**failures)
        for _ in range(20):
            delay = backoff.compute(failures)
            assert 0 <= delay <= top
            if isinstance(backoff, EqualJitterBackoff):
                assert delay >= top / 2
    assert ExponentialBackoff(cap=1, base=0.01).compute(3) == 0.08


def test_decorrelated_and_constant_backoffs() -> None:
    backoff = DecorrelatedJitterBackoff(cap=0.5, base=0.01)
    delays = [backoff.compute(n) for n in range(50)]
    assert all(0.01 <= d <= 0.5 for d in delays)
    backoff.reset()
    assert backoff.compute(1) == pytest.approx(0.01)
    assert ConstantBackoff(0.3).compute(9) == 0.3
    assert NoBackoff().compute(9) == 0
    assert ExponentialBackoff() == ExponentialBackoff()
    assert FullJitterBackoff() != ExponentialBackoff()


def test_retry_call_with_retry_counts_and_reraises() -> None:
    retry = Retry(NoBackoff(), 2)
    failures: list[BaseException] = []
    calls = 0

    def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise ConnectionError("down")
        return "up"

    assert retry.call_with_retry(flaky, failures.append) == "up"
    assert len(failures) == 2

    def always() -> str:
        raise TimeoutError("slow")

    with pytest.raises(TimeoutError):
        retry.call_with_retry(always, lambda _error: None)
    with pytest.raises(KeyError):
        retry.call_with_retry(lambda: {}["x"], lambda _error: None)
    assert retry == Retry(NoBackoff(), 2)
    retry.update_supported_errors([KeyError])
    assert KeyError in retry._supported_errors
    retry.update_retries(5)
    assert retry.get_retries() == 5


def test_url_takes_the_reconnect_keywords() -> None:
    client = babushka.Redis.from_url(
        "redis://localhost:1/0?reconnect_attempts=5&reconnect_backoff_base=0.1"
        "&reconnect_backoff_cap=2&health_check_interval=30&retry_on_timeout=true"
    )
    client.close()
    with pytest.raises(DataError, match="reconnect_attempts"):
        babushka.Redis.from_url("redis://localhost:1/0?reconnect_attempts=0")
