"""What the sync and asyncio connection pools share: redis-py's constructor
mapped onto one core client.

A pool is one ``_core.Client``: the pipelined connection every client made
from the pool shares, and the dedicated connections (blocking commands,
``WATCH`` sessions) it leases, at most ``max_connections`` of them. Clients
made from one pool share its connections, as redis-py's share its pooled
ones. ``disconnect()`` closes them all; the next command opens new ones.
"""

from __future__ import annotations

import inspect
from typing import Any, Mapping, TypeVar

from babushka import _core, _options, _tls
from babushka._encoding import Encoder
from babushka.retry import core_policy

_Pool = TypeVar("_Pool", bound="PoolBase")

#: The keywords that are the client's, not the connection's.
CLIENT_KEYWORDS = frozenset(
    {"connection_pool", "single_connection_client", "auto_close_connection_pool"}
)


def connection_defaults() -> Mapping[str, Any]:
    """Every connection keyword with its default: the client constructor's
    own (one signature declares them)."""
    global _DEFAULTS
    if _DEFAULTS is None:
        from babushka._base import ClientBase

        parameters = inspect.signature(ClientBase.__init__).parameters.values()
        _DEFAULTS = {
            p.name: p.default
            for p in parameters
            if p.default is not inspect.Parameter.empty and p.name not in CLIENT_KEYWORDS
        }
    return _DEFAULTS


_DEFAULTS: Mapping[str, Any] | None = None


class PoolBase:
    """redis-py's ``ConnectionPool`` constructor and attributes, over the
    core's connections. ``max_connections`` bounds the dedicated connections
    (blocking commands, ``WATCH``); the shared pipelined one is extra."""

    #: A ``BlockingConnectionPool`` waits for a dedicated connection.
    _waits = False

    def __init__(
        self,
        connection_class: object = None,
        max_connections: int | None = None,
        **connection_kwargs: Any,
    ) -> None:
        if connection_class is not None:
            raise NotImplementedError(
                "connection_class: Babushka's connections are the core's; leave it unset "
                "(unix_socket_path= and ssl=True choose the kind of connection)"
            )
        if max_connections is not None and (
            isinstance(max_connections, bool)
            or not isinstance(max_connections, int)
            or max_connections < 1
        ):
            raise ValueError('"max_connections" must be a positive integer')
        self.max_connections = max_connections
        # A RedisCluster's settings (babushka.cluster), for its core client.
        cluster = connection_kwargs.pop("_cluster", None)
        # A Sentinel-managed service's (babushka.sentinel), for its core client.
        sentinel = connection_kwargs.pop("_sentinel", None)
        self.connection_kwargs = dict(connection_kwargs)
        options = {**connection_defaults(), **connection_kwargs}
        self.transport = _options.resolve_transport(options.pop("transport"))
        options.pop("max_connections")  # the pool's own keyword, above
        self._core_kwargs = _core_kwargs(dict(options), max_connections)
        self._core_kwargs.update(self._wait_kwargs())
        self._core_kwargs.update(cluster or {})
        self._core_kwargs.update(sentinel or {})
        #: What commands need to know about the connection (how ``str``
        #: arguments become bytes, the protocol), as ``client.connection_kwargs``.
        self.client_kwargs: dict[str, Any] = {
            "host": options["host"],
            "port": options["port"],
            "db": self._core_kwargs["db"],
            "unix_socket_path": options["unix_socket_path"],
            "decode_responses": options["decode_responses"],
            "protocol": options["protocol"],
            "encoding": options["encoding"],
            "encoding_errors": options["encoding_errors"],
            "ssl": bool(options["ssl"]),
            "health_check_interval": _options.health_check_seconds(
                options["health_check_interval"]
            ),
        }
        self._core = self.new_core()

    def _wait_kwargs(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_url(cls: type[_Pool], url: str, **kwargs: Any) -> _Pool:
        """A pool for ``url`` (see ``Redis.from_url``). As in redis-py, what
        the URL says wins over the keywords."""
        return cls(**{**kwargs, **_options.parse_url(url)})

    def new_core(self, **overrides: Any) -> _core.Client:
        """A core client with this pool's settings (a single-connection
        client's, with ``single_connection=True``)."""
        return _core.Client(**{**self._core_kwargs, **overrides})

    def get_encoder(self) -> Encoder:
        """redis-py's: how the pool's clients encode arguments and decode replies."""
        kwargs = self.client_kwargs
        return Encoder(
            kwargs["encoding"], kwargs["encoding_errors"], bool(kwargs["decode_responses"])
        )

    def get_protocol(self) -> int | str | None:
        """The RESP version asked for, as redis-py's pool says it."""
        protocol: int | str | None = self.connection_kwargs.get("protocol")
        return protocol

    def _disconnect(self) -> None:
        self._core.disconnect()

    def __repr__(self) -> str:
        kwargs = self.client_kwargs
        where = kwargs["unix_socket_path"] or f"{kwargs['host']}:{kwargs['port']}"
        name = f"{type(self).__module__}.{type(self).__name__}"
        return f"<{name}({where}/{kwargs['db']}, max_connections={self.max_connections})>"


class BlockingPoolBase(PoolBase):
    """redis-py's ``BlockingConnectionPool``: when all ``max_connections``
    dedicated connections are in use, a request that needs one waits up to
    ``timeout`` seconds (``None``: for as long as it takes) for one to come
    back, then raises ``ConnectionError("No connection available.")``."""

    _waits = True

    def __init__(
        self,
        max_connections: int = 50,
        timeout: float | None = 20,
        connection_class: object = None,
        queue_class: object = None,
        **connection_kwargs: Any,
    ) -> None:
        import queue

        if queue_class not in (None, queue.LifoQueue):
            raise NotImplementedError(
                "queue_class: the core reuses the connection given back last, as "
                "queue.LifoQueue (the default) does; leave it unset"
            )
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0
        ):
            raise ValueError(f'"timeout" must be a non-negative number or None, got {timeout!r}')
        self.timeout = timeout
        super().__init__(connection_class, max_connections, **connection_kwargs)

    def _wait_kwargs(self) -> dict[str, Any]:
        return {"wait_for_connection": True, "connection_wait_timeout": self.timeout}


