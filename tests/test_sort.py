"""SORT and SORT_RO on both servers: sync, async, pipelines and RESP3, with
redis-py's ``groups``."""

from __future__ import annotations

import pytest

import babushka
import babushka.asyncio
from support.scenario import scenario_tests, step

# Command shapes: the default transport, and the tests marked every_transport
# (a sample of each reply shape) on the others (DESIGN.md, "Tests").
pytestmark = pytest.mark.command_shapes

SCENARIO = [
    step("rpush", "l", 3, 1, 2, expect=3),
    step(
        "mset",
        {"w_1": "c", "w_2": "b", "w_3": "a", "n_1": "one", "n_2": "two", "n_3": "three"},
        expect=True,
    ),
    step("sort", "l", expect=[b"1", b"2", b"3"]),
    step("sort", "l", desc=True, start=0, num=2, expect=[b"3", b"2"]),
    step("sort", "l", by="w_*", alpha=True, expect=[b"3", b"2", b"1"]),
    step("sort", "l", get="n_*", expect=[b"one", b"two", b"three"]),
    step(
        "sort",
        "l",
        get=["#", "n_*"],
        groups=True,
        expect=[(b"1", b"one"), (b"2", b"two"), (b"3", b"three")],
    ),
    step(
        "sort",
        "l",
        by="nosort",
        get=["#", "w_*", "missing_*"],
        groups=True,
        expect=[(b"3", b"a", None), (b"1", b"c", None), (b"2", b"b", None)],
    ),
    step("sort", "missing", get=["#", "n_*"], groups=True, expect=[]),
    step("sort", "l", store="sorted", expect=3),
    step("lrange", "sorted", 0, -1, expect=[b"1", b"2", b"3"]),
    step("sort", "l", get=["#", "n_*"], store="pairs", groups=True, expect=6),
    step("sort_ro", "l", desc=True, expect=[b"3", b"2", b"1"]),
    step("sort_ro", "l", by="w_*", get="n_*", alpha=True, start=1, num=5, expect=[b"two", b"one"]),
    step("sadd", "s", "b", "a", expect=2),
    step("sort", "s", alpha=True, expect=[b"a", b"b"]),
]


test_scenario, test_scenario_async, test_scenario_on_resp3, test_pipeline = scenario_tests(SCENARIO)


def test_errors(r: babushka.Redis) -> None:
    with pytest.raises(babushka.DataError, match="together"):
        r.sort("l", start=1)
    with pytest.raises(babushka.DataError, match="groups"):
        r.sort("l", get="n_*", groups=True)
    with pytest.raises(babushka.DataError, match="groups"):
        r.sort("l", groups=True)
    with pytest.raises(babushka.DataError, match="start"):
        r.sort_ro("l", start="1", num=2)  # type: ignore[arg-type]
    r.rpush("words", "b", "a")
    with pytest.raises(babushka.ResponseError, match="can't be converted into double"):
        r.sort("words")
    r.set("str", "v")
    with pytest.raises(babushka.ResponseError, match="WRONGTYPE"):
        r.sort_ro("str")
