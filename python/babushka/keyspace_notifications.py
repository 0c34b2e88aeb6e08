"""Keyspace notifications, as redis-py 8's ``redis.keyspace_notifications``:
``r.keyspace_notifications()`` gives a :class:`KeyspaceNotifications`, a
subscriber that takes notification channels (``KeyspaceChannel("user:*")``,
``KeyeventChannel(EventType.SET)``, or their strings), subscribes to each
with ``SUBSCRIBE`` or ``PSUBSCRIBE`` as its name is a pattern or not, and
returns what arrives as :class:`KeyNotification` objects (key, event type,
database, subkeys).

The server only sends them when its ``notify-keyspace-events`` setting asks
for them. Built on :class:`babushka.pubsub.PubSub` (so subscriptions return
once confirmed and are restored after a reconnection); the asyncio twin is
``babushka.asyncio.keyspace_notifications``. Standalone servers only: the
cluster managers of redis-py are not here (nor is a cluster client).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from enum import Enum
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    ClassVar,
    Generic,
    Iterator,
    Optional,
    Protocol,
    TypeVar,
    Union,
)

from babushka.exceptions import RedisError

if TYPE_CHECKING:
    from typing_extensions import Self

    # Named in a base class's string, which ruff does not read as a use.
    from babushka.client import Redis  # noqa: F401
    from babushka.pubsub import PubSub

__all__ = [
    "ChannelType",
    "EventType",
    "KeyNotification",
    "KeyeventChannel",
    "KeyspaceChannel",
    "KeyspaceNotifications",
    "KeyspaceWorkerThread",
    "SubkeyeventChannel",
    "SubkeyspaceChannel",
    "SubkeyspaceeventChannel",
    "SubkeyspaceitemChannel",
    "get_channel_type",
]


class EventType:
    """Event names the server sends (any other string works too: a newer
    server's events need no new constant)."""

    # strings
    SET, SETEX, SETNX, SETRANGE = "set", "setex", "setnx", "setrange"
    INCR, INCRBY, INCRBYFLOAT = "incr", "incrby", "incrbyfloat"
    DECR, DECRBY, APPEND = "decr", "decrby", "append"
    GETEX, GETDEL = "getex", "getdel"
    SETIFGT, SETIFLT, SETIFEQ, SETIFNE = "setifgt", "setiflt", "setifeq", "setifne"
    # keys
    DEL, UNLINK, RENAME, RENAME_FROM, RENAME_TO = (
        "del",
        "unlink",
        "rename",
        "rename_from",
        "rename_to",
    )
    COPY_TO, MOVE, RESTORE, NEW, SORTSTORE = "copy_to", "move", "restore", "new", "sortstore"
    # expiry and eviction
    EXPIRE, EXPIREAT, PEXPIRE, PEXPIREAT = "expire", "expireat", "pexpire", "pexpireat"
    EXPIRED, PERSIST, EVICTED = "expired", "persist", "evicted"
    # lists
    LPUSH, RPUSH, LPOP, RPOP = "lpush", "rpush", "lpop", "rpop"
    LINSERT, LSET, LTRIM, LMOVE = "linsert", "lset", "ltrim", "lmove"
    BLPOP, BRPOP, BLMOVE = "blpop", "brpop", "blmove"
    # sets
    SADD, SREM, SPOP, SMOVE = "sadd", "srem", "spop", "smove"
    SINTERSTORE, SUNIONSTORE, SDIFFSTORE = "sinterstore", "sunionstore", "sdiffstore"
    # sorted sets
    ZADD, ZINCRBY, ZREM = "zadd", "zincrby", "zrem"
    ZREMRANGEBYRANK, ZREMRANGEBYSCORE, ZREMRANGEBYLEX = (
        "zremrangebyrank",
        "zremrangebyscore",
        "zremrangebylex",
    )
    ZPOPMIN, ZPOPMAX, BZPOPMIN, BZPOPMAX = "zpopmin", "zpopmax", "bzpopmin", "bzpopmax"
    ZINTERSTORE, ZUNIONSTORE, ZDIFFSTORE, ZRANGESTORE = (
        "zinterstore",
        "zunionstore",
        "zdiffstore",
        "zrangestore",
    )
    # hashes
    HSET, HSETNX, HDEL, HINCRBY, HINCRBYFLOAT = (
        "hset",
        "hsetnx",
        "hdel",
        "hincrby",
        "hincrbyfloat",
    )
    # streams (the server spells the XGROUP events with a dash)
    XADD, XTRIM, XDEL, XSETID = "xadd", "xtrim", "xdel", "xsetid"
    XGROUP_CREATE, XGROUP_CREATECONSUMER = "xgroup-create", "xgroup-createconsumer"
    XGROUP_DELCONSUMER, XGROUP_DESTROY = "xgroup-delconsumer", "xgroup-destroy"
    XGROUP_SETID = "xgroup-setid"
    XCLAIM, XAUTOCLAIM, XREADGROUP = "xclaim", "xautoclaim", "xreadgroup"


def _text(value: Union[str, bytes, memoryview]) -> str:
    """A name or payload as text (redis-py's ``safe_str``)."""
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def _is_pattern(channel: Any) -> bool:
    """Whether a channel name is a glob pattern (``PSUBSCRIBE``): an
    unescaped ``*`` or ``?``, or a ``[`` closed by an unescaped ``]`` (a
    lone ``[`` is a literal to the server)."""
    text = str(channel) if isinstance(channel, _Channel) else _text(channel)
    at = 0
    while at < len(text):
        char = text[at]
        if char == "\\":
            at += 2
            continue
        if char in "*?":
            return True
        if char == "[":
            end = at + 1
            while end < len(text):
                if text[end] == "\\":
                    end += 2
                    continue
                if text[end] == "]":
                    return True
                end += 1
        at += 1
    return False


class _Channel:
    """A notification channel: its name, the database it names, and whether
    it is a pattern. Compares equal to its name."""

    PREFIX: ClassVar[str]
    db: int
    _channel_str: str

    def _named(self, rest: str) -> None:
        self._channel_str = f"{self.PREFIX}{self.db}__:{rest}"

    def _parts(self) -> tuple[str, ...]:
        raise NotImplementedError

    @property
    def is_pattern(self) -> bool:
        return any(_is_pattern(part) for part in self._parts())

    def __str__(self) -> str:
        return self._channel_str

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _Channel):
            return self._channel_str == other._channel_str
        if isinstance(other, str):
            return self._channel_str == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._channel_str)


