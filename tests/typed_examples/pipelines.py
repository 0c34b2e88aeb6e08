"""Pipelines: command methods queue and return the pipeline, so they chain;
``execute()`` gives the replies."""

from __future__ import annotations

from typing import Any, NoReturn

from typing_extensions import assert_type

import babushka
import babushka.asyncio
from babushka.asyncio.pipeline import Pipeline as AsyncPipeline
from babushka.pipeline import Pipeline


def sync(r: babushka.Redis[str]) -> None:
    pipe = r.pipeline()
    assert_type(pipe, Pipeline[str])
    assert_type(pipe.set("k", "v").get("k").incr("n"), Pipeline[str])
    assert_type(pipe.execute(), list[Any])
    with r.pipeline(transaction=False) as p:
        assert_type(p, Pipeline[str])


def no_scan_iter(pipe: Pipeline[bytes]) -> NoReturn:
    # A *scan_iter method raises on a pipeline: it is typed as never returning.
    pipe.scan_iter()


async def asynchronous(r: babushka.asyncio.Redis) -> None:
    pipe = r.pipeline()
    assert_type(pipe, AsyncPipeline[bytes])
    assert_type(pipe.hset("h", "f", "v").hgetall("h"), AsyncPipeline[bytes])
    assert_type(await pipe.lpush("l", "x"), AsyncPipeline[bytes])
    assert_type(await pipe.execute(), list[Any])
    async with r.pipeline() as p:
        assert_type(p, AsyncPipeline[bytes])
