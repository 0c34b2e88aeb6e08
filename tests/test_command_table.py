"""The command table (``core/src/table/``) against the servers themselves.

Once per server (Redis 7.0, Valkey 9.1):

- every command and subcommand that ``COMMAND INFO`` lists is in the table,
  or in its list of commands left out on purpose (with a reason);
- each entry's key positions agree with ``COMMAND INFO`` (the legacy first
  key, last key and step, ``movablekeys``, every key spec), and the keys it
  finds in a command agree with ``COMMAND GETKEYS``;
- its flags (``write``, ``readonly``, ``blocking``, ...) and cluster policies
  agree, except where the two servers disagree: the table then follows
  Valkey 9.1, and ``REDIS_7_0_DIFFERS`` lists where Redis 7.0 says otherwise;
- every shape is that of a case of ``support/shape_cases.py`` (whose
  replies ``test_execute_command.py`` holds to redis-py's), and the command
  methods give the shapes of their entries.

These tests need no transport: each makes the clients it needs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import babushka
from babushka import _core
from babushka import _shapes as S
from babushka.commands.arrays import ArrayCommands
from support.servers import RedisServer
from support.shape_cases import BUSY_CASES, CASES, SESSION_CASES

#: Flags the table copies from COMMAND INFO (the rest it leaves out).
SERVER_FLAGS = frozenset(
    {
        "write",
        "readonly",
        "denyoom",
        "admin",
        "pubsub",
        "noscript",
        "blocking",
        "fast",
        "no_auth",
        "no_multi",
        "no_mandatory_keys",
    }
)

#: Where Redis 7.0 disagrees with Valkey 9.1, whose word the table takes: the
#: command and what differs (a flag's name, ``key_flags`` or ``policy``).
REDIS_7_0_DIFFERS: dict[str, set[str]] = {
    # Valkey lets scripts run these (they do not block there).
    **{
        name: {"noscript"}
        for name in ("BLMOVE", "BLPOP", "BRPOP", "BRPOPLPUSH", "BZPOPMAX", "BZPOPMIN")
    },
    "WAIT": {"noscript", "blocking"},
    # Valkey refuses them inside MULTI.
    "CLIENT REPLY": {"no_multi"},
    "MULTI": {"no_multi"},
    "WATCH": {"no_multi"},
    # Valkey marks the destination's flags as depending on the arguments.
    "GEORADIUS": {"key_flags"},
    "GEORADIUSBYMEMBER": {"key_flags"},
    # The destination: RW on Redis 7.0, OW on Valkey.
    "SINTERSTORE": {"key_flags"},
    # Cluster policies that Valkey added or changed.
    **{
        name: {"policy"}
        for name in (
            "ACL DELUSER",
            "ACL SAVE",
            "ACL SETUSER",
            "CLIENT SETNAME",
            "CONFIG RESETSTAT",
            "CONFIG REWRITE",
            "LATENCY RESET",
            "MSETNX",
            "RANDOMKEY",
            "SCAN",
        )
    },
}


@pytest.fixture(scope="module")
def server_commands(redis_server: RedisServer) -> dict[str, dict[str, Any]]:
    """COMMAND INFO of the server, flattened: ``"CLIENT LIST"`` beside ``"CLIENT"``."""
    client = babushka.Redis(host=redis_server.host, port=redis_server.port, decode_responses=True)
    try:
        infos = client.execute_command("COMMAND", "INFO")
    finally:
        client.close()
    commands: dict[str, dict[str, Any]] = {}

    def add(info: list[Any]) -> None:
        name = info[0].upper().replace("|", " ")
        commands[name] = {
            "arity": info[1],
            "flags": set(info[2]),
            "range": (info[3], info[4], info[5]),
            "tips": info[7],
            "key_specs": [_pairs(spec) for spec in info[8]],
        }
        for sub in info[9]:
            add(sub)

    for info in infos:
        add(info)
    return commands


@pytest.fixture(scope="module")
def table() -> dict[str, _core.CommandSpec]:
    return {spec.name: spec for spec in _core.command_table()}


def _pairs(items: list[Any]) -> dict[str, Any]:
    return {items[i]: items[i + 1] for i in range(0, len(items), 2)}


def _differs(redis_server: RedisServer, name: str, what: str) -> bool:
    """Whether the table may disagree with this server on ``what`` of ``name``."""
    return redis_server.kind == "redis" and what in REDIS_7_0_DIFFERS.get(name, set())


# -- every command is there ----------------------------------------------------


def test_every_server_command_is_in_the_table_or_left_out_on_purpose(
    server_commands: dict[str, dict[str, Any]], table: dict[str, _core.CommandSpec]
) -> None:
    absent = _core.absent_commands()
    missing = sorted(name for name in server_commands if name not in table and name not in absent)
    assert not missing, f"not in the command table (tools/command_table.py adds them): {missing}"
    assert all(reason for reason in absent.values())
    assert not set(absent) & set(table)


def test_lookups_find_entries_in_any_case(table: dict[str, _core.CommandSpec]) -> None:
    assert _core.command_spec("get") is table["GET"]
    assert _core.command_spec(b"Client", b"list") is table["CLIENT LIST"]
    assert _core.command_spec("CONFIG", "nosuch") is table["CONFIG"]
    assert _core.command_spec("GET", "k") is table["GET"]
    assert _core.command_spec("NOSUCHCOMMAND") is None
    assert _core.command_spec(7) is None
    assert "CLIENT LIST" in table["CLIENT"].subcommands


# -- key positions -------------------------------------------------------------


def _key_spec(spec: dict[str, Any]) -> tuple[Any, ...]:
    """A key spec of COMMAND INFO in the table's form."""
    begin, find = _pairs(spec["begin_search"]), _pairs(spec["find_keys"])
    begin_spec = _pairs(begin["spec"]) if begin["spec"] else {}
    find_spec = _pairs(find["spec"]) if find["spec"] else {}
    if begin["type"] == "index":
        begin_form: tuple[Any, ...] = ("index", begin_spec["index"])
    elif begin["type"] == "keyword":
        begin_form = ("keyword", begin_spec["keyword"], begin_spec["startfrom"])
    else:
        begin_form = ("unknown",)
    if find["type"] == "range":
        find_form: tuple[Any, ...] = (
            "range",
            find_spec["lastkey"],
            find_spec["keystep"],
            find_spec["limit"],
        )
    elif find["type"] == "keynum":
        find_form = ("keynum", find_spec["keynumidx"], find_spec["firstkey"], find_spec["keystep"])
    else:
        find_form = ("unknown",)
    return begin_form, find_form, frozenset(spec["flags"])


