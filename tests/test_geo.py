"""Geo commands on both servers: sync, async, pipelines and RESP3, with
redis-py's values (positions as ``(lon, lat)`` tuples, distances as
floats)."""

from __future__ import annotations

import math
from typing import Any

import pytest

import babushka
import babushka.asyncio
from support.refusals import Refusal, expect_refusals
from support.scenario import Check, scenario_tests, step

# Command shapes: the default transport, and the tests marked every_transport
# (a sample of each reply shape) on the others (DESIGN.md, "Tests").
pytestmark = pytest.mark.command_shapes

PLACES = (13.361389, 38.115556, "Palermo", 15.087269, 37.502669, "Catania")
PALERMO_HASH = 3479099956230698
CATANIA_HASH = 3479447370796909


def near(expected: float, tolerance: float = 1e-4) -> Check:
    return Check(
        f"about {expected}",
        lambda got: type(got) is float and math.isclose(got, expected, abs_tol=tolerance),
    )


def at(lon: float, lat: float) -> Check:
    return Check(
        f"about ({lon}, {lat})",
        lambda got: (
            type(got) is tuple
            and len(got) == 2
            and all(
                type(x) is float and math.isclose(x, y, abs_tol=1e-4)
                for x, y in zip(got, (lon, lat))
            )
        ),
    )


def result(name: bytes, *parts: Any) -> Check:
    """``[name, dist?, hash?, (lon, lat)?]`` as a list, each part checked."""

    def test(got: Any) -> bool:
        if type(got) is not list or len(got) != 1 + len(parts) or got[0] != name:
            return False
        return all(
            part.test(value)
            if isinstance(part, Check)
            else (value == part and type(value) is type(part))
            for part, value in zip(parts, got[1:])
        )

    return Check(f"{name!r} with {parts}", test)


def results(*each: Check) -> Check:
    return Check(
        " and ".join(c.describe for c in each),
        lambda got: (
            type(got) is list
            and len(got) == len(each)
            and all(c.test(g) for c, g in zip(each, got))
        ),
    )


SCENARIO = [
    step("geoadd", "g", PLACES, expect=2),
    step("geoadd", "g", (13.361389, 38.115556, "Palermo"), nx=True, expect=0),
    step("geoadd", "g", (13.4, 38.1, "Palermo", 1, 1, "Nowhere"), xx=True, ch=True, expect=1),
    step("geoadd", "g", PLACES[:3], expect=0),
    step("geodist", "g", "Palermo", "Catania", expect=near(166274.1516, 0.01)),
    step("geodist", "g", "Palermo", "Catania", unit="km", expect=near(166.2742, 0.001)),
    step("geodist", "g", "Palermo", "missing", expect=None),
    step("geohash", "g", "Palermo", "missing", expect=["sqc8b49rny0", None]),
    step("geopos", "g", "Palermo", "missing", expect=[at(13.361389, 38.115556), None]),
    step("georadius", "g", 15, 37, 200, unit="km", sort="ASC", expect=[b"Catania", b"Palermo"]),
    step(
        "georadius",
        "g",
        15,
        37,
        200,
        unit="km",
        withdist=True,
        withcoord=True,
        withhash=True,
        sort="DESC",
        count=1,
        expect=results(
            result(b"Palermo", near(190.4424, 0.001), PALERMO_HASH, at(13.361389, 38.115556))
        ),
    ),
    step(
        "georadius",
        "g",
        15,
        37,
        200,
        unit="km",
        withhash=True,
        count=1,
        any=True,
        expect=Check(
            "one of them", lambda got: len(got) == 1 and got[0][1] in (PALERMO_HASH, CATANIA_HASH)
        ),
    ),
    step(
        "georadiusbymember",
        "g",
        "Palermo",
        100,
        unit="km",
        withdist=True,
        expect=results(result(b"Palermo", near(0.0))),
    ),
    step("georadius", "g", 15, 37, 200, unit="km", store="stored", expect=2),
    step("georadiusbymember", "g", "Palermo", 200, unit="km", store_dist="dists", expect=2),
    step("zscore", "dists", "Palermo", expect=0.0),
    step(
        "geosearch",
        "g",
        longitude=15,
        latitude=37,
        radius=200,
        unit="km",
        sort="ASC",
        withdist=True,
        withcoord=True,
        expect=results(
            result(b"Catania", near(56.4413, 0.001), at(15.087269, 37.502669)),
            result(b"Palermo", near(190.4424, 0.001), at(13.361389, 38.115556)),
        ),
    ),
    step(
        "geosearch",
        "g",
        member="Palermo",
        width=400,
        height=400,
        unit="km",
        sort="desc",
        count=5,
        expect=[b"Catania", b"Palermo"],
    ),
    step("geosearchstore", "dest", "g", member="Palermo", radius=10, unit="km", expect=1),
    step(
        "geosearchstore",
        "dest",
        "g",
        longitude=15,
        latitude=37,
        radius=200,
        unit="km",
        storedist=True,
        expect=2,
    ),
    step("zscore", "dest", "Catania", expect=near(56.4413, 0.001)),
]


