"""What ``execute_command`` must know about a command it is given by name:
the reply shape to build, and whether the command can run where it is sent.

Clients and pipelines both take raw commands; this module is where the
rules for them are written once.
"""

from __future__ import annotations

from typing import Any

from babushka import _shapes
from babushka.exceptions import DataError

#: Commands whose replies do not come one per request: a pipelined connection
#: could not pair them up with their requests.
_UNPAIRED_REPLIES = frozenset(
    {
        "SUBSCRIBE",
        "PSUBSCRIBE",
        "SSUBSCRIBE",
        "UNSUBSCRIBE",
        "PUNSUBSCRIBE",
        "SUNSUBSCRIBE",
        "MONITOR",
        "SYNC",
        "PSYNC",
    }
)

#: Commands that change how the server treats the requests sent after them on
#: the same connection (``MULTI`` queues them, ``WATCH`` ties a later ``EXEC``
#: to keys). On a connection shared by threads and tasks, the other callers'
#: requests would land inside that state.
SESSION_COMMANDS = frozenset({"MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH"})


def command_key(args: tuple[Any, ...]) -> str:
    """The command's name, upper-cased, as the tables here spell it."""
    if not args:
        raise ValueError("execute_command needs at least the command name")
    name = args[0]
    if isinstance(name, str):
        return name.upper()
    if isinstance(name, (bytes, bytearray, memoryview)):
        return bytes(name).decode(errors="replace").upper()
    # An int is sent in decimal; anything else is refused by the encoder with
    # a DataError that names it. (bytes(n) would allocate n zero bytes.)
    return str(name).upper() if isinstance(name, int) else ""


def refuse_unpaired_replies(key: str, args: tuple[Any, ...]) -> None:
    """Raises ``DataError`` for a command whose replies cannot be paired with
    requests (``SUBSCRIBE``, ``MONITOR``, ``CLIENT REPLY``)."""
    if key in _UNPAIRED_REPLIES or (
        key == "CLIENT" and len(args) > 1 and str(args[1]).upper() == "REPLY"
    ):
        raise DataError(
            f"{key} cannot run on a client's shared connection; "
            "publish/subscribe gets its own object (pubsub()) in a later release"
        )


def refuse_session_command(key: str) -> None:
    """Raises ``DataError`` for ``MULTI``/``EXEC``/``WATCH``... sent on their own
    through a client: they belong to a pipeline, which holds a connection."""
    if key in SESSION_COMMANDS:
        raise DataError(
            f"{key} cannot be sent on its own: the client's connection is shared by "
            "every thread and task using it, whose requests would run inside the "
            "transaction or watch. Use pipeline() (watch(), multi(), execute()) "
            "or transaction() instead"
        )


#: Commands whose first argument names a subcommand with a shape of its own.
_CONTAINERS = frozenset({"CONFIG", "CLIENT", "SCRIPT", "FUNCTION"})


def shape_for(key: str, args: tuple[Any, ...]) -> int:
    """The reply shape the named method would give (``SET`` -> ``True``)."""
    shape = _shapes.BY_COMMAND.get(key, _shapes.RAW)
    if len(args) > 1 and isinstance(args[1], str) and key in _CONTAINERS:
        shape = _shapes.BY_COMMAND.get(f"{key} {args[1].upper()}", shape)
    return shape