def test_key_positions_agree_with_command_info(
    redis_server: RedisServer,
    server_commands: dict[str, dict[str, Any]],
    table: dict[str, _core.CommandSpec],
) -> None:
    wrong = []
    for name, info in server_commands.items():
        spec = table.get(name)
        if spec is None:
            continue
        ours = (spec.first_key, spec.last_key, spec.step)
        if ours != info["range"]:
            wrong.append(f"{name}: first/last/step {ours}, server {info['range']}")
        if spec.movable_keys != ("movablekeys" in info["flags"]):
            wrong.append(f"{name}: movable keys {spec.movable_keys}")
        theirs = [_key_spec(key_spec) for key_spec in info["key_specs"]]
        if _differs(redis_server, name, "key_flags"):
            positions = [(begin, find) for begin, find, _ in spec.key_specs]
            if positions != [(begin, find) for begin, find, _ in theirs]:
                wrong.append(f"{name}: key specs {spec.key_specs}, server {theirs}")
        elif list(spec.key_specs) != theirs:
            wrong.append(f"{name}: key specs {spec.key_specs}, server {theirs}")
    assert not wrong, "\n".join(wrong)


def _server_keys(client: babushka.Redis, words: tuple[Any, ...]) -> list[bytes]:
    try:
        # As redis-py: COMMAND GETKEYS gives str; the table's keys are bytes.
        return [key.encode() for key in client.execute_command("COMMAND", "GETKEYS", *words)]
    except babushka.ResponseError as error:
        if "no key arguments" in str(error):
            return []
        raise


