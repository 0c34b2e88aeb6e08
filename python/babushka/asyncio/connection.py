"""redis-py's asyncio connection pools: ``ConnectionPool`` and
``BlockingConnectionPool`` (see ``babushka._pool`` for what a pool is here)."""

from __future__ import annotations

import asyncio
from types import TracebackType

from babushka._pool import BlockingPoolBase, PoolBase
from babushka._uds import AsyncStream, LoopStreams


class ConnectionPool(PoolBase):
    """The asyncio client's pool (``babushka.asyncio.Redis(connection_pool=
    pool)``); see :class:`babushka.ConnectionPool`."""

    _streams: LoopStreams | None = None

    def async_stream(self, loop: asyncio.AbstractEventLoop | None) -> AsyncStream:
        """The uds transport's stream of ``loop``, shared by the pool's
        clients on that loop: one per event loop, closed at the loop's
        shutdown (see ``babushka._uds.LoopStreams``); with ``None`` (no
        running loop), the last one used."""
        if self._streams is None:
            self._streams = LoopStreams(self._core)
        return self._streams.get(loop)

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
        if self._streams is not None:
            self._streams.close()

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
        if self._streams is not None:
            self._streams.close()


class BlockingConnectionPool(BlockingPoolBase, ConnectionPool):
    """redis-py's asyncio ``BlockingConnectionPool``; see
    :class:`babushka.BlockingConnectionPool`."""
