"""Client options shared by the sync and async clients: validation of the
constructor's keywords, the transport choice and ``from_url`` parsing."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from babushka import _core, _tls
from babushka.exceptions import DataError

#: The transports a client can use to reach the Rust core (see DESIGN.md).
TRANSPORTS = ("managed", "ffi", "uds")
#: The default when neither ``transport=`` nor ``BABUSHKA_TRANSPORT`` says.
DEFAULT_TRANSPORT = "managed"
TRANSPORT_ENV = "BABUSHKA_TRANSPORT"

#: redis-py keywords that configure what Babushka's core does by itself
#: (pooling, keep-alive, retries); accepted so redis-py code runs unchanged.
IGNORED_REDIS_PY_OPTIONS = frozenset(
    {
        "socket_keepalive",
        "socket_keepalive_options",
        "connection_pool",
        "connection_pool_class",
        "retry_on_timeout",
        "retry_on_error",
        "retry",
        "health_check_interval",
        "single_connection_client",
        "auto_close_connection_pool",
        "lib_name",
        "lib_version",
        "redis_connect_func",
        "credential_provider",
        "socket_type",
        "errors",
        "charset",
    }
)


def resolve_transport(transport: str | None) -> str:
    """The transport to use: the argument, else the environment, else the default."""
    name = transport if transport is not None else os.environ.get(TRANSPORT_ENV)
    if name is None or name == "":
        return DEFAULT_TRANSPORT
    if name not in TRANSPORTS:
        raise ValueError(
            f"unknown transport {name!r}; valid transports are {', '.join(TRANSPORTS)}"
        )
    return name


def make_core_client(
    *,
    host: str,
    port: int,
    db: int,
    username: str | None,
    password: str | None,
    socket_timeout: float | None,
    socket_connect_timeout: float | None,
    unix_socket_path: str | None,
    encoding: str,
    encoding_errors: str,
    decode_responses: bool,
    client_name: str | None,
    protocol: int | str | None,
    max_in_flight: int | None,
    max_connections: int | None,
    tls: _core.TlsSettings | None,
    extra: dict[str, Any],
    cluster: dict[str, Any] | None = None,
) -> _core.Client:
    """Validates the keywords and builds the Rust client (which connects lazily,
    but reads TLS certificates and keys now)."""
    unknown = set(extra) - IGNORED_REDIS_PY_OPTIONS - _tls.UNSUPPORTED.keys()
    if unknown:
        raise TypeError(f"unexpected keyword argument(s): {', '.join(sorted(unknown))}")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise DataError(f"port must be an int between 1 and 65535, got {port!r}")
    if isinstance(db, bool) or not isinstance(db, int) or db < 0:
        raise DataError(f"db must be a non-negative int, got {db!r}")
    for name, value in (
        ("socket_timeout", socket_timeout),
        ("socket_connect_timeout", socket_connect_timeout),
    ):
        if value is not None and (not isinstance(value, (int, float)) or value <= 0):
            raise DataError(f"{name} must be a positive number of seconds, got {value!r}")
    for name, count in (("max_in_flight", max_in_flight), ("max_connections", max_connections)):
        if count is not None and (
            isinstance(count, bool) or not isinstance(count, int) or count < 1
        ):
            raise DataError(f"{name} must be a positive int, got {count!r}")
    resp = 2 if protocol is None else int(protocol)
    if resp not in (2, 3):
        raise DataError(f"protocol must be 2 or 3, got {protocol!r}")
    return _core.Client(
        host=host,
        port=port,
        unix_path=unix_socket_path,
        db=db,
        username=username,
        password=password,
        client_name=client_name,
        protocol=resp,
        connect_timeout=socket_connect_timeout,
        response_timeout=socket_timeout,
        max_in_flight=max_in_flight,
        max_connections=max_connections,
        encoding=encoding,
        encoding_errors=encoding_errors,
        decode_responses=decode_responses,
        tls=tls,
        **(cluster or {}),
    )


#: URL query parameters taken as text: the TLS keywords (redis-py passes
#: unknown query parameters through as strings, and these are the ones it uses).
_TEXT_QUERY_OPTIONS = frozenset(
    {
        "transport",
        "client_name",
        "encoding",
        "encoding_errors",
        "ssl_cert_reqs",
        "ssl_ca_certs",
        "ssl_ca_path",
        "ssl_ca_data",
        "ssl_certfile",
        "ssl_keyfile",
        "ssl_password",
        "ssl_ciphers",
        "ssl_min_version",
    }
)


def _url_bool(value: str) -> bool:
    """redis-py's reading of a boolean query parameter."""
    return value.upper() not in ("", "0", "F", "FALSE", "N", "NO", "OFF")


def parse_url(url: str) -> dict[str, Any]:
    """Constructor keywords from a ``redis://``, ``rediss://`` (``valkey://``,
    ``valkeys://``) or ``unix://`` URL."""
    parsed = urlparse(url)
    options: dict[str, Any] = {}
    for name, values in parse_qs(parsed.query).items():
        value = values[-1]
        if name in ("socket_timeout", "socket_connect_timeout"):
            options[name] = float(value)
        elif name in ("db", "protocol", "max_in_flight", "max_connections"):
            options[name] = int(value)
        elif name == "decode_responses":
            options[name] = value.lower() in ("1", "true", "yes", "on")
        elif name in ("ssl", "ssl_check_hostname"):
            options[name] = _url_bool(value)
        elif name in _TEXT_QUERY_OPTIONS:
            options[name] = value
        else:
            raise DataError(f"unsupported URL query parameter {name!r}")
    if parsed.username:
        options["username"] = unquote(parsed.username)
    if parsed.password:
        options["password"] = unquote(parsed.password)
    if parsed.scheme == "unix":
        options["unix_socket_path"] = unquote(parsed.path)
    elif parsed.scheme in ("redis", "rediss", "valkey", "valkeys"):
        if parsed.hostname:
            options["host"] = unquote(parsed.hostname)
        if parsed.port:
            options["port"] = parsed.port
        path = parsed.path.lstrip("/")
        if path:
            try:
                options["db"] = int(path)
            except ValueError:
                raise DataError(f"invalid database number in URL: {path!r}") from None
        if parsed.scheme in ("rediss", "valkeys"):
            options["ssl"] = True
    else:
        raise DataError(f"URL scheme must be redis://, rediss:// or unix://, got {parsed.scheme!r}")
    return options
