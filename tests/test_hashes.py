"""Hash commands on both servers, sync and async."""

from __future__ import annotations

import pytest

import babushka
import babushka.asyncio
from support.scenario import Check, scenario_tests, step

# Command shapes: the default transport, and the tests marked every_transport
# (a sample of each reply shape) on the others (DESIGN.md, "Tests").
pytestmark = pytest.mark.command_shapes

FIELDS = (b"f1", b"f2", b"f3", b"f4")

SCENARIO = [
    step("hset", "h", "f1", "v1", expect=1),
    step("hset", "h", mapping={"f2": "v2", "f3": 3}, expect=2),
    step("hset", "h", "f1", "new", items=["f4", "v4"], mapping={"f2": b"v2"}, expect=1),
    step("hget", "h", "f1", expect=b"new"),
    step("hget", "h", "missing", expect=None),
    step("hmget", "h", ["f1", "missing"], expect=[b"new", None]),
    step("hmget", "h", "f2", "f3", expect=[b"v2", b"3"]),
    step("hgetall", "h", expect={b"f1": b"new", b"f2": b"v2", b"f3": b"3", b"f4": b"v4"}),
    step("hgetall", "missing", expect={}),
    step("hexists", "h", "f1", expect=True),
    step("hexists", "h", "missing", expect=False),
    step("hlen", "h", expect=4),
    step("hstrlen", "h", "f1", expect=3),
    step("hkeys", "h", expect=[b"f1", b"f2", b"f3", b"f4"]),
    step("hvals", "h", expect=[b"new", b"v2", b"3", b"v4"]),
    step("hincrby", "h", "f3", expect=4),
    step("hincrby", "h", "f3", -10, expect=-6),
    step("hincrbyfloat", "h", "f5", expect=1.0),
    step("hincrbyfloat", "h", "f5", 0.25, expect=1.25),
    step("hsetnx", "h", "f1", "x", expect=False),
    step("hsetnx", "h", "f6", "x", expect=True),
    step("hdel", "h", "f5", "f6", "missing", expect=2),
    step("hrandfield", "h", expect=Check("a field", lambda f: f in FIELDS)),
    step("hrandfield", "h", 2, expect=Check("two fields", lambda fs: len(set(fs)) == 2)),
    step(
        "hrandfield",
        "h",
        -1,
        withvalues=True,
        expect=Check(
            "[field, value]", lambda fv: len(fv) == 2 and fv[0] in (b"f1", b"f2", b"f3", b"f4")
        ),
    ),
    step("hrandfield", "missing", expect=None),
    step("hscan", "h", match="f[12]", expect=(0, {b"f1": b"new", b"f2": b"v2"})),
    step("hscan", "missing", expect=(0, {})),
]


# HRANDFIELD ... WITHVALUES: RESP3 sends pairs; redis-py's value is flat.
test_scenario, test_scenario_async, test_scenario_on_resp3, test_pipeline = scenario_tests(SCENARIO)


def test_hmset_is_deprecated_but_works(r: babushka.Redis) -> None:
    with pytest.warns(DeprecationWarning, match="hset"):
        assert r.hmset("h", {"a": 1, "b": 2}) is True
    assert r.hgetall("h") == {b"a": b"1", b"b": b"2"}


def test_hset_rejects_bad_arguments_before_sending(r: babushka.Redis) -> None:
    with pytest.raises(babushka.DataError, match="at least one"):
        r.hset("h")
    with pytest.raises(babushka.DataError, match="at least one"):
        r.hset("h", mapping={})
    with pytest.raises(babushka.DataError, match="without key"):
        r.hset("h", value="v")
    with pytest.raises(babushka.DataError, match="'value'"):
        r.hset("h", "f")
    with pytest.raises(babushka.DataError, match="even"):
        r.hset("h", items=["a", "b", "c"])
    with pytest.raises(babushka.DataError, match="mapping"):
        r.hset("h", mapping=[("a", "b")])  # type: ignore[arg-type]
    with pytest.raises(babushka.DataError, match="mapping: field 'a'"):
        r.hset("h", mapping={"a": None})  # type: ignore[dict-item]
    with pytest.raises(babushka.DataError, match="at least one field"):
        r.hdel("h")
    with pytest.raises(babushka.DataError, match="withvalues"):
        r.hrandfield("h", withvalues=True)
    with pytest.raises(babushka.DataError, match="count"):
        r.hscan("h", count=-1)
    assert r.dbsize() == 0


def test_wrong_type_is_the_servers_error(r: babushka.Redis) -> None:
    r.set("s", "v")
    with pytest.raises(babushka.ResponseError, match="WRONGTYPE Operation against a key"):
        r.hget("s", "f")
    r.hset("h", "f", "v")
    with pytest.raises(babushka.ResponseError, match="not an integer"):
        r.hincrby("h", "f")


def test_hscan_iter(r: babushka.Redis) -> None:
    # Past the listpack limit so HSCAN really pages.
    fields = {f"f{i}": i for i in range(300)}
    r.hset("h", mapping=fields)
    seen = dict(r.hscan_iter("h", count=20))
    assert seen == {k.encode(): str(v).encode() for k, v in fields.items()}
    assert sorted(r.hscan_iter("h", match="f1?")) == sorted(
        (f"f1{i}".encode(), f"1{i}".encode()) for i in range(10)
    )


async def test_hscan_iter_async(ar: babushka.asyncio.Redis) -> None:
    await ar.hset("h", mapping={f"f{i}": i for i in range(200)})
    seen = {field: value async for field, value in ar.hscan_iter("h", count=15)}
    assert len(seen) == 200 and seen[b"f7"] == b"7"


def test_decode_responses(rd: babushka.Redis) -> None:
    rd.hset("h", mapping={"clé": "välue", "n": 1})
    assert rd.hgetall("h") == {"clé": "välue", "n": "1"}
    assert rd.hget("h", "clé") == "välue"
    assert rd.hkeys("h") == ["clé", "n"]
    assert dict(rd.hscan_iter("h")) == {"clé": "välue", "n": "1"}


def test_a_number_is_one_field(r: babushka.Redis) -> None:
    # redis-py's list_or_args: a value that is not iterable is one key.
    r.hset("h", 1, "one")
    assert r.hmget("h", 1) == [b"one"]
    assert r.hmget("h", 1.5, 1) == [None, b"one"]