class _KeyChannel(_Channel):
    """A channel named by a key (or a pattern of keys)."""

    def __init__(self, key_or_pattern: str, db: int = 0) -> None:
        self.key_or_pattern, self.db = key_or_pattern, db
        self._named(key_or_pattern)

    def _parts(self) -> tuple[str, ...]:
        return (self.key_or_pattern,)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.key_or_pattern!r}, db={self.db})"


class _EventChannel(_Channel):
    """A channel named by an event (or a pattern of events)."""

    def __init__(self, event: str, db: int = 0) -> None:
        self.event, self.db = event, db
        self._named(event)

    def _parts(self) -> tuple[str, ...]:
        return (self.event,)

    @classmethod
    def all_events(cls, db: int = 0) -> Self:
        return cls("*", db=db)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.event!r}, db={self.db})"


class KeyspaceChannel(_KeyChannel):
    """``__keyspace@<db>__:<key>``: events on matching keys (the message is
    the event's name)."""

    PREFIX = "__keyspace@"


class KeyeventChannel(_EventChannel):
    """``__keyevent@<db>__:<event>``: an event on any key (the message is
    the key)."""

    PREFIX = "__keyevent@"


class SubkeyspaceChannel(_KeyChannel):
    """``__subkeyspace@<db>__:<key>``: events on a key's subkeys (fields)."""

    PREFIX = "__subkeyspace@"


class SubkeyeventChannel(_EventChannel):
    """``__subkeyevent@<db>__:<event>``: an event's key and subkeys."""

    PREFIX = "__subkeyevent@"


class SubkeyspaceitemChannel(_Channel):
    """``__subkeyspaceitem@<db>__:<key>\\n<subkey>``: events on one subkey."""

    PREFIX = "__subkeyspaceitem@"

    def __init__(self, key_or_pattern: str, subkey_or_pattern: str, db: int = 0) -> None:
        self.key_or_pattern, self.subkey_or_pattern, self.db = (
            key_or_pattern,
            subkey_or_pattern,
            db,
        )
        self._named(f"{key_or_pattern}\n{subkey_or_pattern}")

    def _parts(self) -> tuple[str, ...]:
        return (self.key_or_pattern, self.subkey_or_pattern)

    def __repr__(self) -> str:
        return (
            f"SubkeyspaceitemChannel({self.key_or_pattern!r}, "
            f"{self.subkey_or_pattern!r}, db={self.db})"
        )


