"""The asyncio flavour of :mod:`babushka.lock`: redis-py's asyncio ``Lock``
(``babushka.asyncio.Redis.lock()``), with the same arguments and scripts."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import TYPE_CHECKING, Any, Awaitable, ClassVar, Literal

from babushka.commands.base import EncodableT
from babushka.exceptions import LockError, LockNotOwnedError
from babushka.lock import LockBase, Number, _seconds
from babushka.script import AsyncScript

if TYPE_CHECKING:
    from babushka.asyncio.client import Redis


class Lock(LockBase):
    """redis-py's asyncio ``Lock``: ``async with r.lock("name", timeout=10):
    ...``, or ``await acquire()`` and ``await release()``; the arguments are
    those of :class:`babushka.lock.Lock`.

    With ``thread_local`` (the default, as in redis-py) the token is per
    thread, and so shared by the tasks of one event loop: give each task that
    competes for a lock its own ``Lock`` object.
    """

    lua_release: ClassVar[AsyncScript | None] = None
    lua_extend: ClassVar[AsyncScript | None] = None
    lua_reacquire: ClassVar[AsyncScript | None] = None
    _script_class = AsyncScript

    redis: Redis[Any]

    async def __aenter__(self) -> Lock:
        if await self.acquire():
            return self
        raise LockError("Unable to acquire lock within the time specified", lock_name=self.name)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.release()
        except LockError as error:
            self._on_release_error(error)

    async def acquire(
        self,
        blocking: bool | None = None,
        blocking_timeout: Number | None = None,
        token: str | bytes | None = None,
    ) -> bool:
        """Takes the lock: ``True`` once held; ``False`` when ``blocking`` is
        false and the lock is taken, or ``blocking_timeout`` seconds passed.
        ``token`` is the value to hold the key with (a random one by default)."""
        pause = self.sleep
        wait = self.blocking if blocking is None else blocking
        limit = self.blocking_timeout
        if blocking_timeout is not None:
            limit = _seconds(blocking_timeout, "blocking_timeout", optional=False)
        held = self._new_token(token)
        loop = asyncio.get_running_loop()
        give_up_at = None if limit is None else loop.time() + limit
        while True:
            if await self.do_acquire(held):
                self.local.token = held
                return True
            if not wait:
                return False
            if give_up_at is not None and loop.time() + pause > give_up_at:
                return False
            await asyncio.sleep(pause)

    async def do_acquire(self, token: bytes) -> bool:
        return bool(await self.redis.set(self.name, token, nx=True, px=self._px()))

    async def locked(self) -> bool:
        """Whether anyone holds the lock."""
        return await self.redis.get(self.name) is not None

    async def owned(self) -> bool:
        """Whether this lock object (in this thread, with ``thread_local``) holds it."""
        return self._is_token(await self.redis.get(self.name))

    async def release(self) -> None:
        """Releases the lock: ``LockError`` if this object does not hold it,
        ``LockNotOwnedError`` if it expired (and maybe went to someone else).
        The token is kept if the release is cancelled or fails before the
        server answers, so it can be tried again."""
        token = self.local.token
        if token is None:
            raise LockError(
                "Cannot release a lock that's not owned or is already unlocked.",
                lock_name=self.name,
            )
        try:
            await self.do_release(token)
        except LockNotOwnedError:
            self.local.token = None
            raise
        self.local.token = None

    async def do_release(self, expected_token: bytes) -> None:
        assert self.lua_release is not None
        if not await self.lua_release(keys=[self.name], args=[expected_token], client=self.redis):
            raise self._not_owned("release")

    def extend(
        self, additional_time: Number, replace_ttl: bool = False
    ) -> Awaitable[Literal[True]]:
        """Adds ``additional_time`` seconds to the lock's remaining time (or,
        with ``replace_ttl``, makes that its remaining time). An unheld lock
        or one without timeout raises ``LockError`` at once, as in redis-py."""
        self._held("extend")
        self._timed("extend")
        return self.do_extend(additional_time, replace_ttl)

    async def do_extend(self, additional_time: Number, replace_ttl: bool) -> Literal[True]:
        ms = self._milliseconds(additional_time, "additional_time")
        assert self.lua_extend is not None
        args: list[EncodableT] = [self._held("extend"), ms, "1" if replace_ttl else "0"]
        if not await self.lua_extend(keys=[self.name], args=args, client=self.redis):
            raise self._not_owned("extend")
        return True

    def reacquire(self) -> Awaitable[Literal[True]]:
        """Sets the lock's remaining time back to its ``timeout``."""
        self._held("reacquire")
        self._timed("reacquire")
        return self.do_reacquire()

    async def do_reacquire(self) -> Literal[True]:
        ms = self._milliseconds(self._timed("reacquire"), "timeout")
        assert self.lua_reacquire is not None
        args: list[EncodableT] = [self._held("reacquire"), ms]
        if not await self.lua_reacquire(keys=[self.name], args=args, client=self.redis):
            raise self._not_owned("reacquire")
        return True
