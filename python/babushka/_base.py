"""What the sync and async clients share: the constructor's keywords, URL
parsing and ``execute_command``."""

from __future__ import annotations

from typing import Any, Callable, Mapping

from babushka import _command_names, _core, _options, _tls
from babushka._typing import ValueT
from babushka.commands import CoreCommands
from babushka.commands.base import ResponseT


class ClientBase(CoreCommands[ValueT]):
    """Options and the native client; subclasses choose how to wait for replies.

    The keywords are declared once, here: ``tools/typing_interfaces.py``
    writes each client's typed overloads (``decode_responses`` choosing
    ``bytes`` or ``str`` replies) from this signature.
    """

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
        # redis-py's TLS options that rustls has no equivalent for: refused
        # unless left unset (see ``_tls.UNSUPPORTED``).
        ssl_validate_ocsp: bool | None = None,
        ssl_validate_ocsp_stapled: bool | None = None,
        ssl_ocsp_context: Any = None,
        ssl_ocsp_expected_cert: str | None = None,
        ssl_include_verify_flags: list[Any] | None = None,
        ssl_exclude_verify_flags: list[Any] | None = None,
        # redis-py keywords for what Babushka's core does by itself (pooling,
        # keep-alive, retries): accepted so redis-py code runs unchanged.
        socket_keepalive: bool | None = None,
        socket_keepalive_options: Mapping[int, int | bytes] | None = None,
        connection_pool: Any = None,
        connection_pool_class: Any = None,
        retry_on_timeout: bool | None = None,
        retry_on_error: list[type[Exception]] | None = None,
        retry: Any = None,
        health_check_interval: float | None = None,
        single_connection_client: bool | None = None,
        auto_close_connection_pool: bool | None = None,
        lib_name: str | None = None,
        lib_version: str | None = None,
        redis_connect_func: Callable[..., Any] | None = None,
        credential_provider: Any = None,
        socket_type: int | None = None,
        errors: str | None = None,
        charset: str | None = None,
    ) -> None:
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
                unsupported={
                    "ssl_validate_ocsp": ssl_validate_ocsp,
                    "ssl_validate_ocsp_stapled": ssl_validate_ocsp_stapled,
                    "ssl_ocsp_context": ssl_ocsp_context,
                    "ssl_ocsp_expected_cert": ssl_ocsp_expected_cert,
                    "ssl_include_verify_flags": ssl_include_verify_flags,
                    "ssl_exclude_verify_flags": ssl_exclude_verify_flags,
                },
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
        self._use_transport()

    def _use_transport(self) -> None:
        """Sets the ``_execute`` hooks to the transport's; the constructor's last step."""
        raise NotImplementedError

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