def _fixed_position_samples(
    server_commands: dict[str, dict[str, Any]], table: dict[str, _core.CommandSpec]
) -> Iterator[tuple[Any, ...]]:
    """A command of the least length the server accepts (and two words more
    for a variable one), for every command whose keys are at fixed positions."""
    for name, info in server_commands.items():
        spec = table.get(name)
        if spec is None or spec.movable_keys or not spec.key_specs or spec.subcommands:
            continue
        arity = info["arity"]
        length = arity if arity > 0 else -arity + 2
        words = name.split()
        yield (*words, *(f"w{at}" for at in range(len(words), length)))


#: Commands whose keys move about, as a client would send them.
MOVABLE_SAMPLES = [
    ("ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "2"),
    ("ZINTER", "2", "a", "b", "WITHSCORES"),
    ("ZDIFFSTORE", "d", "2", "a", "b"),
    ("ZINTERCARD", "2", "a", "b", "LIMIT", "1"),
    ("SINTERCARD", "3", "a", "b", "c"),
    ("LMPOP", "2", "a", "b", "LEFT", "COUNT", "2"),
    ("BLMPOP", "0.5", "2", "a", "b", "RIGHT"),
    ("ZMPOP", "1", "z", "MIN"),
    ("BZMPOP", "0", "2", "y", "z", "MAX"),
    ("EVAL", "return 1", "2", "a", "b", "argument"),
    ("EVAL_RO", "return 1", "0", "argument"),
    ("EVALSHA", "0" * 40, "1", "a"),
    ("FCALL", "f", "2", "a", "b"),
    ("FCALL_RO", "f", "0"),
    ("XREAD", "COUNT", "1", "STREAMS", "a", "b", "0", "0"),
    ("XREAD", "BLOCK", "10", "streams", "s", "$"),
    ("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"),
    ("GEORADIUS", "g", "0", "0", "1", "km", "STORE", "d"),
    ("GEORADIUS", "g", "0", "0", "1", "km", "WITHDIST"),
    ("GEORADIUSBYMEMBER", "g", "m", "1", "km", "STOREDIST", "d"),
    ("MIGRATE", "host", "6379", "k", "0", "5000"),
    ("MIGRATE", "host", "6379", "k", "0", "5000", "REPLACE"),
    ("SORT", "l", "LIMIT", "0", "1"),
    ("SORT_RO", "l", "ALPHA"),
]


def test_keys_agree_with_command_getkeys(
    redis_server: RedisServer,
    server_commands: dict[str, dict[str, Any]],
    table: dict[str, _core.CommandSpec],
) -> None:
    samples = [*_fixed_position_samples(server_commands, table), *MOVABLE_SAMPLES]
    assert len(samples) > 150
    client = babushka.Redis(host=redis_server.host, port=redis_server.port)
    wrong = []
    try:
        for words in samples:
            ours = _core.command_keys(*words)
            theirs = _server_keys(client, words)
            if ours != theirs:
                wrong.append(f"{' '.join(words)}: {ours}, server {theirs}")
    finally:
        client.close()
    assert not wrong, "\n".join(wrong)


def test_keys_the_table_cannot_follow() -> None:
    # SORT's BY/GET patterns and STORE, and MIGRATE's empty key before KEYS,
    # only the server's own parsing finds: a router hashes the first key.
    assert _core.command_keys("SORT", "l", "BY", "w*", "STORE", "d") == [b"l"]
    assert _core.command_keys("MIGRATE", "h", "1", "", "0", "5", "KEYS", "a", "b") == [
        b"",
        b"a",
        b"b",
    ]
    # A shard channel is hashed like a key but is not one (COMMAND GETKEYS agrees).
    assert _core.command_keys("SPUBLISH", "channel", "message") == []
    assert _core.command_keys("NOSUCHCOMMAND", "k") == []


# -- flags and policies ------------------------------------------------------------


def test_flags_agree_with_command_info(
    redis_server: RedisServer,
    server_commands: dict[str, dict[str, Any]],
    table: dict[str, _core.CommandSpec],
) -> None:
    wrong = []
    for name, info in server_commands.items():
        spec = table.get(name)
        if spec is None:
            continue
        ours = spec.flags & SERVER_FLAGS
        theirs = info["flags"] & SERVER_FLAGS
        for flag in ours ^ theirs:
            if not _differs(redis_server, name, flag):
                wrong.append(f"{name}: {flag} {'in' if flag in ours else 'not in'} the table")
    assert not wrong, "\n".join(wrong)


def test_policies_agree_with_command_info(
    redis_server: RedisServer,
    server_commands: dict[str, dict[str, Any]],
    table: dict[str, _core.CommandSpec],
) -> None:
    wrong = []
    for name, info in server_commands.items():
        spec = table.get(name)
        if spec is None or _differs(redis_server, name, "policy"):
            continue
        tips = dict(tip.split(":", 1) for tip in info["tips"] if ":" in tip)
        theirs = (tips.get("request_policy"), tips.get("response_policy"))
        if (spec.request_policy, spec.response_policy) != theirs:
            wrong.append(f"{name}: {spec.request_policy}, {spec.response_policy}; {theirs}")
    assert not wrong, "\n".join(wrong)


def test_the_differences_of_redis_7_0_are_real(
    redis_server: RedisServer,
    server_commands: dict[str, dict[str, Any]],
    table: dict[str, _core.CommandSpec],
) -> None:
    """REDIS_7_0_DIFFERS lists only what does differ (on Redis 7.0), and
    nothing on Valkey: the list cannot go stale."""
    if redis_server.kind != "redis":
        # On Valkey the other tests ran with no exception at all.
        return
    stale = []
    for name, whats in REDIS_7_0_DIFFERS.items():
        spec, info = table[name], server_commands[name]
        for what in whats:
            if what == "key_flags":
                differs = [flags for _, _, flags in spec.key_specs] != [
                    _key_spec(key_spec)[2] for key_spec in info["key_specs"]
                ]
            elif what == "policy":
                tips = dict(tip.split(":", 1) for tip in info["tips"] if ":" in tip)
                differs = (spec.request_policy, spec.response_policy) != (
                    tips.get("request_policy"),
                    tips.get("response_policy"),
                )
            else:
                differs = (what in spec.flags) != (what in info["flags"])
            if not differs:
                stale.append(f"{name}: {what}")
    assert not stale, f"REDIS_7_0_DIFFERS lists what does not differ: {stale}"


def test_babushkas_own_flags() -> None:
    def named(flag: str) -> set[str]:
        return {spec.name for spec in _core.command_table() if flag in spec.flags}

    assert named("session") == {"MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH"}
    assert {"SUBSCRIBE", "SSUBSCRIBE", "MONITOR", "CLIENT REPLY"} <= named("unpaired")
    assert named("dedicated") == named("blocking") - {"WAIT", "WAITAOF"}
    assert named("alone") == {"QUIT", "RESET", "HELLO"}
    assert _core.command_spec("BLPOP").timeout == "last_seconds"  # type: ignore[union-attr]
    assert _core.command_spec("WAIT").timeout == "at_millis:2"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "words",
    [
        (b"subscribe", "ch"),
        ("Ssubscribe", "ch"),
        (bytearray(b"MONITOR"),),
        ("client", b"reply", "off"),
        ("CLIENT REPLY", "SKIP"),
        ("SYNC",),
        ("PSYNC", "?", "-1"),
        (b"watch", "k"),
        ("multi",),
    ],
)
def test_execute_command_refuses_by_the_tables_flags(
    redis_server: RedisServer, words: tuple[Any, ...]
) -> None:
    client = babushka.Redis(host=redis_server.host, port=redis_server.port)
    try:
        with pytest.raises(babushka.DataError, match="cannot"):
            client.execute_command(*words)
        # Nothing was sent: the connection still pairs replies with requests.
        assert client.echo("in step") == b"in step"
    finally:
        client.close()


