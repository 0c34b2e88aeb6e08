"""Babushka's exceptions: redis-py's names under one root, :class:`RedisError`.

:class:`ConnectionError` and :class:`TimeoutError` also subclass Python's
builtins of the same name, so ``except TimeoutError`` catches a Babushka
timeout as a user would expect.
"""

from __future__ import annotations

import builtins


class RedisError(Exception):
    """The root of every error Babushka raises.

    ``status_code`` is the server's error code (``"ERR"``, ``"NOPERM"``) when
    the message no longer starts with it, as redis-py strips the codes it
    has a class for; ``None`` otherwise.
    """

    status_code: str | None = None


class ConnectionError(RedisError, builtins.ConnectionError):
    """The server could not be reached, or the connection broke."""


class TimeoutError(RedisError, builtins.TimeoutError):
    """No reply arrived within the client's timeout."""


class AuthenticationError(ConnectionError):
    """The server refused the credentials."""


class AuthorizationError(ConnectionError):
    """The user may not run this command."""


class BusyLoadingError(ConnectionError):
    """The server is loading its dataset and cannot answer yet."""


class ExternalAuthProviderError(ConnectionError):
    """The server's external authentication provider (LDAP) failed."""


class ClientClosedError(ConnectionError):
    """The client was closed; open a new one."""


class MasterNotFoundError(ConnectionError):
    """No sentinel could name a primary in good health for the service
    (``babushka.sentinel``; redis-py's ``redis.sentinel.MasterNotFoundError``)."""


class SlaveNotFoundError(ConnectionError):
    """No replica (nor primary) of the service could be reached
    (``babushka.sentinel``; redis-py's ``redis.sentinel.SlaveNotFoundError``)."""


class InvalidResponse(RedisError):
    """A reply did not have the form the command expects."""


class ResponseError(RedisError):
    """The server answered with an error reply; the message is the server's."""


class DataError(RedisError):
    """An argument cannot be sent: wrong type or out of range. Nothing was sent.

    ``arg_index`` is the position of the offending word in the command, when the
    Rust encoder found it.
    """

    arg_index: int | None = None


class PubSubError(RedisError):
    """A publish/subscribe operation was used wrongly."""


class WatchError(RedisError):
    """A watched key changed, so the transaction did not run."""


class NoScriptError(ResponseError):
    """EVALSHA named a script the server does not have."""


class ExecAbortError(ResponseError):
    """The transaction was discarded because a queued command was invalid."""


class ReadOnlyError(ResponseError):
    """A write was sent to a read-only replica."""


class NoPermissionError(ResponseError):
    """The ACL user may not run this command or touch these keys."""


class OutOfMemoryError(ResponseError):
    """The server is at ``maxmemory`` and could evict nothing for this write."""


class ModuleError(ResponseError):
    """A module could not be loaded or unloaded."""


class AuthenticationWrongNumberOfArgsError(ResponseError):
    """AUTH was sent with the wrong number of arguments."""


class NoSuchFieldsetError(ResponseError):
    """HIMPORT SET named a fieldset the connection has not prepared."""


class ClusterError(RedisError):
    """A cluster could not serve the request."""


class ClusterDownError(ClusterError, ResponseError):
    """The cluster is down (``CLUSTERDOWN``)."""

    def __init__(self, resp: str) -> None:
        super().__init__(resp)
        self.message = resp


class MasterDownError(ClusterDownError):
    """The replica lost its primary and may not serve stale data (``MASTERDOWN``)."""


class AskError(ResponseError):
    """The key's slot is moving (``ASK slot host:port``): ask that node, once.

    ``slot_id``, ``node_addr`` (``(host, port)``), ``host`` and ``port`` say
    where, as redis-py's does.
    """

    def __init__(self, resp: str) -> None:
        super().__init__(resp)
        self.message = resp
        slot, _, address = resp.partition(" ")
        host, _, port = address.rpartition(":")
        self.slot_id = int(slot)
        self.host = host
        self.port = int(port)
        self.node_addr = (self.host, self.port)


class MovedError(AskError):
    """The key's slot lives on another node (``MOVED slot host:port``)."""


class TryAgainError(ResponseError):
    """The slot is being resharded; try again (``TRYAGAIN``)."""


class ClusterCrossSlotError(ResponseError):
    """The keys of one request hash to different slots (``CROSSSLOT``)."""

    message = "Keys in request don't hash to the same slot"


class LockError(RedisError, ValueError):
    """A lock could not be acquired, or was used without being held.

    A ``ValueError`` too, as redis-py's (``threading.Lock.release`` of an
    unlocked lock raises one). ``lock_name`` names the lock, when known.
    """

    def __init__(
        self, message: str | None = None, lock_name: str | bytes | memoryview | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.lock_name = lock_name


class LockNotOwnedError(LockError):
    """The lock was released or extended by a holder it no longer belongs to
    (it expired, and perhaps someone else holds it now)."""


__all__ = [
    "AskError",
    "AuthenticationError",
    "AuthenticationWrongNumberOfArgsError",
    "AuthorizationError",
    "BusyLoadingError",
    "ClientClosedError",
    "ClusterCrossSlotError",
    "ClusterDownError",
    "ClusterError",
    "ConnectionError",
    "CrossSlotTransactionError",
    "DataError",
    "ExecAbortError",
    "ExternalAuthProviderError",
    "InvalidResponse",
    "LockError",
    "LockNotOwnedError",
    "MasterDownError",
    "MasterNotFoundError",
    "ModuleError",
    "MovedError",
    "NoPermissionError",
    "NoScriptError",
    "NoSuchFieldsetError",
    "OutOfMemoryError",
    "PubSubError",
    "ReadOnlyError",
    "RedisClusterException",
    "RedisError",
    "ResponseError",
    "SlaveNotFoundError",
    "SlotNotCoveredError",
    "TimeoutError",
    "TryAgainError",
    "WatchError",
]


# Redis Cluster (babushka.RedisCluster), with redis-py's names and bases.


class RedisClusterException(Exception):
    """A cluster cannot serve the request as asked: an atomic command's keys
    (or a transaction's) in different slots, no node reachable. As in
    redis-py, not a :class:`RedisError`."""


class SlotNotCoveredError(RedisClusterException):
    """No node serves the key's slot."""


class CrossSlotTransactionError(RedisClusterException):
    """A cluster transaction (or its ``WATCH``) with keys in several slots:
    MULTI/EXEC runs on one node, so its keys must share one slot."""
