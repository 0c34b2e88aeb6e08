"""Every command group gives the same values on RESP2 and RESP3 (README:
redis-py's default values whatever the protocol), on every transport: the
one call of each command method that ``test_typing`` makes (``_calls``) runs
on a ``protocol=2`` client and on a ``protocol=3`` one, each against a
flushed server, and the values must be equal. Values that differ from run to
run whatever the protocol (times, ids, statistics) are compared by their
shape instead: the same types, nested the same way."""

from __future__ import annotations

import warnings
from typing import Any

import babushka
from support.servers import RedisServer
from test_typing import _calls

#: Calls whose values change from one run to the next.
VARYING = {
    "client_id",
    "client_info",
    "client_list",
    "client_getredir",
    "client_trackinginfo",
    "info",
    "time",
    "lastsave",
    "acl_genpass",
    "acl_log",
    "acl_list",
    "acl_getuser",
    "role",
    "memory_malloc_stats",
    "memory_stats",
    "memory_usage",
    "slowlog_get",
    "slowlog_len",
    "latency_history",
    "latency_latest",
    "latency_reset",
    "command",
    "config_get",
    "dbsize",
    "pubsub_channels",
    "pubsub_numpat",
    "pubsub_numsub",
    "lolwut",
    "command_list",  # the server's own order
    "script_load",
    "evalsha",
    "evalsha_ro",
    "function_stats",
    "function_dump",
    "srandmember",
    "spop",
    "hrandfield",
    "zrandmember",
    "randomkey",
    "object",
    "ttl",
    "pttl",
    "expiretime",
    "pexpiretime",
    "dump",
    "scan",
    "scan_iter",
    # Stream ids are times.
    *(
        name
        for name in (
            "xadd",
            "xrange",
            "xrevrange",
            "xread",
            "xreadgroup",
            "xclaim",
            "xautoclaim",
            "xpending",
            "xpending_range",
            "xinfo_stream",
            "xinfo_groups",
            "xinfo_consumers",
        )
    ),
}


#: Where redis-py 8 itself gives the protocol's own value (it has no
#: callback for the command), and so does Babushka.
AS_REDIS_PY = {
    "spop": "a set on RESP3, which sends one; a list on RESP2",
    "command_getkeysandflags": "each key's flags as a set on RESP3",
    "function_stats": "a dict on RESP3, a flat list on RESP2",
}


def shape(value: Any) -> Any:
    """A value's types, nested as it is (lists and tuples by their first
    item's, dicts by their keys')."""
    if isinstance(value, (list, tuple, set)):
        items = list(value)
        return (type(value).__name__, shape(items[0]) if items else None)
    if isinstance(value, dict):
        return ("dict", sorted(str(k) for k in value))
    return type(value).__name__


def run(redis_server: RedisServer, transport: str, protocol: int) -> list[tuple[str, Any]]:
    client = babushka.Redis(
        host=redis_server.host, port=redis_server.port, transport=transport, protocol=protocol
    )
    values = []
    try:
        client.flushall()
        for name, call in _calls():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # hmset
                value = call(client)
            if name.endswith("scan_iter"):
                value = sorted(value)
            values.append((name, value))
    finally:
        client.flushall()
        client.close()
    return values


def test_resp3_gives_the_values_of_resp2(redis_server: RedisServer, transport: str) -> None:
    resp2 = run(redis_server, transport, 2)
    resp3 = run(redis_server, transport, 3)
    assert [name for name, _ in resp2] == [name for name, _ in resp3]
    differ = []
    for (name, two), (_, three) in zip(resp2, resp3):
        if name in AS_REDIS_PY:
            continue
        if name in VARYING:
            # Their number and keys vary too (a slow log with an entry more).
            same = type(two) is type(three)
        else:
            same = two == three and shape(two) == shape(three)
        if not same:
            differ.append(f"{name}: RESP2 {two!r} != RESP3 {three!r}")
    assert not differ, "\n".join(differ)