class SubkeyspaceeventChannel(_Channel):
    """``__subkeyspaceevent@<db>__:<event>|<key>``: an event's subkeys on a key."""

    PREFIX = "__subkeyspaceevent@"

    def __init__(self, event: str, key_or_pattern: str, db: int = 0) -> None:
        self.event, self.key_or_pattern, self.db = event, key_or_pattern, db
        self._named(f"{event}|{key_or_pattern}")

    def _parts(self) -> tuple[str, ...]:
        return (self.event, self.key_or_pattern)

    def __repr__(self) -> str:
        return f"SubkeyspaceeventChannel({self.event!r}, {self.key_or_pattern!r}, db={self.db})"


#: A channel to subscribe to: a name, or one of the channel classes.
ChannelT = Union[str, bytes, _Channel]


class ChannelType(Enum):
    KEYSPACE = "keyspace"
    KEYEVENT = "keyevent"
    SUBKEYSPACE = "subkeyspace"
    SUBKEYEVENT = "subkeyevent"
    SUBKEYSPACEITEM = "subkeyspaceitem"
    SUBKEYSPACEEVENT = "subkeyspaceevent"


#: Longest prefix first: ``__subkeyspaceitem@`` also starts ``__subkeyspace``.
_TYPES = sorted(
    [
        (KeyspaceChannel.PREFIX, ChannelType.KEYSPACE),
        (KeyeventChannel.PREFIX, ChannelType.KEYEVENT),
        (SubkeyspaceChannel.PREFIX, ChannelType.SUBKEYSPACE),
        (SubkeyeventChannel.PREFIX, ChannelType.SUBKEYEVENT),
        (SubkeyspaceitemChannel.PREFIX, ChannelType.SUBKEYSPACEITEM),
        (SubkeyspaceeventChannel.PREFIX, ChannelType.SUBKEYSPACEEVENT),
    ],
    key=lambda entry: -len(entry[0]),
)

#: ``__<kind>@<db>__:<rest>``; ``<db>`` may be ``*`` in a pattern.
_CHANNEL = re.compile(r"^__(\w+)@(\d+|\*)__:(.+)$", re.DOTALL)


def get_channel_type(channel: Union[str, bytes]) -> Optional[ChannelType]:
    """Which kind of notification channel ``channel`` is, if any."""
    text = _text(channel)
    for prefix, kind in _TYPES:
        if text.startswith(prefix):
            return kind
    return None


def _subkeys(text: str) -> list[str]:
    """``<len>:<subkey>[,<len>:<subkey>...]``, as the server writes them."""
    subkeys: list[str] = []
    at = 0
    while at < len(text):
        colon = text.index(":", at)
        start = colon + 1
        end = start + int(text[at:colon])
        subkeys.append(text[start:end])
        at = end + 1 if end < len(text) and text[end] == "," else end
    return subkeys


@dataclass
class KeyNotification:
    """One notification: the key, the event, the database (-1 for a
    pattern's ``*``), the channel it came on, whether it is a keyspace
    notification (the key in the channel) rather than a keyevent one, the
    message as sent, and the subkeys of a subkey notification."""

    key: str
    event_type: str
    database: int
    channel: str
    is_keyspace: bool
    data: str
    subkeys: list[str] = field(default_factory=list)

    @classmethod
    def from_message(
        cls, message: Optional[dict[str, Any]], key_prefix: Union[str, bytes, None] = None
    ) -> Optional[KeyNotification]:
        """The notification a pub/sub message carries, or ``None`` (not a
        published message, not a notification, or a key outside
        ``key_prefix``, which is stripped from the key)."""
        if message is None or message.get("type") not in ("message", "pmessage"):
            return None
        channel, data = message.get("channel"), message.get("data")
        if channel is None or data is None:
            return None
        return cls.try_parse(channel, data, key_prefix)

    @classmethod
    def try_parse(
        cls,
        channel: Union[str, bytes],
        data: Union[str, bytes],
        key_prefix: Union[str, bytes, None] = None,
    ) -> Optional[KeyNotification]:
        """As :meth:`from_message`, from a channel and its message."""
        channel, data = _text(channel), _text(data)
        kind = get_channel_type(channel)
        matched = _CHANNEL.match(channel)
        if kind is None or matched is None:
            return None
        database = -1 if matched.group(2) == "*" else int(matched.group(2))
        rest = matched.group(3)
        subkeys: list[str] = []
        try:
            if kind is ChannelType.KEYSPACE:
                key, event, keyspace = rest, data, True
            elif kind is ChannelType.KEYEVENT:
                key, event, keyspace = data, rest, False
            elif kind is ChannelType.SUBKEYSPACE:
                event, _, listed = data.partition("|")
                key, keyspace, subkeys = rest, True, _subkeys(listed)
            elif kind is ChannelType.SUBKEYEVENT:
                colon = data.index(":")
                start = colon + 1
                end = start + int(data[:colon])
                key, event, keyspace = data[start:end], rest, False
                subkeys = _subkeys(data[end + 1 :])
            elif kind is ChannelType.SUBKEYSPACEITEM:
                key, subkey = rest.split("\n", 1)
                event, keyspace, subkeys = data, True, [subkey]
            else:
                event, key = rest.split("|", 1)
                keyspace, subkeys = False, _subkeys(data)
        except ValueError:
            return None  # a malformed payload is no notification
        if key_prefix:
            prefix = _text(key_prefix)
            if not key.startswith(prefix):
                return None
            key = key[len(prefix) :]
        return cls(key, event, database, channel, keyspace, data, subkeys)

    def key_starts_with(self, prefix: Union[str, bytes]) -> bool:
        return self.key.startswith(_text(prefix))


