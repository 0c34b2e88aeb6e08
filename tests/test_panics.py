"""A panic inside the core (a bug) fails the request it happened in with a
``babushka.RedisError`` that says so; the process, the runtime's threads and
later requests carry on.

No input can make the core panic on purpose, so debug builds (the tests')
have a hook, ``_core._debug_panic_next(site)``, that makes the next request
through a site panic there once:

- ``reader``: a connection's reader task, on a runtime thread, as it hands
  a reply over. The connection's state cannot be trusted after that, so it
  is given up: every request in flight on it fails with the same error, and
  the next request opens a new connection.
- ``reply``: the binding's conversion of a reply into Python objects (on
  the caller's thread, or a runtime thread for ffi's callbacks). Only that
  request fails; the others of the same batch of completions are delivered.
- ``listener``: the uds listener's conversion of an outcome into a frame,
  on a runtime thread. Only that request fails.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

import babushka
import babushka.asyncio
from babushka import _core
from support.servers import RedisServer

pytestmark = pytest.mark.skipif(
    not hasattr(_core, "_debug_panic_next"),
    reason="a release build of the native module: the panic hook exists in debug builds only",
)

#: What a panic becomes for the request it hit.
PANICKED = r"internal error \(a bug in babushka, please report it\).*panicked"


def sites(transport: str) -> list[str]:
    return ["reader", "reply", "listener"] if transport == "uds" else ["reader", "reply"]


@pytest.fixture(autouse=True)
def disarm() -> Iterator[None]:
    yield
    # A site that never fired must not fire in a later test.
    _core._debug_panic_next(None)


def test_a_panic_fails_its_request_and_the_next_one_works(
    redis_server: RedisServer, transport: str
) -> None:
    client = babushka.Redis(port=redis_server.port, transport=transport)
    try:
        client.set("k", "v")
        for site in sites(transport):
            _core._debug_panic_next(site)
            with pytest.raises(babushka.RedisError, match=PANICKED):
                client.get("k")
            assert client.get("k") == b"v", f"after a panic at {site}"
            # A pipeline goes through the same sites.
            _core._debug_panic_next(site)
            with pytest.raises(babushka.RedisError, match=PANICKED):
                client.pipeline().get("k").get("k").execute()
            assert client.pipeline().get("k").execute() == [b"v"]
    finally:
        client.close()


async def test_a_panic_leaves_the_other_requests_alone(
    redis_server: RedisServer, transport: str
) -> None:
    client = babushka.asyncio.Redis(port=redis_server.port, transport=transport)
    try:
        await client.set("k", "v")
        for site in sites(transport):
            _core._debug_panic_next(site)
            results = await asyncio.wait_for(
                asyncio.gather(*(client.get("k") for _ in range(20)), return_exceptions=True), 10
            )
            failed = [r for r in results if isinstance(r, BaseException)]
            assert failed, f"no request failed at {site}"
            for error in failed:
                assert isinstance(error, babushka.RedisError), repr(error)
                assert "panicked" in str(error)
            assert all(r == b"v" for r in results if not isinstance(r, BaseException))
            if site != "reader":
                # Only the request that panicked: its neighbours were delivered.
                assert len(failed) == 1, f"{site}: {results!r}"
            assert await client.get("k") == b"v"
    finally:
        await client.aclose()


def test_a_panic_on_one_client_leaves_another_alone(
    redis_server: RedisServer, transport: str
) -> None:
    """Another client's connection is untouched by a panic on this one."""
    first = babushka.Redis(port=redis_server.port, transport=transport)
    second = babushka.Redis(port=redis_server.port, transport=transport)
    try:
        first.set("k", "v")
        second_id = second.client_id()
        _core._debug_panic_next("reader")
        with pytest.raises(babushka.RedisError, match=PANICKED):
            first.get("k")
        assert second.client_id() == second_id, "the other client lost its connection"
        assert first.get("k") == b"v"
    finally:
        first.close()
        second.close()
