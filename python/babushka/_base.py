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
        (``DataError``): use :meth:`pipeline` or :meth:`transaction`. ``QUIT``,
        ``RESET`` and ``HELLO`` go on a connection of their own, closed
        afterwards (the shared one keeps its state).
        """
        args = _command_names.split_name(args)
        key = _command_names.command_key(args)
        spec = _command_names.lookup(key, args)
        _command_names.refuse_unpaired_replies(spec)
        _command_names.refuse_session_command(key, spec)
        shape = _command_names.shape_for(spec, self._protocol)
        if _command_names.runs_alone(spec):
            return self._execute_alone(shape, *args)
        return self._execute(shape, *args)

    def __repr__(self) -> str:
        kwargs = self.connection_kwargs
        where = kwargs["unix_socket_path"] or f"{kwargs['host']}:{kwargs['port']}"
        name = f"{type(self).__module__}.{type(self).__name__}"
        return f"<{name}({where}/{kwargs['db']}, transport={self.transport})>"
