"""The asyncio pipeline, :class:`Pipeline` (``babushka.asyncio.Redis.pipeline()``)."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any, Awaitable, Generator

from babushka import _shapes as S
from babushka._pipeline import ONE, Parse, PipelineBase, raise_as
from babushka._typing import PipelineCommands, ValueT
from babushka.commands.base import LeaseT
from babushka.commands.scripting import ScriptTextT
from babushka.exceptions import RedisError

if TYPE_CHECKING:
    from typing_extensions import Self

    from babushka.asyncio.client import Redis

from babushka.script import AsyncScript


class Pipeline(PipelineCommands[ValueT], PipelineBase[ValueT]):
    """redis-py's asyncio ``Pipeline``: command methods queue and return the
    pipeline (which may be awaited, giving itself), ``await execute()`` sends
    the queue as one request and returns the replies.

    While watching (after ``await watch(...)``, before ``multi()``), command
    methods return awaitables of their replies, as in redis-py. A pipeline is
    for one task at a time.
    """

    _client: Redis[ValueT]

    @property
    def is_transaction(self) -> bool:
        """redis-py's asyncio name for ``transaction``."""
        return self.transaction

    def __await__(self) -> Generator[Any, None, Self]:
        # ``await pipe.set(...)`` works when set() queued, as in redis-py.
        return self._itself().__await__()

    async def _itself(self) -> Self:
        return self

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.reset()

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        """Sends the queued commands and returns their replies, in order.

        With ``raise_on_error`` the first error reply is raised (its message
        names the command); otherwise errors are returned in place. The
        pipeline is reset afterwards, whatever happens.
        """
        request = self._request()
        if request is None:
            await self.reset()
            return []
        try:
            if self.scripts:
                await self.load_scripts()
            try:
                reply = await self._client._execute_request(*request)
            except RedisError as error:
                raise_as(self._failure(error), error)
            return self._results(reply, raise_on_error)
        finally:
            # The error raised keeps this frame (its traceback) until the
            # collector runs: it must not keep the session's lease from
            # going back too.
            request = None
            await self.reset()

    async def load_scripts(self) -> None:
        """Makes sure the server has every script called with this pipeline
        as ``client`` (SCRIPT EXISTS, then SCRIPT LOAD for the missing ones),
        so no EVALSHA of the batch fails with NOSCRIPT. ``execute()`` calls it."""
        scripts = list(self.scripts)
        exists = await self._client.script_exists(*(script.sha for script in scripts))
        for script, known in zip(scripts, exists):
            if not known:
                script.sha = await self._client.script_load(script.script)

    def register_script(self, script: ScriptTextT) -> AsyncScript:
        """An :class:`~babushka.script.AsyncScript` that runs on this
        pipeline unless called with another ``client``."""
        return AsyncScript(self, script)

    def _run_now(self, shape: int, args: tuple[Any, ...], parse: Parse) -> Awaitable[Any]:
        if self._held_lease is None:
            reading = self._client._slot_map_read()
            if reading is not None:
                return self._run_after(reading, shape, args, parse)
        # Sent now, like the client's commands; the coroutine only waits.
        sent = self._client._execute_request(self._before_now(args), ONE, ((shape, *args),))
        return self._finish_now(sent, shape, args, parse)

    async def _run_after(
        self, reading: Awaitable[Any], shape: int, args: tuple[Any, ...], parse: Parse
    ) -> Any:
        """A cluster client's first WATCH before its slot map is known (the
        asyncio client reads it on first use): the lease needs the map."""
        await reading
        return await self._run_now(shape, args, parse)

    async def _finish_now(
        self, sent: Awaitable[Any], shape: int, args: tuple[Any, ...], parse: Parse
    ) -> Any:
        name = args[0]
        try:
            reply = await sent
        except RedisError as error:
            if not self._redirected_watch(name, error):
                raise_as(self._lost_watch(error), error)
            # Once more, on a lease from the slot's new node.
            try:
                reply = await self._client._execute_request(
                    self._before_now(args), ONE, ((shape, *args),)
                )
            except RedisError as again:
                raise_as(self._lost_watch(again), again)
        return self._after_now(name, reply, parse)

    async def reset(self) -> None:
        """Forgets the queued commands and any watched keys; gives the
        connection held for ``watch()`` back to the client."""
        lease = self._clear()
        if lease is not None:
            await self._unwatch(lease)

    async def _unwatch(self, lease: LeaseT) -> None:
        try:
            await self._client._execute_request(lease, ONE, ((S.OK, "UNWATCH"),))
        except RedisError:
            return  # left unreusable: the connection is closed when dropped
        lease.set_reusable(True)

    async def aclose(self) -> None:
        """Alias of :meth:`reset`, as in redis-py."""
        await self.reset()

    async def discard(self) -> None:
        """Drops the queued commands and leaves MULTI, forgetting watched
        keys as the server's DISCARD does. A cluster client's
        non-transactional pipeline refuses it, as redis-py's does."""
        self._client._check_session("discard", self.transaction)
        await self.reset()

    async def unwatch(self) -> Any:
        """Forgets the watched keys: ``True`` (after ``multi()``, UNWATCH is
        queued instead and the pipeline returned, as in redis-py)."""
        self._client._check_session("unwatch", self.transaction)
        return await self.execute_command("UNWATCH") if self.watching else True
