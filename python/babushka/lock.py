"""A distributed lock on one key: redis-py's ``Lock`` (``Redis.lock()``).

The lock is the key ``name`` holding a random token: acquiring is ``SET name
token NX [PX timeout]``, and only the holder of the token may release,
extend or reacquire it, which Lua scripts check and do in one step on the
server (run through :class:`babushka.script.Script`: EVALSHA, loaded again
if the server lost them). A lock with a ``timeout`` expires on its own, so a
crashed holder cannot keep it for ever; a holder that outlives its timeout
finds the lock gone (``LockNotOwnedError``) rather than taking it from the
next owner.

The asyncio flavour is :class:`babushka.asyncio.lock.Lock`; both build on
:class:`LockBase` here.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Union

from babushka._encoding import encode
from babushka.commands.base import EncodableT, KeyT
from babushka.exceptions import DataError, LockError, LockNotOwnedError
from babushka.script import Script, _ScriptBase

if TYPE_CHECKING:
    from babushka.client import Redis

logger = logging.getLogger(__name__)

Number = Union[int, float]


class _LocalToken(threading.local):
    """The token as each thread sees it: a thread only releases what it acquired."""

    token: bytes | None = None


class _SharedToken:
    """One token for every thread (``thread_local=False``)."""

    token: bytes | None = None


def _seconds(value: object, name: str, *, optional: bool, positive: bool = False) -> Any:
    """A number of seconds (``None`` when ``optional``), checked before use."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        kind = "a number of seconds or None" if optional else "a number of seconds"
        raise DataError(f"{name} must be {kind}, got {type(value).__name__}")
    if not (value > 0 if positive else value >= 0) or value == float("inf"):
        sign = "positive" if positive else "non-negative"
        raise DataError(f"{name} must be a finite, {sign} number of seconds, got {value}")
    return value


