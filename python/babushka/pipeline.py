"""The synchronous pipeline, :class:`Pipeline` (``Redis.pipeline()``)."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any

from babushka import _shapes as S
from babushka._pipeline import ONE, Parse, PipelineBase, raise_as
from babushka._typing import PipelineCommands, ValueT
from babushka.commands.base import LeaseT
from babushka.commands.scripting import ScriptTextT
from babushka.exceptions import RedisError

if TYPE_CHECKING:
    from typing_extensions import Self

    from babushka.client import Redis

from babushka.script import Script


class Pipeline(PipelineCommands[ValueT], PipelineBase[ValueT]):
    """redis-py's ``Pipeline``: command methods queue and return the pipeline,
    ``execute()`` sends the queue as one request and returns the replies.

    With ``transaction=True`` (the default) the commands run in MULTI/EXEC.
    ``watch()`` holds a connection of the client's until ``execute()`` or
    ``reset()``. A pipeline is for one thread at a time.
    """

    _client: Redis[ValueT]

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.reset()

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        """Sends the queued commands and returns their replies, in order.

        With ``raise_on_error`` the first error reply is raised (its message
        names the command); otherwise errors are returned in place. The
        pipeline is reset afterwards, whatever happens.
        """
        request = self._request()
        if request is None:
            self.reset()
            return []
        try:
            if self.scripts:
                self.load_scripts()
            try:
                reply = self._client._execute_request(*request)
            except RedisError as error:
                raise_as(self._failure(error), error)
            return self._results(reply, raise_on_error)
        finally:
            # The error raised keeps this frame (its traceback) until the
            # collector runs: it must not keep the session's lease from
            # going back too.
            request = None
            self.reset()

    def load_scripts(self) -> None:
        """Makes sure the server has every script called with this pipeline
        as ``client`` (SCRIPT EXISTS, then SCRIPT LOAD for the missing ones),
        so no EVALSHA of the batch fails with NOSCRIPT. ``execute()`` calls it."""
        scripts = list(self.scripts)
        exists = self._client.script_exists(*(script.sha for script in scripts))
        for script, known in zip(scripts, exists):
            if not known:
                script.sha = self._client.script_load(script.script)

    def register_script(self, script: ScriptTextT) -> Script:
        """A :class:`~babushka.script.Script` that runs on this pipeline
        unless called with another ``client``."""
        return Script(self, script)

    def _run_now(self, shape: int, args: tuple[Any, ...], parse: Parse) -> Any:
        name = args[0]
        try:
            reply = self._client._execute_request(self._before_now(args), ONE, ((shape, *args),))
        except RedisError as error:
            if not self._redirected_watch(name, error):
                raise_as(self._lost_watch(error), error)
            # Once more, on a lease from the slot's new node.
            try:
                reply = self._client._execute_request(
                    self._before_now(args), ONE, ((shape, *args),)
                )
            except RedisError as again:
                raise_as(self._lost_watch(again), again)
        return self._after_now(name, reply, parse)

    def reset(self) -> None:
        """Forgets the queued commands and any watched keys; gives the
        connection held for ``watch()`` back to the client."""
        lease = self._clear()
        if lease is not None:
            self._unwatch(lease)

    def _unwatch(self, lease: LeaseT) -> None:
        try:
            self._client._execute_request(lease, ONE, ((S.OK, "UNWATCH"),))
        except RedisError:
            return  # left unreusable: the connection is closed when dropped
        lease.set_reusable(True)

    def close(self) -> None:
        """Alias of :meth:`reset`, as in redis-py."""
        self.reset()

    def discard(self) -> None:
        """Drops the queued commands and leaves MULTI, forgetting watched
        keys as the server's DISCARD does. A cluster client's
        non-transactional pipeline refuses it, as redis-py's does."""
        self._client._check_session("discard", self.transaction)
        self.reset()

    def unwatch(self) -> Any:
        """Forgets the watched keys: ``True`` (after ``multi()``, UNWATCH is
        queued instead and the pipeline returned, as in redis-py)."""
        self._client._check_session("unwatch", self.transaction)
        return self.execute_command("UNWATCH") if self.watching else True
