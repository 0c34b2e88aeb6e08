"""redis-py's asyncio ``Monitor`` (see :mod:`babushka.monitor`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, AsyncIterator

from babushka.monitor import check_started, command_of, monitor_subscriber

if TYPE_CHECKING:
    from types import TracebackType


class Monitor:
    """``async with r.monitor() as m:`` sends ``MONITOR`` on a connection of
    its own; ``await m.next_command()`` waits for the next command the
    server runs, ``async for command in m.listen()`` yields them for ever."""

    def __init__(self, client: Any) -> None:
        self._pubsub = client.pubsub()

    async def connect(self) -> None:
        """Sends ``MONITOR`` and waits for its ``OK`` (``async with`` does)."""
        monitor_subscriber(self._pubsub)
        check_started(await self._pubsub._receive(None))

    async def __aenter__(self) -> Monitor:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Closes the monitor's connection."""
        await self._pubsub.aclose()

    async def next_command(self) -> dict[str, Any]:
        """The next command the server runs (see :func:`babushka.monitor.parse_line`)."""
        return command_of(await self._pubsub._receive(None))

    async def listen(self) -> AsyncIterator[dict[str, Any]]:
        """Yields every command the server runs, until the connection ends."""
        while True:
            yield await self.next_command()