test_scenario, test_scenario_async, test_scenario_on_resp3, test_pipeline = scenario_tests(
    SCENARIO, transactions=(False, True)
)


def test_decode_responses(rd: babushka.Redis) -> None:
    rd.geoadd("g", PLACES)
    assert rd.geohash("g", "Palermo") == ["sqc8b49rny0"]
    assert rd.georadius("g", 15, 37, 200, unit="km", sort="ASC") == ["Catania", "Palermo"]
    (found,) = rd.geosearch("g", member="Palermo", radius=1, unit="km", withhash=True)
    assert found == ["Palermo", PALERMO_HASH]


def test_bad_arguments_raise_before_sending(r: babushka.Redis) -> None:
    cases: list[Refusal] = [
        ("geoadd", ("g", (1, 2)), {}, "triples"),
        ("geoadd", ("g", "1 2 x"), {}, "flat sequence"),
        ("geoadd", ("g", PLACES), {"nx": True, "xx": True}, "nx and xx"),
        ("geodist", ("g", "a", "b"), {"unit": "parsec"}, "unit"),
        ("georadius", ("g", 1, 2, 3), {"unit": "yd"}, "unit"),
        ("georadius", ("g", 1, 2, 3), {"sort": "up"}, "sort"),
        ("georadius", ("g", 1, 2, 3), {"any": True}, "any needs count"),
        ("georadius", ("g", 1, 2, 3), {"store": "a", "store_dist": "b"}, "mutually exclusive"),
        ("georadiusbymember", ("g", "m", 3), {"count": 0}, "count"),
        ("geosearch", ("g",), {"radius": 1}, "member, or longitude"),
        (
            "geosearch",
            ("g",),
            {"member": "m", "longitude": 1, "latitude": 2, "radius": 1},
            "not both",
        ),
        ("geosearch", ("g",), {"member": "m"}, "radius, or width"),
        ("geosearch", ("g",), {"member": "m", "radius": 1, "width": 2, "height": 2}, "not both"),
        ("geosearch", ("g",), {"member": "m", "width": 2}, "radius, or width"),
        ("geosearchstore", ("d", "g"), {"member": "m", "radius": 1, "unit": "au"}, "unit"),
    ]
    expect_refusals(r, cases)
    assert r.dbsize() == 0


def test_server_errors_reach_the_caller(r: babushka.Redis) -> None:
    r.set("str", "v")
    with pytest.raises(babushka.ResponseError, match="WRONGTYPE"):
        r.geoadd("str", PLACES)
    with pytest.raises(babushka.ResponseError, match="invalid longitude"):
        r.geoadd("g", (500, 1, "far"))
    r.geoadd("g", PLACES)
    # Redis and Valkey word it differently.
    with pytest.raises(
        babushka.ResponseError, match=r"could not decode requested zset member|does not exist"
    ):
        r.geosearch("g", member="missing", radius=1)
