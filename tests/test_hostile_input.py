"""Hostile and careless input: random argument types, sizes and encodings
thrown at the command methods (hypothesis), with a recording proxy between
the client and the server to see exactly what reached it.

Every call ends in a reply or a typed exception; nothing crashes; every
command the server saw is well formed and is the one the test meant to
send; and a call refused before sending sent nothing (a ``PING`` sent after
it is the next thing the server sees).

The properties run with many examples on the default transport and a
sample on the others: arguments are encoded by one function of the binding
for every transport (the uds listener then rebuilds the command from the
frame, which the sample covers).
"""

from __future__ import annotations

import array
import asyncio
import math
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import babushka
import babushka.asyncio
from conftest import DEFAULT_TRANSPORT
from support.recorder import RecordingProxy
from support.servers import RedisServer

# ---------------------------------------------------------------------------
# How many examples, where
# ---------------------------------------------------------------------------


def examples(transport: str, default: int) -> settings:
    """Hypothesis settings: ``default`` examples on the default transport, a
    fifth of that on the others; no deadline (a shared CI machine is slow
    now and then, which is not a failure)."""
    count = default if transport == DEFAULT_TRANSPORT else max(default // 5, 10)
    return settings(
        max_examples=count,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# ---------------------------------------------------------------------------
# Values: everything a careless caller might pass
# ---------------------------------------------------------------------------


class MyStr(str):
    pass


class MyBytes(bytes):
    pass


class MyInt(int):
    pass


class MyFloat(float):
    def __repr__(self) -> str:  # a subclass's repr is not what is sent
        return f"MyFloat({float(self)!r})"


binaries = st.binary(max_size=40) | st.sampled_from(
    [b"", b"\x00", b"\r\n", b"\x00\r\n\x00", b"\xff\xfe\xfd", b"*1\r\n$4\r\nPING\r\n", b"$-1\r\n"]
)
texts = (
    st.text(max_size=20)
    | st.sampled_from(["", "\x00", "\r\n", "ключ", "鍵", "🔑", "a\x00b"])
    # Lone surrogates: a str Python holds, but no UTF-8 can encode.
    | st.text(st.characters(categories=["Cs"]), min_size=1, max_size=2)
)
ints = st.integers(min_value=-(2**70), max_value=2**70) | st.sampled_from(
    [2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64, -(2**200)]
)
floats = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [math.inf, -math.inf, math.nan, -0.0, 1e308, 5e-324, 0.1]
)
invalid = st.sampled_from([None, True, False, object(), [], {}, (1,), {1}, 1j, Decimal("1.5")])
buffers = (
    binaries.map(bytearray)
    | binaries.map(memoryview)
    | binaries.map(lambda b: memoryview(b)[::2])  # strided: not contiguous
    | st.lists(st.integers(0, 65535), max_size=4).map(lambda xs: array.array("H", xs))
)
subclassed = (
    binaries.map(MyBytes) | st.text(max_size=8).map(MyStr) | ints.map(MyInt) | floats.map(MyFloat)
)
values = binaries | texts | ints | floats | invalid | buffers | subclassed
hashable_values = binaries | st.text(max_size=12) | ints | floats | st.sampled_from([None, True])


class Refused(Exception):
    """What the reference encoder says the client must raise, unsent."""

    def __init__(self, expected: type[BaseException]) -> None:
        super().__init__(expected.__name__)
        self.expected = expected


def encode(value: Any) -> bytes:
    """redis-py's encoding rules (with UTF-8), the reference the client is
    held to: the bytes it must send, or :class:`Refused` with what it must raise."""
    if value is None or isinstance(value, bool):
        raise Refused(babushka.DataError)
    if isinstance(value, bytes):
        return bytes(value)
    if isinstance(value, str):
        try:
            return str(value).encode("utf-8")
        except UnicodeEncodeError:
            raise Refused(UnicodeEncodeError) from None
    if isinstance(value, int):
        try:
            return str(int(value)).encode()
        except ValueError:  # over the interpreter's limit on int-to-str digits
            raise Refused(ValueError) from None
    if isinstance(value, float):
        return float.__repr__(value).encode()
    if isinstance(value, (bytearray, memoryview, array.array)):
        # Any buffer passes as its bytes (redis-py takes memoryview; the
        # client also reads other buffers, as it did through tobytes()).
        return memoryview(value).tobytes()
    raise Refused(babushka.DataError)


# ---------------------------------------------------------------------------
# Calls: a command method, its arguments, and the words it must send
# ---------------------------------------------------------------------------


@dataclass
class Call:
    """One command method called with drawn arguments; ``words`` are what
    must reach the server (before encoding), or ``refused`` what must be
    raised instead, before anything is sent, by the method's own checks."""

    method: str
    args: tuple[Any, ...]
    words: list[Any]
    refused: type[BaseException] | None = None

    def __repr__(self) -> str:
        return f"{self.method}{self.args!r}"

    def expected(self) -> tuple[list[bytes] | None, type[BaseException] | None]:
        """The encoded command, or the exception the call must raise unsent."""
        if self.refused is not None:
            return None, self.refused
        try:
            return [encode(word) for word in self.words], None
        except Refused as refusal:
            return None, refusal.expected


def _expire(name: Any, time: Any) -> Call:
    number = isinstance(time, (int, float)) and not isinstance(time, bool)
    if not number or (isinstance(time, float) and not math.isfinite(time)) or time < 0:
        return Call("expire", (name, time), [], babushka.DataError)
    return Call("expire", (name, time), ["EXPIRE", name, int(time)])


def _hset(name: Any, key: Any, value: Any) -> Call:
    if key is None:  # a value without a field, or nothing to set at all
        return Call("hset", (name, key, value), [], babushka.DataError)
    return Call("hset", (name, key, value), ["HSET", name, key, value])


def _name_words(name: Any) -> list[Any]:
    """redis-py's rule: a name with a space in it is sent as its words
    (``execute_command("CONFIG GET", ...)``), split on any whitespace."""
    if isinstance(name, (str, bytes)) and (" " if isinstance(name, str) else b" ") in name:
        return list(name.split())
    return [name]


#: Command names the server knows, given any arguments.
KNOWN_NAMES = st.sampled_from(
    ["ECHO", "GET", "SET", "STRLEN", "EXISTS", "TYPE", "APPEND", "GETRANGE", "SADD", "get"]
)
#: Names it does not know, which it refuses, echoing the name and the first
#: arguments in its error line, whatever bytes they are.
UNKNOWN_NAMES = st.binary(max_size=6).map(lambda name: b"x" + name)

calls = st.one_of(
    st.tuples(values, values).map(lambda a: Call("set", a, ["SET", *a])),
    values.map(lambda k: Call("get", (k,), ["GET", k])),
    values.map(lambda v: Call("echo", (v,), ["ECHO", v])),
    st.tuples(values, values).map(lambda a: Call("append", a, ["APPEND", *a])),
    st.tuples(values, values).map(lambda a: Call("incrby", a, ["INCRBY", *a])),
    st.tuples(values, values, values).map(lambda a: _hset(*a)),
    st.tuples(values, st.lists(values, min_size=1, max_size=4)).map(
        lambda a: Call("rpush", (a[0], *a[1]), ["RPUSH", a[0], *a[1]])
    ),
    st.tuples(values, st.lists(values, min_size=1, max_size=4)).map(
        lambda a: Call("sadd", (a[0], *a[1]), ["SADD", a[0], *a[1]])
    ),
    st.tuples(values, hashable_values, values).map(
        lambda a: Call("zadd", (a[0], {a[1]: a[2]}), ["ZADD", a[0], a[2], a[1]])
    ),
    st.dictionaries(hashable_values, values, min_size=1, max_size=3).map(
        lambda m: Call("mset", (m,), ["MSET", *(w for kv in m.items() for w in kv)])
    ),
    st.tuples(values, values).map(lambda a: _expire(*a)),
    st.tuples(KNOWN_NAMES, st.lists(values, max_size=3)).map(
        lambda a: Call("execute_command", (a[0], *a[1]), [*_name_words(a[0]), *a[1]])
    ),
    st.tuples(UNKNOWN_NAMES, st.lists(values, max_size=3)).map(
        lambda a: Call("execute_command", (a[0], *a[1]), [*_name_words(a[0]), *a[1]])
    ),
)

#: Exceptions a call that reached the server may end in: the server's error
#: reply, or a reply that does not decode (decode_responses with non-UTF-8).
SENT_FAILURES = (babushka.ResponseError, UnicodeDecodeError)


# ---------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------


@pytest.fixture
def proxy(redis_server: RedisServer) -> Iterator[RecordingProxy]:
    proxy = RecordingProxy(redis_server.host, redis_server.port)
    yield proxy
    proxy.close()
    assert proxy.malformed == [], "the server was sent something that is not a command"


def _client(proxy: RecordingProxy, transport: str, decode: bool) -> babushka.Redis:
    # A timeout well inside the test's: a call that hangs fails with its example.
    client = babushka.Redis(
        port=proxy.port, transport=transport, decode_responses=decode, socket_timeout=10
    )
    client.flushdb()  # connected, handshake done: what follows is the test's
    return client


def _check_call(
    client: babushka.Redis, proxy: RecordingProxy, call: Call, invoke: Callable[[], Any]
) -> None:
    """Runs ``invoke`` (the call, sync) and checks its outcome and what the
    server saw, up to a PING sent right after it."""
    words, refused = call.expected()
    mark = proxy.mark()
    outcome: BaseException | None = None
    try:
        invoke()
    except Exception as error:  # judged below; BaseExceptions (a panic) fail the test
        outcome = error
    assert client.ping() is True, "the connection no longer answers"
    seen = proxy.settle(mark, 2 if words is not None else 1)
    if refused is not None:
        assert isinstance(outcome, refused), (
            f"{call!r}: expected {refused.__name__}, got {outcome!r}"
        )
        assert seen == [[b"PING"]], f"{call!r} was refused, yet the server saw {seen!r}"
    else:
        assert outcome is None or isinstance(outcome, SENT_FAILURES), f"{call!r} -> {outcome!r}"
        assert seen == [words, [b"PING"]], f"{call!r}: the server saw {seen!r}"


# ---------------------------------------------------------------------------
# The properties
# ---------------------------------------------------------------------------


def test_any_arguments_end_in_a_reply_or_a_typed_error(
    proxy: RecordingProxy, transport: str
) -> None:
    clients = {decode: _client(proxy, transport, decode) for decode in (False, True)}

    @examples(transport, 500)
    @given(call=calls, decode=st.booleans())
    def run(call: Call, decode: bool) -> None:
        client = clients[decode]
        method = getattr(client, call.method)
        _check_call(client, proxy, call, lambda: method(*call.args))

    try:
        run()
    finally:
        for client in clients.values():
            client.close()


def test_pipelines_of_any_arguments(proxy: RecordingProxy, transport: str) -> None:
    """A batch with one bad argument anywhere is refused whole, unsent; a
    good one reaches the server exactly as queued, MULTI/EXEC around it."""
    client = _client(proxy, transport, False)

    @examples(transport, 150)
    @given(batch=st.lists(calls, min_size=1, max_size=5), transaction=st.booleans())
    def run(batch: list[Call], transaction: bool) -> None:
        pipe = client.pipeline(transaction=transaction)
        expected: list[list[bytes]] = []
        refused: type[BaseException] | None = None
        for call in batch:
            if call.refused is not None:
                # The method's own checks run as it is queued.
                with pytest.raises(call.refused):
                    getattr(pipe, call.method)(*call.args)
                continue
            getattr(pipe, call.method)(*call.args)
            words, encoding_refused = call.expected()
            if words is None:
                refused = refused or encoding_refused
            else:
                if (
                    call.method == "execute_command"
                    and isinstance(call.args[0], str)
                    and " " not in call.args[0]
                ):
                    # A pipeline sends a str name upper-cased, as it looks it up.
                    words = [words[0].upper(), *words[1:]]
                expected.append(words)
        mark = proxy.mark()
        try:
            results = pipe.execute(raise_on_error=False)
        except Exception as error:
            outcome: Any = error
        else:
            outcome = results
        finally:
            pipe.reset()
        assert client.ping() is True
        if refused is not None:
            assert isinstance(outcome, refused), f"{batch!r}: expected {refused}, got {outcome!r}"
            assert proxy.settle(mark, 1) == [[b"PING"]]
            return
        if not expected:  # nothing valid was queued: nothing is sent
            assert outcome == [], f"{batch!r} -> {outcome!r}"
            assert proxy.settle(mark, 1) == [[b"PING"]]
            return
        if transaction:
            expected = [[b"MULTI"], *expected, [b"EXEC"]]
        assert isinstance(outcome, (list, SENT_FAILURES)), outcome
        assert proxy.settle(mark, len(expected) + 1) == [*expected, [b"PING"]]

    try:
        run()
    finally:
        client.close()


def test_values_come_back_as_they_were_sent(proxy: RecordingProxy, transport: str) -> None:
    """SET then GET returns the bytes the reference encoder made, or with
    decode_responses their text (non-UTF-8 raises UnicodeDecodeError, and the
    connection stays in step)."""
    clients = {decode: _client(proxy, transport, decode) for decode in (False, True)}
    sendable = binaries | st.text(max_size=20) | ints | floats | buffers | subclassed

    @examples(transport, 300)
    @given(key=binaries | st.text(max_size=12), value=sendable, decode=st.booleans())
    def run(key: Any, value: Any, decode: bool) -> None:
        client = clients[decode]
        assert client.set(key, value) is True
        sent = encode(value)
        if decode:
            try:
                text = sent.decode("utf-8")
            except UnicodeDecodeError:
                with pytest.raises(UnicodeDecodeError):
                    client.get(key)
                assert client.echo("in step") == "in step"
                return
            assert client.get(key) == text
            assert client.echo(value) == text
        else:
            assert client.get(key) == sent
            assert client.echo(value) == sent

    try:
        run()
    finally:
        for client in clients.values():
            client.close()


def test_async_client_takes_the_same_arguments(proxy: RecordingProxy) -> None:
    """The asyncio client's calls (a native future on the default transport)
    hold to the same property: errors raised when called, nothing sent."""
    loop = asyncio.new_event_loop()
    client = babushka.asyncio.Redis(port=proxy.port)

    async def ping() -> Any:
        # Called inside the loop: an async call is sent when it is made.
        return await client.ping()

    @examples(DEFAULT_TRANSPORT, 150)
    @given(call=calls)
    def run(call: Call) -> None:
        async def invoke() -> Any:
            return await getattr(client, call.method)(*call.args)

        words, refused = call.expected()
        mark = proxy.mark()
        outcome: BaseException | None = None
        try:
            loop.run_until_complete(invoke())
        except Exception as error:
            outcome = error
        assert loop.run_until_complete(ping()) is True
        seen = proxy.settle(mark, 2 if words is not None else 1)
        if refused is not None:
            assert isinstance(outcome, refused), f"{call!r}: got {outcome!r}"
            assert seen == [[b"PING"]], f"{call!r} was refused, yet the server saw {seen!r}"
        else:
            assert outcome is None or isinstance(outcome, SENT_FAILURES), f"{call!r} -> {outcome!r}"
            assert seen == [words, [b"PING"]], f"{call!r}: the server saw {seen!r}"

    try:
        loop.run_until_complete(ping())
        run()
    finally:
        loop.run_until_complete(client.aclose())
        loop.close()


def test_an_int_with_more_digits_than_python_prints_is_refused_unsent(
    proxy: RecordingProxy, transport: str
) -> None:
    """Beyond the interpreter's limit on int-to-str digits, Python refuses to
    write the number (ValueError, as redis-py raises); nothing is sent.
    (Outside hypothesis, which cannot print such an int either.)"""
    client = _client(proxy, transport, False)
    try:
        huge = 10**5000
        _check_call(
            client,
            proxy,
            Call("set", ("k", huge), ["SET", "k", huge]),
            lambda: client.set("k", huge),
        )
    finally:
        client.close()


async def test_a_non_utf8_error_line_fails_only_its_request(
    redis_server: RedisServer, transport: str
) -> None:
    """The server echoes an unknown command's name and arguments in its error
    line, and a script's error_reply can say anything: bytes that are not
    UTF-8 fail that request with its ResponseError (the text decoded with
    U+FFFD), not the connection. (redis-rs's decoder, used before, gave the
    connection up and failed every request in flight on it.)"""
    client = babushka.asyncio.Redis(port=redis_server.port, transport=transport)
    try:
        await client.set("k", "v")
        results = await asyncio.gather(
            client.get("k"),
            client.execute_command(b"x\x80"),
            client.eval("return redis.error_reply(ARGV[1])", 0, b"\xff"),
            client.get("k"),
            return_exceptions=True,
        )
        assert results[0] == b"v"
        assert isinstance(results[1], babushka.ResponseError), results[1]
        assert "unknown command 'x\ufffd'" in str(results[1])
        assert isinstance(results[2], babushka.ResponseError), results[2]
        assert str(results[2]).endswith("\ufffd")
        assert results[3] == b"v"
    finally:
        await client.aclose()


# ---------------------------------------------------------------------------
# Over the server's limit for one argument
# ---------------------------------------------------------------------------

#: The server's ``proto-max-bulk-len`` (its default): the longest argument it takes.
BULK_LIMIT = 512 * 1024 * 1024


def _rss_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/self/status")


def _reset_peak_rss() -> None:
    # Writing 5 resets the peak (VmHWM) to the current RSS (Linux 4.0+).
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


# The limit is checked by the client, before anything is sent: the server's
# kind cannot matter (conftest.py's any_server).
@pytest.mark.any_server
def test_an_argument_over_the_servers_limit_is_refused_before_it_is_copied(
    proxy: RecordingProxy, transport: str
) -> None:
    """A value of 512 MiB + 1 byte raises DataError naming the argument;
    nothing is sent, and the process's peak memory does not grow by a copy
    of it. (The test holds one such value: 512 MiB, freed at its end.)"""
    client = _client(proxy, transport, False)
    big = b"\0" * (BULK_LIMIT + 1)
    try:
        for value in (big, memoryview(big)):
            _reset_peak_rss()
            before = _rss_kib("VmRSS")
            mark = proxy.mark()
            with pytest.raises(babushka.DataError, match=r"Argument 'value' is 536870913 bytes"):
                client.set("big", value)
            grew = _rss_kib("VmHWM") - before
            assert grew < 64 * 1024, f"peak memory grew by {grew} KiB for a refused value"
            assert client.ping() is True
            assert proxy.settle(mark, 1) == [[b"PING"]]
        # In a pipeline: the whole batch is refused, naming the command.
        mark = proxy.mark()
        pipe = client.pipeline(transaction=False)
        pipe.set("a", 1).set("big", big)
        with pytest.raises(babushka.DataError, match=r"Command # 2 \(SET\).*536870913 bytes"):
            pipe.execute()
        pipe.reset()
        assert client.ping() is True
        assert proxy.settle(mark, 1) == [[b"PING"]]
        del big, value
        # A str is refused by its length before it is encoded.
        text = "x" * (BULK_LIMIT + 1)
        _reset_peak_rss()
        before = _rss_kib("VmRSS")
        with pytest.raises(babushka.DataError, match="over the server's limit"):
            client.echo(text)
        assert _rss_kib("VmHWM") - before < 64 * 1024
        del text
    finally:
        client.close()


# The frame limit is the uds listener's, before anything is sent.
@pytest.mark.any_server
def test_uds_refuses_a_request_over_its_frame_limit_alone(proxy: RecordingProxy) -> None:
    """On uds a request travels as one frame of at most 512 MiB: a batch whose
    arguments add up to more is refused with DataError, unsent, and the
    stream (and every other request on it) carries on."""
    client = _client(proxy, "uds", False)
    chunk = memoryview(b"\0" * (300 * 1024 * 1024))
    try:
        mark = proxy.mark()
        pipe = client.pipeline(transaction=False)
        pipe.set("a", chunk).set("b", chunk)
        with pytest.raises(babushka.DataError, match="uds transport's limit"):
            pipe.execute()
        pipe.reset()
        assert client.ping() is True
        assert proxy.settle(mark, 1) == [[b"PING"]]
    finally:
        del chunk
        client.close()
