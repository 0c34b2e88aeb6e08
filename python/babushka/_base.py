"""What the sync and async clients share: the constructor's keywords, URL
parsing and ``execute_command``."""

from __future__ import annotations

from typing import Any, TypeVar

from babushka import _command_names, _core, _options, _tls
from babushka.commands import CoreCommands
from babushka.commands.base import ResponseT

_Self = TypeVar("_Self", bound="ClientBase")


class ClientBase(CoreCommands):
    """Options and the native client; subclasses choose how to wait for replies."""

    _core: _core.Client
    _protocol: int
    transport: str

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
        **redis_py_options: Any,
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
            **redis_py_options: redis-py keywords for what the core does by
                itself (connection pools, keep-alive, retries), accepted so
                redis-py code runs unchanged; any other keyword raises
                ``TypeError``.
        """
        self.transport = _options.resolve_transport(transport)
        self.decode_responses = decode_responses
        # As redis-py: the ssl_* keywords mean nothing without ssl=True.
        tls = (
            _tls.settings(
                cert_reqs=ssl_cert_reqs,
                check_hostname=ssl_check_hostname,
                ca_certs=ssl_ca_certs,
                ca_path=ssl_ca_path,
                ca_data=ssl_ca_data,
                certfile=ssl_certfile,
                keyfile=ssl_keyfile,
                password=ssl_password,
                min_version=ssl_min_version,
                ciphers=ssl_ciphers,
                extra=redis_py_options,
            )
            if ssl
            else None
        )
        self._core = _options.make_core_client(
            host=host,
            port=port,
            db=db,
            username=username,
            password=password,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_connect_timeout,
            unix_socket_path=unix_socket_path,
            encoding=encoding,
            encoding_errors=encoding_errors,
            decode_responses=decode_responses,
            client_name=client_name,
            protocol=protocol,
            max_in_flight=max_in_flight,
            max_connections=max_connections,
            tls=tls,
            extra=redis_py_options,
        )
        #: The RESP version spoken (validated above), which picks the default
        #: reply shapes of ``execute_command``.
        self._protocol = 2 if protocol is None else int(protocol)
        self.connection_kwargs = {
            "host": host,
            "port": port,
            "db": db,
            "unix_socket_path": unix_socket_path,
            "decode_responses": decode_responses,
            "protocol": protocol,
            # How str arguments become bytes, for what hashes or compares
            # them as the server will see them (a script's SHA1, a lock token).
            "encoding": encoding,
            "encoding_errors": encoding_errors,
            "ssl": bool(ssl),
        }

    @classmethod
    def from_url(cls: type[_Self], url: str, **kwargs: Any) -> _Self:
        """A client for ``redis://[[user]:password@]host[:port][/db][?option=value]``,
        ``rediss://...`` (TLS; ``valkey://``, ``valkeys://`` too) or
        ``unix:///path/to.sock``; keywords override the URL."""
        options = _options.parse_url(url)
        options.update(kwargs)
        return cls(**options)

    def execute_command(self, *args: Any, **options: Any) -> ResponseT:
        """Sends any command; the reply has the shape the named method would give.

        ``MULTI``, ``EXEC``, ``DISCARD``, ``WATCH`` and ``UNWATCH`` are refused
        (``DataError``): use :meth:`pipeline` or :meth:`transaction`.
        """
        args = _command_names.split_name(args)
        key = _command_names.command_key(args)
        spec = _command_names.lookup(key, args)
        _command_names.refuse_unpaired_replies(spec)
        _command_names.refuse_session_command(key, spec)
        return self._execute(_command_names.shape_for(spec, self._protocol), *args)

    def __repr__(self) -> str:
        kwargs = self.connection_kwargs
        where = kwargs["unix_socket_path"] or f"{kwargs['host']}:{kwargs['port']}"
        name = f"{type(self).__module__}.{type(self).__name__}"
        return f"<{name}({where}/{kwargs['db']}, transport={self.transport})>"
