"""What ``execute_command`` must know about a command it is given by name:
the reply shape to build, and whether the command can run where it is sent.

Both come from the core's command table (``_core.command_spec``): the
entry's default shape for the client's protocol, and its flags
(``unpaired``: replies that do not come one per request; ``session``:
commands that change how the server treats the requests after them on the
same connection; ``alone``: commands that end or reset their connection).
Clients and pipelines both take raw commands; this module is where the
rules for them are written once.
"""

from __future__ import annotations

from typing import Any

from babushka import _core
from babushka import _shapes as S
from babushka.exceptions import DataError


def split_name(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """redis-py's rule: a command name with spaces in it (``"CONFIG GET"``) is
    sent as its words, so ``execute_command("CONFIG GET", "maxmemory")`` works."""
    if args:
        name = args[0]
        if isinstance(name, str) and " " in name:
            return (*name.split(), *args[1:])
        if isinstance(name, bytes) and b" " in name:
            return (*name.split(), *args[1:])
    return args


def command_key(args: tuple[Any, ...]) -> str:
    """The command's name, upper-cased, for messages and the pipeline's rules."""
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


def lookup(key: str, args: tuple[Any, ...]) -> _core.CommandSpec | None:
    """The table's entry for a command given as its words, ``key`` the name
    (the second word names the subcommand of a container: ``CONFIG GET``);
    ``None`` for a command the table does not know."""
    return _core.command_spec(key, args[1] if len(args) > 1 else None)


def refuse_unpaired_replies(spec: _core.CommandSpec | None) -> None:
    """Raises ``DataError`` for a command whose replies cannot be paired with
    requests (``SUBSCRIBE``, ``MONITOR``, ``CLIENT REPLY``)."""
    if spec is not None and "unpaired" in spec.flags:
        raise DataError(
            f"{spec.name} cannot run on a client's shared connection: its replies do "
            "not come one per request. To subscribe, use pubsub() (p = r.pubsub(); "
            "p.subscribe(...)), which has a connection of its own"
        )


def is_session_command(spec: _core.CommandSpec | None) -> bool:
    """``MULTI``, ``EXEC``, ``DISCARD``, ``WATCH``, ``UNWATCH``."""
    return spec is not None and "session" in spec.flags


def refuse_session_command(key: str, spec: _core.CommandSpec | None) -> None:
    """Raises ``DataError`` for ``MULTI``/``EXEC``/``WATCH``... sent on their own
    through a client: they belong to a pipeline, which holds a connection."""
    if is_session_command(spec):
        raise DataError(
            f"{key} cannot be sent on its own: the client's connection is shared by "
            "every thread and task using it, whose requests would run inside the "
            "transaction or watch. Use pipeline() (watch(), multi(), execute()) "
            "or transaction() instead"
        )


def runs_alone(spec: _core.CommandSpec | None) -> bool:
    """``QUIT``, ``RESET``, ``HELLO``: they end or reset the connection they
    are sent on, so they go on one of their own (``_execute_alone``)."""
    return spec is not None and "alone" in spec.flags


def shape_for(spec: _core.CommandSpec | None, protocol: int) -> int:
    """The reply shape the named method would give (``SET`` -> ``True``)."""
    return S.RAW if spec is None else spec.shape(protocol)
