"""The sync client's command methods, as a type checker reads them: the
values are bytes by default and str with ``decode_responses=True``."""

from __future__ import annotations

from typing import Any, Iterator

from typing_extensions import assert_type

import babushka


def default_bytes(r: babushka.Redis) -> None:
    # A bare ``babushka.Redis`` in an annotation is ``Redis[bytes]``.
    assert_type(r, babushka.Redis[bytes])
    assert_type(r.get("k"), bytes | None)
    assert_type(r.set("k", "v"), bool | None)
    assert_type(r.set("k", "v", nx=True, ex=10), bool | None)
    assert_type(r.set("k", "v", get=True), bytes | None)
    assert_type(r.incr("n"), int)
    assert_type(r.incrbyfloat("f", 0.5), float)
    assert_type(r.mget(["a", "b"]), list[bytes | None])
    assert_type(r.hgetall("h"), dict[bytes, bytes])
    assert_type(r.hsetnx("h", "f", "v"), bool)
    assert_type(r.hexists("h", "f"), bool)
    assert_type(r.sismember("s", "m"), bool)
    assert_type(r.smembers("s"), set[bytes])
    assert_type(r.smismember("s", ["a", "b"]), list[bool])
    assert_type(r.lrange("l", 0, -1), list[bytes])
    assert_type(r.lpop("l"), bytes | None)
    assert_type(r.lpop("l", 2), list[bytes] | None)
    assert_type(r.rpop("l", count=2), list[bytes] | None)
    assert_type(r.spop("s"), bytes | None)
    # A set on RESP3, which sends one; a list on RESP2.
    assert_type(r.spop("s", 2), list[bytes] | set[bytes])
    assert_type(r.srandmember("s", 2), list[bytes])
    assert_type(r.hrandfield("h"), bytes | None)
    assert_type(r.hrandfield("h", 2), list[bytes])
    assert_type(r.zrange("z", 0, -1), list[bytes])
    assert_type(r.zrange("z", 0, -1, withscores=True), list[tuple[bytes, float]])
    assert_type(
        r.zrange("z", 0, -1, withscores=True, score_cast_func=int),
        list[bytes] | list[tuple[bytes, Any]],
    )
    assert_type(r.zrevrangebyscore("z", 10, 0, withscores=True), list[tuple[bytes, float]])
    assert_type(r.blpop(["l"], 1), tuple[bytes, bytes] | None)
    assert_type(r.zscore("z", "m"), float | None)
    assert_type(r.zpopmin("z"), list[tuple[bytes, float]])
    assert_type(r.bzpopmin("z", 1), tuple[bytes, bytes, float] | None)
    assert_type(r.scan(0), tuple[int, list[bytes]])
    assert_type(r.scan_iter(), Iterator[bytes])
    assert_type(r.hscan_iter("h"), Iterator[tuple[bytes, bytes] | bytes])
    assert_type(r.dump("k"), bytes | None)
    assert_type(r.type("k"), bytes)
    assert_type(r.expire("k", 10), bool)
    assert_type(r.ttl("k"), int)
    assert_type(r.info(), dict[str, Any])
    assert_type(r.time(), tuple[int, int])
    assert_type(r.ping(), bool)
    assert_type(r.script_load("return 1"), str)
    assert_type(r.eval("return 1", 0), Any)
    assert_type(r.pubsub_numsub("c"), list[tuple[bytes, int]])
    assert_type(r.config_get("maxmemory"), dict[str, str])
    # Typed since the command surface was finished.
    assert_type(r.select(1), bool)
    assert_type(r.auth("pw", "user"), bool)
    assert_type(r.pfcount("hll"), int)
    assert_type(r.setbit("b", 7, 1), int)
    assert_type(r.geodist("g", "a", "b"), float | None)
    assert_type(r.geopos("g", "a"), list[tuple[float, float] | None])
    assert_type(r.zrangebylex("z", "-", "+"), list[bytes])
    assert_type(r.lmovem("a", "b", count=2, ordering="OBO"), list[bytes] | None)
    assert_type(r.hgetex("h", "f", ex=10), list[bytes | None])
    assert_type(r.sort_ro("l", alpha=True), list[bytes | None])


def decoded(r: babushka.Redis[str]) -> None:
    assert_type(r.get("k"), str | None)
    assert_type(r.set("k", "v", get=True), str | None)
    assert_type(r.hgetall("h"), dict[str, str])
    assert_type(r.smembers("s"), set[str])
    assert_type(r.keys(), list[str])
    assert_type(r.scan_iter(), Iterator[str])
    # DUMP's payload is binary whatever decode_responses says.
    assert_type(r.dump("k"), bytes | None)
    assert_type(r.incr("n"), int)
    assert_type(r.zrandmember("z"), str | list[str] | None)
    assert_type(r.migrate("host", 6379, "k", 0, 1000), str)
    with r.monitor() as m:
        assert_type(m.next_command(), dict[str, Any])


def constructors(flag: bool) -> None:
    assert_type(babushka.Redis(), babushka.Redis[bytes])
    assert_type(babushka.Redis(port=6380, decode_responses=False), babushka.Redis[bytes])
    assert_type(babushka.Redis(decode_responses=True), babushka.Redis[str])
    assert_type(babushka.Redis(transport="ffi", decode_responses=True), babushka.Redis[str])
    # decode_responses by position (the tenth of the constructor's parameters).
    positional = babushka.Redis(
        "localhost", 6379, 0, None, None, None, None, "utf-8", "strict", True
    )
    assert_type(positional, babushka.Redis[str])
    # A bool only known at run time: the value type is not known either.
    assert_type(babushka.Redis(decode_responses=flag), babushka.Redis[Any])
    with babushka.Redis(decode_responses=True) as r:
        assert_type(r, babushka.Redis[str])
        assert_type(r.get("k"), str | None)
