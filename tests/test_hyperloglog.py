"""HyperLogLog commands on both servers: sync, async, pipelines and RESP3."""

from __future__ import annotations

import pytest

import babushka
import babushka.asyncio
from support.scenario import scenario_tests, step

# Command shapes: the default transport, and the tests marked every_transport
# (a sample of each reply shape) on the others (DESIGN.md, "Tests").
pytestmark = pytest.mark.command_shapes

SCENARIO = [
    step("pfadd", "h", "a", "b", "c", expect=1),
    step("pfadd", "h", "a", expect=0),
    step("pfadd", "empty", expect=1),
    step("pfcount", "h", expect=3),
    step("pfadd", "h2", "c", "d", expect=1),
    step("pfcount", "h", "h2", expect=4),
    step("pfmerge", "all", "h", "h2", expect=True),
    step("pfcount", "all", expect=4),
    step("pfcount", "missing", expect=0),
]


test_scenario, test_scenario_async, test_scenario_on_resp3, test_pipeline = scenario_tests(SCENARIO)


def test_errors(r: babushka.Redis) -> None:
    with pytest.raises(babushka.DataError, match="at least one key"):
        r.pfcount()
    r.set("str", "not an hll")
    with pytest.raises(babushka.ResponseError, match="WRONGTYPE"):
        r.pfadd("str", "a")
    with pytest.raises(babushka.ResponseError, match="WRONGTYPE"):
        r.pfmerge("dest", "str")
