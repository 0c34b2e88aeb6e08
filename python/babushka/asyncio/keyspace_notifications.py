"""The asyncio twin of :mod:`babushka.keyspace_notifications`
(``await r.keyspace_notifications()``'s subscriber), as redis-py 8's
``redis.asyncio.keyspace_notifications``: the same channels and
:class:`KeyNotification` objects, with ``await`` on every call, ``async
for`` over ``listen()``, and ``run()`` in place of a thread. Handlers may be
coroutine functions."""

from __future__ import annotations

import asyncio
import inspect
from typing import TYPE_CHECKING, Any, AsyncIterator, Awaitable, Callable, Optional

from babushka.keyspace_notifications import (
    ChannelT,
    KeyeventChannel,
    KeyNotification,
    KeyspaceChannel,
    SubkeyeventChannel,
    SubkeyspaceChannel,
    SubkeyspaceeventChannel,
    SubkeyspaceitemChannel,
    _Subscriber,
    split_channels,
)

if TYPE_CHECKING:
    # Named in a base class's string, which ruff does not read as a use.
    from babushka.asyncio.client import Redis  # noqa: F401
    from babushka.asyncio.pubsub import PubSub

__all__ = ["AsyncKeyspaceNotifications"]

#: A handler: a function or a coroutine function of a notification.
AsyncHandlerT = Callable[[KeyNotification], Any]


class AsyncKeyspaceNotifications(_Subscriber["Redis[Any]"]):
    """See :class:`babushka.keyspace_notifications.KeyspaceNotifications`."""

    _pubsub: PubSub

    def _handler(
        self, handler: Optional[AsyncHandlerT]
    ) -> Optional[Callable[[dict[str, Any]], Awaitable[None]]]:
        if handler is None:
            return None
        prefix = self.key_prefix

        async def deliver(message: dict[str, Any]) -> None:
            notification = KeyNotification.from_message(message, key_prefix=prefix)
            if notification is not None:
                outcome = handler(notification)
                if inspect.isawaitable(outcome):
                    await outcome

        return deliver

    async def subscribe(self, *channels: ChannelT, handler: Optional[AsyncHandlerT] = None) -> None:
        patterns, exact = split_channels(channels, self._handler(handler))
        if patterns:
            await self._pubsub.psubscribe(**patterns)
        if exact:
            await self._pubsub.subscribe(**exact)

    async def unsubscribe(self, *channels: ChannelT) -> None:
        patterns, exact = split_channels(channels, None)
        if patterns:
            await self._pubsub.punsubscribe(*patterns)
        if exact:
            await self._pubsub.unsubscribe(*exact)

    async def subscribe_keyspace(
        self, key_or_pattern: str, db: int = 0, handler: Optional[AsyncHandlerT] = None
    ) -> None:
        await self.subscribe(KeyspaceChannel(key_or_pattern, db=db), handler=handler)

    async def subscribe_keyevent(
        self, event: str, db: int = 0, handler: Optional[AsyncHandlerT] = None
    ) -> None:
        await self.subscribe(KeyeventChannel(event, db=db), handler=handler)

    async def subscribe_subkeyspace(
        self, key_or_pattern: str, db: int = 0, handler: Optional[AsyncHandlerT] = None
    ) -> None:
        await self.subscribe(SubkeyspaceChannel(key_or_pattern, db=db), handler=handler)

    async def subscribe_subkeyevent(
        self, event: str, db: int = 0, handler: Optional[AsyncHandlerT] = None
    ) -> None:
        await self.subscribe(SubkeyeventChannel(event, db=db), handler=handler)

    async def subscribe_subkeyspaceitem(
        self,
        key_or_pattern: str,
        subkey_or_pattern: str,
        db: int = 0,
        handler: Optional[AsyncHandlerT] = None,
    ) -> None:
        channel = SubkeyspaceitemChannel(key_or_pattern, subkey_or_pattern, db=db)
        await self.subscribe(channel, handler=handler)

    async def subscribe_subkeyspaceevent(
        self,
        event: str,
        key_or_pattern: str,
        db: int = 0,
        handler: Optional[AsyncHandlerT] = None,
    ) -> None:
        channel = SubkeyspaceeventChannel(event, key_or_pattern, db=db)
        await self.subscribe(channel, handler=handler)

    async def get_message(
        self, ignore_subscribe_messages: Optional[bool] = None, timeout: float = 0.0
    ) -> Optional[KeyNotification]:
        if self._closed:
            return None
        ignore = self._ignoring(ignore_subscribe_messages)
        message = await self._pubsub.get_message(ignore_subscribe_messages=ignore, timeout=timeout)
        return self._notification(message)

    async def listen(self) -> AsyncIterator[KeyNotification]:
        while self.subscribed:
            notification = await self.get_message(timeout=1.0)
            if notification is not None:
                yield notification

    async def aclose(self) -> None:
        self._closed = True
        await self._pubsub.aclose()

    async def __aenter__(self) -> AsyncKeyspaceNotifications:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def run(
        self,
        poll_timeout: float = 1.0,
        exception_handler: Optional[
            Callable[[BaseException, AsyncKeyspaceNotifications], Any]
        ] = None,
    ) -> None:
        """Runs the handlers while anything is subscribed to
        (``asyncio.create_task(ksn.run())``)."""
        while self.subscribed:
            try:
                await self.get_message(timeout=poll_timeout)
            except asyncio.CancelledError:
                raise
            except BaseException as error:
                if exception_handler is None:
                    raise
                outcome = exception_handler(error, self)
                if inspect.isawaitable(outcome):
                    await outcome
