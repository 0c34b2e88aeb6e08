"""A forwarding proxy on loopback that can fail the connections through it,
for the reconnect, retry and health-check tests.

:class:`Gate` forwards bytes between its clients and a real server. It
records when every connection attempt arrived (``attempts``, monotonic
seconds) and whether the server behind it could be reached then, so a test
can see how a client spaces its reconnect attempts while the server is down.
It can also fail the connections it carries, the ways networks do:

- :meth:`blackhole`: the connections open now stay open but carry nothing
  more either way (a peer gone silent, a NAT entry dropped); new connections
  are forwarded as usual. What clients send on them is counted
  (``swallowed``), so a test knows a request left the client and never
  reached the server.
- :meth:`cut`: the connections open now are closed.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time


class _Link:
    """One client connection and its upstream; ``silent`` once blackholed."""

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client = client
        self.upstream = upstream
        self.silent = False

    def close(self) -> None:
        for sock in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


class Gate:
    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Condition()
        self._links: list[_Link] = []
        self._closed = False
        #: ``(when, reached)`` per connection attempt: monotonic seconds, and
        #: whether the server behind could be reached.
        self.attempts: list[tuple[float, bool]] = []
        #: Bytes clients sent on blackholed connections (never forwarded).
        self.swallowed = 0
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    def _accept_loop(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            when = time.monotonic()
            try:
                upstream = socket.create_connection(self._target, timeout=2)
                upstream.settimeout(None)
            except OSError:
                # The server is down: the client sees its connection closed.
                with self._lock:
                    self.attempts.append((when, False))
                    self._lock.notify_all()
                client.close()
                continue
            link = _Link(client, upstream)
            with self._lock:
                self.attempts.append((when, True))
                if self._closed:
                    link.close()
                    return
                self._links.append(link)
                self._lock.notify_all()
            for source, sink, inbound in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(
                    target=self._pump, args=(link, source, sink, inbound), daemon=True
                ).start()

    def _pump(self, link: _Link, source: socket.socket, sink: socket.socket, inbound: bool) -> None:
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                data = b""
            if not data:
                with contextlib.suppress(OSError):
                    sink.shutdown(socket.SHUT_WR)
                return
            with self._lock:
                if link.silent:
                    if inbound:
                        self.swallowed += len(data)
                        self._lock.notify_all()
                    continue
            with contextlib.suppress(OSError):
                sink.sendall(data)

    def blackhole(self) -> None:
        """The connections open now carry nothing more, and stay open."""
        with self._lock:
            for link in self._links:
                link.silent = True

    def cut(self) -> None:
        """Closes the connections open now."""
        with self._lock:
            links, self._links = self._links, []
        for link in links:
            link.close()

    def wait_swallowed(self, at_least: int, timeout: float = 5.0) -> bool:
        """Waits until clients sent ``at_least`` bytes into the blackhole."""
        with self._lock:
            return self._lock.wait_for(lambda: self.swallowed >= at_least, timeout)

    def close(self) -> None:
        with self._lock:
            self._closed = True
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self.cut()
        self._thread.join(timeout=5)