# -- reply shapes ------------------------------------------------------------------


def test_every_shape_has_its_python_name() -> None:
    exported = {
        name.removeprefix("SHAPE_"): getattr(_core, name)
        for name in dir(_core)
        if name.startswith("SHAPE_")
    }
    named = {name: getattr(S, name) for name in dir(S) if name.isupper()}
    assert named == exported
    assert sorted(named.values()) == list(range(len(named)))


def test_every_shape_has_a_case() -> None:
    """Each shape is some case's (``support/shape_cases.py``; that every
    shaped entry has a case, ``test_execute_command.py`` checks), so the
    comparisons with redis-py cover every shape."""
    shapes = {
        spec.shape(protocol)
        for spec in _core.command_table()
        for protocol in (2, 3)
        if spec.name in {*CASES, *BUSY_CASES, *SESSION_CASES}
    }
    # RAW is every other entry's; INT only turns SCAN's cursor into an int
    # (test_the_int_shape); DEBUG_OBJECT is debug_object()'s, as DEBUG's other
    # subcommands answer otherwise (test_server).
    assert shapes | {S.RAW, S.INT, S.DEBUG_OBJECT} == {
        getattr(S, name) for name in dir(S) if name.isupper()
    }


def test_a_subcommand_has_its_shape_in_either_form(redis_server: RedisServer) -> None:
    client = babushka.Redis(host=redis_server.host, port=redis_server.port)
    try:
        one_word = client.execute_command("CONFIG GET", "maxmemory")
        assert one_word == client.execute_command("CONFIG", "GET", "maxmemory")
        assert one_word == client.execute_command(b"config", b"get", "maxmemory")
        assert one_word == {"maxmemory": "0"}  # str, as redis-py gives it
        assert client.execute_command("CONFIG", "SET", "maxmemory", "0") is True
    finally:
        client.close()


