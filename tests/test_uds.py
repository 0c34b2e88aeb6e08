"""The uds transport: frames, the listener's robustness and security, closing.

Behaviour tests run on every transport through the ``r``/``ar`` fixtures; this
file covers what only the socket listener has.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import stat
import subprocess
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

import babushka
import babushka.asyncio
from babushka import _core, _uds
from support.servers import RedisServer


class Box:
    """A waiter for a codec request whose frame the test sends by hand."""

    def __init__(self) -> None:
        self.result: Any = None
        self.error: BaseException | None = None
        self.finished = False

    def set_result(self, value: Any) -> None:
        self.result, self.finished = value, True

    def set_exception(self, error: BaseException) -> None:
        self.error, self.finished = error, True

    def done(self) -> bool:
        return self.finished


@pytest.fixture
def codec(redis_server: RedisServer) -> _core.UdsCodec:
    """A codec with a standalone server's settings, for frames sent by hand."""
    core = _core.Client(host=redis_server.host, port=redis_server.port)
    return core.uds_codec()


@pytest.fixture
def uds(redis_server: RedisServer) -> Iterator[babushka.Redis]:
    client = babushka.Redis(host=redis_server.host, port=redis_server.port, transport="uds")
    client.flushdb()
    yield client
    client.close()


def exchange(payload: bytes, *, timeout: float = 10.0) -> bytes:
    """Connects to the listener, sends ``payload``, ends the write side and
    returns everything the core wrote back until it closed the stream."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(_uds.listener_path())
        # The core may close a garbage stream before reading all of it.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
        received = bytearray()
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
        return bytes(received)


def request_frame(codec: _core.UdsCodec, *args: Any) -> tuple[Box, bytes]:
    box = Box()
    codec.submit(box, 0, *args)
    return box, codec.take_output()


# -- frames ------------------------------------------------------------------


def test_errors_nested_in_replies_keep_their_class(uds: babushka.Redis) -> None:
    reply = uds.execute_command("EVAL", "return {1, {err='NOSCRIPT nested'}}", "0")
    assert reply[0] == 1
    assert isinstance(reply[1], babushka.NoScriptError)
    assert (str(reply[1]), reply[1].status_code) == ("nested", "NOSCRIPT")  # as redis-py
    uds.set("k", "v")
    with pytest.raises(babushka.ResponseError, match="WRONGTYPE"):
        uds.execute_command("LPUSH", "k", "x")


def test_large_values_cross_in_pieces(uds: babushka.Redis) -> None:
    value = os.urandom(3 * 1024 * 1024 + 17)
    assert uds.set("big", value) is True
    assert uds.get("big") == value


async def test_async_large_values_wait_for_the_socket(redis_server: RedisServer) -> None:
    """Frames larger than the socket takes at once: the asyncio stream keeps
    the rest and writes it as the socket turns writable, in order."""
    r = babushka.asyncio.Redis(host=redis_server.host, port=redis_server.port, transport="uds")
    values = [os.urandom(2 * 1024 * 1024 + n) for n in range(4)]
    assert await asyncio.gather(*(r.set(f"big:{n}", v) for n, v in enumerate(values))) == [True] * 4
    assert await asyncio.gather(*(r.get(f"big:{n}") for n in range(4))) == values
    await r.aclose()


def test_bad_arguments_raise_before_anything_is_sent(codec: _core.UdsCodec) -> None:
    with pytest.raises(babushka.DataError):
        codec.submit(Box(), 0, "SET", "k", None)
    assert codec.take_output() == b""
    assert codec.pending() == 0


async def test_async_first_command_validates_before_connecting(
    redis_server: RedisServer,
) -> None:
    client = babushka.asyncio.Redis(host=redis_server.host, port=redis_server.port, transport="uds")
    with pytest.raises(babushka.DataError):
        client.set("k", None)  # type: ignore[arg-type]
    assert await client.ping() is True
    await client.aclose()


def test_threads_share_one_stream(uds: babushka.Redis) -> None:
    failures: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(200):
                key = f"t{worker}:{i}"
                assert uds.set(key, key) is True
                assert uds.get(key) == key.encode()
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert uds.dbsize() == 1600


def test_transport_from_environment_and_url(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BABUSHKA_TRANSPORT", "uds")
    client = babushka.Redis(host=redis_server.host, port=redis_server.port)
    assert client.transport == "uds"
    assert client.ping() is True
    client.close()
    monkeypatch.delenv("BABUSHKA_TRANSPORT")
    url = f"redis://{redis_server.host}:{redis_server.port}/0?transport=uds"
    client = babushka.Redis.from_url(url)
    assert client.transport == "uds"
    assert client.set("k", "v") is True
    client.close()


# -- robustness ----------------------------------------------------------------

GARBAGE = {
    "overlong length prefix": b"\xff" * 12,
    "length over the limit": b"\x80\x80\x80\x80\x7f",
    "truncated frame": b"\x20\x08\x01",
    "wrong wire type": b"\x03\x0a\x01x",
    "not protobuf": b"\x05\xff\xff\xff\xff\xff",
}


@pytest.mark.parametrize("garbage", GARBAGE.values(), ids=GARBAGE.keys())
def test_garbage_closes_only_its_stream(
    codec: _core.UdsCodec, uds: babushka.Redis, garbage: bytes
) -> None:
    assert uds.set("before", "1") is True
    # A pending request on the codec receives the closing error when the
    # core's reply bytes are fed back.
    box = Box()
    codec.submit(box, 0, "PING")
    codec.take_output()  # never sent: only the garbage is
    reply = exchange(codec.setup_frame() + garbage)
    codec.feed(reply)
    assert isinstance(box.error, babushka.ConnectionError), box.error
    assert "socket listener closed the stream" in str(box.error)
    # The listener and every other stream keep working.
    assert uds.get("before") == b"1"
    other = babushka.Redis(
        host=uds.connection_kwargs["host"], port=uds.connection_kwargs["port"], transport="uds"
    )
    assert other.ping() is True
    other.close()


def test_random_bytes_never_break_the_listener(uds: babushka.Redis, codec: _core.UdsCodec) -> None:
    rng = random.Random(1234)
    setup = codec.setup_frame()
    for round_ in range(40):
        noise = rng.randbytes(rng.randrange(1, 600))
        exchange(setup + noise if round_ % 2 else noise)
    assert uds.ping() is True
    assert uds.set("k", "v") is True


def test_version_mismatch_is_a_clear_error(codec: _core.UdsCodec) -> None:
    box, frame = request_frame(codec, "PING")
    codec.feed(exchange(codec.setup_frame(protocol_version=99) + frame))
    assert isinstance(box.error, babushka.ConnectionError)
    message = str(box.error)
    assert "version mismatch" in message
    assert "99" in message
    assert codec.closed
    with pytest.raises(babushka.ConnectionError, match="version mismatch"):
        codec.submit(Box(), 0, "PING")


# -- security ------------------------------------------------------------------


def test_socket_is_private() -> None:
    path = _uds.listener_path()
    assert stat.S_ISSOCK(os.stat(path).st_mode)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    directory = os.path.dirname(path)
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    assert os.stat(directory).st_uid == os.geteuid()
    # Later calls find the same listener.
    paths: list[str | None] = []
    _core.start_socket_listener(lambda p, _error: paths.append(p))
    assert paths == [path]


NOBODY = 65534


def as_other_user(path: str, payload: bytes) -> str:
    """Forks a child that drops to uid ``NOBODY``, connects to ``path`` and
    sends ``payload``. Returns "REFUSED <errno>" if it could not connect, else
    "DATA <hex>" with everything the core wrote back before closing."""
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12+ warns about fork in a threaded process; the child only
        # makes system calls through the socket module, then _exits.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(10)
                try:
                    sock.connect(path)
                except OSError as error:
                    os.write(write_end, f"REFUSED {error.errno}".encode())
                    code = 0
                else:
                    # The core may refuse and close before the payload is all
                    # written; what it said before closing is still readable.
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                        sock.sendall(payload)
                    data = b""
                    while True:
                        try:
                            chunk = sock.recv(65536)
                        except ConnectionResetError:
                            break
                        if not chunk:
                            break
                        data += chunk
                    os.write(write_end, f"DATA {data.hex()}".encode())
                    code = 0
        except BaseException:
            os.write(write_end, traceback.format_exc().encode())
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        output = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, output
    return output


def test_other_users_are_refused(codec: _core.UdsCodec) -> None:
    if os.geteuid() != 0:
        # CI runs as root, so there the check runs end to end, below.
        pytest.skip(
            "not root, so no process here can run as another user: the uid check itself "
            "is tested without root by core/tests/listener.rs::only_the_listeners_own_uid"
            "_is_served (cargo test), the 0700 directory and 0600 socket by "
            "test_socket_is_private"
        )
    path = _uds.listener_path()
    directory = os.path.dirname(path)
    box, frame = request_frame(codec, "PING")
    payload = codec.setup_frame() + frame

    # The 0700 directory keeps another user from reaching the socket at all.
    outcome = as_other_user(path, payload)
    assert outcome.startswith("REFUSED"), outcome

    # With the directory and socket opened up, the uid check still refuses.
    parents_open = all(
        os.stat(parent).st_mode & stat.S_IXOTH for parent in _ancestors(os.path.dirname(directory))
    )
    if not parents_open:
        pytest.skip(f"{directory}'s parents are closed to other users")
    os.chmod(directory, 0o711)
    os.chmod(path, 0o666)
    try:
        outcome = as_other_user(path, payload)
    finally:
        os.chmod(path, 0o600)
        os.chmod(directory, 0o700)
    kind, _, data = outcome.partition(" ")
    assert kind == "DATA", outcome
    codec.feed(bytes.fromhex(data))
    assert isinstance(box.error, babushka.ConnectionError), box.error
    assert "refused" in str(box.error)
    assert f"uid {NOBODY}" in str(box.error)


def _ancestors(path: str) -> Iterator[str]:
    while True:
        yield path
        parent = os.path.dirname(path)
        if parent == path:
            return
        path = parent


# -- closing -------------------------------------------------------------------


def _blocked_clients(observer: babushka.Redis) -> int:
    return sum(1 for client in observer.client_list() if client["cmd"] == "blpop")


def _wait_for(condition: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_close_fails_in_flight_requests_and_drops_the_server_connection(
    redis_server: RedisServer,
) -> None:
    observer = babushka.Redis(host=redis_server.host, port=redis_server.port)
    client = babushka.Redis(host=redis_server.host, port=redis_server.port, transport="uds")
    outcome: list[BaseException | Any] = []

    def blocked() -> None:
        try:
            outcome.append(client.execute_command("BLPOP", "nothing", "10"))
        except BaseException as error:  # inspected below
            outcome.append(error)

    thread = threading.Thread(target=blocked)
    thread.start()
    assert _wait_for(lambda: _blocked_clients(observer) == 1)
    client.close()
    thread.join(timeout=5)
    assert len(outcome) == 1
    assert isinstance(outcome[0], babushka.ClientClosedError), outcome
    # The core dropped the stream's server connection with the stream.
    assert _wait_for(lambda: _blocked_clients(observer) == 0)
    assert client.ping() is True  # as redis-py: a closed client connects again
    client.close()
    observer.close()


async def test_async_close_fails_in_flight_requests(redis_server: RedisServer) -> None:
    client = babushka.asyncio.Redis(host=redis_server.host, port=redis_server.port, transport="uds")
    assert await client.ping() is True
    task = asyncio.ensure_future(client.execute_command("BLPOP", "nothing", "10"))
    await asyncio.sleep(0.1)
    await client.aclose()
    with pytest.raises(babushka.ClientClosedError):
        await task
    assert await client.ping() is True  # on a new stream
    await client.aclose()


# -- the socket file's lifetime ---------------------------------------------------


def _run_python(code: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def test_socket_is_removed_at_exit_and_stale_dirs_are_cleaned(
    redis_server: RedisServer,
) -> None:
    directory = os.path.dirname(_uds.listener_path())
    base = os.path.dirname(directory)
    # A directory left by a process that is gone (pids are below 2^22 on Linux).
    stale = os.path.join(base, f"babushka-{os.geteuid()}-{2**22 + 12345}")
    os.makedirs(stale, mode=0o700, exist_ok=True)
    path = _run_python(
        "import sys, babushka\n"
        "r = babushka.Redis(host=sys.argv[1], port=int(sys.argv[2]), transport='uds')\n"
        "assert r.ping() is True\n"
        "from babushka import _uds\n"
        "print(_uds.listener_path())\n",
        redis_server.host,
        str(redis_server.port),
    )
    assert path != _uds.listener_path()
    assert not os.path.exists(path), "the exiting process removed its socket"
    assert not os.path.exists(os.path.dirname(path)), "and its directory"
    assert not os.path.exists(stale), "the stale directory was cleaned up"
    assert os.path.exists(_uds.listener_path()), "a live process's socket is left alone"


# -- leases ----------------------------------------------------------------------


def _clients_with(observer: babushka.Redis, fragment: str) -> int:
    """How many connections have ``field=value...`` (a prefix of the value)."""
    field, _, value = fragment.partition("=")
    return sum(1 for client in observer.client_list() if client[field].startswith(value))


def test_a_dropped_lease_is_released_at_once(redis_server: RedisServer) -> None:
    """The release frame goes out when the lease is dropped, not with the
    client's next request."""
    observer = babushka.Redis(host=redis_server.host, port=redis_server.port)
    client = babushka.Redis(host=redis_server.host, port=redis_server.port, transport="uds")
    lease = client._lease()
    client._execute_request(lease, 0, [(0, "CLIENT", "SETNAME", "leased")])
    assert _clients_with(observer, "name=leased") == 1
    lease.set_reusable(False)  # closed, not kept, when released
    del lease
    assert _wait_for(lambda: _clients_with(observer, "name=leased") == 0)
    client.close()
    observer.close()


