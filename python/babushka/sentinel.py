"""Redis Sentinel: :class:`Sentinel` (sync; ``babushka.asyncio.sentinel``
has its asyncio twin), :class:`SentinelConnectionPool` and the errors, with
redis-py's names.

``Sentinel(...).master_for(name)`` gives a client whose core asks the
sentinels where the primary is at every connect, checks ``ROLE`` of what it
reached, follows ``+switch-master`` as it is announced and sends a command
answered ``READONLY`` again to the new primary (see ``babushka._sentinel``
and ``core/src/sentinel``); ``slave_for(name)`` one that reads from the
service's replicas in turn (the primary when none is up).
"""

from __future__ import annotations

import random
from typing import Any, Iterator

from babushka import _sentinel
from babushka.client import Redis
from babushka.commands.sentinel import SentinelCommands
from babushka.connection import ConnectionPool
from babushka.exceptions import (
    ConnectionError,
    MasterNotFoundError,
    ResponseError,
    SlaveNotFoundError,
    TimeoutError,
)


class SentinelConnectionPool(ConnectionPool):
    """redis-py's ``SentinelConnectionPool(service_name, sentinel_manager,
    **kwargs)``: the connections of one service, found through the
    manager's sentinels by the core at every connect. ``is_master=False``
    reads from replicas. ``check_connection`` is taken as redis-py takes
    it; the core always checks a new connection (its handshake's replies,
    and ``ROLE`` for a primary)."""

    def __init__(self, service_name: str, sentinel_manager: Sentinel, **kwargs: Any) -> None:
        self.is_master = bool(kwargs.pop("is_master", True))
        self.check_connection = bool(kwargs.pop("check_connection", False))
        _sentinel.refuse_connection_keywords(kwargs)
        self.service_name = service_name
        self.sentinel_manager = sentinel_manager
        settings = sentinel_manager._core_settings(service_name, is_master=self.is_master)
        super().__init__(_sentinel=settings, **kwargs)

    def get_master_address(self) -> tuple[str, int]:
        """The primary's address, as the sentinels give it now."""
        return self.sentinel_manager.discover_master(self.service_name)

    def rotate_slaves(self) -> Iterator[tuple[str, int]]:
        """The replicas in good health, from a random one on, then the
        primary; ``SlaveNotFoundError`` when there is neither."""
        slaves = self.sentinel_manager.discover_slaves(self.service_name)
        if slaves:
            start = random.randrange(len(slaves))
            yield from slaves[start:] + slaves[:start]
        try:
            master: tuple[str, int] | None = self.get_master_address()
        except MasterNotFoundError:
            master = None
        if master is not None:
            yield master
        raise SlaveNotFoundError(f"No slave found for {self.service_name!r}")

    def __repr__(self) -> str:
        role = "master" if self.is_master else "slave"
        name = f"{type(self).__module__}.{type(self).__name__}"
        return f"<{name}(service={self.service_name}({role}))>"


