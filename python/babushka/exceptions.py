"""Babushka's exceptions: redis-py's names under one root, :class:`RedisError`.

:class:`ConnectionError` and :class:`TimeoutError` also subclass Python's
builtins of the same name, so ``except TimeoutError`` catches a Babushka
timeout as a user would expect.
"""

from __future__ import annotations

import builtins


class RedisError(Exception):
    """The root of every error Babushka raises."""


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


class ClientClosedError(ConnectionError):
    """The client was closed; open a new one."""


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
    "AuthenticationError",
    "AuthorizationError",
    "BusyLoadingError",
    "ClientClosedError",
    "ConnectionError",
    "DataError",
    "ExecAbortError",
    "InvalidResponse",
    "LockError",
    "LockNotOwnedError",
    "NoPermissionError",
    "NoScriptError",
    "PubSubError",
    "ReadOnlyError",
    "RedisError",
    "ResponseError",
    "TimeoutError",
    "WatchError",
]


# Redis Cluster (babushka.RedisCluster), with redis-py's names and bases.


class RedisClusterException(Exception):
    """A cluster cannot serve the request as asked: an atomic command's keys
    (or a transaction's) in different slots, no node reachable. As in
    redis-py, not a :class:`RedisError`."""


class SlotNotCoveredError(RedisClusterException):
    """No node serves the key's slot."""


class ClusterError(RedisError):
    """A cluster error reply that outlived the client's retries."""


class ClusterDownError(ClusterError, ResponseError):
    """``CLUSTERDOWN``: the cluster cannot serve the slot (for longer than
    the request could wait)."""


class MasterDownError(ClusterDownError):
    """``MASTERDOWN``: the node's primary is down."""


class AskError(ResponseError):
    """``ASK``: the key is being migrated (the client follows it; seen only
    when the redirections run out)."""


class MovedError(AskError):
    """``MOVED``: the slot lives on another node (followed by the client)."""


class TryAgainError(ResponseError):
    """``TRYAGAIN``: a multi-key request during a migration (retried)."""


class ClusterCrossSlotError(ResponseError):
    """``CROSSSLOT``: the server refused keys in different slots."""
