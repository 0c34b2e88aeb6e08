"""CLIENT commands: names, lists, kills, pauses, tracking.

They run on the client's shared connection, so the connection they speak
of (``client_id``, ``client_info``, ``client_setname``) is that one, the
one every thread and task of this client shares.
"""

from __future__ import annotations

from typing import Any, Iterable, NoReturn

from babushka import _shapes as S
from babushka._typing import Reply, ValueT
from babushka.commands.base import CommandsBase, EncodableT, require_int
from babushka.exceptions import DataError

#: CLIENT LIST TYPE and CLIENT KILL TYPE accept these (KILL also the old ``slave``).
_LIST_TYPES = ("normal", "master", "replica", "pubsub")
_KILL_TYPES = ("normal", "master", "slave", "replica", "pubsub")


def _client_type(value: object, allowed: tuple[str, ...], name: str) -> object:
    if not isinstance(value, (str, bytes)) or _lower(value) not in allowed:
        raise DataError(f"{name} must be one of {allowed!r}, got {value!r}")
    return value


def _lower(value: str | bytes) -> str:
    return (value.decode(errors="replace") if isinstance(value, bytes) else value).lower()


def _yes_no(value: object, name: str) -> str:
    if not isinstance(value, bool):
        raise DataError(f"{name} must be a bool, got {type(value).__name__}")
    return "YES" if value else "NO"


def _mode(value: object, name: str) -> str:
    """``"ON"``/``"OFF"`` for NO-EVICT and NO-TOUCH (a bool is taken too)."""
    if isinstance(value, bool):
        return "ON" if value else "OFF"
    if isinstance(value, (str, bytes)) and _lower(value) in ("on", "off"):
        return _lower(value).upper()
    raise DataError(f"{name} must be 'ON' or 'OFF', got {value!r}")


