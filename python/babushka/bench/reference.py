"""BENCHMARK REFERENCE ONLY, not part of Babushka's API.

A deliberately minimal pure-Python asyncio client for GET and SET, used as a
yardstick: the throughput a single-connection asyncio client reaches when it
does the obvious right things (issue #4 sets its bar, about 65k ops/s at 100
tasks and 10k at 1 task on the 2-core benchmark machine). It:

- pipelines automatically: every command queued during one loop iteration goes
  out in a single ``transport.write`` at the end of that iteration;
- parses replies with ``hiredis.Reader`` (C), and resolves the waiting futures
  in request order, skipping the ones that were cancelled.

It has no reconnection, timeouts, auth, or any command beyond GET and SET;
SET resolves to the raw ``b"OK"`` reply. Do not use it for anything else.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, Optional, cast

import hiredis


class ReferenceClient(asyncio.Protocol):
    """One connection; see the module docstring."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._reader = hiredis.Reader()
        self._waiting: deque[asyncio.Future[Any]] = deque()
        self._outgoing: list[bytes] = []
        self._flush_scheduled = False
        self._transport: Optional[asyncio.Transport] = None

    @classmethod
    async def connect(cls, host: str, port: int) -> ReferenceClient:
        loop = asyncio.get_running_loop()
        _transport, client = await loop.create_connection(lambda: cls(loop), host, port)
        return client

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports have asyncio.Transport's methods without
        # subclassing it, so no isinstance check here.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        gets = self._reader.gets
        popleft = self._waiting.popleft
        reply = gets()
        while reply is not False:
            future = popleft()
            # A cancelled caller's reply is dropped; the order of the rest is unchanged.
            if not future.done():
                if isinstance(reply, hiredis.ReplyError):
                    future.set_exception(reply)
                else:
                    future.set_result(reply)
            reply = gets()

    def connection_lost(self, exc: Optional[Exception]) -> None:
        error = ConnectionError(f"connection lost: {exc}")
        while self._waiting:
            future = self._waiting.popleft()
            if not future.done():
                future.set_exception(error)

    # commands

    def _send(self, command: bytes) -> asyncio.Future[Any]:
        future = self._loop.create_future()
        self._waiting.append(future)
        self._outgoing.append(command)
        if not self._flush_scheduled:
            # Runs after every callback already queued in this iteration, so all
            # the commands those tasks issue leave in one write.
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)
        return future

    def _flush(self) -> None:
        self._flush_scheduled = False
        outgoing, self._outgoing = self._outgoing, []
        if self._transport is None or self._transport.is_closing():
            self.connection_lost(None)
            return
        self._transport.write(b"".join(outgoing))

    def get(self, key: bytes) -> asyncio.Future[Any]:
        return self._send(b"*2\r\n$3\r\nGET\r\n$%d\r\n%b\r\n" % (len(key), key))

    def set(self, key: bytes, value: bytes) -> asyncio.Future[Any]:
        return self._send(
            b"*3\r\n$3\r\nSET\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n" % (len(key), key, len(value), value)
        )

    async def aclose(self) -> None:
        if self._transport is not None:
            self._transport.close()
