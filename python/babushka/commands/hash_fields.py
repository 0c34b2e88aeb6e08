"""Hash field expiry (HEXPIRE, HTTL, HPERSIST, ...) and the hash commands
that read or write fields with an expiry (HGETDEL, HGETEX, HSETEX).

Redis 7.4 added field expiry (Valkey 9.0 most of it), Redis 8.0 HGETDEL,
HGETEX and HSETEX. Each reply is a list with one entry per field, as the
server sends it (-2: no such field, and so on).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from babushka import _shapes as S
from babushka._typing import Reply, ValueT
from babushka.commands.base import (
    AbsExpiryT,
    CommandsBase,
    EncodableT,
    ExpiryT,
    KeyT,
    ResponseT,
    expiry_words,
    milliseconds,
    seconds,
    unix_milliseconds,
    unix_seconds,
)
from babushka.commands.hashes import hset_pairs
from babushka.exceptions import DataError

#: HSETEX's conditions: every field new (FNX) or every field there (FXX).
HASH_PERSIST_OPTIONS = ("FNX", "FXX")


def _fields(fields: tuple[EncodableT, ...], command: str) -> list[Any]:
    """``FIELDS n field ...``."""
    if not fields:
        raise DataError(f"{command} needs at least one field")
    return ["FIELDS", len(fields), *fields]


def _condition(nx: bool, xx: bool, gt: bool, lt: bool) -> list[str]:
    words = [word for word, on in (("NX", nx), ("XX", xx), ("GT", gt), ("LT", lt)) if on]
    if len(words) > 1:
        raise DataError("only one of nx, xx, gt and lt may be given")
    return words


class HashFieldCommands(CommandsBase[ValueT]):
    def _hexpire(
        self,
        command: str,
        name: KeyT,
        when: int,
        fields: tuple[EncodableT, ...],
        conditions: tuple[bool, bool, bool, bool],
    ) -> ResponseT:
        words = [command, name, when, *_condition(*conditions), *_fields(fields, command)]
        return self._execute(S.RAW, *words)

    def hexpire(
        self,
        name: KeyT,
        seconds: ExpiryT,
        *fields: EncodableT,
        nx: bool = False,
        xx: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> Reply[list[int]]:
        """Expires fields in ``seconds``; per field 2 (deleted at once), 1
        (set), 0 (a condition failed) or -2 (no such field)
        (https://redis.io/docs/latest/commands/hexpire/)."""
        when = _seconds(seconds, "seconds")
        return self._hexpire("HEXPIRE", name, when, fields, (nx, xx, gt, lt))

    def hpexpire(
        self,
        name: KeyT,
        milliseconds: ExpiryT,
        *fields: EncodableT,
        nx: bool = False,
        xx: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> Reply[list[int]]:
        """Expires fields in ``milliseconds``
        (https://redis.io/docs/latest/commands/hpexpire/)."""
        when = _milliseconds(milliseconds, "milliseconds")
        return self._hexpire("HPEXPIRE", name, when, fields, (nx, xx, gt, lt))

    def hexpireat(
        self,
        name: KeyT,
        unix_time_seconds: AbsExpiryT,
        *fields: EncodableT,
        nx: bool = False,
        xx: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> Reply[list[int]]:
        """Expires fields at a Unix time in seconds
        (https://redis.io/docs/latest/commands/hexpireat/)."""
        when = unix_seconds(unix_time_seconds, "unix_time_seconds")
        return self._hexpire("HEXPIREAT", name, when, fields, (nx, xx, gt, lt))

    def hpexpireat(
        self,
        name: KeyT,
        unix_time_milliseconds: AbsExpiryT,
        *fields: EncodableT,
        nx: bool = False,
        xx: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> Reply[list[int]]:
        """Expires fields at a Unix time in milliseconds
        (https://redis.io/docs/latest/commands/hpexpireat/)."""
        when = unix_milliseconds(unix_time_milliseconds, "unix_time_milliseconds")
        return self._hexpire("HPEXPIREAT", name, when, fields, (nx, xx, gt, lt))

    def httl(self, key: KeyT, *fields: EncodableT) -> Reply[list[int]]:
        """Each field's time to live in seconds (-1: none, -2: no field)
        (https://redis.io/docs/latest/commands/httl/)."""
        return self._execute(S.RAW, "HTTL", key, *_fields(fields, "HTTL"))

    def hpttl(self, key: KeyT, *fields: EncodableT) -> Reply[list[int]]:
        """Each field's time to live in milliseconds
        (https://redis.io/docs/latest/commands/hpttl/)."""
        return self._execute(S.RAW, "HPTTL", key, *_fields(fields, "HPTTL"))

    def hexpiretime(self, key: KeyT, *fields: EncodableT) -> Reply[list[int]]:
        """When each field expires, in Unix seconds
        (https://redis.io/docs/latest/commands/hexpiretime/)."""
        return self._execute(S.RAW, "HEXPIRETIME", key, *_fields(fields, "HEXPIRETIME"))

    def hpexpiretime(self, key: KeyT, *fields: EncodableT) -> Reply[list[int]]:
        """When each field expires, in Unix milliseconds
        (https://redis.io/docs/latest/commands/hpexpiretime/)."""
        return self._execute(S.RAW, "HPEXPIRETIME", key, *_fields(fields, "HPEXPIRETIME"))

    def hpersist(self, name: KeyT, *fields: EncodableT) -> Reply[list[int]]:
        """Removes the fields' expiry; per field 1, -1 (none) or -2 (no field)
        (https://redis.io/docs/latest/commands/hpersist/)."""
        return self._execute(S.RAW, "HPERSIST", name, *_fields(fields, "HPERSIST"))

    def hgetdel(self, name: KeyT, *keys: EncodableT) -> Reply[list[ValueT | None]]:
        """The fields' values (``None`` when missing), deleting the fields
        (https://redis.io/docs/latest/commands/hgetdel/)."""
        return self._execute(S.RAW, "HGETDEL", name, *_fields(keys, "HGETDEL"))

    def hgetex(
        self,
        name: KeyT,
        *keys: EncodableT,
        ex: ExpiryT | None = None,
        px: ExpiryT | None = None,
        exat: AbsExpiryT | None = None,
        pxat: AbsExpiryT | None = None,
        persist: bool = False,
    ) -> Reply[list[ValueT | None]]:
        """The fields' values, setting or removing (``persist``) their expiry
        (https://redis.io/docs/latest/commands/hgetex/)."""
        fields = _fields(keys, "HGETEX")
        words = expiry_words(ex, px, exat, pxat, persist=persist)
        return self._execute(S.RAW, "HGETEX", name, *words, *fields)

    def hsetex(
        self,
        name: KeyT,
        key: EncodableT | None = None,
        value: EncodableT | None = None,
        mapping: Mapping[EncodableT, EncodableT] | None = None,
        items: Sequence[EncodableT] | None = None,
        ex: ExpiryT | None = None,
        px: ExpiryT | None = None,
        exat: AbsExpiryT | None = None,
        pxat: AbsExpiryT | None = None,
        data_persist_option: Any = None,
        keepttl: bool = False,
    ) -> Reply[int]:
        """Sets fields (as ``hset`` takes them) with an expiry; 1 if all were
        set, 0 if the ``data_persist_option`` (FNX, FXX) stopped it
        (https://redis.io/docs/latest/commands/hsetex/)."""
        pairs = hset_pairs(key, value, mapping, items)
        words: list[Any] = ["HSETEX", name]
        if data_persist_option is not None:
            # redis-py's HashDataPersistOptions enum, or its value.
            option = getattr(data_persist_option, "value", data_persist_option)
            if option not in HASH_PERSIST_OPTIONS:
                raise DataError(f"data_persist_option must be FNX or FXX, got {option!r}")
            words.append(option)
        words += expiry_words(ex, px, exat, pxat, keepttl=keepttl)
        words += ["FIELDS", len(pairs) // 2, *pairs]
        return self._execute(S.RAW, *words)


# The parameters named ``seconds`` and ``milliseconds`` (redis-py's names)
# hide base's helpers inside the methods.
_seconds = seconds
_milliseconds = milliseconds
