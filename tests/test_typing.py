"""The typing of the public API.

- The generated interfaces (the stub package ``_interfaces/`` and the clients'
  constructor overloads) are what ``tools/typing_interfaces.py`` writes from
  the sources, and the package has no other module.
- ``mypy --strict`` accepts the typed example programs of
  ``tests/typed_examples/`` (which assert the revealed types) and finds
  exactly the marked errors in the negative one. (That a built wheel's stubs
  are enough for them alone is checked on the wheels test_packaging.py
  builds.)
- The annotations are true: every command method's value, from real servers
  with and without ``decode_responses`` on RESP2 and RESP3, is of the type its
  sync interface declares.
"""

from __future__ import annotations

import ast
import builtins
import collections.abc
import datetime
import importlib.util
import re
import subprocess
import sys
import types
import typing
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

import babushka
from babushka.commands.arrays import ArrayCommands
from support.servers import RedisServer
from support.typed_examples import NEGATIVE, passing_examples

pytestmark = pytest.mark.command_shapes

ROOT = Path(__file__).resolve().parent.parent


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location(
        "typing_interfaces", ROOT / "tools" / "typing_interfaces.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


def test_generated_interfaces_are_current() -> None:
    generator = _generator()
    outputs = generator.outputs()
    stale = [
        str(path.relative_to(ROOT))
        for path, text in outputs.items()
        if not path.exists() or path.read_text() != text
    ]
    stale += (str(path.relative_to(ROOT)) for path in generator.leftovers(outputs))
    assert not stale, f"run `python tools/typing_interfaces.py` and commit: {stale}"


def test_a_module_whose_group_is_gone_is_a_leftover(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The generator removes (``--check``: reports) a module of the stub
    package that it no longer writes, so a renamed group leaves no stale stub."""
    generator = _generator()
    monkeypatch.setattr(generator, "INTERFACES", tmp_path)
    for name in ("__init__.pyi", "strings.pyi", "renamed.pyi", "notes.txt"):
        (tmp_path / name).write_text("")
    written = {tmp_path / "__init__.pyi": "", tmp_path / "strings.pyi": ""}
    assert generator.leftovers(written) == [tmp_path / "renamed.pyi"]


def _mypy(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", *map(str, paths)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )


@pytest.mark.timeout(300)  # mypy without a cache takes a while on a busy machine
def test_typed_examples_pass_mypy_strict() -> None:
    examples = passing_examples()
    assert len(examples) >= 4
    result = _mypy(*examples)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.timeout(300)
def test_mypy_finds_the_marked_mistakes() -> None:
    """A misspelt keyword (``decode_respones=True``), a wrong argument type,
    a reply used as the wrong value type, an un-awaited async reply."""
    expected = {
        (number, match.group(1))
        for number, line in enumerate(NEGATIVE.read_text().splitlines(), 1)
        if (match := re.search(r"# error: ([\w-]+)$", line))
    }
    assert len(expected) >= 6
    result = _mypy(NEGATIVE)
    found = {
        (int(m.group(1)), m.group(2))
        for m in re.finditer(r"^[^:]+:(\d+): error: .*\[([\w-]+)\]$", result.stdout, re.M)
    }
    assert found == expected, result.stdout


# -- the annotations against the values the servers give -------------------


def _declared_returns() -> dict[str, str]:
    """Each method of the generated ``SyncCommands`` and of the base it
    shares with the other flavours: its return annotation (an overloaded
    method's, the union of its overloads': which overload a call picks is
    checked by mypy in ``typed_examples/``). The package's ``__init__.pyi``
    combines each command group's module's classes of those names."""
    package = ROOT / "python" / "babushka" / "_interfaces"
    returns: dict[str, list[str]] = {}
    for path in sorted(package.glob("*.pyi")):
        tree = ast.parse(path.read_text())
        for cls in tree.body:
            if not isinstance(cls, ast.ClassDef) or cls.name not in (
                "UntypedCommands",
                "SyncCommands",
            ):
                continue
            for node in cls.body:
                if isinstance(node, ast.FunctionDef) and node.returns is not None:
                    returns.setdefault(node.name, []).append(ast.unparse(node.returns))
    return {name: " | ".join(each) for name, each in returns.items()}


def _evaluate(annotation: str, value_type: type) -> Any:
    namespace = {
        "ValueT": value_type,
        "Any": Any,
        "Iterator": collections.abc.Iterator,
        "builtins": builtins,
        "datetime": datetime,
    }
    return eval(annotation, namespace)


def _conforms(value: Any, hint: Any) -> bool:
    if hint is Any:
        return True
    if hint is None or hint is type(None):
        return value is None
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_conforms(value, arg) for arg in args)
    if origin is list:
        return type(value) is list and all(_conforms(v, args[0]) for v in value)
    if origin is set:
        return type(value) is set and all(_conforms(v, args[0]) for v in value)
    if origin is dict:
        return type(value) is dict and all(
            _conforms(k, args[0]) and _conforms(v, args[1]) for k, v in value.items()
        )
    if origin is tuple:
        return type(value) is tuple and len(value) == len(args) and all(map(_conforms, value, args))
    if origin is collections.abc.Iterator:
        return isinstance(value, collections.abc.Iterator) and all(
            _conforms(v, args[0]) for v in value
        )
    # bool is an int in Python, not in a type checker's narrow reading of a reply.
    return type(value) is hint


Call = Callable[[babushka.Redis[Any]], Any]

#: Commands whose value the test cannot provoke, and why.
#: Newer than both test servers (tests/test_commands_newer.py checks their words).
_NEWER = "the test servers do not have the command"

UNCALLED = {
    "script_kill": "answers NOTBUSY unless a script is running",
    "function_kill": "answers NOTBUSY unless a function is running",
    # A sentinel's commands: tests/test_sentinel.py checks their values
    # against a sentinel (a data server does not know them).
    **{
        f"sentinel_{name}": "a sentinel's command (tests/test_sentinel.py)"
        for name in ("ckquorum", "failover", "flushconfig", "monitor", "remove", "reset", "set")
    },
    "migrate": "needs a second server (tests/test_commands_newer.py checks its value)",
    "readonly": "Redis 7.0 refuses it without cluster support",
    "readwrite": "Redis 7.0 refuses it without cluster support",
    "waitaof": "Redis 7.2+",
    "shutdown": "stops the server (tests/test_shutdown.py)",
    "client_setinfo": "Redis 7.2+",
    "client_no_touch": "Redis 7.2+",
    "client_kill": "needs another client's address (tests/test_client_admin.py)",
    "client_tracking_on": "leaves tracking on (tests/test_client_admin.py)",
    "acl_load": "the test servers have no ACL file",
    "acl_save": "the test servers have no ACL file",
    "config_rewrite": "the test servers have no config file",
    "bgsave": "fails while another save runs (tests/test_server_admin.py)",
    "bgrewriteaof": "fails while another rewrite runs (tests/test_server_admin.py)",
    "replicaof": "would make the server a replica",
    "slaveof": "would make the server a replica",
    "module_load": "the test servers have no module to load",
    "module_loadex": "the test servers have no module to load",
    "module_unload": "the test servers have no module to load",
    "debug_object": "DEBUG is off on the test servers (tests/test_server.py)",
    "quit": "closes its connection (tests/test_connection.py)",
    **dict.fromkeys(
        (
            "hexpire",
            "hpexpire",
            "hexpireat",
            "hpexpireat",
            "httl",
            "hpttl",
            "hexpiretime",
            "hpexpiretime",
            "hpersist",
            "hgetdel",
            "hgetex",
            "hsetex",
        ),
        "Redis 7.0 has no hash field expiry (tests/test_hash_fields.py)",
    ),
    **dict.fromkeys(
        (
            "lmovem",
            "blmovem",
            "increx",
            "stralgo",
            "msetex",
            "delex",
            "digest",
            "sdiffcard",
            "sunioncard",
            "xdelex",
            "xackdel",
            "xnack",
            "xcfgset",
            *(name for name in vars(ArrayCommands) if name.startswith("ar")),
            "hotkeys_start",
            "hotkeys_get",
            "hotkeys_stop",
            "hotkeys_reset",
        ),
        _NEWER,
    ),
}

LIBRARY = "#!lua name=typed\nredis.register_function('one', function() return 1 end)"


def _calls() -> Iterator[tuple[str, Call]]:
    """One call of every command method, in an order that makes each
    meaningful (keys exist when a command reads them)."""
    yield from [
        ("flushall", lambda r: r.flushall()),
        ("flushdb", lambda r: r.flushdb()),
        ("ping", lambda r: r.ping()),
        ("echo", lambda r: r.echo("hi")),
        ("select", lambda r: r.select(0)),
        ("auth", lambda r: r.auth("any", "default")),
        ("client_setname", lambda r: r.client_setname("typed")),
        ("client_getname", lambda r: r.client_getname()),
        ("client_id", lambda r: r.client_id()),
        ("info", lambda r: r.info("server")),
        ("dbsize", lambda r: r.dbsize()),
        ("config_get", lambda r: r.config_get("maxmemory")),
        ("config_set", lambda r: r.config_set("maxmemory", "0")),
        ("time", lambda r: r.time()),
        ("lastsave", lambda r: r.lastsave()),
        # strings
        ("set", lambda r: r.set("s", "v")),
        ("set", lambda r: r.set("s", "v", get=True)),
        ("set", lambda r: r.set("s", "v", nx=True)),
        ("get", lambda r: r.get("s")),
        ("get", lambda r: r.get("missing")),
        ("mset", lambda r: r.mset({"a": "1", "b": "2"})),
        ("msetnx", lambda r: r.msetnx({"a": "1"})),
        ("mget", lambda r: r.mget(["a", "missing"])),
        ("setnx", lambda r: r.setnx("s", "v")),
        ("setex", lambda r: r.setex("e", 100, "v")),
        ("psetex", lambda r: r.psetex("e", 100000, "v")),
        ("incr", lambda r: r.incr("n")),
        ("incrby", lambda r: r.incrby("n", 2)),
        ("decr", lambda r: r.decr("n")),
        ("decrby", lambda r: r.decrby("n", 2)),
        ("incrbyfloat", lambda r: r.incrbyfloat("f", 1.5)),
        ("append", lambda r: r.append("s", "w")),
        ("strlen", lambda r: r.strlen("s")),
        ("getrange", lambda r: r.getrange("s", 0, 0)),
        ("setrange", lambda r: r.setrange("s", 0, "x")),
        ("getex", lambda r: r.getex("s", ex=100)),
        ("getset", lambda r: r.getset("s", "v")),
        ("getdel", lambda r: r.getdel("s")),
        # keys
        ("exists", lambda r: r.exists("a", "b")),
        ("touch", lambda r: r.touch("a")),
        ("expire", lambda r: r.expire("a", 100)),
        ("pexpire", lambda r: r.pexpire("a", 100000)),
        ("expireat", lambda r: r.expireat("a", 4102444800)),
        ("pexpireat", lambda r: r.pexpireat("a", 4102444800000)),
        ("ttl", lambda r: r.ttl("a")),
        ("pttl", lambda r: r.pttl("a")),
        ("persist", lambda r: r.persist("a")),
        ("type", lambda r: r.type("a")),
        ("keys", lambda r: r.keys()),
        ("randomkey", lambda r: r.randomkey()),
        ("scan", lambda r: r.scan(0)),
        ("scan_iter", lambda r: r.scan_iter()),
        ("copy", lambda r: r.copy("a", "c")),
        ("rename", lambda r: r.rename("c", "d")),
        ("renamenx", lambda r: r.renamenx("d", "a")),
        ("move", lambda r: r.move("d", 1)),
        ("dump", lambda r: r.dump("a")),
        ("dump", lambda r: r.dump("missing")),
        ("restore", lambda r: r.restore("restored", 0, r.dump("a"))),
        ("delete", lambda r: r.delete("restored")),
        ("unlink", lambda r: r.unlink("b")),
        # hashes
        ("hset", lambda r: r.hset("h", mapping={"f": "1", "g": "2"})),
        ("hmset", lambda r: r.hmset("h", {"i": "3"})),
        ("hsetnx", lambda r: r.hsetnx("h", "f", "1")),
        ("hget", lambda r: r.hget("h", "f")),
        ("hmget", lambda r: r.hmget("h", ["f", "missing"])),
        ("hgetall", lambda r: r.hgetall("h")),
        ("hexists", lambda r: r.hexists("h", "f")),
        ("hkeys", lambda r: r.hkeys("h")),
        ("hvals", lambda r: r.hvals("h")),
        ("hlen", lambda r: r.hlen("h")),
        ("hstrlen", lambda r: r.hstrlen("h", "f")),
        ("hincrby", lambda r: r.hincrby("h", "f")),
        ("hincrbyfloat", lambda r: r.hincrbyfloat("h", "f", 0.5)),
        ("hrandfield", lambda r: r.hrandfield("h")),
        ("hrandfield", lambda r: r.hrandfield("h", 2)),
        ("hrandfield", lambda r: r.hrandfield("h", 2, withvalues=True)),
        ("hscan", lambda r: r.hscan("h")),
        ("hscan_iter", lambda r: r.hscan_iter("h")),
        ("hdel", lambda r: r.hdel("h", "g")),
        # lists
        ("rpush", lambda r: r.rpush("l", "a", "b", "c", "d")),
        ("lpush", lambda r: r.lpush("l", "z")),
        ("lpushx", lambda r: r.lpushx("l", "y")),
        ("rpushx", lambda r: r.rpushx("l", "e")),
        ("lpop", lambda r: r.lpop("l")),
        ("lpop", lambda r: r.lpop("l", 1)),
        ("rpop", lambda r: r.rpop("l")),
        ("rpop", lambda r: r.rpop("missing", 2)),
        ("lrange", lambda r: r.lrange("l", 0, -1)),
        ("llen", lambda r: r.llen("l")),
        ("lindex", lambda r: r.lindex("l", 0)),
        ("lset", lambda r: r.lset("l", 0, "a")),
        ("linsert", lambda r: r.linsert("l", "before", "a", "x")),
        ("lpos", lambda r: r.lpos("l", "a")),
        ("lpos", lambda r: r.lpos("l", "a", count=2)),
        ("lrem", lambda r: r.lrem("l", 0, "x")),
        ("lmove", lambda r: r.lmove("l", "l2")),
        ("rpoplpush", lambda r: r.rpoplpush("l", "l2")),
        ("blpop", lambda r: r.blpop(["l2"], 1)),
        ("brpop", lambda r: r.brpop(["l2", "l"], 1)),
        ("brpoplpush", lambda r: r.brpoplpush("l", "l2", 1)),
        ("blmove", lambda r: r.blmove("l2", "l", 1)),
        ("blmpop", lambda r: r.blmpop(1, 1, "l", direction="LEFT")),
        ("ltrim", lambda r: r.ltrim("l", 0, 0)),
        # sets
        ("sadd", lambda r: r.sadd("s1", "a", "b", "c")),
        ("sadd", lambda r: r.sadd("s2", "b")),
        ("srem", lambda r: r.srem("s1", "c")),
        ("smembers", lambda r: r.smembers("s1")),
        ("sismember", lambda r: r.sismember("s1", "a")),
        ("smismember", lambda r: r.smismember("s1", ["a", "z"])),
        ("scard", lambda r: r.scard("s1")),
        ("srandmember", lambda r: r.srandmember("s1")),
        ("srandmember", lambda r: r.srandmember("s1", 2)),
        ("sinter", lambda r: r.sinter("s1", "s2")),
        ("sunion", lambda r: r.sunion("s1", "s2")),
        ("sdiff", lambda r: r.sdiff("s1", "s2")),
        ("sinterstore", lambda r: r.sinterstore("s3", "s1", "s2")),
        ("sunionstore", lambda r: r.sunionstore("s3", "s1", "s2")),
        ("sdiffstore", lambda r: r.sdiffstore("s3", "s1", "s2")),
        ("smove", lambda r: r.smove("s3", "s2", "a")),
        ("sscan", lambda r: r.sscan("s1")),
        ("sscan_iter", lambda r: r.sscan_iter("s1")),
        ("spop", lambda r: r.spop("s1")),
        ("spop", lambda r: r.spop("s2", 2)),
        # sorted sets
        ("zadd", lambda r: r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4})),
        ("zadd", lambda r: r.zadd("z", {"a": 1}, incr=True)),
        ("zadd", lambda r: r.zadd("z", {"a": 1}, nx=True, incr=True)),
        ("zincrby", lambda r: r.zincrby("z", 1, "a")),
        ("zcard", lambda r: r.zcard("z")),
        ("zcount", lambda r: r.zcount("z", "-inf", "+inf")),
        ("zscore", lambda r: r.zscore("z", "a")),
        ("zmscore", lambda r: r.zmscore("z", ["a", "missing"])),
        ("zrank", lambda r: r.zrank("z", "a")),
        ("zrevrank", lambda r: r.zrevrank("z", "missing")),
        ("zrange", lambda r: r.zrange("z", 0, -1)),
        ("zrange", lambda r: r.zrange("z", 0, -1, withscores=True)),
        ("zrange", lambda r: r.zrange("z", 0, -1, withscores=True, score_cast_func=int)),
        ("zrevrange", lambda r: r.zrevrange("z", 0, -1, withscores=True)),
        ("zrangebyscore", lambda r: r.zrangebyscore("z", 0, 10)),
        ("zrevrangebyscore", lambda r: r.zrevrangebyscore("z", 10, 0, withscores=True)),
        ("zscan", lambda r: r.zscan("z")),
        ("zscan_iter", lambda r: r.zscan_iter("z")),
        ("zpopmin", lambda r: r.zpopmin("z")),
        ("zpopmax", lambda r: r.zpopmax("z", 1)),
        ("bzpopmin", lambda r: r.bzpopmin("z", 1)),
        ("bzpopmax", lambda r: r.bzpopmax(["z"], 1)),
        ("zadd", lambda r: r.zadd("z", {"e": 5, "f": 6, "g": 7})),
        ("bzmpop", lambda r: r.bzmpop(1, 1, ["z"], min=True)),
        ("zrem", lambda r: r.zrem("z", "e")),
        ("zremrangebyscore", lambda r: r.zremrangebyscore("z", 0, 5)),
        ("zremrangebyrank", lambda r: r.zremrangebyrank("z", 0, 0)),
        # HyperLogLog, bitmaps, more strings and keys
        ("pfadd", lambda r: r.pfadd("hll", "a", "b")),
        ("pfcount", lambda r: r.pfcount("hll")),
        ("pfmerge", lambda r: r.pfmerge("hll2", "hll")),
        ("setbit", lambda r: r.setbit("bits", 7, 1)),
        ("getbit", lambda r: r.getbit("bits", 7)),
        ("bitcount", lambda r: r.bitcount("bits")),
        ("bitpos", lambda r: r.bitpos("bits", 1)),
        ("bitop", lambda r: r.bitop("OR", "bits2", "bits")),
        ("bitfield_ro", lambda r: r.bitfield_ro("bits", "u8", 0)),
        ("substr", lambda r: r.substr("s", 0, 1)),
        ("lcs", lambda r: r.lcs("s", "s")),
        ("lcs", lambda r: r.lcs("s", "s", len=True)),
        ("lcs", lambda r: r.lcs("s", "s", idx=True)),
        ("expiretime", lambda r: r.expiretime("e")),
        ("pexpiretime", lambda r: r.pexpiretime("e")),
        ("object", lambda r: r.object("encoding", "s")),
        ("object", lambda r: r.object("refcount", "s")),
        ("wait", lambda r: r.wait(0, 10)),
        ("sintercard", lambda r: r.sintercard(1, ["set1"])),
        ("lmpop", lambda r: r.lmpop(1, "l2", direction="LEFT")),
        ("lmpop", lambda r: r.lmpop(1, "nolist", direction="LEFT")),
        ("sort", lambda r: r.sort("l", alpha=True)),
        ("sort", lambda r: r.sort("l", alpha=True, store="sorted")),
        ("sort", lambda r: r.sort("l", get=["#", "nokey*"], groups=True, alpha=True)),
        ("sort_ro", lambda r: r.sort_ro("l", get="nokey*", alpha=True)),
        # geo
        (
            "geoadd",
            lambda r: r.geoadd("geo", [13.361389, 38.115556, "p", 15.087269, 37.502669, "c"]),
        ),
        ("geodist", lambda r: r.geodist("geo", "p", "c")),
        ("geodist", lambda r: r.geodist("geo", "p", "none")),
        ("geohash", lambda r: r.geohash("geo", "p", "none")),
        ("geopos", lambda r: r.geopos("geo", "p", "none")),
        ("georadius", lambda r: r.georadius("geo", 15, 37, 200, unit="km", withdist=True)),
        ("georadius", lambda r: r.georadius("geo", 15, 37, 200, unit="km", store="geo2")),
        ("georadiusbymember", lambda r: r.georadiusbymember("geo", "p", 200, unit="km")),
        ("geosearch", lambda r: r.geosearch("geo", member="p", radius=200, unit="km")),
        ("geosearchstore", lambda r: r.geosearchstore("geo3", "geo", member="p", radius=200)),
        # sorted-set algebra
        ("zunion", lambda r: r.zunion(["z", "z"])),
        ("zunion", lambda r: r.zunion(["z"], withscores=True)),
        ("zinter", lambda r: r.zinter(["z", "z"], withscores=True)),
        ("zunionstore", lambda r: r.zunionstore("z2", ["z"])),
        ("zinterstore", lambda r: r.zinterstore("z3", ["z", "z2"])),
        ("zdiff", lambda r: r.zdiff(["z", "z3"])),
        ("zdiff", lambda r: r.zdiff(["z", "z3"], withscores=True)),
        ("zdiffstore", lambda r: r.zdiffstore("z4", ["z", "z3"])),
        ("zintercard", lambda r: r.zintercard(2, ["z", "z2"])),
        ("zrandmember", lambda r: r.zrandmember("z")),
        ("zrandmember", lambda r: r.zrandmember("z", 2)),
        ("zrandmember", lambda r: r.zrandmember("nozset")),
        ("zrangestore", lambda r: r.zrangestore("z5", "z", 0, -1)),
        ("zmpop", lambda r: r.zmpop(1, ["z5"], min=True)),
        ("zmpop", lambda r: r.zmpop(1, ["nozset"], min=True)),
        ("zadd", lambda r: r.zadd("lex", {"a": 0, "b": 0, "c": 0})),
        ("zlexcount", lambda r: r.zlexcount("lex", "-", "+")),
        ("zrangebylex", lambda r: r.zrangebylex("lex", "-", "+")),
        ("zrevrangebylex", lambda r: r.zrevrangebylex("lex", "+", "-")),
        ("zremrangebylex", lambda r: r.zremrangebylex("lex", "[a", "[a")),
        # streams
        ("xadd", lambda r: r.xadd("st", {"f": "v"})),
        ("xadd", lambda r: r.xadd("st", {"f": "w"}, maxlen=10, approximate=False)),
        ("xadd", lambda r: r.xadd("no-stream", {"f": "v"}, nomkstream=True)),
        ("xlen", lambda r: r.xlen("st")),
        ("xrange", lambda r: r.xrange("st")),
        ("xrevrange", lambda r: r.xrevrange("st", count=1)),
        ("xread", lambda r: r.xread({"st": "0-0"})),
        ("xgroup_create", lambda r: r.xgroup_create("st", "g", id="0")),
        ("xgroup_createconsumer", lambda r: r.xgroup_createconsumer("st", "g", "c2")),
        ("xreadgroup", lambda r: r.xreadgroup("g", "c", {"st": ">"})),
        ("xpending", lambda r: r.xpending("st", "g")),
        ("xpending_range", lambda r: r.xpending_range("st", "g", "-", "+", 10)),
        ("xclaim", lambda r: r.xclaim("st", "g", "c2", 0, [r.xrange("st")[0][0]])),
        ("xclaim", lambda r: r.xclaim("st", "g", "c2", 0, [r.xrange("st")[0][0]], justid=True)),
        ("xautoclaim", lambda r: r.xautoclaim("st", "g", "c", 0)),
        ("xautoclaim", lambda r: r.xautoclaim("st", "g", "c", 0, justid=True)),
        ("xinfo_stream", lambda r: r.xinfo_stream("st")),
        ("xinfo_stream", lambda r: r.xinfo_stream("st", full=True)),
        ("xinfo_groups", lambda r: r.xinfo_groups("st")),
        ("xinfo_consumers", lambda r: r.xinfo_consumers("st", "g")),
        ("xack", lambda r: r.xack("st", "g", r.xrange("st")[0][0])),
        ("xgroup_delconsumer", lambda r: r.xgroup_delconsumer("st", "g", "c2")),
        ("xgroup_setid", lambda r: r.xgroup_setid("st", "g", "0")),
        ("xgroup_destroy", lambda r: r.xgroup_destroy("st", "g")),
        ("xtrim", lambda r: r.xtrim("st", maxlen=1, approximate=False)),
        ("xdel", lambda r: r.xdel("st", r.xrange("st")[0][0])),
        # administration
        ("acl_cat", lambda r: r.acl_cat()),
        ("acl_genpass", lambda r: r.acl_genpass()),
        ("acl_help", lambda r: r.acl_help()),
        ("acl_setuser", lambda r: r.acl_setuser("typed-user", enabled=True, commands=["+get"])),
        ("acl_getuser", lambda r: r.acl_getuser("typed-user")),
        ("acl_getuser", lambda r: r.acl_getuser("no-such-user")),
        ("acl_dryrun", lambda r: r.acl_dryrun("typed-user", "get", "k")),
        ("acl_list", lambda r: r.acl_list()),
        ("acl_users", lambda r: r.acl_users()),
        ("acl_whoami", lambda r: r.acl_whoami()),
        ("acl_log", lambda r: r.acl_log()),
        ("acl_log_reset", lambda r: r.acl_log_reset()),
        ("acl_deluser", lambda r: r.acl_deluser("typed-user")),
        ("client_list", lambda r: r.client_list()),
        ("client_info", lambda r: r.client_info()),
        ("client_kill_filter", lambda r: r.client_kill_filter(_id=999999999)),
        ("client_pause", lambda r: r.client_pause(1)),
        ("client_unpause", lambda r: r.client_unpause()),
        ("client_unblock", lambda r: r.client_unblock(999999999)),
        ("client_no_evict", lambda r: r.client_no_evict("off")),
        ("client_getredir", lambda r: r.client_getredir()),
        ("client_trackinginfo", lambda r: r.client_trackinginfo()),
        ("client_tracking", lambda r: r.client_tracking(False)),
        ("client_tracking_off", lambda r: r.client_tracking_off()),
        ("config_resetstat", lambda r: r.config_resetstat()),
        ("save", lambda r: r.save()),
        ("role", lambda r: r.role()),
        ("swapdb", lambda r: r.swapdb(1, 2)),
        ("lolwut", lambda r: r.lolwut()),
        ("module_list", lambda r: r.module_list()),
        ("memory_malloc_stats", lambda r: r.memory_malloc_stats()),
        ("memory_purge", lambda r: r.memory_purge()),
        ("memory_stats", lambda r: r.memory_stats()),
        ("memory_usage", lambda r: r.memory_usage("s")),
        ("memory_usage", lambda r: r.memory_usage("no-such-key")),
        ("slowlog_get", lambda r: r.slowlog_get()),
        ("slowlog_len", lambda r: r.slowlog_len()),
        ("slowlog_reset", lambda r: r.slowlog_reset()),
        ("latency_history", lambda r: r.latency_history("command")),
        ("latency_latest", lambda r: r.latency_latest()),
        ("latency_reset", lambda r: r.latency_reset()),
        ("command", lambda r: r.command()),
        ("command_count", lambda r: r.command_count()),
        ("command_list", lambda r: r.command_list()),
        ("command_getkeys", lambda r: r.command_getkeys("GET", "k")),
        ("command_getkeysandflags", lambda r: r.command_getkeysandflags("GET", "k")),
        # pub/sub
        ("publish", lambda r: r.publish("chan", "m")),
        ("spublish", lambda r: r.spublish("chan", "m")),
        ("pubsub_channels", lambda r: r.pubsub_channels()),
        ("pubsub_shardchannels", lambda r: r.pubsub_shardchannels()),
        ("pubsub_numpat", lambda r: r.pubsub_numpat()),
        ("pubsub_numsub", lambda r: r.pubsub_numsub("chan")),
        ("pubsub_shardnumsub", lambda r: r.pubsub_shardnumsub("chan")),
        # scripts and functions
        ("eval", lambda r: r.eval("return 1", 0)),
        ("eval_ro", lambda r: r.eval_ro("return 'x'", 0)),
        ("script_load", lambda r: r.script_load("return 2")),
        ("evalsha", lambda r: r.evalsha(r.script_load("return 2"), 0)),
        ("evalsha_ro", lambda r: r.evalsha_ro(r.script_load("return 2"), 0)),
        ("script_exists", lambda r: r.script_exists(r.script_load("return 2"))),
        ("script_flush", lambda r: r.script_flush()),
        ("function_load", lambda r: r.function_load(LIBRARY)),
        ("function_list", lambda r: r.function_list()),
        ("function_stats", lambda r: r.function_stats()),
        ("fcall", lambda r: r.fcall("one", 0)),
        ("fcall_ro", lambda r: r.fcall("one", 0)),
        ("function_dump", lambda r: r.function_dump()),
        ("function_restore", lambda r: r.function_restore(r.function_dump(), "REPLACE")),
        ("function_delete", lambda r: r.function_delete("typed")),
        ("function_flush", lambda r: r.function_flush()),
    ]


def test_every_command_method_is_called() -> None:
    """Every method with a declared type; one typed ``Any`` (a method still
    returning ``ResponseT``) has nothing to check yet."""
    called = {name for name, _ in _calls()}
    typed = {name for name, hint in _declared_returns().items() if hint != "Any"}
    missing = typed - called - UNCALLED.keys()
    assert not missing, f"add a call of each to _calls(): {sorted(missing)}"


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize("decode_responses", [False, True])
def test_values_are_of_the_declared_types(
    redis_server: RedisServer, transport: str, protocol: int, decode_responses: bool
) -> None:
    declared = _declared_returns()
    value_type = str if decode_responses else bytes
    client = babushka.Redis(
        port=redis_server.port,
        transport=transport,
        protocol=protocol,
        decode_responses=decode_responses,
    )
    wrong = []
    try:
        for name, call in _calls():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # hmset
                value = call(client)
            if isinstance(value, collections.abc.Iterator):
                value = iter(list(value))  # scan_iter: the items are checked
            hint = _evaluate(declared[name], value_type)
            if not _conforms(value, hint):
                wrong.append(f"{name}: {value!r} is not {declared[name]}")
    finally:
        client.flushall()
        client.close()
    assert not wrong, "\n".join(wrong)
