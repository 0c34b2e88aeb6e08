"""The commands whose replies have a shape of their own (their entries in
the core's command table), each with the setup that gives it something to
answer: the cases in which ``execute_command`` must give what redis-py's does
(``test_execute_command.py``), and which ``test_command_table.py`` holds the
table's shaped entries to.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import redis

from support.faults import wait_until
from support.servers import RedisServer

Command = tuple[Any, ...]

LIBRARY = "#!lua name=cases\nredis.register_function('one', function() return 1 end)"

#: A stream of two entries, a group that read them, two places.
STREAM: list[Command] = [("XADD", "s", "1-0", "a", "1"), ("XADD", "s", "2-0", "b", "2")]
GROUP = [*STREAM, ("XGROUP", "CREATE", "s", "g", "0")]
READ = [*GROUP, ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">")]
GEO: list[Command] = [
    ("GEOADD", "geo", 13.361389, 38.115556, "Palermo", 15.087269, 37.502669, "Catania")
]

#: Per command: setup commands, then the command under test. Babushka takes a
#: subcommand as a word of its own; redis-py also splits "CONFIG SET" itself.
CASES: dict[str, tuple[list[Command], Command]] = {
    "SET": ([], ("SET", "k", "v")),
    "MSET": ([], ("MSET", "a", "1", "b", "2")),
    "SETEX": ([], ("SETEX", "k", 100, "v")),
    "PSETEX": ([], ("PSETEX", "k", 100000, "v")),
    "FLUSHDB": ([("SET", "a", "1")], ("FLUSHDB",)),
    "FLUSHALL": ([("SET", "a", "1")], ("FLUSHALL",)),
    "SELECT": ([], ("SELECT", 0)),
    # The default user has no password: any password authenticates it.
    "AUTH": ([], ("AUTH", "default", "anything")),
    # Refused by Redis 7.0 without cluster support, in redis-py's words too.
    "READONLY": ([], ("READONLY",)),
    "READWRITE": ([], ("READWRITE",)),
    "RENAME": ([("SET", "a", "1")], ("RENAME", "a", "b")),
    "LSET": ([("RPUSH", "l", "x")], ("LSET", "l", 0, "y")),
    "LTRIM": ([("RPUSH", "l", "x", "y")], ("LTRIM", "l", 0, 0)),
    "HMSET": ([], ("HMSET", "h", "f", "v")),
    "CONFIG SET": ([], ("CONFIG", "SET", "maxmemory-policy", "noeviction")),
    "RESTORE": ([("SET", "a", "1")], ("RESTORE", "b", 0, "<DUMP a>")),
    "EXPIRE": ([("SET", "k", "v")], ("EXPIRE", "k", 100)),
    "PEXPIRE": ([("SET", "k", "v")], ("PEXPIRE", "k", 100000)),
    "EXPIREAT": ([("SET", "k", "v")], ("EXPIREAT", "k", "<in 100 s>")),
    "PEXPIREAT": ([("SET", "k", "v")], ("PEXPIREAT", "k", "<in 100000 ms>")),
    "PERSIST": ([("SET", "k", "v", "EX", 100)], ("PERSIST", "k")),
    "SETNX": ([], ("SETNX", "k", "v")),
    "MSETNX": ([], ("MSETNX", "a", "1", "b", "2")),
    "HSETNX": ([], ("HSETNX", "h", "f", "v")),
    "HEXISTS": ([("HSET", "h", "f", "v")], ("HEXISTS", "h", "f")),
    "SISMEMBER": ([("SADD", "s", "m")], ("SISMEMBER", "s", "m")),
    "SMOVE": ([("SADD", "s", "m")], ("SMOVE", "s", "t", "m")),
    "RENAMENX": ([("SET", "a", "1")], ("RENAMENX", "a", "b")),
    "COPY": ([("SET", "a", "1")], ("COPY", "a", "b")),
    "MOVE": ([("SET", "a", "1")], ("MOVE", "a", 1)),
    "INCRBYFLOAT": ([], ("INCRBYFLOAT", "f", "1.5")),
    "HINCRBYFLOAT": ([], ("HINCRBYFLOAT", "h", "f", "1.5")),
    "ZSCORE": ([("ZADD", "z", "1.5", "m")], ("ZSCORE", "z", "m")),
    "ZINCRBY": ([("ZADD", "z", "1.5", "m")], ("ZINCRBY", "z", "2", "m")),
    "HGETALL": ([("HSET", "h", "a", "1", "b", "2")], ("HGETALL", "h")),
    "SMEMBERS": ([("SADD", "s", "a", "b")], ("SMEMBERS", "s")),
    "SINTER": ([("SADD", "s", "a", "b"), ("SADD", "t", "b", "c")], ("SINTER", "s", "t")),
    "SUNION": ([("SADD", "s", "a", "b"), ("SADD", "t", "b", "c")], ("SUNION", "s", "t")),
    "SDIFF": ([("SADD", "s", "a", "b"), ("SADD", "t", "b", "c")], ("SDIFF", "s", "t")),
    "SMISMEMBER": ([("SADD", "s", "a")], ("SMISMEMBER", "s", "a", "b")),
    "ZMSCORE": ([("ZADD", "z", "1", "a")], ("ZMSCORE", "z", "a", "b")),
    "ZPOPMIN": ([("ZADD", "z", "1", "a", "2", "b")], ("ZPOPMIN", "z")),
    "ZPOPMAX": ([("ZADD", "z", "1", "a", "2", "b")], ("ZPOPMAX", "z")),
    "SCAN": ([("SET", "a", "1"), ("SET", "b", "2")], ("SCAN", 0)),
    "SSCAN": ([("SADD", "s", "a", "b")], ("SSCAN", "s", 0)),
    "HSCAN": ([("HSET", "h", "a", "1", "b", "2")], ("HSCAN", "h", 0)),
    "ZSCAN": ([("ZADD", "z", "1.5", "a", "2", "b")], ("ZSCAN", "z", 0)),
    "BLPOP": ([("RPUSH", "l", "a")], ("BLPOP", "l", 1)),
    "BRPOP": ([("RPUSH", "l", "a", "b")], ("BRPOP", "l", 1)),
    "BZPOPMIN": ([("ZADD", "z", "1", "a", "2", "b")], ("BZPOPMIN", "z", 1)),
    "BZPOPMAX": ([("ZADD", "z", "1", "a", "2", "b")], ("BZPOPMAX", "z", 1)),
    "DUMP": ([("SET", "a", "1")], ("DUMP", "a")),
    "FUNCTION DELETE": ([("FUNCTION", "LOAD", LIBRARY)], ("FUNCTION", "DELETE", "cases")),
    "FUNCTION DUMP": ([("FUNCTION", "LOAD", LIBRARY)], ("FUNCTION", "DUMP")),
    "FUNCTION FLUSH": ([("FUNCTION", "LOAD", LIBRARY)], ("FUNCTION", "FLUSH")),
    "FUNCTION RESTORE": ([], ("FUNCTION", "RESTORE", "<FUNCTION DUMP>")),
    "SCRIPT EXISTS": ([], ("SCRIPT", "EXISTS", "<SCRIPT LOAD>", "0" * 40)),
    "SCRIPT FLUSH": ([("SCRIPT", "LOAD", "return 1")], ("SCRIPT", "FLUSH")),
    "CLIENT SETNAME": ([], ("CLIENT", "SETNAME", "cases")),
    "CONFIG GET": ([], ("CONFIG", "GET", "maxmemory-policy")),
    # Server and connection administration (replies parsed in babushka._replies).
    "INFO": ([("SET", "k", "v", "EX", 100)], ("INFO", "server", "keyspace")),
    "TIME": ([], ("TIME",)),
    "LASTSAVE": ([], ("LASTSAVE",)),
    "SAVE": ([("SET", "k", "v")], ("SAVE",)),
    # A save still running from another case would fail the next one or not,
    # by timing: their error replies compare here (test_server runs them).
    "BGSAVE": ([], ("BGSAVE", "NO-SUCH-OPTION")),
    "BGREWRITEAOF": ([], ("BGREWRITEAOF", "extra")),
    "SWAPDB": ([("SET", "k", "v")], ("SWAPDB", 0, 1)),
    "SLAVEOF": ([], ("SLAVEOF", "NO", "ONE")),
    "SHUTDOWN": ([], ("SHUTDOWN", "ABORT")),  # nothing to abort: an error reply
    "CONFIG RESETSTAT": ([], ("CONFIG", "RESETSTAT")),
    "CLIENT GETNAME": ([], ("CLIENT", "GETNAME")),
    "CLIENT INFO": ([], ("CLIENT", "INFO")),
    "CLIENT LIST": ([], ("CLIENT", "LIST", "TYPE", "pubsub")),
    "CLIENT KILL": ([], ("CLIENT", "KILL", "ID", 999999)),
    "CLIENT PAUSE": ([], ("CLIENT", "PAUSE", 1)),
    "CLIENT SETINFO": ([], ("CLIENT", "SETINFO", "LIB-VER", "1.0")),
    "CLIENT TRACKINGINFO": ([], ("CLIENT", "TRACKINGINFO")),
    "CLIENT UNBLOCK": ([], ("CLIENT", "UNBLOCK", 999999)),
    "ACL CAT": ([], ("ACL", "CAT")),
    "ACL GENPASS": ([], ("ACL", "GENPASS", 64)),
    "ACL GETUSER": ([("ACL", "SETUSER", "u", "on", ">pw", "~k*", "+get")], ("ACL", "GETUSER", "u")),
    "ACL HELP": ([], ("ACL", "HELP")),
    "ACL LIST": ([("ACL", "DELUSER", "u", "cases-user")], ("ACL", "LIST")),
    "ACL LOAD": ([], ("ACL", "LOAD")),  # no ACL file: an error reply
    "ACL LOG": ([("ACL", "LOG", "RESET")], ("ACL", "LOG", "RESET")),
    "ACL SAVE": ([], ("ACL", "SAVE")),
    "ACL SETUSER": ([], ("ACL", "SETUSER", "cases-user", "off")),
    "ACL USERS": ([], ("ACL", "USERS")),
    "ACL WHOAMI": ([], ("ACL", "WHOAMI")),
    "COMMAND": ([], ("COMMAND",)),
    "COMMAND GETKEYS": ([], ("COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2")),
    "MEMORY PURGE": ([], ("MEMORY", "PURGE")),
    "MEMORY STATS": ([("SET", "k", "v")], ("MEMORY", "STATS")),
    "MODULE LIST": ([], ("MODULE", "LIST")),
    "MODULE LOAD": ([], ("MODULE", "LOAD", "/no/such/module.so")),
    "MODULE UNLOAD": ([], ("MODULE", "UNLOAD", "nosuchmodule")),
    "SLOWLOG GET": ([("CONFIG", "SET", "slowlog-log-slower-than", 0)], ("SLOWLOG", "GET", 1)),
    "SLOWLOG RESET": ([], ("SLOWLOG", "RESET")),
    # Last: redis-py's QUIT and RESET end or reset its connection's session
    # (its name); Babushka's go on a connection of their own.
    "PING": ([], ("PING",)),
    "QUIT": ([], ("QUIT",)),
    "RESET": ([], ("RESET",)),
    "PFMERGE": ([("PFADD", "h", "a")], ("PFMERGE", "h2", "h")),
    "XRANGE": (STREAM, ("XRANGE", "s", "-", "+")),
    "XREVRANGE": (STREAM, ("XREVRANGE", "s", "+", "-", "COUNT", 1)),
    "XREAD": (STREAM, ("XREAD", "COUNT", 5, "STREAMS", "s", "t", "0", "0")),
    "XREADGROUP": (GROUP, ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">")),
    "XCLAIM": (READ, ("XCLAIM", "s", "g", "d", 0, "1-0", "2-0")),
    "XAUTOCLAIM": (READ, ("XAUTOCLAIM", "s", "g", "d", 0, "0")),
    "XPENDING": (READ, ("XPENDING", "s", "g")),
    "XGROUP CREATE": (STREAM, ("XGROUP", "CREATE", "s", "g", "0")),
    "XGROUP SETID": (GROUP, ("XGROUP", "SETID", "s", "g", "1-0")),
    "XGROUP DESTROY": (GROUP, ("XGROUP", "DESTROY", "s", "g")),
    "XINFO GROUPS": (READ, ("XINFO", "GROUPS", "s")),
    "XINFO CONSUMERS": (GROUP, ("XINFO", "CONSUMERS", "s", "g")),
    "XINFO STREAM": (STREAM, ("XINFO", "STREAM", "s")),
    "GEOPOS": (GEO, ("GEOPOS", "geo", "Palermo", "nowhere")),
    "GEODIST": (GEO, ("GEODIST", "geo", "Palermo", "Catania", "km")),
    "GEOHASH": (GEO, ("GEOHASH", "geo", "Palermo", "nowhere")),
    # Without WITH* options: redis-py shapes those only through its methods.
    "GEORADIUS": (GEO, ("GEORADIUS", "geo", 15, 37, 200, "km", "ASC")),
    "GEORADIUSBYMEMBER": (GEO, ("GEORADIUSBYMEMBER", "geo", "Palermo", 200, "km", "ASC")),
    "GEOSEARCH": (GEO, ("GEOSEARCH", "geo", "FROMLONLAT", 15, 37, "BYRADIUS", 200, "km", "ASC")),
    # Scores that print the same in %.17g and in the shortest form.
    "ZRANDMEMBER": ([("ZADD", "z", "2.5", "m")], ("ZRANDMEMBER", "z", 1, "WITHSCORES")),
    "ZDIFF": (
        [("ZADD", "z", "1", "a", "2.5", "b"), ("ZADD", "y", "1", "a")],
        ("ZDIFF", 2, "z", "y", "WITHSCORES"),
    ),
    "ZMPOP": ([("ZADD", "z", "1", "a", "2.5", "b")], ("ZMPOP", 1, "z", "MIN", "COUNT", 2)),
    "BZMPOP": ([("ZADD", "z", "1", "a", "2.5", "b")], ("BZMPOP", 1, 1, "z", "MAX")),
    "HRANDFIELD": ([("HSET", "h", "f", "v")], ("HRANDFIELD", "h", 1, "WITHVALUES")),
    "LCS": (
        [("SET", "a", "ohmytext"), ("SET", "b", "mynewtext")],
        ("LCS", "a", "b", "IDX", "WITHMATCHLEN"),
    ),
}

#: Replies that differ from one call to the next (clocks, ids, counters, the
#: order of COMMAND's subcommands): compared by their form, the same keys and
#: types all the way down.
VARYING = frozenset(
    {"INFO", "TIME", "LASTSAVE", "CLIENT INFO", "ACL GENPASS", "MEMORY STATS", "SLOWLOG GET"}
    | {"COMMAND"}
)

#: SCRIPT KILL answers OK only while a script runs: run with one running.
BUSY_CASES: dict[str, Command] = {"SCRIPT KILL": ("SCRIPT", "KILL")}

#: Replies that stay bytes with decode_responses=True. redis-py's
#: execute_command cannot decode them (a binary payload); its methods
#: (dump(), function_dump()) never decode them, and Babushka's execute_command
#: gives what the method gives.
UNDECODED = ["DUMP", "FUNCTION DUMP"]

#: Commands a client refuses on its shared connection (they hold a session):
#: compared on a pipeline, where they run at once before multi(). The reply
#: of the last command counts.
SESSION_CASES: dict[str, list[Command]] = {
    "WATCH": [("WATCH", "k")],
    "UNWATCH": [("WATCH", "k"), ("UNWATCH",)],
}


def form(value: Any) -> Any:
    """The keys and types of a reply, all the way down (a list by its first item)."""
    if isinstance(value, dict):
        return {key: form(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return (type(value), form(value[0]) if value else None)
    return type(value)


def prepare(admin: redis.Redis, name: str) -> Command:
    """Resets the server, runs the case's setup, returns its command."""
    setup, command = CASES[name]
    admin.flushall()
    admin.function_flush()
    admin.script_flush()
    fill: dict[str, Any] = {}
    if name == "RESTORE":
        admin.set("a", "1")
        fill["<DUMP a>"] = admin.dump("a")
    if name == "FUNCTION RESTORE":
        admin.function_load(LIBRARY)
        fill["<FUNCTION DUMP>"] = admin.function_dump()
        admin.function_flush()
    if name == "SCRIPT EXISTS":
        fill["<SCRIPT LOAD>"] = admin.script_load("return 1")
    for step in setup:
        admin.execute_command(*step)
    now = int(time.time())
    fill["<in 100 s>"] = now + 100
    fill["<in 100000 ms>"] = (now + 100) * 1000
    return tuple(fill[word] if isinstance(word, str) and word in fill else word for word in command)


@contextlib.contextmanager
def a_script_running(server: RedisServer) -> Iterator[None]:
    """Runs a script past the busy threshold (the server then answers BUSY to
    others, and SCRIPT KILL can stop it) for the duration of the block."""
    admin = redis.Redis(port=server.port)
    admin.config_set("busy-reply-threshold", 10)
    runner = redis.Redis(port=server.port)

    def run_forever() -> None:
        with contextlib.suppress(redis.ResponseError):  # killed
            runner.execute_command("EVAL", "while true do end", 0)

    def busy() -> bool:
        try:
            admin.ping()
        except redis.ResponseError as error:
            return str(error).startswith("BUSY")
        return False

    thread = threading.Thread(target=run_forever, daemon=True)
    thread.start()
    try:
        assert wait_until(busy)
        yield
    finally:
        with contextlib.suppress(redis.ResponseError):  # the block killed it
            admin.script_kill()
        thread.join(timeout=10)
        admin.close()
        runner.close()
