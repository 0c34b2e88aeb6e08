"""What the sync and asyncio Sentinel clients share: the core settings of a
client of a Sentinel-managed service, and redis-py's checks of what the
sentinels report.

A client from ``master_for``/``slave_for`` does not ask the sentinels from
Python: its pool's core client does, at every connect, and follows
``+switch-master`` by itself (``core/src/sentinel``), on every transport.
The ``Sentinel`` object's own clients (one per sentinel) serve
``discover_master``, ``discover_slaves`` and the ``sentinel_*`` commands.
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar, Iterable, Mapping

from babushka import _pool
from babushka.exceptions import MasterNotFoundError

#: The ``sentinel_kwargs`` the core uses for its own sentinel connections;
#: the others (timeouts, keep-alive) configure the Python sentinel clients,
#: and the service's connections take the client's.
_CORE_SENTINEL_KEYWORDS = ("username", "password")


def sentinel_kwargs_for(
    sentinel_kwargs: Mapping[str, Any] | None, connection_kwargs: Mapping[str, Any]
) -> dict[str, Any]:
    """redis-py's default: without ``sentinel_kwargs``, the sentinels get
    the ``socket_*`` keywords of the connections."""
    if sentinel_kwargs is None:
        return {k: v for k, v in connection_kwargs.items() if k.startswith("socket_")}
    return dict(sentinel_kwargs)


def core_settings(
    service_name: str,
    addresses: Iterable[tuple[str, int]],
    sentinel_kwargs: Mapping[str, Any],
    *,
    is_master: bool,
    min_other_sentinels: int,
    force_master_ip: str | None,
) -> dict[str, Any]:
    """The core client's keywords that make it a client of ``service_name``."""
    if not isinstance(service_name, str) or not service_name:
        raise TypeError(f"service_name must be a non-empty str, got {service_name!r}")
    if (
        isinstance(min_other_sentinels, bool)
        or not isinstance(min_other_sentinels, int)
        or min_other_sentinels < 0
    ):
        raise ValueError(
            f"min_other_sentinels must be a non-negative int, got {min_other_sentinels!r}"
        )
    # The sentinels' TLS and credentials, validated as any client's keywords.
    options = {**_pool.connection_defaults(), **sentinel_kwargs}
    options.pop("transport")
    options.pop("max_connections")
    sentinel_core = _pool._core_kwargs(options, None)
    return {
        "sentinels": [(str(host), int(port)) for host, port in addresses],
        "service": service_name,
        "sentinel_replica": not is_master,
        "sentinel_username": sentinel_core.get("username"),
        "sentinel_password": sentinel_core.get("password"),
        "sentinel_tls": sentinel_core.get("tls"),
        "min_other_sentinels": min_other_sentinels,
        "force_master_ip": force_master_ip if is_master else None,
        # As in redis-py, whose sentinel clients are Redis(host, port,
        # **sentinel_kwargs): a unix_socket_path there sends every one of
        # them to that socket, whatever (host, port) they were given.
        "sentinel_unix_socket": sentinel_kwargs.get("unix_socket_path"),
    }


def check_master_state(state: Mapping[str, Any], min_other_sentinels: int) -> bool:
    """Whether a sentinel's view of a primary can be trusted: it is a
    primary, not down, and the sentinel sees enough others."""
    if not state["is_master"] or state["is_sdown"] or state["is_odown"]:
        return False
    return bool(state["num-other-sentinels"] >= min_other_sentinels)


def filter_slaves(slaves: Iterable[Mapping[str, Any]]) -> list[tuple[str, int]]:
    """The replicas no sentinel sees as down, as ``(ip, port)``."""
    return [
        (slave["ip"], slave["port"])
        for slave in slaves
        if not (slave["is_odown"] or slave["is_sdown"])
    ]


def master_not_found(service_name: str, errors: list[str]) -> MasterNotFoundError:
    detail = f" : {', '.join(errors)}" if errors else ""
    return MasterNotFoundError(f"No master found for {service_name!r}{detail}")


def refuse_connection_keywords(kwargs: Mapping[str, Any]) -> None:
    """A service's address is the sentinels' to give: ``host``, ``port``
    and ``unix_socket_path`` would be ignored, so they raise."""
    given = sorted(name for name in ("host", "port", "unix_socket_path") if name in kwargs)
    if given:
        raise TypeError(
            f"{', '.join(given)}: a Sentinel-managed client connects where the sentinels say"
        )


__all__ = [
    "check_master_state",
    "core_settings",
    "filter_slaves",
    "master_not_found",
    "refuse_connection_keywords",
    "sentinel_kwargs_for",
]


class SentinelBase:
    """The constructor and core settings of both ``Sentinel`` classes; each
    names the client class its sentinel connections use (``_client_class``:
    the sync or the asyncio ``Redis``)."""

    _client_class: ClassVar[Callable[..., Any]]

    def __init__(
        self,
        sentinels: list[tuple[str, int]],
        min_other_sentinels: int = 0,
        sentinel_kwargs: dict[str, Any] | None = None,
        force_master_ip: str | None = None,
        **connection_kwargs: Any,
    ) -> None:
        self.sentinel_kwargs = sentinel_kwargs_for(sentinel_kwargs, connection_kwargs)
        self.sentinels = [
            type(self)._client_class(host, port, **self.sentinel_kwargs) for host, port in sentinels
        ]
        self._addresses = [(str(host), int(port)) for host, port in sentinels]
        self.min_other_sentinels = min_other_sentinels
        self.connection_kwargs = connection_kwargs
        self._force_master_ip = force_master_ip
        # Checked now, so a bad keyword raises here rather than in master_for.
        self._core_settings("service", is_master=True)

    def _core_settings(self, service_name: str, *, is_master: bool) -> dict[str, Any]:
        return core_settings(
            service_name,
            self._addresses,
            self.sentinel_kwargs,
            is_master=is_master,
            min_other_sentinels=self.min_other_sentinels,
            force_master_ip=self._force_master_ip,
        )
