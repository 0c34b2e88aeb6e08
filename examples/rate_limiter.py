"""A sliding-window rate limiter as a Lua script (``register_script``).

Each client may make LIMIT requests in any WINDOW_MS milliseconds. The
script keeps the times of a client's recent requests in a sorted set and,
in one atomic step on the server, drops the ones older than the window,
counts the rest and either records the new request or says how long to
wait. Being one script, two app servers checking the same client at once
cannot both take the last free slot, which a GET-then-SET in Python could.

Run:  python examples/rate_limiter.py [redis://localhost:6379/0]
(or set REDIS_URL)
"""

from __future__ import annotations

import os
import sys
import time

import babushka

LIMIT = 5
WINDOW_MS = 1000

# KEYS[1]: the client's sorted set; ARGV: limit, window (ms), a unique request id.
SLIDING_WINDOW = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms - window)
if redis.call('ZCARD', KEYS[1]) < limit then
    redis.call('ZADD', KEYS[1], now_ms, ARGV[3])
    redis.call('PEXPIRE', KEYS[1], window)
    return {1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, tonumber(oldest[2]) + window - now_ms}
"""


class RateLimiter:
    def __init__(self, r: babushka.Redis, limit: int, window_ms: int) -> None:
        # register_script sends EVALSHA and falls back to EVAL (loading the
        # script) the first time, or after the server lost its script cache.
        self._script = r.register_script(SLIDING_WINDOW)
        self._limit = limit
        self._window_ms = window_ms
        self._count = 0

    def allow(self, client_id: str) -> tuple[bool, int]:
        """Whether ``client_id`` may go on now, and if not, how many
        milliseconds until it may."""
        self._count += 1
        request_id = f"{time.time_ns()}-{self._count}"
        allowed, wait_ms = self._script(
            keys=[f"rate:{client_id}"], args=[self._limit, self._window_ms, request_id]
        )
        return bool(allowed), int(wait_ms)


def main(url: str) -> None:
    r = babushka.Redis.from_url(url)
    r.delete("rate:alice", "rate:bob")
    limiter = RateLimiter(r, LIMIT, WINDOW_MS)

    waits = []
    for n in range(1, 8):
        allowed, wait_ms = limiter.allow("alice")
        if allowed:
            print(f"alice request {n}: allowed")
        else:
            print(f"alice request {n}: refused, retry in {wait_ms} ms")
            waits.append(wait_ms)
    allowed, _ = limiter.allow("bob")
    print(f"bob request 1: {'allowed' if allowed else 'refused'} (each client has its own window)")

    # Wait as long as the limiter said, then alice may go on.
    time.sleep(max(waits) / 1000 + 0.01)
    allowed, _ = limiter.allow("alice")
    print(f"alice after waiting: {'allowed' if allowed else 'refused'}")
    r.delete("rate:alice", "rate:bob")
    r.close()


if __name__ == "__main__":
    main(
        sys.argv[1]
        if len(sys.argv) > 1
        else os.environ.get("REDIS_URL", "redis://localhost:6379/0")
    )
