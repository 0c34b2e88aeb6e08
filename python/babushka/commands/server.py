"""Server commands: INFO, CONFIG, persistence, replication, SHUTDOWN, MODULE."""

from __future__ import annotations

import datetime
from typing import Any, NoReturn

from babushka import _shapes as S
from babushka._typing import Reply, ValueT
from babushka.commands.base import CommandsBase, EncodableT, require_int
from babushka.exceptions import ConnectionError, DataError, RedisError


def _shut_down(reply: Any, error: BaseException | None) -> None:
    """SHUTDOWN succeeded when the server closed the connection; a reply
    means it is still running (redis-py's rule)."""
    if isinstance(error, ConnectionError):
        return None
    if error is not None:
        raise error
    raise RedisError("SHUTDOWN seems to have failed.")


def _refuse_replication(name: str) -> NoReturn:
    raise DataError(
        f"{name} turns the connection into a replication stream (an RDB payload, then "
        "every write), which a shared, pipelined connection cannot carry. Nothing was sent"
    )


class ServerCommands(CommandsBase[ValueT]):
    def info(self, section: str | None = None, *args: str) -> Reply[dict[str, Any]]:
        """The server's INFO (``section`` and more sections, ``"all"``,
        ``"everything"``...) parsed to a dict, as redis-py parses it.
        https://redis.io/docs/latest/commands/info/"""
        words: list[Any] = [] if section is None else [section, *args]
        return self._execute(S.INFO, "INFO", *words)

    def dbsize(self) -> Reply[int]:
        """The number of keys in the database. https://redis.io/docs/latest/commands/dbsize/"""
        return self._execute(S.RAW, "DBSIZE")

    def flushdb(self, asynchronous: bool = False) -> Reply[bool]:
        """Deletes every key of the database. https://redis.io/docs/latest/commands/flushdb/"""
        if asynchronous:
            return self._execute(S.OK, "FLUSHDB", "ASYNC")
        return self._execute(S.OK, "FLUSHDB")

    def flushall(self, asynchronous: bool = False) -> Reply[bool]:
        """Deletes every key of every database. https://redis.io/docs/latest/commands/flushall/"""
        if asynchronous:
            return self._execute(S.OK, "FLUSHALL", "ASYNC")
        return self._execute(S.OK, "FLUSHALL")

    def config_get(self, pattern: str = "*", *args: str) -> Reply[dict[str, str]]:
        """The matching configuration parameters as a dict of ``str``.
        https://redis.io/docs/latest/commands/config-get/"""
        return self._execute(S.CONFIG_GET, "CONFIG", "GET", pattern, *args)

    def config_set(self, name: str, value: EncodableT, *args: EncodableT) -> Reply[bool]:
        """Sets parameters: ``name, value`` and more pairs.
        https://redis.io/docs/latest/commands/config-set/"""
        if len(args) % 2:
            raise DataError("config_set takes name/value pairs")
        return self._execute(S.OK, "CONFIG", "SET", name, value, *args)

    def config_resetstat(self) -> Reply[bool]:
        """Resets INFO's statistics. https://redis.io/docs/latest/commands/config-resetstat/"""
        return self._execute(S.OK, "CONFIG", "RESETSTAT")

    def config_rewrite(self) -> Reply[ValueT]:
        """Writes the running configuration to the server's config file.
        https://redis.io/docs/latest/commands/config-rewrite/"""
        return self._execute(S.RAW, "CONFIG", "REWRITE")

    def time(self) -> Reply[tuple[int, int]]:
        """The server's clock as ``(seconds, microseconds)``.
        https://redis.io/docs/latest/commands/time/"""
        return self._execute(S.TIME, "TIME")

    def lastsave(self) -> Reply[datetime.datetime]:
        """When the last save succeeded, as a ``datetime`` (local time).
        https://redis.io/docs/latest/commands/lastsave/"""
        return self._execute(S.DATETIME, "LASTSAVE")

    def save(self) -> Reply[bool]:
        """Saves the dataset now, blocking the server.
        https://redis.io/docs/latest/commands/save/"""
        return self._execute(S.OK, "SAVE")

    def bgsave(self, schedule: bool = True) -> Reply[bool]:
        """Saves the dataset in the background (``schedule``: after a running
        AOF rewrite instead of failing). https://redis.io/docs/latest/commands/bgsave/"""
        if schedule:
            return self._execute(S.TRUE, "BGSAVE", "SCHEDULE")
        return self._execute(S.TRUE, "BGSAVE")

    def bgrewriteaof(self) -> Reply[bool]:
        """Rewrites the append-only file in the background.
        https://redis.io/docs/latest/commands/bgrewriteaof/"""
        return self._execute(S.TRUE, "BGREWRITEAOF")

    def role(self) -> Reply[list[Any]]:
        """The server's replication role and state.
        https://redis.io/docs/latest/commands/role/"""
        return self._execute(S.RAW, "ROLE")

    def replicaof(self, *args: EncodableT) -> Reply[ValueT]:
        """``replicaof(host, port)`` follows a primary; ``replicaof("NO", "ONE")``
        stops (other arguments: the server's error, as with redis-py).
        https://redis.io/docs/latest/commands/replicaof/"""
        return self._execute(S.RAW, "REPLICAOF", *args)

    def slaveof(self, host: str | None = None, port: int | None = None) -> Reply[bool]:
        """Follows ``host:port``; with neither, stops replicating.
        https://redis.io/docs/latest/commands/slaveof/"""
        if host is None and port is None:
            return self._execute(S.OK, "SLAVEOF", "NO", "ONE")
        if host is None or port is None:
            raise DataError("slaveof takes both host and port, or neither")
        return self._execute(S.OK, "SLAVEOF", host, port)

    def swapdb(self, first: int, second: int) -> Reply[bool]:
        """Swaps two databases. https://redis.io/docs/latest/commands/swapdb/"""
        words = [require_int(first, "first"), require_int(second, "second")]
        return self._execute(S.OK, "SWAPDB", *words)

    def lolwut(self, *version_numbers: int) -> Reply[ValueT]:
        """The server's art (of a ``VERSION``, then its parameters).
        https://redis.io/docs/latest/commands/lolwut/"""
        numbers = [require_int(n, "version_numbers") for n in version_numbers]
        if numbers:
            return self._execute(S.RAW, "LOLWUT", "VERSION", *numbers)
        return self._execute(S.RAW, "LOLWUT")

    def shutdown(
        self,
        save: bool = False,
        nosave: bool = False,
        now: bool = False,
        force: bool = False,
        abort: bool = False,
    ) -> Reply[None]:
        """Stops the server: ``None`` once it closed the connection; raises
        ``RedisError`` if it answered instead (it did not stop), or its error.
        https://redis.io/docs/latest/commands/shutdown/"""
        if save and nosave:
            raise DataError("SHUTDOWN save and nosave cannot both be set")
        options = (
            (save, "SAVE"),
            (nosave, "NOSAVE"),
            (now, "NOW"),
            (force, "FORCE"),
            (abort, "ABORT"),
        )
        words = [word for given, word in options if given]
        return self._execute_outcome(_shut_down, S.OK, "SHUTDOWN", *words)

    def failover(self) -> NoReturn:
        """Not implemented, as in redis-py. https://redis.io/docs/latest/commands/failover/"""
        raise NotImplementedError("FAILOVER is intentionally not implemented in the client.")

    def sync(self) -> NoReturn:
        """Refused: see :meth:`psync`. https://redis.io/docs/latest/commands/sync/"""
        _refuse_replication("SYNC")

    def psync(self, replicationid: str, offset: int) -> NoReturn:
        """Refused (``DataError``): the connection would become a replication
        stream. https://redis.io/docs/latest/commands/psync/"""
        _refuse_replication("PSYNC")

    def module_load(self, path: str, *args: EncodableT) -> Reply[bool]:
        """Loads a module (``True``). https://redis.io/docs/latest/commands/module-load/"""
        return self._execute(S.BOOL, "MODULE", "LOAD", path, *args)

    def module_loadex(
        self,
        path: str,
        options: list[EncodableT] | None = None,
        args: list[EncodableT] | None = None,
    ) -> Reply[ValueT]:
        """Loads a module with ``CONFIG`` options and ``ARGS``.
        https://redis.io/docs/latest/commands/module-loadex/"""
        words: list[Any] = []
        if options is not None:
            words += ["CONFIG", *options]
        if args is not None:
            words += ["ARGS", *args]
        return self._execute(S.RAW, "MODULE", "LOADEX", path, *words)

    def module_unload(self, name: str) -> Reply[bool]:
        """Unloads a module (``True``). https://redis.io/docs/latest/commands/module-unload/"""
        return self._execute(S.BOOL, "MODULE", "UNLOAD", name)

    def module_list(self) -> Reply[list[dict[Any, Any]]]:
        """The loaded modules as dicts. https://redis.io/docs/latest/commands/module-list/"""
        return self._execute(S.PAIRS_LIST, "MODULE", "LIST")
