"""Server error replies raise the exception class redis-py raises for them.

Every reply here is a real one: a Lua script answers with the error text
(``redis.error_reply``), so the reply crosses the whole path (the core's
decoder, the transport, the one mapping to exception classes) exactly as a
server's own would. redis-py, against the same server, says which class each
one should be. READONLY (a write to a replica) and EXECABORT (a transaction
with a bad command) also come from the server's own logic.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

import babushka
import babushka.asyncio
import babushka.exceptions
from support.servers import RedisServer

ERROR_SCRIPT = "return redis.error_reply(ARGV[1])"

#: One reply per error code either client gives a class of its own, and a few
#: that both leave as a plain ResponseError.
REPLIES = [
    "ERR plain error",
    "WRONGTYPE Operation against a key holding the wrong kind of value",
    "OOM command not allowed when used memory > 'maxmemory'.",
    "WRONGPASS invalid username-password pair or user is disabled.",
    "NOAUTH Authentication required.",
    "EXECABORT Transaction discarded because of previous errors.",
    "LOADING Redis is loading the dataset in memory",
    "NOSCRIPT No matching script. Please use EVAL.",
    "READONLY You can't write against a read only replica.",
    "NOPERM User alice has no permissions to run the 'set' command",
    "ASK 3999 127.0.0.1:6381",
    "TRYAGAIN Multiple keys request during rehashing of slot",
    "MOVED 3999 127.0.0.1:6381",
    "CLUSTERDOWN The cluster is down",
    "CROSSSLOT Keys in request don't hash to the same slot",
    "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
    "BUSY Redis is busy running a script.",
    "BUSYKEY Target key name already exists.",
    "NOREPLICAS Not enough good replicas to write.",
    "MISCONF Redis is configured to save RDB snapshots, but it's not able to persist on disk.",
    "ERR wrong number of arguments for 'auth' command",
    "ERR wrong number of arguments for 'AUTH' command",
    "ERR Error loading the extension. Please check the server logs.",
    "ERR Error unloading module: no such module with that name",
    "ERR Error unloading module: operation not possible.",
    "ERR Error unloading module: the module exports one or more module-side data types, "
    "can't unload",
    "ERR AUTH <password> called without any password configured for the default user. "
    "Are you sure your configuration is correct?",
    "ERR Client sent AUTH, but no password is set",
    "ERR problem with LDAP service",
    "ERR no such fieldset",
    # Only an exact text picks a class: these stay plain ResponseErrors.
    "ERR invalid password, really",
    "ERR wrong number of arguments for 'get' command",
]

#: redis-py picks these by the whole text after "ERR"; they are
#: ConnectionError subclasses, which redis-py would retry, hence apart.
ERR_TEXT_CLASSES = [
    "ERR max number of clients reached",
    "ERR invalid password",
]


@pytest.fixture(scope="module")
def redis_py_errors(redis_server: RedisServer) -> dict[str, BaseException]:
    """What redis-py raises for each reply, against the same server."""
    # No retries: redis-py retries replies it maps to a ConnectionError subclass.
    client = redis.Redis(
        host=redis_server.host, port=redis_server.port, protocol=2, retry=Retry(NoBackoff(), 0)
    )
    errors = {}
    for message in REPLIES + ERR_TEXT_CLASSES:
        with pytest.raises(redis.RedisError) as caught:
            client.execute_command("EVAL", ERROR_SCRIPT, 0, message)
        errors[message] = caught.value
    client.close()
    return errors


def expected_class(redis_py_class: type) -> tuple[type, bool]:
    """Babushka's class of the same name as redis-py's, and True; or, when
    Babushka has no such class, the nearest base redis-py's class has that
    Babushka does have, and False."""
    for cls in redis_py_class.__mro__:
        ours = getattr(babushka.exceptions, cls.__name__, None)
        if isinstance(ours, type):
            return ours, cls is redis_py_class
    raise AssertionError(f"no Babushka class for {redis_py_class}")


def mismatch(message: str, theirs: BaseException, ours: BaseException | None) -> str | None:
    cls, exact = expected_class(type(theirs))
    if ours is None:
        return f"{message!r}: nothing raised, redis-py raises {type(theirs).__name__}"
    if type(ours) is cls if exact else isinstance(ours, cls):
        return None
    return (
        f"{message!r}: raised {type(ours).__name__}, redis-py raises {type(theirs).__name__}"
        f" (expected {'' if exact else 'a subclass of '}{cls.__name__})"
    )


def test_error_replies_raise_redis_py_classes(
    r: babushka.Redis, redis_py_errors: dict[str, BaseException]
) -> None:
    problems = []
    for message in REPLIES:
        ours: BaseException | None = None
        try:
            r.execute_command("EVAL", ERROR_SCRIPT, 0, message)
        except babushka.RedisError as error:
            ours = error
        problems.append(mismatch(message, redis_py_errors[message], ours))
    found = [p for p in problems if p]
    assert not found, "\n".join(found)


async def test_error_replies_raise_redis_py_classes_async(
    ar: babushka.asyncio.Redis, redis_py_errors: dict[str, BaseException]
) -> None:
    problems = []
    for message in REPLIES:
        ours: BaseException | None = None
        try:
            await ar.execute_command("EVAL", ERROR_SCRIPT, 0, message)
        except babushka.RedisError as error:
            ours = error
        problems.append(mismatch(message, redis_py_errors[message], ours))
    found = [p for p in problems if p]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("message", ERR_TEXT_CLASSES)
def test_err_replies_redis_py_classifies_by_text(
    r: babushka.Redis, redis_py_errors: dict[str, BaseException], message: str
) -> None:
    ours: BaseException | None = None
    try:
        r.execute_command("EVAL", ERROR_SCRIPT, 0, message)
    except babushka.RedisError as error:
        ours = error
    assert mismatch(message, redis_py_errors[message], ours) is None


def test_the_message_is_redis_pys(
    r: babushka.Redis, redis_py_errors: dict[str, BaseException]
) -> None:
    # The codes redis-py has a class for are stripped ("ERR unknown command"
    # reads "unknown command"), and kept in status_code; others stay.
    problems = []
    for message in REPLIES + ERR_TEXT_CLASSES:
        with pytest.raises(babushka.RedisError) as caught:
            r.execute_command("EVAL", ERROR_SCRIPT, 0, message)
        theirs = redis_py_errors[message]
        ours = (str(caught.value), caught.value.status_code)
        if ours != (str(theirs), getattr(theirs, "status_code", None)):
            problems.append(f"{message!r}: {ours!r}, redis-py {str(theirs)!r}")
    assert not problems, "\n".join(problems)
    with pytest.raises(babushka.ResponseError) as caught:
        r.execute_command("EVAL", ERROR_SCRIPT, 0, "WRONGTYPE kept")
    assert (str(caught.value), caught.value.status_code) == ("WRONGTYPE kept", None)


# -- errors from the server's own logic ------------------------------------------


@pytest.fixture(scope="module")
def replica(server_kind: str) -> Iterator[RedisServer]:
    primary = RedisServer.start(kind=server_kind)
    replica = RedisServer.start("--replicaof", primary.host, str(primary.port), kind=server_kind)
    yield replica
    replica.stop()
    primary.stop()


def test_write_to_a_replica_raises_read_only_error(replica: RedisServer, transport: str) -> None:
    client = babushka.Redis(port=replica.port, transport=transport)
    try:
        with pytest.raises(babushka.ReadOnlyError, match=r"^You can't write"):
            client.set("k", "v")
        with pytest.raises(babushka.ReadOnlyError):
            client.execute_command("SET", "k", "v")
        assert client.get("k") is None  # reads are served
    finally:
        client.close()
    other = redis.Redis(port=replica.port)
    with pytest.raises(redis.exceptions.ReadOnlyError):
        other.set("k", "v")
    other.close()


async def test_write_to_a_replica_raises_read_only_error_async(
    replica: RedisServer, transport: str
) -> None:
    client = babushka.asyncio.Redis(port=replica.port, transport=transport)
    try:
        with pytest.raises(babushka.ReadOnlyError, match=r"^You can't write"):
            await client.set("k", "v")
        assert await client.get("k") is None
    finally:
        await client.aclose()


def _transaction_with_a_bad_command(replies: list[Any]) -> None:
    assert replies[0] == b"OK", replies  # MULTI
    assert isinstance(replies[1], babushka.ResponseError), replies  # refused at queueing
    assert "unknown command" in str(replies[1])
    error = replies[2]  # EXEC
    assert type(error) is babushka.ExecAbortError, replies
    # redis-py's message: the code stripped, kept in status_code.
    assert str(error) == "Transaction discarded because of previous errors.", replies
    assert error.status_code == "EXECABORT"


# The client refuses MULTI and EXEC on its shared connection; a plain
# pipeline sends them as given, and returns each reply (errors in place).


def test_exec_after_a_bad_command_raises_exec_abort_error(r: babushka.Redis) -> None:
    pipe = r.pipeline(transaction=False)
    pipe.execute_command("MULTI").execute_command("NO-SUCH-COMMAND", "x")
    pipe.execute_command("EXEC")
    _transaction_with_a_bad_command(pipe.execute(raise_on_error=False))
    assert r.ping() is True


async def test_exec_after_a_bad_command_raises_exec_abort_error_async(
    ar: babushka.asyncio.Redis,
) -> None:
    pipe = ar.pipeline(transaction=False)
    pipe.execute_command("MULTI").execute_command("NO-SUCH-COMMAND", "x")
    pipe.execute_command("EXEC")
    _transaction_with_a_bad_command(await pipe.execute(raise_on_error=False))
    assert await ar.ping() is True
