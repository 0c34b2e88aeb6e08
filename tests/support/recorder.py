"""A recording proxy on loopback: what exactly reached the server.

:class:`RecordingProxy` forwards every byte between its clients and a real
server, both ways, unchanged; it answers nothing itself. On the way in it
parses the client's bytes strictly as RESP requests (an array of bulk
strings, nothing else) and records each command, so a test can check that
every command the server saw is well formed and is one it meant to send,
and that a call refused with ``DataError`` sent nothing at all.

Anything that is not a well-formed request (an inline command, a bad
length, a missing CRLF) is recorded in :attr:`RecordingProxy.malformed`,
and a test that uses the proxy asserts that list stays empty.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
import time
from typing import TYPE_CHECKING, Any, Callable

import pytest

if TYPE_CHECKING:
    from support.servers import RedisServer


class _RequestParser:
    """Cuts a client's byte stream into commands, however the reads cut it;
    strict: only what a correct client sends is accepted."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._at = 0
        self.broken: str | None = None

    def feed(self, data: bytes) -> list[list[bytes]]:
        self._buffer += data
        commands = []
        while self.broken is None:
            command = self._take_one()
            if command is None:
                break
            commands.append(command)
        # Drop what was parsed, so a long run does not keep every byte.
        del self._buffer[: self._at]
        self._at = 0
        return commands

    def _line(self, start: int) -> tuple[bytes, int] | None:
        end = self._buffer.find(b"\r\n", start)
        if end < 0:
            return None
        return bytes(self._buffer[start:end]), end + 2

    def _number(self, line: bytes, marker: bytes) -> int | None:
        digits = line[1:]
        if line[:1] != marker or not digits.isdigit() or (len(digits) > 1 and digits[0:1] == b"0"):
            self.broken = f"expected {marker!r}<length>, got {line[:40]!r}"
            return None
        return int(digits)

    def _take_one(self) -> list[bytes] | None:
        start = self._at
        if start >= len(self._buffer):
            return None
        header = self._line(start)
        if header is None:
            return None
        line, pos = header
        count = self._number(line, b"*")
        if count is None:
            return None
        if count == 0:
            self.broken = "an empty command (*0)"
            return None
        words = []
        for _ in range(count):
            length_line = self._line(pos)
            if length_line is None:
                return None
            line, pos = length_line
            length = self._number(line, b"$")
            if length is None:
                return None
            if len(self._buffer) < pos + length + 2:
                return None
            if self._buffer[pos + length : pos + length + 2] != b"\r\n":
                self.broken = f"bulk string of {length} bytes not followed by CRLF"
                return None
            words.append(bytes(self._buffer[pos : pos + length]))
            pos += length + 2
        self._at = pos
        return words


class RecordingProxy:
    """Forwards to ``host:port``; records every command its clients send.

    ``commands`` holds them in arrival order (across all connections, which
    is fine for a test that runs one client at a time); ``mark()`` and
    ``since(mark)`` give what arrived between two points of a test.
    """

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.setblocking(False)
        self.port: int = self._listener.getsockname()[1]
        self.commands: list[list[bytes]] = []
        self.malformed: list[str] = []
        self._lock = threading.Lock()
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ, None)
        self._wake_r, self._wake_w = socket.socketpair()
        self._selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="recording-proxy", daemon=True)
        self._thread.start()

    # What a test reads

    def mark(self) -> int:
        with self._lock:
            return len(self.commands)

    def since(self, mark: int) -> list[list[bytes]]:
        with self._lock:
            return list(self.commands[mark:])

    def settle(self, mark: int, expected: int, timeout: float = 5.0) -> list[list[bytes]]:
        """What arrived since ``mark``, once at least ``expected`` commands have
        (the proxy forwards on its own thread: a reply the client has seen
        means the command passed the proxy, but the record is made first)."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.since(mark)
            if len(got) >= expected or time.monotonic() >= deadline:
                return got
            time.sleep(0.002)

    # The forwarding loop

    def _run(self) -> None:
        while not self._closing:
            for key, _ in self._selector.select(timeout=1.0):
                if key.data == "wake":
                    return
                if key.data is None:
                    self._accept()
                    continue
                source, sink, parser = key.data
                try:
                    data = source.recv(1 << 20)
                except OSError:
                    data = b""
                if not data:
                    self._drop(source, sink)
                    continue
                if parser is not None:
                    self._record(parser, data)
                try:
                    sink.sendall(data)
                except OSError:
                    self._drop(source, sink)

    def _accept(self) -> None:
        try:
            client, _ = self._listener.accept()
        except OSError:
            return
        try:
            server = socket.create_connection(self._target)
        except OSError:
            client.close()
            return
        for sock in (client, server):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # sendall on a blocking socket keeps every byte in order; reads are
        # only made when the selector says one will not block.
        self._selector.register(client, selectors.EVENT_READ, (client, server, _RequestParser()))
        self._selector.register(server, selectors.EVENT_READ, (server, client, None))

    def _record(self, parser: _RequestParser, data: bytes) -> None:
        commands = parser.feed(data)
        with self._lock:
            self.commands.extend(commands)
            if parser.broken is not None and parser.broken not in self.malformed:
                self.malformed.append(parser.broken)

    def _drop(self, source: socket.socket, sink: socket.socket) -> None:
        for sock in (source, sink):
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(sock)
            sock.close()

    def close(self) -> None:
        self._closing = True
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        self._thread.join(timeout=5)
        for key in list(self._selector.get_map().values()):
            if isinstance(key.fileobj, socket.socket):
                key.fileobj.close()
        self._selector.close()
        self._wake_w.close()


def words_sent(host: str, port: int, call: Any, transport: str = "managed") -> list[bytes]:
    """The one command ``call(client)`` sends, through a recording proxy to
    the server at ``host:port``. An error reply is expected when the server
    is too old for the command (the words are what is checked), and ignored."""
    import babushka

    proxy = RecordingProxy(host, port)
    client = babushka.Redis(port=proxy.port, transport=transport, socket_timeout=10)
    try:
        client.ping()  # connected, handshake done: what follows is the call's
        mark = proxy.mark()
        with contextlib.suppress(babushka.ResponseError):
            call(client)
        (command,) = proxy.settle(mark, 1)
    finally:
        client.close()
        proxy.close()
    assert proxy.malformed == [], "the server was sent something that is not a command"
    return command


def as_words(*words: bytes | str | int) -> list[bytes]:
    """Words as a server receives them."""
    return [w if isinstance(w, bytes) else str(w).encode() for w in words]


#: A call and what it must send: the method's name, its positional and keyword
#: arguments, and the command's words.
Encoding = tuple[str, tuple[Any, ...], dict[str, Any], list[Any]]


def sent_words_test(cases: list[Encoding]) -> Callable[..., None]:
    """A test, one case per call of ``cases``, that the call sends exactly its
    words; a test module binds it to a ``test_`` name."""

    @pytest.mark.parametrize(("method", "args", "kwargs", "words"), cases)
    def test(
        redis_server: RedisServer,
        method: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        words: list[Any],
    ) -> None:
        call = lambda r: getattr(r, method)(*args, **kwargs)  # noqa: E731
        assert words_sent(redis_server.host, redis_server.port, call) == as_words(*words)

    return test
