"""Redis Sentinel for the asyncio client: redis-py's
``redis.asyncio.sentinel`` names over :mod:`babushka.sentinel`'s core
(the core follows the sentinels; see there)."""

from __future__ import annotations

import asyncio
import random
from typing import Any, AsyncIterator

from babushka import _sentinel
from babushka.asyncio.client import Redis
from babushka.asyncio.connection import ConnectionPool
from babushka.commands.sentinel import SentinelCommands
from babushka.exceptions import (
    ConnectionError,
    MasterNotFoundError,
    ResponseError,
    SlaveNotFoundError,
    TimeoutError,
)


class SentinelConnectionPool(ConnectionPool):
    """The asyncio twin of :class:`babushka.sentinel.SentinelConnectionPool`."""

    def __init__(self, service_name: str, sentinel_manager: Sentinel, **kwargs: Any) -> None:
        self.is_master = bool(kwargs.pop("is_master", True))
        self.check_connection = bool(kwargs.pop("check_connection", False))
        _sentinel.refuse_connection_keywords(kwargs)
        self.service_name = service_name
        self.sentinel_manager = sentinel_manager
        settings = sentinel_manager._core_settings(service_name, is_master=self.is_master)
        super().__init__(_sentinel=settings, **kwargs)

    async def get_master_address(self) -> tuple[str, int]:
        return await self.sentinel_manager.discover_master(self.service_name)

    async def rotate_slaves(self) -> AsyncIterator[tuple[str, int]]:
        """The replicas in good health from a random one on, then the primary."""
        slaves = await self.sentinel_manager.discover_slaves(self.service_name)
        if slaves:
            start = random.randrange(len(slaves))
            for address in slaves[start:] + slaves[:start]:
                yield address
        try:
            master: tuple[str, int] | None = await self.get_master_address()
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
    """The asyncio twin of :class:`babushka.sentinel.Sentinel`: the same
    constructor; ``discover_*``, ``execute_command`` and the ``sentinel_*``
    commands are awaited; ``master_for``/``slave_for`` return
    ``babushka.asyncio.Redis`` clients."""

    _client_class = Redis
    sentinels: list[Redis[Any]]

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        """As the sync ``Sentinel.execute_command``, awaited."""
        once = bool(kwargs.pop("once", False))
        return_responses = bool(kwargs.pop("return_responses", False))
        if once:
            reply = await random.choice(self.sentinels).execute_command(*args, **kwargs)
            return [reply] if return_responses else bool(reply)
        replies = await asyncio.gather(
            *(sentinel.execute_command(*args, **kwargs) for sentinel in self.sentinels)
        )
        return list(replies) if return_responses else all(replies)

    def _sentinel_command(
        self,
        parse: Any,
        shape: int,
        *args: Any,
        once: bool = False,
        return_responses: bool = False,
    ) -> Any:
        async def run() -> Any:
            if once:
                reply = await random.choice(self.sentinels)._sentinel_command(parse, shape, *args)
                return [reply] if return_responses else bool(reply)
            replies = await asyncio.gather(
                *(sentinel._sentinel_command(parse, shape, *args) for sentinel in self.sentinels)
            )
            return list(replies) if return_responses else all(replies)

        return run()

    def check_master_state(self, state: dict[str, Any], service_name: str) -> bool:
        return _sentinel.check_master_state(state, self.min_other_sentinels)

    async def discover_master(self, service_name: str) -> tuple[str, int]:
        """As the sync ``discover_master``, awaited."""
        errors: list[str] = []
        for at, sentinel in enumerate(self.sentinels):
            try:
                masters = await sentinel.sentinel_masters()
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

    async def discover_slaves(self, service_name: str) -> list[tuple[str, int]]:
        """As the sync ``discover_slaves``, awaited."""
        for sentinel in self.sentinels:
            try:
                slaves = await sentinel.sentinel_slaves(service_name)
            except (ConnectionError, ResponseError, TimeoutError):
                continue
            alive = self.filter_slaves(slaves)
            if alive:
                return alive
        return []

    def master_for(
        self,
        service_name: str,
        redis_class: type[Redis[Any]] = Redis,
        connection_pool_class: type[SentinelConnectionPool] = SentinelConnectionPool,
        **kwargs: Any,
    ) -> Redis[Any]:
        """A client of the service's primary (not awaited, as in redis-py)."""
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
        """A client of the service's replicas."""
        kwargs["is_master"] = False
        pool = connection_pool_class(service_name, self, **{**self.connection_kwargs, **kwargs})
        return redis_class.from_pool(pool)

    async def aclose(self) -> None:
        """Closes the clients of the sentinels."""
        for sentinel in self.sentinels:
            await sentinel.aclose()

    async def __aenter__(self) -> Sentinel:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        addresses = ",".join(f"{host}:{port}" for host, port in self._addresses)
        return f"<{type(self).__module__}.{type(self).__name__}(sentinels=[{addresses}])>"


__all__ = [
    "MasterNotFoundError",
    "Sentinel",
    "SentinelConnectionPool",
    "SlaveNotFoundError",
]
