"""Client options shared by the sync and async clients: validation of the
constructor's keywords, the transport choice and ``from_url`` parsing."""

from __future__ import annotations

import contextlib
import os
import socket
from typing import Any, Callable, Mapping
from urllib.parse import parse_qs, unquote, urlparse

from babushka import _core, _tls
from babushka.exceptions import DataError
from babushka.retry import CorePolicy

#: The transports a client can use to reach the Rust core (see DESIGN.md).
TRANSPORTS = ("managed", "ffi", "uds")
#: The default when neither ``transport=`` nor ``BABUSHKA_TRANSPORT`` says.
DEFAULT_TRANSPORT = "managed"
TRANSPORT_ENV = "BABUSHKA_TRANSPORT"

#: redis-py keywords that cannot have their meaning here: what they hook
#: into (a Python connection object, the socket's family) does not exist,
#: the core owns the sockets. Given a value, they raise.
UNSUPPORTED = {
    "redis_connect_func": "a function called with redis-py's Connection object on connect",
    "socket_type": "the socket's type (the core opens TCP or Unix sockets itself)",
}

#: The TCP keep-alive options ``socket_keepalive_options`` takes, by the
#: ``socket`` constant's value: how long a connection idles before the first
#: probe, the time between probes (both in seconds), and how many probes go
#: unanswered before the connection is given up.
_KEEPALIVE_OPTIONS = {
    getattr(socket, "TCP_KEEPIDLE", 4): "keepalive_idle",
    getattr(socket, "TCP_KEEPINTVL", 5): "keepalive_interval",
    getattr(socket, "TCP_KEEPCNT", 6): "keepalive_count",
}
#: redis-py's keep-alive timings when ``socket_keepalive_options`` is not given.
_KEEPALIVE_DEFAULTS = {"keepalive_idle": 30, "keepalive_interval": 5, "keepalive_count": 3}


