"""Generic key commands: DEL, EXISTS, expiry, RENAME, SCAN and friends."""

from __future__ import annotations

from typing import Any

from babushka import _shapes as S
from babushka._typing import Reply, ScanIter, ValueT
from babushka.commands.base import (
    AbsExpiryT,
    CommandsBase,
    EncodableT,
    ExpiryT,
    KeyT,
    key_list,
    milliseconds,
    require_cursor,
    require_int,
    require_non_negative,
    scan_options,
    seconds,
    unix_milliseconds,
    unix_seconds,
)
from babushka.exceptions import DataError


def _expire_flags(nx: bool, xx: bool, gt: bool, lt: bool) -> list[str]:
    """EXPIRE's condition words; the server rejects these combinations, so we
    reject them before sending."""
    if nx and (xx or gt or lt):
        raise DataError("nx cannot be combined with xx, gt or lt")
    if gt and lt:
        raise DataError("gt and lt are mutually exclusive")
    return [word for word, on in (("NX", nx), ("XX", xx), ("GT", gt), ("LT", lt)) if on]


def _some(names: tuple[KeyT, ...], command: str) -> tuple[KeyT, ...]:
    if not names:
        raise DataError(f"{command} needs at least one key")
    return names


class KeyCommands(CommandsBase[ValueT]):
    def delete(self, *names: KeyT) -> Reply[int]:
        """Deletes the keys; returns how many existed."""
        return self._execute(S.RAW, "DEL", *_some(names, "delete"))

    def unlink(self, *names: KeyT) -> Reply[int]:
        """Like :meth:`delete`, with the memory reclaimed in the background."""
        return self._execute(S.RAW, "UNLINK", *_some(names, "unlink"))

    def exists(self, *names: KeyT) -> Reply[int]:
        """How many of the keys exist (a key named twice counts twice)."""
        return self._execute(S.RAW, "EXISTS", *_some(names, "exists"))

    def touch(self, *args: KeyT) -> Reply[int]:
        return self._execute(S.RAW, "TOUCH", *_some(args, "touch"))

    def expire(
        self,
        name: KeyT,
        time: ExpiryT,
        nx: bool = False,
        xx: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> Reply[bool]:
        """Sets a timeout in seconds; returns whether it was set."""
        flags = _expire_flags(nx, xx, gt, lt)
        return self._execute(S.BOOL, "EXPIRE", name, seconds(time, "time"), *flags)

    def pexpire(
        self,
        name: KeyT,
        time: ExpiryT,
        nx: bool = False,
        xx: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> Reply[bool]:
        flags = _expire_flags(nx, xx, gt, lt)
        return self._execute(S.BOOL, "PEXPIRE", name, milliseconds(time, "time"), *flags)

    def expireat(
        self,
        name: KeyT,
        when: AbsExpiryT,
        nx: bool = False,
        xx: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> Reply[bool]:
        flags = _expire_flags(nx, xx, gt, lt)
        return self._execute(S.BOOL, "EXPIREAT", name, unix_seconds(when, "when"), *flags)

    def pexpireat(
        self,
        name: KeyT,
        when: AbsExpiryT,
        nx: bool = False,
        xx: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> Reply[bool]:
        flags = _expire_flags(nx, xx, gt, lt)
        when_ms = unix_milliseconds(when, "when")
        return self._execute(S.BOOL, "PEXPIREAT", name, when_ms, *flags)

    def ttl(self, name: KeyT) -> Reply[int]:
        """Seconds to live; -1 without a timeout, -2 when the key is missing."""
        return self._execute(S.RAW, "TTL", name)

    def pttl(self, name: KeyT) -> Reply[int]:
        return self._execute(S.RAW, "PTTL", name)

    def persist(self, name: KeyT) -> Reply[bool]:
        """Removes the timeout; returns whether there was one."""
        return self._execute(S.BOOL, "PERSIST", name)

    def type(self, name: KeyT) -> Reply[ValueT]:
        """The type's name (``b"string"``, ``b"hash"``, ...; ``b"none"`` when missing)."""
        return self._execute(S.RAW, "TYPE", name)

    def rename(self, src: KeyT, dst: KeyT) -> Reply[bool]:
        return self._execute(S.OK, "RENAME", src, dst)

    def renamenx(self, src: KeyT, dst: KeyT) -> Reply[bool]:
        """Renames only when ``dst`` does not exist; returns whether it did."""
        return self._execute(S.BOOL, "RENAMENX", src, dst)

    def keys(self, pattern: EncodableT = "*", **kwargs: Any) -> Reply[list[ValueT]]:
        return self._execute(S.RAW, "KEYS", pattern)

    def randomkey(self, **kwargs: Any) -> Reply[ValueT | None]:
        return self._execute(S.RAW, "RANDOMKEY")

    def copy(
        self,
        source: KeyT,
        destination: KeyT,
        destination_db: int | str | None = None,
        replace: bool = False,
    ) -> Reply[bool]:
        """Copies ``source`` to ``destination``; returns whether it did."""
        words: list[Any] = ["COPY", source, destination]
        if destination_db is not None:
            words += ["DB", destination_db]
        if replace:
            words.append("REPLACE")
        return self._execute(S.BOOL, *words)

    def move(self, name: KeyT, db: int) -> Reply[bool]:
        """Moves the key to database ``db``; returns whether it did."""
        return self._execute(S.BOOL, "MOVE", name, require_int(db, "db"))

    def dump(self, name: KeyT) -> Reply[bytes | None]:
        """The key's value serialized for :meth:`restore`, or ``None``."""
        return self._execute(S.BYTES, "DUMP", name)

    def restore(
        self,
        name: KeyT,
        ttl: float,
        value: EncodableT,
        replace: bool = False,
        absttl: bool = False,
        idletime: int | None = None,
        frequency: int | None = None,
    ) -> Reply[ValueT]:
        """Creates ``name`` from a :meth:`dump`; ``ttl`` in milliseconds (0: none)."""
        words: list[Any] = ["RESTORE", name, milliseconds(ttl, "ttl"), value]
        if idletime is not None and frequency is not None:
            raise DataError("idletime and frequency are mutually exclusive")
        if replace:
            words.append("REPLACE")
        if absttl:
            words.append("ABSTTL")
        if idletime is not None:
            words += ["IDLETIME", require_int(idletime, "idletime")]
        if frequency is not None:
            words += ["FREQ", require_int(frequency, "frequency")]
        # redis-py answers the server's b"OK" here, not True.
        return self._execute(S.RAW, *words)

    def scan(
        self,
        cursor: int = 0,
        match: EncodableT | None = None,
        count: int | None = None,
        _type: str | None = None,
        **kwargs: Any,
    ) -> Reply[tuple[int, list[ValueT]]]:
        """One page of the keyspace: ``(next_cursor, [key, ...])``."""
        words = ["SCAN", require_cursor(cursor), *scan_options(match, count)]
        if _type is not None:
            words += ["TYPE", _type]
        return self._execute(S.SCAN, *words)

    def scan_iter(
        self,
        match: EncodableT | None = None,
        count: int | None = None,
        _type: str | None = None,
        **kwargs: Any,
    ) -> ScanIter[ValueT]:
        """Every key (matching ``match``, of type ``_type``), page by page:
        an iterator on the sync client, an async iterator on the async one."""
        options = scan_options(match, count)
        if _type is not None:
            options += ["TYPE", _type]
        return self._iter_cursor(lambda cursor: self._execute(S.SCAN, "SCAN", cursor, *options))

    def expiretime(self, key: KeyT) -> Reply[int]:
        """When the key expires, in Unix seconds (-1: no expiry, -2: no key)
        (https://redis.io/docs/latest/commands/expiretime/)."""
        return self._execute(S.RAW, "EXPIRETIME", key)

    def pexpiretime(self, key: KeyT) -> Reply[int]:
        """When the key expires, in Unix milliseconds
        (https://redis.io/docs/latest/commands/pexpiretime/)."""
        return self._execute(S.RAW, "PEXPIRETIME", key)

    def object(self, infotype: str, key: KeyT) -> Reply[ValueT | int | None]:
        """``OBJECT ENCODING|FREQ|IDLETIME|REFCOUNT`` of the key
        (https://redis.io/docs/latest/commands/object/)."""
        word = infotype.upper() if isinstance(infotype, str) else None
        if word not in OBJECT_INFO:
            raise DataError(f"infotype must be one of {', '.join(OBJECT_INFO)}, got {infotype!r}")
        return self._execute(S.RAW, "OBJECT", word, key)

    def wait(self, num_replicas: int, timeout: int) -> Reply[int]:
        """Waits up to ``timeout`` ms (0: for ever) for ``num_replicas``
        replicas to acknowledge this connection's writes; returns how many did
        (https://redis.io/docs/latest/commands/wait/)."""
        replicas = require_non_negative(num_replicas, "num_replicas")
        return self._execute(S.RAW, "WAIT", replicas, require_non_negative(timeout, "timeout"))

    def waitaof(self, num_local: int, num_replicas: int, timeout: int) -> Reply[list[int]]:
        """Waits up to ``timeout`` ms for this connection's writes to reach the
        AOF locally and on ``num_replicas`` replicas: ``[local, replicas]``
        (https://redis.io/docs/latest/commands/waitaof/)."""
        words = [
            require_non_negative(num_local, "num_local"),
            require_non_negative(num_replicas, "num_replicas"),
            require_non_negative(timeout, "timeout"),
        ]
        return self._execute(S.RAW, "WAITAOF", *words)

    def migrate(
        self,
        host: str,
        port: int,
        keys: KeyT | list[KeyT],
        destination_db: int,
        timeout: int,
        copy: bool = False,
        replace: bool = False,
        auth: str | None = None,
    ) -> Reply[ValueT]:
        """Moves ``keys`` to database ``destination_db`` of the server at
        ``host:port`` (``copy``: keeps them here too; ``replace``: overwrites
        there), waiting up to ``timeout`` ms; ``OK``, or ``NOKEY`` when none
        exists. https://redis.io/docs/latest/commands/migrate/"""
        names = key_list(keys, ())
        if not names:
            raise DataError("MIGRATE requires at least one key")
        words: list[Any] = [
            host,
            require_int(port, "port"),
            "",
            require_int(destination_db, "destination_db"),
        ]
        words.append(require_non_negative(timeout, "timeout"))
        if copy:
            words.append("COPY")
        if replace:
            words.append("REPLACE")
        if auth:
            words += ["AUTH", auth]
        return self._execute(S.RAW, "MIGRATE", *words, "KEYS", *names)


#: OBJECT's subcommands that take a key.
OBJECT_INFO = ("ENCODING", "FREQ", "IDLETIME", "REFCOUNT")