class ClientCommands(CommandsBase[ValueT]):
    def client_list(
        self, _type: str | None = None, client_id: list[EncodableT] | None = None
    ) -> Reply[list[dict[str, Any]]]:
        """The server's connections as a list of dicts (``TYPE`` and ``ID``
        filters). https://redis.io/docs/latest/commands/client-list/"""
        words: list[Any] = []
        if _type is not None:
            words += ["TYPE", _client_type(_type, _LIST_TYPES, "_type")]
        if client_id is not None:
            if not isinstance(client_id, list):
                raise DataError("client_id must be a list")
            if client_id:
                words += ["ID", *client_id]
        return self._execute(S.CLIENT_LIST, "CLIENT", "LIST", *words)

    def client_info(self) -> Reply[dict[str, Any]]:
        """This connection's CLIENT LIST entry as a dict.
        https://redis.io/docs/latest/commands/client-info/"""
        return self._execute(S.CLIENT_INFO, "CLIENT", "INFO")

    def client_id(self) -> Reply[int]:
        """This connection's id. https://redis.io/docs/latest/commands/client-id/"""
        return self._execute(S.RAW, "CLIENT", "ID")

    def client_getname(self) -> Reply[str | None]:
        """This connection's name as ``str``, or ``None``.
        https://redis.io/docs/latest/commands/client-getname/"""
        return self._execute(S.STR, "CLIENT", "GETNAME")

    def client_setname(self, name: str) -> Reply[bool]:
        """Names this connection. https://redis.io/docs/latest/commands/client-setname/"""
        return self._execute(S.OK, "CLIENT", "SETNAME", name)

    def client_setinfo(self, attr: str, value: str) -> Reply[bool]:
        """Sets ``LIB-NAME`` or ``LIB-VER`` of this connection.
        https://redis.io/docs/latest/commands/client-setinfo/"""
        return self._execute(S.OK, "CLIENT", "SETINFO", attr, value)

    def client_kill(self, address: str) -> Reply[bool]:
        """Closes the connection from ``ip:port``.
        https://redis.io/docs/latest/commands/client-kill/"""
        return self._execute(S.CLIENT_KILL, "CLIENT", "KILL", address)

    def client_kill_filter(
        self,
        _id: int | str | None = None,
        _type: str | None = None,
        addr: str | None = None,
        skipme: bool | None = None,
        laddr: str | None = None,
        user: str | None = None,
        maxage: int | None = None,
    ) -> Reply[int]:
        """Closes the connections matching every filter given; the number closed.
        https://redis.io/docs/latest/commands/client-kill/"""
        words: list[Any] = []
        if _type is not None:
            words += ["TYPE", _client_type(_type, _KILL_TYPES, "_type")]
        if skipme is not None:
            words += ["SKIPME", _yes_no(skipme, "skipme")]
        if _id is not None:
            words += ["ID", _id]
        if addr is not None:
            words += ["ADDR", addr]
        if laddr is not None:
            words += ["LADDR", laddr]
        if user is not None:
            words += ["USER", user]
        if maxage is not None:
            words += ["MAXAGE", require_int(maxage, "maxage")]
        if not words:
            raise DataError("client_kill_filter needs at least one filter")
        return self._execute(S.CLIENT_KILL, "CLIENT", "KILL", *words)

    def client_pause(self, timeout: int, all: bool = True) -> Reply[bool]:
        """Pauses every client's commands (``all=False``: only writes) for
        ``timeout`` milliseconds. https://redis.io/docs/latest/commands/client-pause/"""
        if isinstance(timeout, bool) or not isinstance(timeout, int):
            raise DataError("CLIENT PAUSE timeout must be an integer")
        if timeout < 0:
            raise DataError(f"CLIENT PAUSE timeout must not be negative, got {timeout}")
        words: list[Any] = [timeout] if all else [timeout, "WRITE"]
        return self._execute(S.OK, "CLIENT", "PAUSE", *words)

    def client_unpause(self) -> Reply[ValueT]:
        """Ends a CLIENT PAUSE. https://redis.io/docs/latest/commands/client-unpause/"""
        return self._execute(S.RAW, "CLIENT", "UNPAUSE")

    def client_unblock(self, client_id: int, error: bool = False) -> Reply[bool]:
        """Ends another connection's blocking command (with an error reply when
        ``error``); whether one was blocked. https://redis.io/docs/latest/commands/client-unblock/"""
        words: list[Any] = [require_int(client_id, "client_id")]
        if error:
            words.append("ERROR")
        return self._execute(S.BOOL, "CLIENT", "UNBLOCK", *words)

    def client_no_evict(self, mode: str) -> Reply[ValueT]:
        """``"ON"`` keeps this connection out of client eviction.
        https://redis.io/docs/latest/commands/client-no-evict/"""
        return self._execute(S.RAW, "CLIENT", "NO-EVICT", _mode(mode, "mode"))

    def client_no_touch(self, mode: str) -> Reply[ValueT]:
        """``"ON"``: this connection's reads leave keys' LRU/LFU alone.
        https://redis.io/docs/latest/commands/client-no-touch/"""
        return self._execute(S.RAW, "CLIENT", "NO-TOUCH", _mode(mode, "mode"))

    def client_getredir(self) -> Reply[int]:
        """The id tracking invalidations are redirected to (-1: none, 0: not
        tracking). https://redis.io/docs/latest/commands/client-getredir/"""
        return self._execute(S.RAW, "CLIENT", "GETREDIR")

    def client_trackinginfo(self) -> Reply[list[Any]]:
        """This connection's tracking state as a flat list (labels as ``str``).
        https://redis.io/docs/latest/commands/client-trackinginfo/"""
        return self._execute(S.TRACKING_INFO, "CLIENT", "TRACKINGINFO")

    def client_tracking(
        self,
        on: bool = True,
        clientid: int | None = None,
        prefix: Iterable[EncodableT] = (),
        bcast: bool = False,
        optin: bool = False,
        optout: bool = False,
        noloop: bool = False,
    ) -> Reply[ValueT]:
        """Turns server-assisted client-side caching on or off for the shared
        connection. Invalidations go to ``clientid``'s connection (RESP2), or
        arrive as RESP3 pushes, which Babushka does not deliver to Python yet.
        https://redis.io/docs/latest/commands/client-tracking/"""
        prefixes = [prefix] if isinstance(prefix, (str, bytes)) else list(prefix)
        if prefixes and not bcast:
            raise DataError("Prefix can only be used with bcast")
        words: list[Any] = ["ON" if on else "OFF"]
        if clientid is not None:
            words += ["REDIRECT", require_int(clientid, "clientid")]
        for each in prefixes:
            words += ["PREFIX", each]
        options = ((bcast, "BCAST"), (optin, "OPTIN"), (optout, "OPTOUT"), (noloop, "NOLOOP"))
        words += [word for given, word in options if given]
        return self._execute(S.RAW, "CLIENT", "TRACKING", *words)

    def client_tracking_on(
        self,
        clientid: int | None = None,
        prefix: Iterable[EncodableT] = (),
        bcast: bool = False,
        optin: bool = False,
        optout: bool = False,
        noloop: bool = False,
    ) -> Reply[ValueT]:
        """``client_tracking(True, ...)``. https://redis.io/docs/latest/commands/client-tracking/"""
        return self.client_tracking(True, clientid, prefix, bcast, optin, optout, noloop)

    def client_tracking_off(
        self,
        clientid: int | None = None,
        prefix: Iterable[EncodableT] = (),
        bcast: bool = False,
        optin: bool = False,
        optout: bool = False,
        noloop: bool = False,
    ) -> Reply[ValueT]:
        """``client_tracking(False, ...)``. https://redis.io/docs/latest/commands/client-tracking/"""
        return self.client_tracking(False, clientid, prefix, bcast, optin, optout, noloop)

    def client_reply(self, reply: str) -> NoReturn:
        """Refused: with ``OFF`` or ``SKIP`` the server stops answering, and a
        shared, pipelined connection pairs every reply with a request, so the
        replies of other threads' requests would go to the wrong callers.
        https://redis.io/docs/latest/commands/client-reply/"""
        if reply not in ("ON", "OFF", "SKIP"):
            raise DataError(f"CLIENT REPLY must be one of {['ON', 'OFF', 'SKIP']!r}")
        raise DataError(
            "CLIENT REPLY cannot run on a client's shared connection: its requests "
            "would lose their replies or get others'. Nothing was sent"
        )
