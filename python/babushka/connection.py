"""redis-py's connection pools for the sync client: ``ConnectionPool`` and
``BlockingConnectionPool`` (see ``babushka._pool`` for what a pool is here)."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

from babushka._pool import BlockingPoolBase, PoolBase
from babushka._uds import SyncStream


class ConnectionPool(PoolBase):
    """redis-py's ``ConnectionPool``: ``ConnectionPool(host=..., port=...,
    db=..., max_connections=...)`` or ``ConnectionPool.from_url(url)``, given
    to clients as ``Redis(connection_pool=pool)``. Every client made from it
    shares its connections. More than ``max_connections`` dedicated
    connections at once raise ``ConnectionError``."""

    _stream: SyncStream | None = None

    def __init__(
        self,
        connection_class: object = None,
        max_connections: int | None = None,
        **connection_kwargs: Any,
    ) -> None:
        super().__init__(connection_class, max_connections, **connection_kwargs)
        self._stream_lock = threading.Lock()

    def sync_stream(self) -> SyncStream:
        """The uds transport's stream, shared by the pool's clients."""
        with self._stream_lock:
            if self._stream is None:
                self._stream = SyncStream(self._core)
            return self._stream

    def disconnect(self, inuse_connections: bool = True) -> None:
        """Closes every connection, in use or not (requests waiting on them
        fail with ``ClientClosedError``); the next command opens new ones.
        Babushka's connections are shared, so ``inuse_connections=False``
        cannot spare the ones in use: it raises."""
        if not inuse_connections:
            raise NotImplementedError(
                "inuse_connections=False: the pool's connections are shared by every "
                "request, so none is ever idle while others are in use"
            )
        self._disconnect()
        if self._stream is not None:
            self._stream.disconnect()

    def close(self) -> None:
        """As :meth:`disconnect` (redis-py's ``close``)."""
        self.disconnect()

    def __enter__(self) -> ConnectionPool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.disconnect()

    def __del__(self) -> None:
        # The core closes its connections when dropped; the uds stream is
        # Python's to close.
        stream = self._stream
        if stream is not None:
            stream.close()


class BlockingConnectionPool(BlockingPoolBase, ConnectionPool):
    """redis-py's ``BlockingConnectionPool(max_connections=50, timeout=20)``:
    a command that needs a dedicated connection (a blocking command, a
    ``WATCH``) while all are in use waits up to ``timeout`` seconds for one,
    then raises ``ConnectionError("No connection available.")``."""