#: A handler: called with each notification instead of returning it.
HandlerT = Callable[[KeyNotification], Any]


def split_channels(
    channels: tuple[ChannelT, ...], handler: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Channels as (patterns, exact names), each name to ``handler``."""
    patterns: dict[str, Any] = {}
    exact: dict[str, Any] = {}
    for channel in channels:
        name = str(channel) if isinstance(channel, _Channel) else _text(channel)
        (patterns if _is_pattern(name) else exact)[name] = handler
    return patterns, exact


class _PubSubSource(Protocol):
    def pubsub(self) -> Any: ...


_ClientT = TypeVar("_ClientT", bound=_PubSubSource)


class _Subscriber(Generic[_ClientT]):
    """What the sync and the asyncio subscribers share: their settings, and
    the notification a pub/sub message is to them."""

    def __init__(
        self,
        redis_client: _ClientT,
        key_prefix: Union[str, bytes, None] = None,
        ignore_subscribe_messages: bool = True,
    ) -> None:
        self.redis = redis_client
        self.key_prefix = key_prefix
        self.ignore_subscribe_messages = ignore_subscribe_messages
        self._closed = False
        self._pubsub = redis_client.pubsub()

    def _ignoring(self, ignore_subscribe_messages: Optional[bool]) -> bool:
        """``get_message``'s argument, or the subscriber's setting."""
        if ignore_subscribe_messages is None:
            return self.ignore_subscribe_messages
        return ignore_subscribe_messages

    def _notification(self, message: Optional[dict[str, Any]]) -> Optional[KeyNotification]:
        return KeyNotification.from_message(message, key_prefix=self.key_prefix)

    @property
    def subscribed(self) -> bool:
        return not self._closed and bool(self._pubsub.subscribed)


class KeyspaceNotifications(_Subscriber["Redis[Any]"]):
    """A subscriber to notification channels (redis-py's standalone
    ``KeyspaceNotifications``): ``subscribe`` takes channels (patterns found
    by their wildcards), ``get_message``/``listen`` give
    :class:`KeyNotification` objects, a handler given to ``subscribe`` gets
    them instead. Confirmations are never returned."""

    _pubsub: PubSub

    def _handler(self, handler: Optional[HandlerT]) -> Optional[Callable[[dict[str, Any]], None]]:
        """``handler`` as a pub/sub handler: it gets the notifications."""
        if handler is None:
            return None
        prefix = self.key_prefix

        def deliver(message: dict[str, Any]) -> None:
            notification = KeyNotification.from_message(message, key_prefix=prefix)
            if notification is not None:
                handler(notification)

        return deliver

    def subscribe(self, *channels: ChannelT, handler: Optional[HandlerT] = None) -> None:
        patterns, exact = split_channels(channels, self._handler(handler))
        if patterns:
            self._pubsub.psubscribe(**patterns)
        if exact:
            self._pubsub.subscribe(**exact)

    def unsubscribe(self, *channels: ChannelT) -> None:
        patterns, exact = split_channels(channels, None)
        if patterns:
            self._pubsub.punsubscribe(*patterns)
        if exact:
            self._pubsub.unsubscribe(*exact)

    def subscribe_keyspace(
        self, key_or_pattern: str, db: int = 0, handler: Optional[HandlerT] = None
    ) -> None:
        self.subscribe(KeyspaceChannel(key_or_pattern, db=db), handler=handler)

    def subscribe_keyevent(
        self, event: str, db: int = 0, handler: Optional[HandlerT] = None
    ) -> None:
        self.subscribe(KeyeventChannel(event, db=db), handler=handler)

    def subscribe_subkeyspace(
        self, key_or_pattern: str, db: int = 0, handler: Optional[HandlerT] = None
    ) -> None:
        self.subscribe(SubkeyspaceChannel(key_or_pattern, db=db), handler=handler)

    def subscribe_subkeyevent(
        self, event: str, db: int = 0, handler: Optional[HandlerT] = None
    ) -> None:
        self.subscribe(SubkeyeventChannel(event, db=db), handler=handler)

    def subscribe_subkeyspaceitem(
        self,
        key_or_pattern: str,
        subkey_or_pattern: str,
        db: int = 0,
        handler: Optional[HandlerT] = None,
    ) -> None:
        channel = SubkeyspaceitemChannel(key_or_pattern, subkey_or_pattern, db=db)
        self.subscribe(channel, handler=handler)

    def subscribe_subkeyspaceevent(
        self, event: str, key_or_pattern: str, db: int = 0, handler: Optional[HandlerT] = None
    ) -> None:
        self.subscribe(SubkeyspaceeventChannel(event, key_or_pattern, db=db), handler=handler)

    def get_message(
        self, ignore_subscribe_messages: Optional[bool] = None, timeout: float = 0.0
    ) -> Optional[KeyNotification]:
        """The next notification, waiting up to ``timeout`` seconds; ``None``
        if none came, or a handler took it."""
        if self._closed:
            return None
        ignore = self._ignoring(ignore_subscribe_messages)
        message = self._pubsub.get_message(ignore_subscribe_messages=ignore, timeout=timeout)
        return self._notification(message)

    def listen(self) -> Iterator[KeyNotification]:
        """Yields notifications while anything is subscribed to."""
        while self.subscribed:
            notification = self.get_message(timeout=1.0)
            if notification is not None:
                yield notification

    def close(self) -> None:
        self._closed = True
        self._pubsub.close()

    def __enter__(self) -> KeyspaceNotifications:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _validate_all_handlers(self) -> None:
        check_handlers(self._pubsub.channels, self._pubsub.patterns)

    def run_in_thread(
        self,
        poll_timeout: float = 0.0,
        daemon: bool = False,
        exception_handler: Optional[
            Callable[[BaseException, KeyspaceNotifications, KeyspaceWorkerThread], object]
        ] = None,
    ) -> KeyspaceWorkerThread:
        """Runs the handlers in a thread (every subscription needs one);
        ``stop()`` on the thread ends it and closes this subscriber."""
        self._validate_all_handlers()
        thread = KeyspaceWorkerThread(
            self, poll_timeout, daemon=daemon, exception_handler=exception_handler
        )
        thread.start()
        return thread


def check_handlers(channels: dict[Any, Any], patterns: dict[Any, Any]) -> None:
    """A running loop needs a handler for every subscription."""
    for label, table in (("Channel", channels), ("Pattern", patterns)):
        for name, handler in table.items():
            if handler is None:
                raise RedisError(f"{label} '{name}' has no handler registered")


class KeyspaceWorkerThread(threading.Thread):
    """Reads notifications so their handlers run (``run_in_thread``)."""

    def __init__(
        self,
        notifications: KeyspaceNotifications,
        poll_timeout: float,
        daemon: bool = False,
        exception_handler: Optional[
            Callable[[BaseException, KeyspaceNotifications, KeyspaceWorkerThread], object]
        ] = None,
    ) -> None:
        super().__init__(name="babushka-keyspace-worker")
        self.daemon = daemon
        self.notifications = notifications
        self.poll_timeout = poll_timeout
        self.exception_handler = exception_handler
        self._running = threading.Event()

    def run(self) -> None:
        if self._running.is_set():
            return
        self._running.set()
        # A wait ends as soon as a message comes or stop() is called, so a
        # poll_timeout of 0 need not spin.
        wait = self.poll_timeout if self.poll_timeout > 0 else 1.0
        while self._running.is_set():
            try:
                self.notifications.get_message(ignore_subscribe_messages=True, timeout=wait)
            except BaseException as error:
                if self.exception_handler is None:
                    raise
                self.exception_handler(error, self.notifications, self)
        self.notifications.close()

    def stop(self) -> None:
        self._running.clear()
        self.notifications._pubsub._interrupt()