async def test_an_async_dropped_lease_is_released_at_once(redis_server: RedisServer) -> None:
    observer = babushka.Redis(host=redis_server.host, port=redis_server.port)
    client = babushka.asyncio.Redis(host=redis_server.host, port=redis_server.port, transport="uds")
    lease = client._lease()
    await client._execute_request(lease, 0, [(0, "CLIENT", "SETNAME", "leased")])
    assert _clients_with(observer, "name=leased") == 1
    lease.set_reusable(False)
    del lease
    assert await asyncio.to_thread(_wait_for, lambda: _clients_with(observer, "name=leased") == 0)
    await client.aclose()
    observer.close()


def test_closing_the_stream_releases_its_leases(redis_server: RedisServer) -> None:
    observer = babushka.Redis(host=redis_server.host, port=redis_server.port)
    client = babushka.Redis(host=redis_server.host, port=redis_server.port, transport="uds")
    leases = [client._lease() for _ in range(2)]
    for at, lease in enumerate(leases):
        client._execute_request(lease, 0, [(0, "CLIENT", "SETNAME", f"leased{at}")])
    assert _clients_with(observer, "name=leased") == 2
    client.close()  # the leases are still referenced here
    assert _wait_for(lambda: _clients_with(observer, "name=leased") == 0)
    with pytest.raises(babushka.ClientClosedError):
        client._execute_request(leases[0], 0, [(0, "PING")])
    del leases  # a release after close sends nothing, raises nothing
    observer.close()