class Sentinel(_sentinel.SentinelBase, SentinelCommands[Any]):
    """redis-py's ``Sentinel(sentinels, min_other_sentinels=0,
    sentinel_kwargs=None, force_master_ip=None, **connection_kwargs)``.

    ``sentinels`` is a list of ``(host, port)``; ``sentinel_kwargs`` are the
    keywords of the connections to the sentinels (their ``password``,
    ``ssl``, ...; by default the ``socket_*`` ones of ``connection_kwargs``),
    ``connection_kwargs`` those of the service's clients. The ``sentinel_*``
    commands go to every sentinel (``True`` when all succeed, or the list of
    replies with ``return_responses=True``), ``sentinel_reset`` and
    ``sentinel_ckquorum`` to one at random, as in redis-py.
    """

    _client_class = Redis
    sentinels: list[Redis[Any]]

    def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        """Sends a command to every sentinel (``True`` if every reply is
        truthy, or the list of replies with ``return_responses=True``), or
        with ``once=True`` to one at random."""
        once = bool(kwargs.pop("once", False))
        return_responses = bool(kwargs.pop("return_responses", False))
        if once:
            reply = random.choice(self.sentinels).execute_command(*args, **kwargs)
            return [reply] if return_responses else bool(reply)
        replies = [sentinel.execute_command(*args, **kwargs) for sentinel in self.sentinels]
        return replies if return_responses else all(replies)

    def _sentinel_command(
        self,
        parse: Any,
        shape: int,
        *args: Any,
        once: bool = False,
        return_responses: bool = False,
    ) -> Any:
        if once:
            chosen = random.choice(self.sentinels)
            reply = chosen._sentinel_command(parse, shape, *args)
            return [reply] if return_responses else bool(reply)
        replies = [sentinel._sentinel_command(parse, shape, *args) for sentinel in self.sentinels]
        return replies if return_responses else all(replies)

    def check_master_state(self, state: dict[str, Any], service_name: str) -> bool:
        return _sentinel.check_master_state(state, self.min_other_sentinels)

    def discover_master(self, service_name: str) -> tuple[str, int]:
        """``(ip, port)`` of the service's primary, from the first sentinel
        that vouches for one (it is asked first next time);
        ``MasterNotFoundError`` when none does."""
        errors: list[str] = []
        for at, sentinel in enumerate(self.sentinels):
            try:
                masters = sentinel.sentinel_masters()
            except (ConnectionError, TimeoutError) as error:
                errors.append(f"{sentinel} - {error!r}")
                continue
            state = masters.get(service_name)
            if state and self.check_master_state(state, service_name):
                self.sentinels[0], self.sentinels[at] = sentinel, self.sentinels[0]
                self._addresses[0], self._addresses[at] = self._addresses[at], self._addresses[0]
                ip = self._force_master_ip if self._force_master_ip is not None else state["ip"]
                return ip, state["port"]
        raise _sentinel.master_not_found(service_name, errors)

    def filter_slaves(self, slaves: list[dict[str, Any]]) -> list[tuple[str, int]]:
        return _sentinel.filter_slaves(slaves)

    filter_replicas = filter_slaves

    def discover_slaves(self, service_name: str) -> list[tuple[str, int]]:
        """The service's replicas in good health, from the first sentinel
        that knows some."""
        for sentinel in self.sentinels:
            try:
                slaves = sentinel.sentinel_slaves(service_name)
            except (ConnectionError, ResponseError, TimeoutError):
                continue
            alive = self.filter_slaves(slaves)
            if alive:
                return alive
        return []

    discover_replicas = discover_slaves

    def master_for(
        self,
        service_name: str,
        redis_class: type[Redis[Any]] = Redis,
        connection_pool_class: type[SentinelConnectionPool] = SentinelConnectionPool,
        **kwargs: Any,
    ) -> Redis[Any]:
        """A client of the service's primary, which follows it through
        failovers; ``kwargs`` add to the ``connection_kwargs``."""
        kwargs["is_master"] = True
        pool = connection_pool_class(service_name, self, **{**self.connection_kwargs, **kwargs})
        return redis_class.from_pool(pool)

    def slave_for(
        self,
        service_name: str,
        redis_class: type[Redis[Any]] = Redis,
        connection_pool_class: type[SentinelConnectionPool] = SentinelConnectionPool,
        **kwargs: Any,
    ) -> Redis[Any]:
        """A client of the service's replicas (each connection to one in
        good health, in turn; the primary when none is)."""
        kwargs["is_master"] = False
        pool = connection_pool_class(service_name, self, **{**self.connection_kwargs, **kwargs})
        return redis_class.from_pool(pool)

    def close(self) -> None:
        """Closes the clients of the sentinels (not those from
        ``master_for``/``slave_for``, which are the caller's)."""
        for sentinel in self.sentinels:
            sentinel.close()

    def __enter__(self) -> Sentinel:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        addresses = ",".join(f"{host}:{port}" for host, port in self._addresses)
        return f"<{type(self).__module__}.{type(self).__name__}(sentinels=[{addresses}])>"


__all__ = [
    "MasterNotFoundError",
    "Sentinel",
    "SentinelConnectionPool",
    "SlaveNotFoundError",
]
