"""redis-py's asyncio connection pools: ``ConnectionPool`` and
``BlockingConnectionPool`` (see ``babushka._pool`` for what a pool is here)."""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType

from babushka._pool import BlockingPoolBase, PoolBase
from babushka._uds import AsyncStream


class ConnectionPool(PoolBase):
    """The asyncio client's pool (``babushka.asyncio.Redis(connection_pool=
    pool)``); see :class:`babushka.ConnectionPool`."""

    _stream: AsyncStream | None = None

    def async_stream(self, loop: asyncio.AbstractEventLoop) -> AsyncStream:
        """The uds transport's stream, shared by the pool's clients on the
        loop it was first used on."""
        if self._stream is None:
            self._stream = AsyncStream(self._core, loop)
        return self._stream

    async def disconnect(self, inuse_connections: bool = True) -> None:
        """Closes every connection (requests waiting on them fail with
        ``ClientClosedError``); the next command opens new ones. As the sync
        pool's, ``inuse_connections=False`` raises."""
        if not inuse_connections:
            raise NotImplementedError(
                "inuse_connections=False: the pool's connections are shared by every "
                "request, so none is ever idle while others are in use"
            )
        self._disconnect()
        if self._stream is not None:
            self._stream.close()

    async def aclose(self) -> None:
        """As :meth:`disconnect` (redis-py's ``aclose``)."""
        await self.disconnect()

    async def __aenter__(self) -> ConnectionPool:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.disconnect()

    def __del__(self) -> None:
        stream = self._stream
        if stream is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed already
                stream.close()


class BlockingConnectionPool(BlockingPoolBase, ConnectionPool):
    """redis-py's asyncio ``BlockingConnectionPool``; see
    :class:`babushka.BlockingConnectionPool`."""