class LockBase:
    """What both flavours share: the arguments, the token and the scripts' source."""

    # KEYS[1]: the lock; ARGV[1]: the caller's token. Deletes the key only
    # if it still holds that token (GET gives false for a missing key).
    # Returns 1 when it released the lock.
    LUA_RELEASE_SCRIPT = """
        if redis.call('get', KEYS[1]) ~= ARGV[1] then
            return 0
        end
        redis.call('del', KEYS[1])
        return 1
    """

    # KEYS[1]: the lock; ARGV[1]: the caller's token; ARGV[2]: milliseconds;
    # ARGV[3]: "1" to make that the new time to live, "0" to add it to the
    # remaining one. A key without expiry is not extended (its holder took
    # it without a timeout). Returns 1 when it extended the lock.
    LUA_EXTEND_SCRIPT = """
        if redis.call('get', KEYS[1]) ~= ARGV[1] then
            return 0
        end
        local remaining = redis.call('pttl', KEYS[1])
        if remaining < 0 then
            return 0
        end
        local ttl = tonumber(ARGV[2])
        if ARGV[3] == '0' then
            ttl = ttl + remaining
        end
        redis.call('pexpire', KEYS[1], ttl)
        return 1
    """

    # KEYS[1]: the lock; ARGV[1]: the caller's token; ARGV[2]: milliseconds.
    # Sets the time to live back to the lock's timeout. Returns 1 when it did.
    LUA_REACQUIRE_SCRIPT = """
        if redis.call('get', KEYS[1]) ~= ARGV[1] then
            return 0
        end
        redis.call('pexpire', KEYS[1], ARGV[2])
        return 1
    """

    def __init__(
        self,
        redis: Any,
        name: KeyT,
        timeout: Number | None = None,
        sleep: Number = 0.1,
        blocking: bool = True,
        blocking_timeout: Number | None = None,
        thread_local: bool = True,
        raise_on_release_error: bool = True,
    ) -> None:
        if not isinstance(name, (str, bytes, memoryview)):
            raise DataError(f"name must be str or bytes, got {type(name).__name__}")
        self.redis = redis
        self.name = name
        #: Seconds the lock lives at most (``None``: until released).
        self.timeout: Number | None = _seconds(timeout, "timeout", optional=True, positive=True)
        #: Seconds between tries while waiting for the lock.
        self.sleep: Number = _seconds(sleep, "sleep", optional=False)
        self.blocking = blocking
        #: Seconds to keep trying (``None``: for ever).
        self.blocking_timeout: Number | None = _seconds(
            blocking_timeout, "blocking_timeout", optional=True
        )
        self.thread_local = bool(thread_local)
        self.raise_on_release_error = raise_on_release_error
        # With thread_local, each thread sees only the token it acquired
        # with, so a thread whose lock expired and was taken by another
        # thread through this same object cannot release the new holder's.
        self.local: _LocalToken | _SharedToken = (
            _LocalToken() if self.thread_local else _SharedToken()
        )
        self.register_scripts()

    # Class-wide, as in redis-py; registered with no client (every call names
    # the lock's), so they keep no client alive. Each flavour declares them
    # of its script class.
    lua_release: ClassVar[_ScriptBase | None] = None
    lua_extend: ClassVar[_ScriptBase | None] = None
    lua_reacquire: ClassVar[_ScriptBase | None] = None
    #: The flavour's script class (``Script`` or ``AsyncScript``).
    _script_class: ClassVar[type[_ScriptBase]]

    def register_scripts(self) -> None:
        cls = type(self)
        if cls.lua_release is None:
            cls.lua_release = cls._script_class(None, cls.LUA_RELEASE_SCRIPT)
        if cls.lua_extend is None:
            cls.lua_extend = cls._script_class(None, cls.LUA_EXTEND_SCRIPT)
        if cls.lua_reacquire is None:
            cls.lua_reacquire = cls._script_class(None, cls.LUA_REACQUIRE_SCRIPT)

    def _new_token(self, token: object) -> bytes:
        """The token to acquire with, as the bytes the server will hold."""
        if token is None:
            return uuid.uuid1().hex.encode()
        return encode(self.redis, token, "token")

    def _px(self) -> int | None:
        """The lock's time to live in milliseconds, for SET's PX."""
        return None if self.timeout is None else max(1, int(self.timeout * 1000))

    def _is_token(self, stored: object) -> bool:
        """Whether the value read from the key is this holder's token."""
        token = self.local.token
        if token is None or stored is None:
            return False
        if not isinstance(stored, bytes):  # decode_responses gave str
            stored = encode(self.redis, stored, "token")
        return stored == token

    def _held(self, action: str) -> bytes:
        token = self.local.token
        if token is None:
            raise LockError(f"Cannot {action} an unlocked lock", lock_name=self.name)
        return token

    def _timed(self, action: str) -> Number:
        if self.timeout is None:
            raise LockError(f"Cannot {action} a lock with no timeout", lock_name=self.name)
        return self.timeout

    def _not_owned(self, action: str) -> LockNotOwnedError:
        return LockNotOwnedError(
            f"Cannot {action} a lock that's no longer owned", lock_name=self.name
        )

    def _on_release_error(self, error: LockError) -> None:
        """The context manager's exit: raise, or log, as configured."""
        if self.raise_on_release_error:
            raise error
        logger.warning("Lock %r was unlocked or no longer owned when exiting its block", self.name)

    @staticmethod
    def _milliseconds(seconds: object, name: str) -> int:
        return int(_seconds(seconds, name, optional=False) * 1000)

    def __repr__(self) -> str:
        return f"<{type(self).__module__}.{type(self).__name__} name={self.name!r}>"