#: Commands of redis-py 8 that neither test server has (Redis 8.4+ and the
#: array commands, and Redis 6's STRALGO), which methods name: the table has
#: no entry for them.
NEWER = frozenset(
    {"DELEX", "DIGEST", "HOTKEYS", "SDIFFCARD", "STRALGO", "SUNIONCARD"}
    | {name.upper() for name in vars(ArrayCommands) if name.startswith("ar")}
)

#: ``self._execute(S.SHAPE, "NAME"[, "SUB"], ...)`` in a command method.
_METHOD_CALL = re.compile(r'_execute\(\s*S\.(\w+),\s*"([A-Z_]+)"(?:,\s*"([A-Z_-]+)")?')


def test_methods_give_their_entrys_shape() -> None:
    """A method that names its command gives the entry's default shape, so
    ``execute_command`` returns what the method does. (A shape that depends
    on the arguments, ``set(..., get=True)``, goes with words built in a list,
    which this does not read.) A command newer than both test servers
    (``NEWER``) has no entry, so ``execute_command`` gives its reply raw: its
    method must too."""
    commands = Path(babushka.__file__).parent / "commands"
    calls = [
        (path.name, *match.groups())
        for path in sorted(commands.glob("*.py"))
        for match in _METHOD_CALL.finditer(path.read_text())
    ]
    assert len(calls) > 100
    wrong = []
    for module, shape, name, sub in calls:
        spec = _core.command_spec(name, sub)
        if spec is None and name in NEWER:
            table_shape = S.RAW
        elif spec is None:
            table_shape = None
        else:
            table_shape = spec.resp2_shape
        if table_shape != getattr(S, shape):
            wrong.append(f"{module}: {name} {sub or ''} gives {shape}, the table {spec}")
    assert not wrong, "\n".join(wrong)


def test_the_int_shape(redis_server: RedisServer) -> None:
    client = babushka.Redis(host=redis_server.host, port=redis_server.port)
    try:
        assert client._execute(S.INT, "ECHO", "42") == 42
        assert client._execute(S.INT, "ECHO", "x") == b"x"
    finally:
        client.close()
