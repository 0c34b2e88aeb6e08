"""Bitmap commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP and BITFIELD
(with redis-py's :class:`BitFieldOperation` builder)."""

from __future__ import annotations

from typing import Any, Union

from babushka import _shapes as S
from babushka._typing import Reply, ValueT
from babushka.commands.base import CommandsBase, KeyT, ResponseT, require_int
from babushka.exceptions import DataError

#: A bit offset, or ``"#n"``: the n-th field of the type's width.
BitfieldOffsetT = Union[int, str]

BIT_OPS = ("AND", "OR", "XOR", "NOT", "DIFF", "DIFF1", "ANDOR", "ONE")
OVERFLOWS = ("WRAP", "SAT", "FAIL")


def _mode(mode: str | None) -> list[str]:
    """BITCOUNT/BITPOS's ``BYTE|BIT`` unit."""
    if mode is None:
        return []
    word = mode.upper() if isinstance(mode, str) else None
    if word not in ("BYTE", "BIT"):
        raise DataError(f"mode must be BYTE or BIT, got {mode!r}")
    return [word]


def _overflow(overflow: object) -> str:
    word = overflow.upper() if isinstance(overflow, str) else None
    if word not in OVERFLOWS:
        raise DataError(f"overflow must be one of {', '.join(OVERFLOWS)}, got {overflow!r}")
    return word


class BitFieldOperation:
    """Collects BITFIELD operations (``get``, ``set``, ``incrby``,
    ``overflow``), each returning the builder, and sends them as one command
    on :meth:`execute`: the list of results (on a pipeline, queued with it)."""

    def __init__(
        self, client: CommandsBase[Any], key: KeyT, default_overflow: str | None = None
    ) -> None:
        self.client = client
        self.key = key
        self._default_overflow = None if default_overflow is None else _overflow(default_overflow)
        self.operations: list[tuple[Any, ...]] = []
        self._last_overflow = "WRAP"
        self.reset()

    def reset(self) -> None:
        """Forgets the operations collected so far."""
        self.operations = []
        self._last_overflow = "WRAP"
        self.overflow(self._default_overflow or self._last_overflow)

    def overflow(self, overflow: str) -> BitFieldOperation:
        """How later ``incrby`` operations overflow: WRAP, SAT or FAIL."""
        word = _overflow(overflow)
        # The server's default is WRAP; the word is sent only on a change.
        if word != self._last_overflow:
            self._last_overflow = word
            self.operations.append(("OVERFLOW", word))
        return self

    def incrby(
        self, fmt: str, offset: BitfieldOffsetT, increment: int, overflow: str | None = None
    ) -> BitFieldOperation:
        """Adds ``increment`` to the field of type ``fmt`` (``"u8"``, ``"i5"``) at ``offset``."""
        if overflow is not None:
            self.overflow(overflow)
        self.operations.append(("INCRBY", fmt, offset, require_int(increment, "increment")))
        return self

    def get(self, fmt: str, offset: BitfieldOffsetT) -> BitFieldOperation:
        """Reads the field of type ``fmt`` at ``offset``."""
        self.operations.append(("GET", fmt, offset))
        return self

    def set(self, fmt: str, offset: BitfieldOffsetT, value: int) -> BitFieldOperation:
        """Writes ``value`` to the field of type ``fmt`` at ``offset``."""
        self.operations.append(("SET", fmt, offset, require_int(value, "value")))
        return self

    @property
    def command(self) -> list[Any]:
        """The BITFIELD command the operations make."""
        words: list[Any] = ["BITFIELD", self.key]
        for operation in self.operations:
            words.extend(operation)
        return words

    def execute(self) -> ResponseT:
        """Sends the operations as one BITFIELD; the list of their results
        (https://redis.io/docs/latest/commands/bitfield/)."""
        command = self.command
        self.reset()
        return self.client._execute(S.RAW, *command)


