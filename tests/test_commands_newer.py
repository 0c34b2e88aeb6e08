"""Commands of redis-py 8 that the test servers do not run (newer ones, and
Redis 6's STRALGO): the words each sends, through a recording proxy; the
arguments each refuses before sending; the parsing of their replies where
Babushka parses them. Plus ``migrate`` (run for real, between two databases
of the same server) and the methods that only raise."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import babushka
from babushka import _core
from babushka.commands.arrays import (
    ArrayAggregateOperations,
    ArrayPredicateCombinator,
    ArrayPredicateType,
)
from babushka.commands.diagnostics import HotkeysMetricsTypes
from babushka.commands.strings import stralgo_reply
from support.recorder import RecordingProxy, as_words
from support.servers import RedisServer

ENCODINGS: list[tuple[str, tuple[Any, ...], dict[str, Any], list[Any]]] = [
    ("lmovem", ("a", "b"), {}, ["LMOVEM", "a", "b", "LEFT", "RIGHT"]),
    (
        "lmovem",
        ("a", "b", "right", "left"),
        {"count": 3, "ordering": "bulk"},
        ["LMOVEM", "a", "b", "RIGHT", "LEFT", "COUNT", 3, "BULK"],
    ),
    (
        "lmovem",
        ("a", "b"),
        {"count": 2, "mode": "EXACTLY", "ordering": "OBO"},
        ["LMOVEM", "a", "b", "LEFT", "RIGHT", "EXACTLY", 2, "OBO"],
    ),
    ("blmovem", ("a", "b", 0.5), {}, ["BLMOVEM", "a", "b", "LEFT", "RIGHT", 0.5]),
    (
        "blmovem",
        ("a", "b", 1),
        {"count": 2, "ordering": "OBO"},
        ["BLMOVEM", "a", "b", "LEFT", "RIGHT", 1, "COUNT", 2, "OBO"],
    ),
    ("increx", ("n",), {}, ["INCREX", "n"]),
    (
        "increx",
        ("n",),
        {"byint": 5, "lbound": 0, "ubound": 10, "saturate": True, "ex": 60, "enx": True},
        ["INCREX", "n", "BYINT", 5, "LBOUND", 0, "UBOUND", 10, "SATURATE", "EX", 60, "ENX"],
    ),
    (
        "increx",
        ("n",),
        {"byfloat": 1.5, "persist": True},
        ["INCREX", "n", "BYFLOAT", 1.5, "PERSIST"],
    ),
    ("increx", ("n",), {"pxat": 1700000000000}, ["INCREX", "n", "PXAT", 1700000000000]),
    (
        "stralgo",
        ("LCS", "ohmytext", "mynewtext"),
        {},
        ["STRALGO", "LCS", "STRINGS", "ohmytext", "mynewtext"],
    ),
    (
        "stralgo",
        ("LCS", "k1", "k2", "keys"),
        {"idx": True, "minmatchlen": 4, "withmatchlen": True},
        ["STRALGO", "LCS", "KEYS", "k1", "k2", "IDX", "MINMATCHLEN", 4, "WITHMATCHLEN"],
    ),
    ("stralgo", ("LCS", "a", "b"), {"len": True}, ["STRALGO", "LCS", "STRINGS", "a", "b", "LEN"]),
    (
        "hotkeys_start",
        ([HotkeysMetricsTypes.CPU, HotkeysMetricsTypes.NET],),
        {"count": 10, "duration": 30, "sample_ratio": 5, "slots": [1, 2]},
        [
            "HOTKEYS",
            "START",
            "METRICS",
            2,
            "CPU",
            "NET",
            "COUNT",
            10,
            "DURATION",
            30,
            "SAMPLE",
            5,
            "SLOTS",
            2,
            1,
            2,
        ],
    ),
    ("hotkeys_start", (["CPU"],), {}, ["HOTKEYS", "START", "METRICS", 1, "CPU"]),
    ("hotkeys_get", (), {}, ["HOTKEYS", "GET"]),
    ("arset", ("a", 3, "x", "y"), {}, ["ARSET", "a", 3, "x", "y"]),
    ("armset", ("a", {1: "x", 5: "y"}), {}, ["ARMSET", "a", 1, "x", 5, "y"]),
    ("arinsert", ("a", "x", "y"), {}, ["ARINSERT", "a", "x", "y"]),
    ("arring", ("a", 10, "x"), {}, ["ARRING", "a", 10, "x"]),
    ("arget", ("a", 3), {}, ["ARGET", "a", 3]),
    ("armget", ("a", 1, 2), {}, ["ARMGET", "a", 1, 2]),
    ("argetrange", ("a", 0, 9), {}, ["ARGETRANGE", "a", 0, 9]),
    ("arlastitems", ("a", 2), {"rev": True}, ["ARLASTITEMS", "a", 2, "REV"]),
    ("ardel", ("a", 1, 2), {}, ["ARDEL", "a", 1, 2]),
    ("ardelrange", ("a", (0, 3), [7, 9]), {}, ["ARDELRANGE", "a", 0, 3, 7, 9]),
    ("arcount", ("a",), {}, ["ARCOUNT", "a"]),
    ("arlen", ("a",), {}, ["ARLEN", "a"]),
    ("arnext", ("a",), {}, ["ARNEXT", "a"]),
    ("arseek", ("a", 4), {}, ["ARSEEK", "a", 4]),
    ("arinfo", ("a",), {"full": True}, ["ARINFO", "a", "FULL"]),
    ("arscan", ("a", 0, 9), {"limit": 5}, ["ARSCAN", "a", 0, 9, "LIMIT", 5]),
    (
        "argrep",
        ("a", 0, -1, [(ArrayPredicateType.GLOB, "x*"), ("EXACT", "y")]),
        {"combinator": ArrayPredicateCombinator.OR, "limit": 3, "withvalues": True, "nocase": True},
        [
            "ARGREP",
            "a",
            0,
            -1,
            "GLOB",
            "x*",
            "EXACT",
            "y",
            "OR",
            "LIMIT",
            3,
            "WITHVALUES",
            "NOCASE",
        ],
    ),
    ("arop", ("a", 0, -1, ArrayAggregateOperations.SUM), {}, ["AROP", "a", 0, -1, "SUM"]),
    ("arop", ("a", 0, -1, "MATCH", "x"), {}, ["AROP", "a", 0, -1, "MATCH", "x"]),
    ("hotkeys_stop", (), {}, ["HOTKEYS", "STOP"]),
    ("hotkeys_reset", (), {}, ["HOTKEYS", "RESET"]),
]


@pytest.mark.parametrize(("method", "args", "kwargs", "words"), ENCODINGS)
def test_what_they_send(
    redis_server: RedisServer,
    transport: str,
    method: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    words: list[Any],
) -> None:
    proxy = RecordingProxy(redis_server.host, redis_server.port)
    client = babushka.Redis(port=proxy.port, transport=transport, socket_timeout=10)
    try:
        client.ping()
        mark = proxy.mark()
        # The servers do not know the command: the words are what is checked.
        with pytest.raises(babushka.ResponseError, match="unknown command"):
            getattr(client, method)(*args, **kwargs)
        # A blocking one goes on a connection of its own, whose handshake
        # the proxy records first.
        sent = [c for c in proxy.settle(mark, 1) if c[0] == str(words[0]).encode()]
    finally:
        client.close()
        proxy.close()
    assert proxy.malformed == []
    assert sent == [as_words(*words)]


def test_blmovem_runs_on_a_connection_of_its_own() -> None:
    spec = _core.command_spec("BLMOVEM")
    assert spec is not None
    assert {"blocking", "dedicated"} <= spec.flags
    # The timeout comes before the optional COUNT words.
    assert spec.timeout == "at_seconds:5"
    assert (spec.first_key, spec.last_key, spec.step) == (1, 2, 1)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda r: r.lmovem("a", "b", count=2), "ordering"),
        (lambda r: r.lmovem("a", "b", mode="COUNT"), "count is required"),
        (lambda r: r.lmovem("a", "b", ordering="OBO"), "count is required"),
        (lambda r: r.lmovem("a", "b", count=2, ordering="FAST"), "ordering must be one of"),
        (lambda r: r.lmovem("a", "b", count=2, mode="SOME", ordering="OBO"), "mode must be one of"),
        (lambda r: r.lmovem("a", "b", src="UP"), "src must be one of"),
        (lambda r: r.blmovem("a", "b", -1), "timeout"),
        (lambda r: r.blmovem("a", "b", 1, count="2", ordering="OBO"), "count must be an int"),
        (lambda r: r.increx("n", byint=1, byfloat=1.0), "mutually exclusive"),
        (lambda r: r.increx("n", ex=1, px=1000), "mutually exclusive"),
        (lambda r: r.increx("n", ex=1, persist=True), "mutually exclusive"),
        (lambda r: r.increx("n", enx=True), "enx requires"),
        (lambda r: r.increx("n", enx=True, persist=True), "enx requires"),
        (lambda r: r.stralgo("LCSX", "a", "b"), "supported algorithms"),
        (lambda r: r.stralgo("LCS", "a", "b", specific_argument="values"), "only keys or strings"),
        (lambda r: r.stralgo("LCS", "a", "b", len=True, idx=True), "len and idx"),
        (lambda r: r.stralgo("LCS", "a", "b", minmatchlen="4"), "minmatchlen"),
        (lambda r: r.hotkeys_start([]), "at least one metric"),
        (lambda r: r.hotkeys_start(["DISK"]), "DISK"),
        (lambda r: r.hotkeys_start(["CPU"], count="10"), "count"),
        (lambda r: r.hotkeys_start(["CPU"], slots=["1"]), "slots"),
        (lambda r: r.migrate("h", 1, [], 0, 10), "at least one key"),
        (lambda r: r.arset("a", 0), "at least one value"),
        (lambda r: r.arset("a", "0", "x"), "index must be an int"),
        (lambda r: r.armset("a", {}), "at least one index"),
        (lambda r: r.armget("a"), "at least one index"),
        (lambda r: r.ardelrange("a", (1, 2, 3)), "pairs"),
        (lambda r: r.argrep("a", 0, -1, []), "at least one predicate"),
        (lambda r: r.argrep("a", 0, -1, [("FUZZY", "x")]), "predicates must be one of"),
        (lambda r: r.argrep("a", 0, -1, [("GLOB", "x")], combinator="XOR"), "combinator"),
        (lambda r: r.arop("a", 0, -1, "AVG"), "operation must be one of"),
        (lambda r: r.migrate("h", "1", "k", 0, 10), "port"),
        (lambda r: r.migrate("h", 1, "k", 0, -1), "timeout"),
    ],
)
def test_bad_arguments_are_refused_before_sending(
    r: babushka.Redis, call: Any, message: str
) -> None:
    with pytest.raises((babushka.DataError, ValueError), match=message):
        call(r)
    assert r.echo("in step") == b"in step"


def test_stralgo_replies_parse_as_redis_py() -> None:
    options = {"len": False, "idx": False, "withmatchlen": False}
    assert stralgo_reply(b"mytext", **options) == "mytext"
    assert stralgo_reply(6, **{**options, "len": True}) == 6
    resp2 = [b"matches", [[[4, 7], [5, 8]], [[2, 3], [0, 1]]], b"len", 6]
    expected = {"matches": [[(4, 7), (5, 8)], [(2, 3), (0, 1)]], "len": 6}
    assert stralgo_reply(resp2, **{**options, "idx": True}) == expected
    resp3 = {b"matches": [[[4, 7], [5, 8], 4]], b"len": 6}
    assert stralgo_reply(resp3, **{**options, "idx": True, "withmatchlen": True}) == {
        "matches": [[4, (4, 7), (5, 8)]],
        "len": 6,
    }


def test_arinfo_gives_str_keys() -> None:
    from babushka.commands.arrays import _arinfo

    assert _arinfo([b"len", 4, b"count", 2]) == {"len": 4, "count": 2}
    assert _arinfo({b"len": 4}) == {"len": 4}


def test_hotkeys_get_gives_a_dict_per_report() -> None:
    from babushka.commands.diagnostics import _hotkeys_reports

    assert _hotkeys_reports([[b"key", b"k1", b"cpu", 10]]) == [{b"key": b"k1", b"cpu": 10}]
    assert _hotkeys_reports([{"key": "k1"}]) == [{"key": "k1"}]
    assert _hotkeys_reports([]) == []


@pytest.fixture(scope="module")
def target(redis_server: RedisServer) -> Iterator[RedisServer]:
    """A second server of the same kind (a server cannot MIGRATE to itself:
    it would wait for its own answer)."""
    server = RedisServer.start(kind=redis_server.kind)
    yield server
    server.stop()


def test_migrate_moves_keys_to_another_server(r: babushka.Redis, target: RedisServer) -> None:
    there = babushka.Redis(host=target.host, port=target.port)
    try:
        there.flushall()
        r.set("m1", "a")
        r.set("m2", "b")
        assert r.migrate(target.host, target.port, ["m1", "m2"], 4, 5000) == b"OK"
        assert r.exists("m1", "m2") == 0
        assert r.migrate(target.host, target.port, "m1", 4, 5000) == b"NOKEY"
        there.select(4)
        assert there.mget("m1", "m2") == [b"a", b"b"]
        r.set("m1", "c")
        # copy keeps the key here; replace overwrites the one there.
        with pytest.raises(babushka.ResponseError, match="BUSYKEY"):
            r.migrate(target.host, target.port, "m1", 4, 5000)
        assert r.migrate(target.host, target.port, "m1", 4, 5000, copy=True, replace=True) == b"OK"
        assert r.get("m1") == b"c"
        assert there.get("m1") == b"c"
    finally:
        there.close()


def test_methods_that_only_raise(r: babushka.Redis) -> None:
    with pytest.raises(NotImplementedError, match="SCRIPT DEBUG"):
        r.script_debug("YES")


def test_digest_local_needs_xxhash(r: babushka.Redis, rd: babushka.Redis) -> None:
    try:
        import xxhash
    except ImportError:
        with pytest.raises(NotImplementedError, match="xxhash"):
            r.digest_local(b"v")
        return
    expected = xxhash.xxh3_64(b"v").hexdigest()
    assert r.digest_local(b"v") == expected.encode()
    assert rd.digest_local("v") == expected
