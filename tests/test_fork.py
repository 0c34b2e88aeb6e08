"""Clients survive ``fork``: a child gets a runtime and connections of its
own, and the parent's connections are left exactly as they were.

Each scenario runs in a fresh interpreter, so a child that hung would time the
subprocess out instead of the test session.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from support.servers import RedisServer

# About the client's runtime and connections across fork(): the server only
# answers PING/SET/GET/SUBSCRIBE, alike on both kinds (conftest.py).
pytestmark = pytest.mark.any_server

PRELUDE = """
import asyncio, os, signal, sys, traceback
import babushka, babushka.asyncio

def in_child(body):
    \"\"\"Forks; the child runs body() and exits 0 on success (it never returns).
    The parent gets the child's exit code.\"\"\"
    pid = os.fork()
    if pid == 0:
        signal.alarm(20)  # a hang fails the test instead of stalling it
        code = 1
        try:
            body()
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush(); sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)
"""


def run(code: str) -> subprocess.CompletedProcess[str]:
    script = PRELUDE + textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=90
    )


def assert_child_and_parent_ok(out: subprocess.CompletedProcess[str]) -> None:
    """The script printed that its child exited with 0, then that the parent
    went on well."""
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["child exit 0", "parent ok"], out.stdout + out.stderr


def test_child_reconnects_and_parent_keeps_its_connection(
    redis_server: RedisServer, transport: str
) -> None:
    out = run(
        f"""
        PORT, T = {redis_server.port}, {transport!r}
        parent = babushka.Redis(port=PORT, transport=T)
        parent.set("fork:parent", "p")
        parent.delete("fork:child", "fork:async")
        parent_id = parent.client_id()

        def child():
            # The client made before the fork opens a connection of its own.
            assert parent.get("fork:parent") == b"p"
            assert parent.client_id() != parent_id
            parent.set("fork:child", "c")
            assert babushka.Redis(port=PORT, transport=T).get("fork:child") == b"c"

            async def main():
                a = babushka.asyncio.Redis(port=PORT, transport=T)
                await a.set("fork:async", "a")
                await a.aclose()

            asyncio.run(main())

        print("child exit", in_child(child))
        # The parent's own connection was neither closed nor disturbed.
        assert parent.client_id() == parent_id
        for i in range(200):
            parent.set(f"fork:{{i}}", i)
            assert parent.get(f"fork:{{i}}") == str(i).encode()
        assert parent.mget("fork:child", "fork:async") == [b"c", b"a"]
        print("parent ok")
        """
    )
    assert_child_and_parent_ok(out)


def test_child_that_exits_normally_leaves_the_parent_listener(redis_server: RedisServer) -> None:
    # A child that returns normally runs the interpreter's exit handlers,
    # which shut its own runtime and listener down: never the parent's.
    out = run(
        f"""
        PORT = {redis_server.port}
        first = babushka.Redis(port=PORT, transport="uds")
        first.ping()
        pid = os.fork()
        if pid == 0:
            signal.alarm(20)
            babushka.Redis(port=PORT, transport="uds").ping()
            sys.exit(0)
        _, status = os.waitpid(pid, 0)
        print("child exit", os.waitstatus_to_exitcode(status))
        # A new stream to the parent's listener, and the old one, both work.
        assert babushka.Redis(port=PORT, transport="uds").ping() is True
        assert first.ping() is True
        print("parent ok")
        """
    )
    assert_child_and_parent_ok(out)


@pytest.mark.parametrize("close_in_child", [False, True])
def test_closing_an_inherited_client_in_the_child_spares_the_parent(
    redis_server: RedisServer, transport: str, close_in_child: bool
) -> None:
    # Closing (or dropping) the parent's client in the child must not shut the
    # parent's socket down; the closed client connects again in the child.
    out = run(
        f"""
        PORT, T = {redis_server.port}, {transport!r}
        parent = babushka.Redis(port=PORT, transport=T)
        parent_id = parent.client_id()

        def child():
            global parent
            if {close_in_child!r}:
                parent.close()
                assert parent.ping() is True
                assert parent.client_id() != parent_id  # a connection of the child's
                parent.close()
            else:
                del parent

        print("child exit", in_child(child))
        assert parent.ping() is True
        assert parent.client_id() == parent_id  # the same connection as before
        print("parent ok")
        """
    )
    assert_child_and_parent_ok(out)


def test_async_client_made_before_fork_works_in_the_child(
    redis_server: RedisServer, transport: str
) -> None:
    # A client made (not yet used) in the parent, used in the child on a loop
    # of the child's own, while the parent has a loop and clients of its own.
    out = run(
        f"""
        PORT, T = {redis_server.port}, {transport!r}
        loop = asyncio.new_event_loop()
        parent = babushka.asyncio.Redis(port=PORT, transport=T)
        unused = babushka.asyncio.Redis(port=PORT, transport=T)

        async def before():
            await parent.delete("fork:made-before")
            return await parent.client_id()

        parent_id = loop.run_until_complete(before())

        def child():
            async def main():
                assert await unused.set("fork:made-before", "c") is True
                assert await unused.client_id() != parent_id
                own = babushka.asyncio.Redis(port=PORT, transport=T)
                assert await own.get("fork:made-before") == b"c"
                await own.aclose()
                await unused.aclose()

            asyncio.run(main())

        print("child exit", in_child(child))

        async def after():
            assert await parent.client_id() == parent_id
            assert await parent.get("fork:made-before") == b"c"

        loop.run_until_complete(after())
        print("parent ok")
        """
    )
    assert_child_and_parent_ok(out)


def test_child_on_the_inherited_loop_does_not_share_the_parents_wake_ups(
    redis_server: RedisServer, transport: str
) -> None:
    # Up to Python 3.11, asyncio.get_event_loop() in a forked child returns the
    # loop the parent set, so a child can end up running the parent's loop
    # object while the parent runs it too. The managed transport's completion
    # queue for that loop signals through an eventfd the fork shared: were the
    # child's clients to use the parent's queue, the parent's loop would clear
    # the child's wake-ups (and the child the parent's).
    if transport == "ffi":
        pytest.skip(
            "ffi wakes the loop through asyncio's own self-pipe, which the fork also "
            "shares: asyncio cannot run one loop object in two processes"
        )
    out = run(
        f"""
        PORT, T = {redis_server.port}, {transport!r}
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        parent = babushka.asyncio.Redis(port=PORT, transport=T)

        async def before():
            await parent.delete("fork:counter")
            return await parent.client_id()

        parent_id = loop.run_until_complete(before())
        pid = os.fork()
        if pid == 0:
            signal.alarm(10)  # a lost wake-up hangs the child
            code = 1
            try:
                async def work():
                    own = babushka.asyncio.Redis(port=PORT, transport=T)
                    for i in range(300):
                        assert await own.incr("fork:counter") == i + 1
                    await own.aclose()

                loop.run_until_complete(work())
                code = 0
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush(); sys.stderr.flush()
                os._exit(code)

        async def watch_the_child():
            # The parent's loop keeps running (and draining its queue) meanwhile.
            while True:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    return os.waitstatus_to_exitcode(status)
                await asyncio.sleep(0.001)

        print("child exit", loop.run_until_complete(watch_the_child()))

        async def after():
            assert await parent.client_id() == parent_id
            assert await parent.get("fork:counter") == b"300"

        loop.run_until_complete(asyncio.wait_for(after(), 10))
        print("parent ok")
        """
    )
    assert_child_and_parent_ok(out)


def test_a_subscriber_made_before_fork_subscribes_again_in_the_child(
    redis_server: RedisServer, transport: str
) -> None:
    # The child gets a subscriber of its own, subscribed to what the parent's
    # is (as redis-py's reconnection in a child does); the parent's keeps its
    # connection and its messages.
    out = run(
        f"""
        PORT, T = {redis_server.port}, {transport!r}
        r = babushka.Redis(port=PORT, transport=T)
        p = r.pubsub()
        p.subscribe("fork:news")
        assert p.get_message(timeout=5)["type"] == "subscribe"

        def child():
            message = p.get_message(timeout=5)
            assert message == {{"type": "subscribe", "pattern": None,
                                "channel": b"fork:news", "data": 1}}, message
            assert r.publish("fork:news", "from the child") == 2
            assert p.get_message(timeout=5)["data"] == b"from the child"
            p.close()

        print("child exit", in_child(child))
        # The parent's subscriber got the child's message on its own connection.
        assert p.get_message(timeout=5)["data"] == b"from the child"
        # (The server may not have seen the child's subscriber close yet.)
        assert r.publish("fork:news", "again") >= 1
        assert p.get_message(timeout=5)["data"] == b"again"
        print("parent ok")
        """
    )
    assert_child_and_parent_ok(out)
