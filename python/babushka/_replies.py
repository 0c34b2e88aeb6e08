"""The parsers of the reply shapes the core leaves to Python.

The administration commands answer with text to split (``INFO``, ``CLIENT
LIST``) or nested arrays to name (``SLOWLOG GET``, ``ACL GETUSER``), and
redis-py gives them as dicts. Their shapes are declared in the core's
command table like every other (``core/src/table/shape.rs``, from
``STR`` on); the binding builds the reply in its RESP2 form (RESP3's maps
and sets as flat lists, doubles as text) with strings as bytes, or str with
``decode_responses``, and calls ``parse_<shape name>`` here with it. So a
command method, a pipeline and ``execute_command`` all give the same value,
on either protocol: redis-py's RESP2 one.

Text that redis-py decodes whatever ``decode_responses`` says is decoded
here as it does: UTF-8, with undecodable bytes replaced.
"""

from __future__ import annotations

import datetime
from typing import Any


def _text(value: Any) -> Any:
    """A bytes value as str; anything else as it is (redis-py's ``str_if_bytes``)."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return value


def _pairs(reply: Any) -> list[tuple[Any, Any]]:
    """The pairs of a flat ``[k, v, ...]`` array."""
    if reply is None:
        return []
    return list(zip(reply[::2], reply[1::2]))


def _number(value: str) -> Any:
    """An INFO value: an int, a float when it has a dot, or the text."""
    try:
        return float(value) if "." in value else int(value)
    except ValueError:
        return value


def _info_value(value: str) -> Any:
    if "," not in value and "=" not in value:
        return _number(value)
    if "=" not in value:
        return [_info_value(part) for part in value.split(",") if part]
    nested: dict[str, Any] = {}
    for part in value.split(","):
        if not part:
            continue
        if "=" in part:
            # A value may itself hold "=" only at the front: split at the last.
            key, item = part.rsplit("=", 1)
            nested[key] = _info_value(item)
        else:
            nested[part] = True
    return nested


def parse_str(reply: Any) -> Any:
    return _text(reply)


def parse_str_list(reply: Any) -> Any:
    if not isinstance(reply, list):
        return reply
    return [_text(item) for item in reply]


def parse_config_get(reply: Any) -> dict[Any, Any]:
    return {_text(key): _text(value) for key, value in _pairs(reply)}


def parse_info(reply: Any) -> dict[str, Any]:
    """INFO's ``key:value`` lines; ``module:`` lines gather in ``modules``,
    lines without a colon in ``__raw__``."""
    info: dict[str, Any] = {}
    for line in _text(reply).splitlines():
        if not line or line.startswith("#"):
            continue
        if ":" not in line:
            info.setdefault("__raw__", []).append(line)
            continue
        key, value = line.split(":", 1)
        if key == "cmdstat_host":
            # The one key with a colon of its own ("cmdstat_host:calls=...").
            key, value = line.rsplit(":", 1)
        if key == "module":
            info.setdefault("modules", []).append(_info_value(value))
        else:
            info[key] = _info_value(value)
    return info


def _client_line(line: str) -> dict[str, str]:
    """One ``k=v k=v`` line of CLIENT LIST; a word without ``=`` belongs to
    the value before it (a Unix socket path with a space in it)."""
    client: dict[str, str] = {}
    last = None
    for word in line.split(" "):
        if "=" in word:
            last, value = word.split("=", 1)
            client[last] = value
        elif last is not None:
            client[last] += " " + word
    return client


def parse_client_list(reply: Any) -> list[dict[str, str]]:
    return [client for client in map(_client_line, _text(reply).splitlines()) if client]


#: CLIENT INFO's fields the server writes as integers (redis-py's list).
_CLIENT_INT_FIELDS = frozenset(
    {"id", "age", "idle", "db", "sub", "psub", "multi", "qbuf", "qbuf-free", "obl"}
    | {"argv-mem", "oll", "omem", "tot-mem"}
)


def parse_client_info(reply: Any) -> dict[str, Any]:
    client: dict[str, Any] = {}
    for word in _text(reply).strip().split():
        key, value = word.split("=", 1)
        client[key] = int(value) if key in _CLIENT_INT_FIELDS else value
    return client


def parse_client_kill(reply: Any) -> Any:
    return reply if isinstance(reply, int) else _text(reply) == "OK"


def parse_tracking_info(reply: Any) -> list[Any]:
    return [_text(item) for item in reply]


def _words(value: Any) -> list[str]:
    """ACL GETUSER's ``keys``/``channels``: a space-separated string (or
    already a list, with selectors), ``""`` meaning none."""
    if isinstance(value, (bytes, str)):
        words = _text(value).split(" ")
        return [] if words == [""] else words
    return value  # type: ignore[no-any-return]


def parse_acl_getuser(reply: Any) -> dict[str, Any] | None:
    if reply is None:
        return None
    user = {_text(key): value for key, value in _pairs(reply)}
    user["flags"] = [_text(flag) for flag in user["flags"]]
    user["passwords"] = [_text(password) for password in user["passwords"]]
    user["keys"] = _words(user["keys"])
    if "channels" in user:
        user["channels"] = _words(user["channels"])
    if user.get("selectors"):
        user["selectors"] = [
            [_text(item) for pair in _pairs(selector) for item in pair]
            for selector in user["selectors"]
        ]
    rules = _text(user["commands"]).split(" ")
    user["commands"] = [rule for rule in rules if "@" not in rule]
    user["categories"] = [rule for rule in rules if "@" in rule]
    user["enabled"] = "on" in user["flags"]
    return user


def parse_acl_log(reply: Any) -> Any:
    if reply is None:
        return None
    if not isinstance(reply, list):
        return _text(reply) == "OK"  # ACL LOG RESET
    entries = []
    for raw in reply:
        entry = {_text(key): _text(value) for key, value in _pairs(raw)}
        entry["client-info"] = parse_client_info(entry.get("client-info", ""))
        entry["age-seconds"] = float(entry["age-seconds"])
        entries.append(entry)
    return entries


def parse_slowlog_get(reply: Any) -> list[dict[str, Any]]:
    """Each entry: ``id``, ``start_time``, ``duration``, ``command`` (its
    words joined by a space, bytes or str as they came), and where the
    server says them ``client_address`` and ``client_name``; an entry with
    a complexity before the words (Redis Enterprise) has ``complexity``."""
    entries = []
    for item in reply:
        entry: dict[str, Any] = {
            "id": item[0],
            "start_time": int(item[1]),
            "duration": int(item[2]),
        }
        at = 3
        if not isinstance(item[3], list):
            entry["complexity"] = item[3]
            at = 4
        words = item[at]
        space: Any = b" " if words and isinstance(words[0], bytes) else " "
        entry["command"] = space.join(words)
        if len(item) >= at + 3:
            entry["client_address"] = item[at + 1]
            entry["client_name"] = item[at + 2]
        entries.append(entry)
    return entries


def parse_memory_stats(reply: Any) -> dict[str, Any]:
    stats: dict[str, Any] = {}
    for key, value in _pairs(reply):
        key = _text(key)
        if key.startswith("db.") and isinstance(value, list):
            stats[key] = {_text(k): _text(v) for k, v in _pairs(value)}
        else:
            stats[key] = _text(value)
    return stats


def parse_debug_object(reply: Any) -> dict[str, Any]:
    # The object's type comes first, without a name.
    fields = dict(word.split(":", 1) for word in ("type:" + _text(reply)).split())
    parsed: dict[str, Any] = dict(fields)
    for name in ("refcount", "serializedlength", "lru", "lru_seconds_idle"):
        if name in parsed:
            parsed[name] = int(parsed[name])
    return parsed


def parse_command_info(reply: Any) -> dict[str, dict[str, Any]]:
    """COMMAND's entries by name: arity, flags, key positions, ACL
    categories, and on servers that send them tips, key specs and
    subcommands (as they came)."""
    commands = {}
    for entry in reply:
        name = _text(entry[0])
        details: dict[str, Any] = {
            "name": name,
            "arity": int(entry[1]),
            "flags": [_text(flag) for flag in entry[2]],
            "first_key_pos": entry[3],
            "last_key_pos": entry[4],
            "step_count": entry[5],
        }
        if len(entry) > 6:
            details["acl_categories"] = [_text(category) for category in entry[6]]
        if len(entry) > 7:
            details["tips"] = entry[7]
            details["key_specifications"] = entry[8]
            details["subcommands"] = entry[9]
        commands[name] = details
    return commands


def parse_datetime(reply: Any) -> datetime.datetime | None:
    """A Unix time in the local timezone, naive (as redis-py gives LASTSAVE)."""
    try:
        return datetime.datetime.fromtimestamp(int(reply)) if reply else None
    except (TypeError, ValueError):
        return None


def parse_time(reply: Any) -> tuple[int, int]:
    return (int(reply[0]), int(reply[1]))


def parse_pairs_list(reply: Any) -> list[dict[Any, Any]]:
    return [dict(_pairs(item)) for item in reply]


def parse_true(reply: Any) -> bool:
    return True


def parse_pong(reply: Any) -> bool:
    return bool(_text(reply) == "PONG")