def _core_kwargs(options: dict[str, Any], max_connections: int | None) -> dict[str, Any]:
    """The core client's keywords from the connection keywords (validated)."""
    tls_names = (
        "ssl_cert_reqs",
        "ssl_check_hostname",
        "ssl_ca_certs",
        "ssl_ca_path",
        "ssl_ca_data",
        "ssl_certfile",
        "ssl_keyfile",
        "ssl_password",
        "ssl_min_version",
        "ssl_ciphers",
    )
    tls_options = {name: options.pop(name) for name in tls_names}
    ssl = options.pop("ssl")
    known = {
        name: options.pop(name)
        for name in (
            "host",
            "port",
            "db",
            "username",
            "password",
            "socket_timeout",
            "socket_connect_timeout",
            "socket_keepalive",
            "socket_keepalive_options",
            "unix_socket_path",
            "encoding",
            "encoding_errors",
            "decode_responses",
            "client_name",
            "lib_name",
            "lib_version",
            "protocol",
            "max_in_flight",
        )
    }
    policy = core_policy(
        **{
            name: options.pop(name)
            for name in (
                "retry",
                "retry_on_timeout",
                "retry_on_error",
                "reconnect_backoff_base",
                "reconnect_backoff_cap",
                "reconnect_attempts",
            )
        }
    )
    health_check_interval = options.pop("health_check_interval")
    credential_provider = options.pop("credential_provider")
    # The rest: the keywords Babushka refuses, and typos.
    extra = options
    # As redis-py: the ssl_* keywords mean nothing without ssl=True.
    tls = (
        _tls.settings(
            cert_reqs=tls_options["ssl_cert_reqs"],
            check_hostname=tls_options["ssl_check_hostname"],
            ca_certs=tls_options["ssl_ca_certs"],
            ca_path=tls_options["ssl_ca_path"],
            ca_data=tls_options["ssl_ca_data"],
            certfile=tls_options["ssl_certfile"],
            keyfile=tls_options["ssl_keyfile"],
            password=tls_options["ssl_password"],
            min_version=tls_options["ssl_min_version"],
            ciphers=tls_options["ssl_ciphers"],
            unsupported=extra,
        )
        if ssl
        else None
    )
    return _options.core_kwargs(
        **known,
        max_connections=max_connections,
        tls=tls,
        policy=policy,
        health_check_interval=health_check_interval,
        credential_provider=credential_provider,
        extra=extra,
    )
