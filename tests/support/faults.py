"""Fault injectors on loopback, for tests that need a server to misbehave.

Neither answers a command itself: :class:`Proxy` forwards every byte to a real
server (and can hold what the client sends), :func:`unaccepting_listener` is a
port whose connects never complete.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import socket
import threading
import time
from collections.abc import Iterator
from typing import Callable


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Polls ``condition`` until it holds (True) or ``timeout`` passes (False)."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)


async def async_wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    """:func:`wait_until` for a coroutine: the event loop runs while it polls."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.01)


class _RequestParser:
    """Splits a client's byte stream into the commands it carries (RESP arrays
    of bulk strings, or inline commands), however the bytes are cut."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[list[bytes]]:
        self._buffer += data
        commands = []
        while True:
            parsed = self._take_one()
            if parsed is None:
                return commands
            commands.append(parsed)

    def _line(self, start: int) -> tuple[bytes, int] | None:
        end = self._buffer.find(b"\r\n", start)
        if end < 0:
            return None
        return bytes(self._buffer[start:end]), end + 2

    def _take_one(self) -> list[bytes] | None:
        if not self._buffer:
            return None
        header = self._line(0)
        if header is None:
            return None
        line, pos = header
        if not line.startswith(b"*"):  # an inline command
            del self._buffer[:pos]
            return line.split()
        words = []
        for _ in range(int(line[1:])):
            length_line = self._line(pos)
            if length_line is None:
                return None
            length_text, pos = length_line
            length = int(length_text[1:])
            if len(self._buffer) < pos + length + 2:
                return None
            words.append(bytes(self._buffer[pos : pos + length]))
            pos += length + 2
        del self._buffer[:pos]
        return words


class Proxy:
    """A TCP proxy on 127.0.0.1 in front of a real server.

    It records every command clients send through it (``commands``, in arrival
    order). While held (:meth:`hold`), it still reads and records what clients
    send but forwards none of it, as if the server had stalled; :meth:`release`
    forwards what was kept, in order, and resumes forwarding.
    """

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.port: int = self._listener.getsockname()[1]
        self._changed = threading.Condition()
        self._held = False
        self._kept: dict[socket.socket, bytearray] = {}
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._closed = False
        self.commands: list[list[bytes]] = []
        self._start(self._accept_loop)

    def _start(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            upstream = socket.create_connection(self._target)
            with self._changed:
                if self._closed:
                    client.close()
                    upstream.close()
                    return
                self._sockets += [client, upstream]
                self._kept[upstream] = bytearray()
            self._start(self._client_to_server, client, upstream)
            self._start(self._server_to_client, upstream, client)

    def _client_to_server(self, client: socket.socket, upstream: socket.socket) -> None:
        parser = _RequestParser()
        while True:
            try:
                data = client.recv(65536)
            except OSError:
                data = b""
            with self._changed:
                if not data:
                    with contextlib.suppress(OSError):
                        upstream.shutdown(socket.SHUT_WR)
                    return
                self.commands += parser.feed(data)
                if self._held:
                    self._kept[upstream] += data
                else:
                    with contextlib.suppress(OSError):
                        upstream.sendall(data)
                self._changed.notify_all()

    def _server_to_client(self, upstream: socket.socket, client: socket.socket) -> None:
        while True:
            try:
                data = upstream.recv(65536)
                if not data:
                    client.shutdown(socket.SHUT_WR)
                    return
                client.sendall(data)
            except OSError:
                return

    def hold(self) -> None:
        """Stops forwarding what clients send (the server seems to stall)."""
        with self._changed:
            self._held = True

    def release(self) -> None:
        """Forwards everything kept while held, and forwards again from now on."""
        with self._changed:
            self._held = False
            for upstream, kept in self._kept.items():
                if kept:
                    with contextlib.suppress(OSError):
                        upstream.sendall(kept)
                    kept.clear()

    def names_since(self, start: int) -> list[bytes]:
        """The (upper-cased) names of the commands received after the first ``start``."""
        with self._changed:
            return [command[0].upper() for command in self.commands[start:] if command]

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._held = False
            sockets = list(self._sockets)
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        for thread in self._threads:
            thread.join(timeout=5)


@contextlib.contextmanager
def unaccepting_listener() -> Iterator[int]:
    """A port on 127.0.0.1 whose accept queue is full and never drained, so a
    new connect neither succeeds nor fails: the kernel drops its SYNs. Yields
    the port."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    address = listener.getsockname()
    fillers: list[socket.socket] = []
    try:
        for _ in range(64):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            fillers.append(filler)
            filler.connect_ex(address)
            _, writable, _ = select.select([], [filler], [], 0.2)
            if not writable:
                break  # this connect hangs: the queue is full
        else:
            raise RuntimeError("the accept queue never filled up")
        yield address[1]
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