class Lock(LockBase):
    """redis-py's ``Lock`` for the sync client: ``with r.lock("name",
    timeout=10): ...``, or ``acquire()`` and ``release()``.

    ``timeout``: seconds the lock lives at most (``None``: until released).
    ``sleep``: seconds between tries while waiting. ``blocking``: whether
    ``acquire()`` waits (else it tries once). ``blocking_timeout``: seconds to
    keep trying (``None``: for ever). ``thread_local``: each thread has its own
    token, so one thread cannot release a lock another thread acquired through
    the same object (turn it off to hand a held lock to another thread).
    ``raise_on_release_error``: whether leaving a ``with`` block raises
    ``LockNotOwnedError`` when the lock was lost meanwhile (else it is logged).
    """

    lua_release: ClassVar[Script | None] = None
    lua_extend: ClassVar[Script | None] = None
    lua_reacquire: ClassVar[Script | None] = None
    _script_class = Script

    redis: Redis[Any]

    def __enter__(self) -> Lock:
        if self.acquire():
            return self
        raise LockError("Unable to acquire lock within the time specified", lock_name=self.name)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.release()
        except LockError as error:
            self._on_release_error(error)

    def acquire(
        self,
        sleep: Number | None = None,
        blocking: bool | None = None,
        blocking_timeout: Number | None = None,
        token: str | bytes | None = None,
    ) -> bool:
        """Takes the lock: ``True`` once held; ``False`` when ``blocking`` is
        false and the lock is taken, or ``blocking_timeout`` seconds passed.
        ``token`` is the value to hold the key with (a random one by default)."""
        pause = self.sleep if sleep is None else _seconds(sleep, "sleep", optional=False)
        wait = self.blocking if blocking is None else blocking
        limit = self.blocking_timeout
        if blocking_timeout is not None:
            limit = _seconds(blocking_timeout, "blocking_timeout", optional=False)
        held = self._new_token(token)
        give_up_at = None if limit is None else time.monotonic() + limit
        while True:
            if self.do_acquire(held):
                self.local.token = held
                return True
            if not wait:
                return False
            # Give up now rather than sleep past the deadline.
            if give_up_at is not None and time.monotonic() + pause > give_up_at:
                return False
            time.sleep(pause)

    def do_acquire(self, token: bytes) -> bool:
        return bool(self.redis.set(self.name, token, nx=True, px=self._px()))

    def locked(self) -> bool:
        """Whether anyone holds the lock."""
        return self.redis.get(self.name) is not None

    def owned(self) -> bool:
        """Whether this lock object (in this thread, with ``thread_local``) holds it."""
        return self._is_token(self.redis.get(self.name))

    def release(self) -> None:
        """Releases the lock: ``LockError`` if this object does not hold it,
        ``LockNotOwnedError`` if it expired (and maybe went to someone else)."""
        token = self.local.token
        if token is None:
            raise LockError(
                "Cannot release a lock that's not owned or is already unlocked.",
                lock_name=self.name,
            )
        try:
            self.do_release(token)
        except LockNotOwnedError:
            self.local.token = None
            raise
        # Dropped only once the server answered: after a connection error
        # the lock may still be held, and release() can be tried again.
        self.local.token = None

    def do_release(self, expected_token: bytes) -> None:
        assert self.lua_release is not None
        if not self.lua_release(keys=[self.name], args=[expected_token], client=self.redis):
            raise self._not_owned("release")

    def extend(self, additional_time: Number, replace_ttl: bool = False) -> Literal[True]:
        """Adds ``additional_time`` seconds to the lock's remaining time (or,
        with ``replace_ttl``, makes that its remaining time)."""
        self._held("extend")
        self._timed("extend")
        return self.do_extend(additional_time, replace_ttl)

    def do_extend(self, additional_time: Number, replace_ttl: bool) -> Literal[True]:
        ms = self._milliseconds(additional_time, "additional_time")
        assert self.lua_extend is not None
        args: list[EncodableT] = [self._held("extend"), ms, "1" if replace_ttl else "0"]
        if not self.lua_extend(keys=[self.name], args=args, client=self.redis):
            raise self._not_owned("extend")
        return True

    def reacquire(self) -> Literal[True]:
        """Sets the lock's remaining time back to its ``timeout``."""
        self._held("reacquire")
        self._timed("reacquire")
        return self.do_reacquire()

    def do_reacquire(self) -> Literal[True]:
        ms = self._milliseconds(self._timed("reacquire"), "timeout")
        assert self.lua_reacquire is not None
        args: list[EncodableT] = [self._held("reacquire"), ms]
        if not self.lua_reacquire(keys=[self.name], args=args, client=self.redis):
            raise self._not_owned("reacquire")
        return True