def health_check_seconds(value: Any) -> float:
    """redis-py's ``health_check_interval`` (seconds; 0 turns it off), checked."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise DataError(
            f"health_check_interval must be a number of seconds, 0 or more, got {value!r}"
        )
    return float(value)


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


def core_kwargs(
    *,
    host: str,
    port: int,
    db: int,
    username: str | None,
    password: str | None,
    socket_timeout: float | None,
    socket_connect_timeout: float | None,
    socket_keepalive: bool | None,
    socket_keepalive_options: Mapping[int, int] | object | None,
    unix_socket_path: str | None,
    encoding: str,
    encoding_errors: str,
    decode_responses: bool,
    client_name: str | None,
    lib_name: str | None,
    lib_version: str | None,
    protocol: int | str | None,
    max_in_flight: int | None,
    max_connections: int | None,
    tls: _core.TlsSettings | None,
    policy: CorePolicy,
    health_check_interval: float | None,
    credential_provider: Any,
    extra: Mapping[str, Any],
) -> dict[str, Any]:
    """Validates the keywords and returns the Rust client's (which connects
    lazily, but reads TLS certificates and keys when made)."""
    unknown = set(extra) - UNSUPPORTED.keys() - _tls.UNSUPPORTED.keys()
    if unknown:
        raise TypeError(f"unexpected keyword argument(s): {', '.join(sorted(unknown))}")
    for name, meaning in UNSUPPORTED.items():
        if extra.get(name) is not None:
            raise NotImplementedError(
                f"{name}: Babushka's core owns its sockets, so {meaning} cannot be "
                "given; leave it unset"
            )
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise DataError(f"port must be an int between 1 and 65535, got {port!r}")
    if isinstance(db, str) and db.isdigit():
        db = int(db)  # redis-py's asyncio client takes "3" too
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
    for name, text in (("lib_name", lib_name), ("lib_version", lib_version)):
        if text is not None and not isinstance(text, str):
            raise DataError(f"{name} must be a str or None, got {text!r}")
    if health_check_interval is not None:
        health_check_interval = health_check_seconds(health_check_interval)
    if credential_provider is not None:
        if not callable(getattr(credential_provider, "get_credentials", None)):
            raise DataError(
                "credential_provider must have a get_credentials() method "
                "(a babushka.credentials.CredentialProvider)"
            )
        if username is not None or password is not None:
            raise DataError(
                "'username' and 'password' cannot be passed along with 'credential_provider'"
            )
    resp = 2 if protocol is None else int(protocol)
    if resp not in (2, 3):
        raise DataError(f"protocol must be 2 or 3, got {protocol!r}")
    return {
        "host": host,
        "port": port,
        "unix_path": unix_socket_path,
        "db": db,
        "username": username,
        "password": password,
        "client_name": client_name,
        "lib_name": lib_name,
        "lib_version": lib_version,
        "protocol": resp,
        "connect_timeout": socket_connect_timeout,
        "response_timeout": socket_timeout,
        "max_in_flight": max_in_flight,
        "max_connections": max_connections,
        "encoding": encoding,
        "encoding_errors": encoding_errors,
        "decode_responses": decode_responses,
        "tls": tls,
        **keepalive_kwargs(socket_keepalive, socket_keepalive_options),
        "backoff": policy.backoff,
        "attempts": policy.attempts,
        "retry_on_timeout": policy.retry_on_timeout,
        "retry_writes": policy.retry_writes,
        "retry_on_connection": policy.retry_on_connection,
        # 0 turns it off, as in redis-py.
        "health_check_interval": health_check_interval or None,
        "credential_provider": credential_provider,
    }


def keepalive_kwargs(enabled: bool | None, options: object) -> dict[str, Any]:
    """``socket_keepalive`` and ``socket_keepalive_options`` as redis-py 8
    takes them: on by default with its timings (30 s idle, a probe every
    5 s, 3 probes); ``None`` or ``{}`` options keep the system's timings; a
    mapping of ``socket.TCP_KEEPIDLE``/``TCP_KEEPINTVL``/``TCP_KEEPCNT`` to
    ints sets those."""
    if not enabled:
        return {"keepalive": False}
    if options is KEEPALIVE_DEFAULT:
        return {"keepalive": True, **_KEEPALIVE_DEFAULTS}
    timings: dict[str, Any] = {"keepalive": True}
    if options is None:
        return timings
    if not isinstance(options, Mapping):
        raise DataError(f"socket_keepalive_options must be a mapping, got {options!r}")
    for option, value in options.items():
        name = _KEEPALIVE_OPTIONS.get(option)
        if name is None:
            known = "socket.TCP_KEEPIDLE, socket.TCP_KEEPINTVL, socket.TCP_KEEPCNT"
            raise DataError(
                f"socket_keepalive_options: option {option!r} is not one of {known} "
                "(the core sets those on its own sockets, and no other)"
            )
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise DataError(
                f"socket_keepalive_options: the value of option {option!r} must be a "
                f"positive int, got {value!r}"
            )
        timings[name] = value
    return timings


class _KeepaliveDefault:
    """``socket_keepalive_options`` left unset (redis-py's own sentinel)."""

    def __repr__(self) -> str:
        return "<default keep-alive options>"


KEEPALIVE_DEFAULT: Any = _KeepaliveDefault()


def _to_bool(value: str) -> bool | None:
    """redis-py's ``to_bool`` for query parameters: empty is None, 0/F/FALSE/N/NO
    (any case) are false, anything else true."""
    if value == "":
        return None
    return value.upper() not in ("0", "F", "FALSE", "N", "NO")


#: How redis-py converts the query parameters it knows (others stay text).
#: ``decode_responses`` and ``ssl`` are read as booleans too, where redis-py
#: passes the text on (so ``decode_responses=false`` would be true there);
#: ``ssl_min_version`` stays text, which the TLS settings read as a number
#: (redis-py's form) or a name (``TLSv1_3``).
_QUERY_PARSERS: Mapping[str, Callable[[str], Any]] = {
    "db": int,
    "socket_timeout": float,
    "socket_connect_timeout": float,
    "socket_read_size": int,
    "socket_keepalive": _to_bool,
    "retry_on_timeout": _to_bool,
    "retry_on_error": list,
    "max_connections": int,
    "health_check_interval": int,
    "ssl_check_hostname": _to_bool,
    "timeout": float,
    "protocol": int,
    "decode_responses": _to_bool,
    "ssl": _to_bool,
    "max_in_flight": int,
    "reconnect_backoff_base": float,
    "reconnect_backoff_cap": float,
    "reconnect_attempts": int,
}

_SCHEMES = ("redis", "rediss", "valkey", "valkeys", "unix")


def parse_url(url: str) -> dict[str, Any]:
    """Constructor keywords from a ``redis://``, ``rediss://`` (``valkey://``,
    ``valkeys://``) or ``unix://`` URL, as redis-py's ``parse_url`` reads it:
    the first value of each query parameter, converted as redis-py converts
    it (``ValueError`` if it cannot be), others passed on as text; ``db``
    from the query, else from the path."""
    scheme = url.partition("://")[0] if "://" in url else ""
    if scheme not in _SCHEMES:
        raise ValueError(
            "Redis URL must specify one of the following schemes "
            "(redis://, rediss://, valkey://, valkeys://, unix://)"
        )
    parsed = urlparse(url)
    options: dict[str, Any] = {}
    for name, values in parse_qs(parsed.query).items():
        value = values[0]  # parse_qs has percent-decoded it already
        parser = _QUERY_PARSERS.get(name)
        if parser is None:
            options[name] = value
            continue
        try:
            options[name] = parser(value)
        except (TypeError, ValueError):
            raise ValueError(f"Invalid value for '{name}' in connection URL.") from None
    if parsed.username:
        options["username"] = unquote(parsed.username)
    if parsed.password:
        options["password"] = unquote(parsed.password)
    if scheme == "unix":
        if parsed.path:
            options["unix_socket_path"] = unquote(parsed.path)
        return options
    if parsed.hostname:
        options["host"] = unquote(parsed.hostname)
    if parsed.port:
        options["port"] = int(parsed.port)
    if parsed.path and "db" not in options:
        # As redis-py: a path that is not a number is no database.
        with contextlib.suppress(ValueError):
            options["db"] = int(unquote(parsed.path).replace("/", ""))
    if scheme in ("rediss", "valkeys"):
        options["ssl"] = True
    return options
