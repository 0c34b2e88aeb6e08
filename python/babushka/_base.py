"""What the sync and async clients share: the constructor's keywords, URL
parsing and ``execute_command``."""

from __future__ import annotations

import importlib
import warnings
from typing import Any, Callable, Mapping, TypeVar

from babushka import _command_names, _core, _instrumented, _options, _pool, _tls
from babushka._encoding import Encoder
from babushka._pool import PoolBase
from babushka._typing import ValueT
from babushka.commands import CoreCommands
from babushka.commands import sentinel as _sentinel_commands
from babushka.commands.base import ResponseT
from babushka.credentials import CredentialProvider
from babushka.exceptions import DataError
from babushka.retry import Retry

_Self = TypeVar("_Self", bound="ClientBase[Any]")
#: What ``CLIENT SETINFO LIB-VER`` reports unless ``lib_version`` says otherwise.
_LIB_VERSION: str = _core.__version__


class ClientBase(CoreCommands[ValueT]):
    """Options and the native client; subclasses choose how to wait for replies.

    The keywords are declared once, here: ``tools/typing_interfaces.py``
    writes each client's typed overloads (``decode_responses`` choosing
    ``bytes`` or ``str`` replies) from this signature.
    """

    _core: _core.Client
    _protocol: int
    transport: str
    connection_pool: PoolBase
    #: The pool class this flavour of client takes (sync or asyncio).
    _pool_class: type[PoolBase]

    def __init__(
        self,
        host: str = "localhost",
        port: int = 6379,
        db: int = 0,
        password: str | None = None,
        socket_timeout: float | None = None,
        socket_connect_timeout: float | None = None,
        unix_socket_path: str | None = None,
        encoding: str = "utf-8",
        encoding_errors: str = "strict",
        decode_responses: bool = False,
        ssl: bool = False,
        username: str | None = None,
        client_name: str | None = None,
        protocol: int | str | None = 2,
        *,
        transport: str | None = None,
        max_in_flight: int | None = None,
        max_connections: int | None = None,
        connection_pool: PoolBase | None = None,
        single_connection_client: bool = False,
        socket_keepalive: bool | None = True,
        socket_keepalive_options: Mapping[int, int] | None = _options.KEEPALIVE_DEFAULT,
        lib_name: str | None = "babushka",
        lib_version: str | None = _LIB_VERSION,
        ssl_keyfile: _tls.Path | None = None,
        ssl_certfile: _tls.Path | None = None,
        ssl_cert_reqs: _tls.CertReqs = "required",
        ssl_ca_certs: _tls.Path | None = None,
        ssl_ca_path: _tls.Path | None = None,
        ssl_ca_data: str | bytes | None = None,
        ssl_check_hostname: bool = True,
        ssl_password: _tls.Password | None = None,
        ssl_min_version: _tls.TlsVersionLike | None = None,
        ssl_ciphers: str | None = None,
        retry: Retry | None = None,
        retry_on_timeout: bool = False,
        retry_on_error: list[type[BaseException]] | None = None,
        health_check_interval: float = 0,
        credential_provider: CredentialProvider | None = None,
        reconnect_backoff_base: float | None = None,
        reconnect_backoff_cap: float | None = None,
        reconnect_attempts: int | None = None,
        # redis-py's keywords that cannot have their meaning here: refused
        # unless left unset (``_tls.UNSUPPORTED``, ``_options.UNSUPPORTED``).
        ssl_validate_ocsp: bool | None = None,
        ssl_validate_ocsp_stapled: bool | None = None,
        ssl_ocsp_context: Any = None,
        ssl_ocsp_expected_cert: str | None = None,
        ssl_include_verify_flags: list[Any] | None = None,
        ssl_exclude_verify_flags: list[Any] | None = None,
        redis_connect_func: Callable[..., Any] | None = None,
        socket_type: int | None = None,
    ) -> None:
        """Makes a client; it connects on its first command. The same keywords
        are ``from_url``'s query parameters.

        This docstring is the configuration reference of the docs
        (``docs/configuration.md``), and a test holds it to the signature.

        Args:
            host: The server's host name or address.
            port: The server's TCP port.
            db: The database selected on every connection (``SELECT``).
            password: Sent with ``AUTH`` when connecting (with ``username``
                for an ACL user).
            socket_timeout: Seconds a request may wait for its reply before it
                fails with ``TimeoutError`` (``None``: no limit). When the
                oldest reply on the shared connection is overdue, the
                connection is closed and every request waiting on it fails.
                A blocking command's own timeout adds to it.
            socket_connect_timeout: Seconds to open a connection, TLS and
                handshake included (``None``: no limit).
            unix_socket_path: Connect to this Unix socket instead of
                ``host``/``port``.
            encoding: How ``str`` arguments become bytes, and replies ``str``
                with ``decode_responses``.
            encoding_errors: The error handler of that encoding (``"strict"``,
                ``"replace"``, ...).
            decode_responses: Replies as ``str`` instead of ``bytes``.
            ssl: Speak TLS (as a ``rediss://`` URL does); the ``ssl_*``
                keywords mean nothing without it, as in redis-py.
            username: The ACL user to ``AUTH`` as.
            client_name: Set with ``CLIENT SETNAME`` on every connection.
            protocol: ``2`` (RESP2, the default) or ``3`` (RESP3). Replies have
                redis-py's RESP2 shapes on either.
            transport: How Python reaches the core: ``"managed"`` (the
                default), ``"ffi"`` or ``"uds"``; the ``BABUSHKA_TRANSPORT``
                environment variable sets the process default.
            max_in_flight: At most this many requests wait for replies at
                once; more queue in the core, in order (``None``: no limit).
            max_connections: At most this many dedicated connections
                (blocking commands, ``WATCH`` sessions) besides the shared
                one; more at once raise ``ConnectionError``.
            connection_pool: A ``ConnectionPool`` (or ``BlockingConnectionPool``)
                whose settings and connections the client uses; no other
                connection keyword may be given with it.
            single_connection_client: One connection for every command,
                blocking ones included (a ``blpop`` holds up the rest), as in
                redis-py.
            socket_keepalive: TCP keep-alive on the core's sockets (on by
                default, with redis-py 8's timings).
            socket_keepalive_options: ``socket.TCP_KEEPIDLE``/``TCP_KEEPINTVL``/
                ``TCP_KEEPCNT`` to positive ints; ``None`` or ``{}`` keeps the
                system's timings.
            lib_name: Sent with ``CLIENT SETINFO LIB-NAME`` (``None``: not sent).
            lib_version: Sent with ``CLIENT SETINFO LIB-VER`` (``None``: not sent).
            ssl_keyfile: The client's private key (PEM), for mutual TLS.
                Without it the key follows the certificates in ``ssl_certfile``.
            ssl_certfile: The client's certificate chain (PEM), for mutual TLS.
            ssl_cert_reqs: ``"required"`` (the default), ``"optional"`` (the
                same, for a client), ``"none"`` or ``None`` (accept any
                certificate), or an ``ssl.CERT_*`` value.
            ssl_ca_certs: A PEM file of CAs to trust besides the system's.
            ssl_ca_path: A directory of PEM files of CAs to trust besides the
                system's.
            ssl_ca_data: CAs to trust besides the system's, as PEM text or DER
                bytes.
            ssl_check_hostname: The server's certificate must name the host
                connected to (off with ``ssl_cert_reqs="none"``).
            ssl_password: The password of an encrypted PKCS#8 key: text,
                bytes, or a callable returning either.
            ssl_min_version: The lowest TLS version allowed, an
                ``ssl.TLSVersion`` (TLS 1.2 and 1.3 are all there is).
            ssl_ciphers: A ``:``-separated list of cipher suite names
                (OpenSSL's or IANA's), not an OpenSSL cipher string.
            retry: A ``babushka.retry.Retry``: requests failing with its
                errors are sent again (writes included) with its backoff, as in
                redis-py, within their timeout.
            retry_on_timeout: Timeouts are retried too.
            retry_on_error: More error classes to retry (connection errors and
                timeouts are what the core can retry).
            health_check_interval: A connection idle longer than this many
                seconds is checked with ``PING`` before use (0: never).
            credential_provider: An object whose ``get_credentials()`` gives
                ``(password,)`` or ``(username, password)``, asked at every
                connect (so rotated credentials are picked up).
            reconnect_backoff_base: The base of the reconnect backoff (full
                jitter), in seconds.
            reconnect_backoff_cap: The cap of the reconnect backoff, in seconds.
            reconnect_attempts: Connection attempts a request waits through
                before it fails with ``ConnectionError``.
            ssl_validate_ocsp: Refused unless unset: rustls has no OCSP check.
            ssl_validate_ocsp_stapled: Refused unless unset, as above.
            ssl_ocsp_context: Refused unless unset, as above.
            ssl_ocsp_expected_cert: Refused unless unset, as above.
            ssl_include_verify_flags: Refused unless unset: OpenSSL's verify
                flags have no rustls equivalent.
            ssl_exclude_verify_flags: Refused unless unset, as above.
            redis_connect_func: Refused unless unset: there is no Python
                connection object to hand it.
            socket_type: Refused unless unset: the core opens its own sockets.
        """
        given = {
            name: value
            for name, value in locals().items()
            if name not in ("self", "connection_pool", "single_connection_client", "__class__")
        }
        if connection_pool is None:
            connection_pool = self._pool_class(**given)
            #: Whether ``close()`` disconnects the pool (it does for a pool the
            #: client made itself, as in redis-py).
            self.auto_close_connection_pool = True
        else:
            self._check_pool(connection_pool, given)
            self.auto_close_connection_pool = False
        self.connection_pool = connection_pool
        self.transport = connection_pool.transport
        self.single_connection_client = bool(single_connection_client)
        # A single-connection client has its one connection to itself, as
        # redis-py's takes one from the pool for good.
        self._core = (
            connection_pool.new_core(single_connection=True)
            if single_connection_client
            else connection_pool._core
        )
        self.connection_kwargs = dict(connection_pool.client_kwargs)
        self.decode_responses = bool(self.connection_kwargs["decode_responses"])
        #: redis-py's, for subscribers (a PING when the connection was idle
        #: longer); the core checks its other connections itself.
        self._health_check_interval = float(self.connection_kwargs["health_check_interval"])
        #: The RESP version spoken (validated by the pool), which picks the
        #: default reply shapes of ``execute_command``.
        protocol = self.connection_kwargs["protocol"]
        self._protocol = 2 if protocol is None else int(protocol)
        self._use_transport()
        # The only place OpenTelemetry's switch is read: when it is on, the
        # hooks just set are swapped for traced ones (babushka.instrumentation).
        _instrumented.attach(self)

    def _use_transport(self) -> None:
        """Sets the ``_execute`` hooks to the transport's; the constructor's last step."""
        raise NotImplementedError

    def _check_pool(self, pool: PoolBase, given: dict[str, Any]) -> None:
        """With ``connection_pool=``, the pool says how to connect (as in
        redis-py); a connection keyword given too would be ignored there, so
        here it raises."""
        if not isinstance(pool, self._pool_class):
            raise TypeError(
                f"connection_pool must be a {self._pool_class.__module__}."
                f"{self._pool_class.__name__}, got {type(pool).__name__}"
            )
        defaults = _pool.connection_defaults()
        clashing = sorted(
            name
            for name, value in given.items()
            if name not in defaults or (value is not defaults[name] and value != defaults[name])
        )
        if clashing:
            raise TypeError(
                "connection_pool= gives the connection settings, so these keywords "
                f"would have no effect: {', '.join(clashing)}; give them to the pool"
            )

    @classmethod
    def _from_url(cls: type[_Self], url: str, kwargs: dict[str, Any]) -> _Self:
        """What each client's ``from_url`` (typed by generated overloads) does:
        a client for ``redis://[[user]:password@]host[:port][/db][?option=value]``,
        ``rediss://...`` (TLS; ``valkey://``, ``valkeys://`` too) or
        ``unix:///path/to.sock[?db=N]``, as redis-py reads it: the query
        parameters redis-py knows are converted as it converts them, ``db``
        comes from the query, else the path, else the keyword; and what the
        URL says wins over the keywords."""
        single = kwargs.pop("single_connection_client", False)
        pool = cls._pool_class.from_url(url, **kwargs)
        client = cls(connection_pool=pool, single_connection_client=single)
        client.auto_close_connection_pool = True
        return client

    @classmethod
    def from_pool(cls: type[_Self], connection_pool: PoolBase) -> _Self:
        """A client that owns ``connection_pool``: ``close()`` disconnects it."""
        client = cls(connection_pool=connection_pool)
        client.auto_close_connection_pool = True
        return client

    def client(self: _Self) -> _Self:
        """redis-py's: a new client on this client's pool with a connection of
        its own for every command (``single_connection_client=True``), so
        what it sets on its connection (``CLIENT SETNAME``, ``SELECT``...)
        stays there. Closing it leaves the pool open."""
        return type(self)(connection_pool=self.connection_pool, single_connection_client=True)

    def load_external_module(self, funcname: str, func: Any) -> None:
        """redis-py's: makes ``func`` reachable as ``client.<funcname>``, for
        module command sets written against redis-py."""
        if not isinstance(funcname, str) or not funcname.isidentifier():
            raise DataError(f"funcname must be an identifier, got {funcname!r}")
        setattr(self, funcname, func)

    def get_encoder(self) -> Encoder:
        """redis-py's: the client's :class:`~babushka._encoding.Encoder`."""
        return self.connection_pool.get_encoder()

    def execute_command(self, *args: Any, **options: Any) -> ResponseT:
        """Sends any command; the reply has the shape the named method would give.

        ``MULTI``, ``EXEC``, ``DISCARD``, ``WATCH`` and ``UNWATCH`` are refused
        (``DataError``): use :meth:`pipeline` or :meth:`transaction`. ``QUIT``,
        ``RESET`` and ``HELLO`` go on a connection of their own, closed
        afterwards (the shared one keeps its state).
        """
        args = _command_names.split_name(args)
        key = _command_names.command_key(args)
        sentinel_reply = _sentinel_commands.reply_of(args)
        if sentinel_reply is not None:
            # A sentinel's command: the value its sentinel_* method gives
            # (its parser runs here; the core's table knows no SENTINEL).
            parse, shape = sentinel_reply
            if parse is None:
                return self._execute(shape, *args)
            return self._execute_then(parse, shape, *args)
        spec = _command_names.lookup(key, args)
        _command_names.refuse_unpaired_replies(spec)
        _command_names.refuse_session_command(key, spec)
        shape = _command_names.shape_for(spec, self._protocol)
        if _command_names.runs_alone(spec):
            return self._execute_alone(shape, *args)
        return self._execute(shape, *args)

    def digest_local(self, value: bytes | str) -> ValueT:
        """What :meth:`digest` would give for ``value``, computed here
        (XXH3-64 as hex, ``bytes`` unless the client decodes), as redis-py's;
        needs the optional ``xxhash`` package (``NotImplementedError``
        without it). Never sent: a plain value on every client."""
        try:
            xxhash = importlib.import_module("xxhash")
        except ImportError:
            raise NotImplementedError(
                "digest_local needs the optional 'xxhash' package (pip install xxhash)"
            ) from None
        digest: str = xxhash.xxh3_64(value).hexdigest()
        return digest if self.decode_responses else digest.encode()  # type: ignore[return-value]

    def watch(self, *names: Any) -> None:
        """As redis-py's: only a ``DeprecationWarning`` ("Call WATCH from a
        Pipeline object"); nothing is sent. ``pipeline().watch(...)`` watches."""
        warnings.warn(DeprecationWarning("Call WATCH from a Pipeline object"), stacklevel=2)

    def unwatch(self) -> None:
        """As redis-py's: only a ``DeprecationWarning``; nothing is sent."""
        warnings.warn(DeprecationWarning("Call UNWATCH from a Pipeline object"), stacklevel=2)

    def get_connection_kwargs(self) -> dict[str, Any]:
        """The settings the client's connections are made with (a copy), as
        redis-py's."""
        return dict(self.connection_kwargs)

    def __repr__(self) -> str:
        kwargs = self.connection_kwargs
        where = kwargs["unix_socket_path"] or f"{kwargs['host']}:{kwargs['port']}"
        name = f"{type(self).__module__}.{type(self).__name__}"
        return f"<{name}({where}/{kwargs['db']}, transport={self.transport})>"
