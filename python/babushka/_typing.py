"""How a command method written once gets a precise type on each client.

Python's typing has no higher-kinded types: a method cannot say "my reply
``T`` on :class:`babushka.Redis`, ``Awaitable[T]`` on the asyncio client and
the pipeline itself on a pipeline". So a command method says only ``T``,
wrapped in a marker alias, ``-> Reply[T]`` (``T`` may use :data:`ValueT`,
the client's value type: ``bytes``, or ``str`` with ``decode_responses``),
and ``tools/typing_interfaces.py`` reads those annotations and writes
the stub package ``_interfaces/``: three interface classes with every
command's parameters as written and its reply type as each flavour returns it
(the methods whose reply is not typed yet read the same in all three, so they
are declared once, in a base the three share), each combined in its
``__init__.pyi`` from the command groups' modules, so a command's typed
signature stands in the module named as its group's. The clients and the
pipelines put their flavour's interface first among their bases for type
checkers only, so a checker reads ``r.get(k)`` as ``bytes | None`` and
``await ar.get(k)`` as the same, while the implementation modules stay
ordinary ``.py`` files that mypy checks (a ``.pyi`` beside a ``.py`` would
hide the implementation from mypy). ``tests/test_typing.py`` fails when the
generated file is stale.

The alternatives, and why not: ``self``-type overloads on each method triple
every signature by hand; a descriptor whose ``__get__`` is overloaded per
flavour cannot substitute the client's value type into the reply (that is the
missing higher-kinded type again) and would add a Python frame to every call.

For mypy's checking of the implementation, ``Reply[T]`` is ``T``, an
awaitable of it, or ``Any`` (the pipeline returns itself): wide enough that
the interfaces' narrower signatures are valid overrides, and exactly as
permissive as the ``ResponseT`` that un-annotated methods keep (the generator
types those as ``Any``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, AsyncIterator, Awaitable, Generic, Iterator, Union

if TYPE_CHECKING:
    # typing's own TypeVar takes a default only from Python 3.13; type
    # checkers read typing_extensions' (they ship its stubs), so the bare
    # ``Redis`` of an annotation means ``Redis[bytes]`` with no import at run time.
    from typing_extensions import TypeVar

    #: The type of the values a client returns: ``bytes``, or ``str`` with
    #: ``decode_responses=True``.
    ValueT = TypeVar("ValueT", default=bytes)
else:
    from typing import TypeVar

    ValueT = TypeVar("ValueT")

_T = TypeVar("_T")

#: A command method's reply type ``T``; see the module's docstring.
Reply = Union[_T, Awaitable[_T], Any]
#: A ``*scan_iter`` method's items ``T``: an iterator of them on the sync
#: client, an async iterator on the asyncio one (a pipeline refuses).
ScanIter = Union[Iterator[_T], AsyncIterator[_T], Any]

if TYPE_CHECKING:
    from babushka._interfaces import AsyncCommands as AsyncCommands
    from babushka._interfaces import PipelineCommands as PipelineCommands
    from babushka._interfaces import SyncCommands as SyncCommands
else:

    class SyncCommands(Generic[ValueT]):
        """At run time an empty base: the command methods are the command
        groups'; only type checkers read the generated interfaces."""

        __slots__ = ()

    AsyncCommands = PipelineCommands = SyncCommands
