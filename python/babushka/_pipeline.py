"""What the sync and async pipelines share: queueing commands, the WATCH
session's connection, and turning a batch's reply into redis-py's results.

A pipeline has the client's whole command surface (the same command groups),
but its ``_execute`` hooks queue ``(shape, name, *args)`` tuples instead of
sending them. ``execute()`` hands the queue, as it is, to the client's
``_execute_request``: one request, either a pipeline or a MULTI..EXEC
transaction that the core writes contiguously, so other threads' and tasks'
requests on the shared connection never land inside it.

After ``watch()`` the pipeline holds a dedicated connection leased from the
client, and (redis-py's rule) commands run at once on it until ``multi()``,
so the watched keys can be read; ``execute()`` then sends the transaction on
that connection. The subclasses only differ in how they wait:
:class:`babushka.pipeline.Pipeline` blocks, :class:`babushka.asyncio.Pipeline`
awaits.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any, Callable, NoReturn, Optional, Sequence

from babushka import _command_names
from babushka import _shapes as S
from babushka._encoding import Encoder
from babushka._typing import ValueT
from babushka.commands import CoreCommands
from babushka.commands.base import LeaseT, ResponseT
from babushka.exceptions import (
    AskError,
    ClientClosedError,
    ConnectionError,
    DataError,
    RedisError,
    ResponseError,
    TimeoutError,
    WatchError,
)

if TYPE_CHECKING:
    from babushka._base import ClientBase
    from babushka._pool import PoolBase

#: Request kinds of ``_execute_request``.
ONE, PIPELINE, TRANSACTION = 0, 1, 2

#: A command's parse function (``_execute_then``), if it has one.
Parse = Optional[Callable[[Any], Any]]

#: A queued request: the connection (``None``: the client's own routing), the
#: kind and the ``(shape, name, *args)`` tuples.
Request = tuple["LeaseT | None", int, Sequence[tuple[Any, ...]]]


class PipelineBase(CoreCommands[ValueT]):
    """Queueing and result handling; a subclass adds the waiting."""

    def __init__(
        self, client: ClientBase[ValueT], transaction: bool, shard_hint: str | None
    ) -> None:
        self._client = client
        #: Wrap the commands in MULTI/EXEC (``pipeline(transaction=True)``).
        self.transaction = transaction
        #: Accepted for redis-py compatibility; a standalone client has one node.
        self.shard_hint = shard_hint
        #: The queued ``(shape, name, *args)`` tuples, sent as they are.
        self.command_stack: list[tuple[Any, ...]] = []
        #: The parse function of each ``_execute_then`` command, by position
        #: (most commands have none, so a dict rather than a list per command).
        self._parsers: dict[int, Callable[[Any], Any]] = {}
        self.watching = False
        self.explicit_transaction = False
        #: The dedicated connection of a WATCH session, or of a batch that
        #: sends MULTI/EXEC itself; ``None`` otherwise.
        self._held_lease: LeaseT | None = None
        #: A cluster client's WATCH session: the one slot its keys are in
        #: (its lease is a connection to that slot's primary).
        self._slot: int | None = None
        #: The queue holds MULTI/EXEC/DISCARD/UNWATCH given to execute_command.
        self._queued_session_command = False
        #: The queue holds QUIT, RESET or HELLO (the ``alone`` flag).
        self._queued_alone_command = False
        #: Registered scripts called with this pipeline as ``client``:
        #: ``execute()`` loads the ones the server lacks before the batch.
        self.scripts: set[Any] = set()

    def __len__(self) -> int:
        return len(self.command_stack)

    @property
    def connection_pool(self) -> PoolBase:
        """The client's pool, as redis-py's pipeline has it."""
        return self._client.connection_pool

    def get_encoder(self) -> Encoder:
        """redis-py's: the client's :class:`~babushka._encoding.Encoder`."""
        return self._client.get_encoder()

    def __bool__(self) -> bool:
        # As redis-py's: a pipeline is truthy even when empty (``len`` is 0).
        return True

    # -- the hooks the command groups call -----------------------------------

    def _execute(self, shape: int, *args: Any) -> ResponseT:
        if self._runs_now(args[0]):
            return self._run_now(shape, args, None)
        self.command_stack.append((shape, *args))
        return self

    def _execute_then(self, parse: Callable[[Any], Any], shape: int, *args: Any) -> ResponseT:
        if self._runs_now(args[0]):
            return self._run_now(shape, args, parse)
        self._parsers[len(self.command_stack)] = parse
        self.command_stack.append((shape, *args))
        return self

    def _execute_outcome(
        self, settle: Callable[[Any, BaseException | None], Any], shape: int, *args: Any
    ) -> ResponseT:
        # In a batch an error reply is the result, in place; a lost connection
        # fails the whole batch.
        return self._execute_then(lambda reply: settle(reply, None), shape, *args)

    def _execute_alone(self, shape: int, *args: Any) -> ResponseT:
        # QUIT, RESET, HELLO: the batch goes on a connection of its own,
        # closed afterwards, as with MULTI/EXEC queued by hand.
        self._queued_alone_command = True
        return self._execute(shape, *args)

    def _iter_cursor(self, page: Callable[[int], ResponseT]) -> Any:
        raise RedisError("*scan_iter cannot run in a pipeline: call it on the client")

    def _runs_now(self, name: object) -> bool:
        """redis-py's rule: from WATCH until ``multi()`` commands run at once
        (so the watched keys can be read); otherwise they are queued."""
        return (self.watching or name == "WATCH") and not self.explicit_transaction

    def _run_now(self, shape: int, args: tuple[Any, ...], parse: Parse) -> Any:
        """Sends one command on the WATCH session's connection; the reply (sync)
        or an awaitable of it (async)."""
        raise NotImplementedError

    # -- redis-py's pipeline API (the parts that do not wait) ----------------

    def execute_command(self, *args: Any, **options: Any) -> Any:
        """Queues any command (or runs it at once while watching); the reply
        has the shape the named method would give.

        ``MULTI``/``EXEC``/``DISCARD``/``WATCH`` cannot be queued in a
        transaction (``execute()`` sends MULTI and EXEC itself), nor
        ``MULTI``/``EXEC``/``DISCARD`` sent while watching (``multi()`` and
        ``execute()`` do that); a ``transaction=False`` pipeline may queue
        them, and then runs on a connection of its own, closed afterwards.
        """
        args = _command_names.split_name(args)
        key = _command_names.command_key(args)
        spec = _command_names.lookup(key, args)
        _command_names.refuse_unpaired_replies(spec)
        if isinstance(args[0], str):
            # Sent as looked up; a bytes name is sent as given (its key
            # replaced bytes that are not UTF-8).
            args = (key, *args[1:])
        if _command_names.is_session_command(spec):
            self._check_session_command(key)
        shape = _command_names.shape_for(spec, self._client._protocol)
        if _command_names.runs_alone(spec):
            return self._execute_alone(shape, *args)
        return self._execute(shape, *args)

    def _check_session_command(self, key: str) -> None:
        if self._runs_now(key):
            # WATCH and UNWATCH run at once; a MULTI left open on the WATCH
            # session's connection would make it unfit to reuse.
            if key in ("MULTI", "EXEC", "DISCARD"):
                raise DataError(
                    f"{key} cannot be sent while the pipeline watches keys: "
                    "use multi() and execute(), or reset()"
                )
        elif not self._is_transaction():
            # Whatever state it leaves (a MULTI never closed) dies with the
            # connection, instead of reaching the shared one.
            self._queued_session_command = True
        elif key != "UNWATCH":  # UNWATCH inside MULTI is queued like any command
            raise DataError(
                f"{key} cannot be queued in a transaction: execute() sends MULTI and EXEC "
                "itself. Use watch() and multi(), or pipeline(transaction=False) to send "
                "MULTI/EXEC yourself"
            )

    def multi(self) -> None:
        """Starts the transactional block after ``watch()``; ``execute()`` ends it."""
        self._client._check_session("multi", self.transaction)
        if self.explicit_transaction:
            raise RedisError("Cannot issue nested calls to MULTI")
        if self.command_stack:
            raise RedisError("Commands without an initial WATCH have already been issued")
        self.explicit_transaction = True

    def watch(self, *names: Any) -> Any:
        """Watches keys: ``execute()`` then raises ``WatchError`` if another
        client changed one. Until ``multi()``, commands run at once."""
        self._client._check_session("watch", self.transaction)
        if self.explicit_transaction:
            raise RedisError("Cannot issue a WATCH after a MULTI")
        if not names:
            raise DataError("watch needs at least one key")
        return self._execute(S.OK, "WATCH", *names)

    # -- the steps of immediate execution ------------------------------------

    def _session_lease(self) -> LeaseT:
        if self._held_lease is None:
            self._held_lease = self._client._lease(self._slot)
        return self._held_lease

    def _before_now(self, args: tuple[Any, ...]) -> LeaseT:
        # A cluster client checks the command's slot before anything is sent.
        self._slot = self._client._session_slot(args, self._slot)
        name = args[0]
        lease = self._session_lease()
        if name == "WATCH":
            # Until EXEC or UNWATCH answers, the connection holds watched keys:
            # if the pipeline is dropped meanwhile, the connection is closed
            # rather than handed to the next user.
            lease.set_reusable(False)
        return lease

    def _after_now(self, name: object, reply: Any, parse: Parse) -> Any:
        if name == "WATCH":
            self.watching = True
        elif name == "UNWATCH":
            self._watch_ended()
        return reply if parse is None else parse(reply)

    def _watch_ended(self) -> None:
        self.watching = False
        if self._held_lease is not None:
            self._held_lease.set_reusable(True)

    def _redirected_watch(self, name: object, error: BaseException) -> bool:
        """A cluster's ``WATCH`` answered ``MOVED``/``ASK``: nothing is watched
        yet, so (as redis-py) the pipeline lets go of that node's connection
        and sends it again once the slot map is read. Tells whether to."""
        if name != "WATCH" or self.watching or self._slot is None:
            return False
        if not isinstance(error, AskError):
            return False
        if self._held_lease is not None:
            self._held_lease.set_reusable(True)  # it watches nothing
            self._held_lease = None
        return True

    def _slot_moved(self) -> WatchError:
        """Ends a cluster WATCH session whose node gave its slot away (the
        connection is closed: it may still watch keys there); redis-py's
        ``WatchError``, so ``transaction()`` starts over on the new node."""
        if self._held_lease is not None:
            self._held_lease.set_reusable(False)
        self._held_lease = None
        self.watching = False
        return WatchError("Slot rebalancing occurred while watching keys")

    def _lost_watch(self, error: BaseException) -> BaseException:
        """As redis-py: a connection lost while watching raises ``WatchError``
        (the watch is gone), so ``transaction()`` retries; so does a cluster
        node's ``MOVED``/``ASK`` (the watch stays behind on the node that
        gave the slot away). Returns ``error`` when that does not apply."""
        if self.watching and self._slot is not None and isinstance(error, AskError):
            return self._slot_moved()
        if (
            self.watching
            and isinstance(error, (ConnectionError, TimeoutError))
            and not isinstance(error, ClientClosedError)
        ):
            self._held_lease = None  # broken: dropped, hence closed
            self.watching = False
            return WatchError(f"A {type(error).__name__} occurred while watching one or more keys")
        return error

    # -- the steps of execute() ----------------------------------------------

    def _is_transaction(self) -> bool:
        return self.transaction or self.explicit_transaction

    def _request(self) -> Request | None:
        """What ``execute()`` sends, or ``None`` when there is nothing to send
        (a transaction that only watched keys still runs MULTI/EXEC: EXEC
        tells whether they changed)."""
        stack = self.command_stack
        if self._is_transaction():
            if not stack and not self.watching:
                return None
            self._client._check_transaction(stack, self._slot)
            if self._queued_alone_command:
                lease = self._session_lease()
                lease.set_reusable(False)
                return lease, TRANSACTION, stack
            return self._held_lease, TRANSACTION, stack
        if not stack:
            return None
        if self._queued_session_command or self._queued_alone_command:
            lease = self._session_lease()
            lease.set_reusable(False)
            return lease, PIPELINE, stack
        return None, PIPELINE, stack

    def _results(self, reply: list[Any], raise_on_error: bool) -> list[Any]:
        """redis-py's results from a batch's reply (a list with each command's
        shape applied and error replies in place): the first error raised,
        annotated, with ``raise_on_error``; parse functions applied."""
        if self._is_transaction():
            self._watch_ended()  # EXEC ran, which forgets the watched keys
            if len(reply) != len(self.command_stack):
                raise ResponseError("Wrong number of response items from pipeline execution")
        if raise_on_error:
            for at, result in enumerate(reply):
                if isinstance(result, ResponseError):
                    raise self._annotated(result, at)
        for at, parse in self._parsers.items():
            result = reply[at]
            if not isinstance(result, Exception):
                reply[at] = parse(result)
        return reply

    def _failure(self, error: RedisError) -> BaseException:
        """What ``execute()`` raises when the request failed as a whole."""
        if self._is_transaction() and self._slot is not None and isinstance(error, AskError):
            # A queued command was redirected: the node no longer serves the
            # session's slot, so what it watched means nothing now.
            return self._slot_moved()
        if self._is_transaction() and isinstance(error, (WatchError, ResponseError)):
            self._watch_ended()  # EXEC answered (nil, or EXECABORT)
        at = getattr(error, "command_index", None)
        if isinstance(error, ResponseError) and isinstance(at, int):
            # The server discarded the transaction: as redis-py, raise the
            # error of the command that made it, whatever ``raise_on_error``.
            return self._annotated(error, at)
        return self._lost_watch(error)

    def _annotated(self, error: BaseException, at: int) -> BaseException:
        """redis-py's message for a pipeline's error: which command, and what."""
        if 0 <= at < len(self.command_stack):
            words = " ".join(map(_printable, self.command_stack[at][1:]))
            words = textwrap.shorten(words, width=100, placeholder="...", break_long_words=True)
            message = error.args[0] if error.args else ""
            error.args = (
                f"Command # {at + 1} ({words}) of pipeline caused error: {message}",
                *error.args[1:],
            )
        return error

    def _clear(self) -> LeaseT | None:
        """Empties the pipeline for reuse; returns the WATCH session's
        connection if it still watches keys (the caller unwatches it)."""
        self.command_stack = []
        self._parsers = {}
        self.explicit_transaction = False
        self._queued_session_command = False
        self._queued_alone_command = False
        self.scripts = set()
        self._slot = None
        lease, self._held_lease = self._held_lease, None
        watching, self.watching = self.watching, False
        return lease if watching else None


def raise_as(failure: BaseException, error: BaseException) -> NoReturn:
    """Raises ``failure``, chained to ``error`` when it replaces it."""
    try:
        if failure is error:
            raise error
        raise failure from error
    finally:
        # The traceback keeps this frame: no cycle through its locals.
        del failure, error


def _printable(word: Any) -> str:
    if isinstance(word, (bytes, bytearray, memoryview)):
        return bytes(word).decode("utf-8", errors="replace")
    return str(word)