class BitmapCommands(CommandsBase[ValueT]):
    def setbit(self, name: KeyT, offset: int, value: int) -> Reply[int]:
        """Sets the bit at ``offset`` to 1 if ``value`` is true, else 0 (as
        redis-py does); returns the old bit
        (https://redis.io/docs/latest/commands/setbit/)."""
        bit = 1 if value else 0
        return self._execute(S.RAW, "SETBIT", name, require_int(offset, "offset"), bit)

    def getbit(self, name: KeyT, offset: int) -> Reply[int]:
        """The bit at ``offset`` (https://redis.io/docs/latest/commands/getbit/)."""
        return self._execute(S.RAW, "GETBIT", name, require_int(offset, "offset"))

    def bitcount(
        self,
        key: KeyT,
        start: int | None = None,
        end: int | None = None,
        mode: str | None = None,
    ) -> Reply[int]:
        """The number of set bits, in ``start``..``end`` (bytes, or bits with
        ``mode="BIT"``) (https://redis.io/docs/latest/commands/bitcount/)."""
        if (start is None) != (end is None):
            raise DataError("start and end must be given together")
        words: list[Any] = ["BITCOUNT", key]
        if start is not None:
            words += [require_int(start, "start"), require_int(end, "end")]
        elif mode is not None:
            raise DataError("mode needs start and end")
        return self._execute(S.RAW, *words, *_mode(mode))

    def bitpos(
        self,
        key: KeyT,
        bit: int,
        start: int | None = None,
        end: int | None = None,
        mode: str | None = None,
    ) -> Reply[int]:
        """The position of the first ``bit`` (0 or 1)
        (https://redis.io/docs/latest/commands/bitpos/)."""
        if bit not in (0, 1) or isinstance(bit, bool):
            raise DataError(f"bit must be 0 or 1, got {bit!r}")
        words: list[Any] = ["BITPOS", key, bit]
        if start is not None:
            words.append(require_int(start, "start"))
            if end is not None:
                words.append(require_int(end, "end"))
        elif end is not None:
            raise DataError("end needs start")
        if mode is not None and end is None:
            raise DataError("mode needs start and end")
        return self._execute(S.RAW, *words, *_mode(mode))

    def bitop(self, operation: str, dest: KeyT, *keys: KeyT) -> Reply[int]:
        """Stores the bitwise ``operation`` (AND, OR, XOR, NOT; DIFF, DIFF1,
        ANDOR, ONE on Redis 8.2+) of ``keys`` in ``dest``; returns its length
        (https://redis.io/docs/latest/commands/bitop/)."""
        word = operation.upper() if isinstance(operation, str) else None
        if word not in BIT_OPS:
            raise DataError(f"operation must be one of {', '.join(BIT_OPS)}, got {operation!r}")
        if not keys:
            raise DataError("bitop needs at least one source key")
        return self._execute(S.RAW, "BITOP", word, dest, *keys)

    def bitfield(self, key: KeyT, default_overflow: str | None = None) -> BitFieldOperation:
        """A :class:`BitFieldOperation` on ``key``; its ``execute()`` sends it
        (https://redis.io/docs/latest/commands/bitfield/)."""
        return BitFieldOperation(self, key, default_overflow=default_overflow)

    def bitfield_ro(
        self,
        key: KeyT,
        encoding: str,
        offset: BitfieldOffsetT,
        items: list[tuple[str, BitfieldOffsetT]] | None = None,
    ) -> Reply[list[int]]:
        """Reads the field ``encoding`` at ``offset`` and each ``(encoding,
        offset)`` of ``items`` (https://redis.io/docs/latest/commands/bitfield_ro/)."""
        words: list[Any] = ["BITFIELD_RO", key, "GET", encoding, offset]
        for item_encoding, item_offset in items or []:
            words += ["GET", item_encoding, item_offset]
        return self._execute(S.RAW, *words)
