"""The core's events reach Python's logging under babushka.* (docs/logging.md):
a reconnect after CLIENT KILL, failed connection attempts, a cluster slot map
that changed, with their levels and context fields, on every transport (the uds
listener runs in this process, so its clients' events take the same path);
nothing on stderr without configuration; never a password."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
import uuid
from collections.abc import Callable

import pytest

import babushka
from babushka import _logging
from support.cluster import Cluster, command
from support.servers import RedisServer, free_port

# Events arrive on the core's event thread, a little after they happen.
WAIT = 10.0


@pytest.fixture
def records(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Captures every babushka.* record from DEBUG up, as it arrives."""
    caplog.set_level(logging.DEBUG, logger="babushka")
    return caplog


def wait_for(
    records: pytest.LogCaptureFixture, match: Callable[[logging.LogRecord], bool]
) -> logging.LogRecord:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        found = next((record for record in list(records.records) if match(record)), None)
        if found is not None:
            return found
        time.sleep(0.02)
    seen = [(r.name, r.levelname, getattr(r, "event", None)) for r in records.records]
    raise AssertionError(f"no such record within {WAIT} s; seen: {seen}")


def event(name: str, **fields: object) -> Callable[[logging.LogRecord], bool]:
    return lambda record: (
        getattr(record, "event", None) == name
        and all(getattr(record, key, None) == value for key, value in fields.items())
    )


def kill_by_name(server: RedisServer, name: str) -> None:
    admin = babushka.Redis(port=server.port)
    try:
        killed = [c for c in admin.client_list() if c.get("name") == name]
        assert killed, f"no connection named {name}"
        for connection in killed:
            admin.client_kill_filter(_id=connection["id"])
    finally:
        admin.close()


def test_a_reconnect_after_client_kill_is_logged(
    redis_server: RedisServer, transport: str, records: pytest.LogCaptureFixture
) -> None:
    name = f"log-{uuid.uuid4().hex[:8]}"
    r = babushka.Redis(port=redis_server.port, transport=transport, client_name=name)
    try:
        assert r.set("logging:k", "v") is True
        address = f"localhost:{redis_server.port}"
        connected = wait_for(records, event("connected", client_name=name))
        assert connected.name == "babushka.connection"
        assert connected.levelno == logging.DEBUG
        assert connected.address == address  # type: ignore[attr-defined]

        kill_by_name(redis_server, name)
        lost = wait_for(records, event("connection_lost", client_name=name))
        assert lost.name == "babushka.connection"
        assert lost.levelno == logging.WARNING
        assert lost.address == address  # type: ignore[attr-defined]
        assert "closed the connection" in lost.error  # type: ignore[attr-defined]

        assert r.get("logging:k") == b"v"
        reconnected = wait_for(records, event("reconnected", client_name=name))
        assert reconnected.levelno == logging.INFO
        assert reconnected.address == address  # type: ignore[attr-defined]
    finally:
        r.close()


def test_failed_connection_attempts_are_logged_then_giving_up(
    transport: str, records: pytest.LogCaptureFixture
) -> None:
    port = free_port()  # nothing listens there
    r = babushka.Redis(port=port, transport=transport, client_name="nowhere")
    try:
        with pytest.raises(babushka.ConnectionError):
            r.get("k")
    finally:
        r.close()
    address = f"localhost:{port}"
    failed = wait_for(records, event("connect_failed", address=address))
    assert failed.name == "babushka.connection"
    assert failed.levelno == logging.WARNING
    assert failed.attempt == 1  # type: ignore[attr-defined]
    assert failed.client_name == "nowhere"  # type: ignore[attr-defined]
    assert "refused" in failed.error.lower()  # type: ignore[attr-defined]
    gave_up = wait_for(records, event("connect_gave_up", address=address))
    assert gave_up.levelno == logging.ERROR
    assert gave_up.attempt >= 1  # type: ignore[attr-defined]


def test_a_changed_cluster_slot_map_is_logged(
    cluster: Cluster, transport: str, records: pytest.LogCaptureFixture
) -> None:
    rc = babushka.RedisCluster(host=cluster.host, port=cluster.port, transport=transport)
    # An empty slot of this test's own, moved to another primary and back.
    tag = f"{{logging-{transport}}}"
    slot = rc.keyslot(tag)
    source = cluster.node_for_slot(slot)
    target = next(n for n in cluster.primaries() if n.port != source.port)
    try:
        assert rc.get(tag) is None
        read = wait_for(records, event("slot_map_read"))
        assert read.name == "babushka.cluster"
        assert read.levelno == logging.DEBUG
        assert f"{source.host}:{source.port}" in read.primaries  # type: ignore[attr-defined]

        move_slot(cluster, slot, source, target)
        # Sent where the client's map says: MOVED, then the map is read again.
        assert rc.get(tag) is None
        moved = wait_for(records, event("moved", slot=slot))
        assert moved.levelno == logging.DEBUG
        assert moved.node == f"{target.host}:{target.port}"  # type: ignore[attr-defined]
        # Read again because of the MOVED, unless a periodic read (the
        # cluster fixture refreshes often) saw the change first.
        changed = wait_for(records, event("slot_map_changed"))
        assert changed.reason in ("MOVED", "periodic")  # type: ignore[attr-defined]
        assert changed.name == "babushka.cluster"
        assert changed.levelno == logging.INFO
    finally:
        rc.close()
        move_slot(cluster, slot, target, source)


def move_slot(cluster: Cluster, slot: int, source: RedisServer, target: RedisServer) -> None:
    """Moves an empty slot and waits until every node agrees."""
    source_id, target_id = cluster.node_id(source), cluster.node_id(target)
    command(target.host, target.port, "CLUSTER", "SETSLOT", str(slot), "IMPORTING", source_id)
    command(source.host, source.port, "CLUSTER", "SETSLOT", str(slot), "MIGRATING", target_id)
    for node in (target, source):
        command(node.host, node.port, "CLUSTER", "SETSLOT", str(slot), "NODE", target_id)
    deadline = time.monotonic() + 30
    while any(
        cluster_owner(node, slot) != target.port
        for node in cluster.nodes
        if node.process.poll() is None
    ):
        assert time.monotonic() < deadline, "the nodes did not agree on the moved slot"
        time.sleep(0.05)


def cluster_owner(node: RedisServer, slot: int) -> int | None:
    """The port of the primary that ``node`` says serves ``slot``."""
    for line in command(node.host, node.port, "CLUSTER", "NODES").splitlines():
        parts = line.split()
        if "master" not in parts[2]:
            continue
        for spec in parts[8:]:
            if spec.startswith("["):
                continue
            low, _, high = spec.partition("-")
            if int(low) <= slot <= int(high or low):
                return int(parts[1].split(":")[1].split("@")[0])
    return None


# The records are the client's (a refused port, a killed connection), alike on both kinds.
@pytest.mark.any_server
def test_nothing_is_printed_to_stderr_without_configuration(
    redis_server: RedisServer, transport: str
) -> None:
    # Warnings and errors happen (a refused port, a killed connection), and
    # logging is not configured: the NullHandler keeps them off stderr.
    script = f"""
import time
import babushka
from babushka import _logging
r = babushka.Redis(port={free_port()}, transport={transport!r})
try:
    r.get("k")
except babushka.ConnectionError:
    pass
r.close()
r = babushka.Redis(port={redis_server.port}, transport={transport!r}, client_name="quiet")
r.ping()
admin = babushka.Redis(port={redis_server.port})
for c in admin.client_list():
    if c.get("name") == "quiet":
        admin.client_kill_filter(_id=c["id"])
r.ping()
time.sleep(0.5)
print("done")
"""
    ran = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "done"
    assert ran.stderr == ""


def test_no_record_carries_the_password(
    server_kind: str, transport: str, records: pytest.LogCaptureFixture
) -> None:
    password = f"pw-{uuid.uuid4().hex}"
    server = RedisServer.start("--requirepass", password, kind=server_kind)
    try:
        name = f"secret-{uuid.uuid4().hex[:8]}"
        r = babushka.Redis.from_url(
            f"redis://:{password}@localhost:{server.port}/0",
            transport=transport,
            client_name=name,
        )
        try:
            assert r.ping() is True
            admin = babushka.Redis(port=server.port, password=password)
            try:
                for c in admin.client_list():
                    if c.get("name") == name:
                        admin.client_kill_filter(_id=c["id"])
            finally:
                admin.close()
            assert r.ping() is True
            wait_for(records, event("reconnected", client_name=name))
        finally:
            r.close()
        wrong = babushka.Redis(port=server.port, password=password + "x", transport=transport)
        try:
            with pytest.raises(babushka.AuthenticationError):
                wrong.ping()
        finally:
            wrong.close()
        wait_for(records, event("connect_gave_up", address=f"localhost:{server.port}"))
    finally:
        server.stop()
    babushka_records = [r for r in records.records if r.name.startswith("babushka")]
    assert babushka_records
    for record in babushka_records:
        assert password not in record.getMessage()
        assert all(password not in str(value) for value in vars(record).values())


def test_the_core_follows_level_changes(
    redis_server: RedisServer, transport: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Logging clears its level cache on every level change; Babushka re-reads
    # the levels then (a private method of logging's manager: pinned here).
    assert getattr(logging.Logger.manager._clear_cache, "_babushka", False)
    logger = logging.getLogger("babushka.connection")
    caplog.set_level(logging.WARNING, logger="babushka")
    quiet = babushka.Redis(port=redis_server.port, transport=transport, client_name="quiet")
    try:
        assert quiet.ping() is True
    finally:
        quiet.close()
    caplog.set_level(logging.DEBUG, logger="babushka")
    assert logger.getEffectiveLevel() == logging.DEBUG
    loud = babushka.Redis(port=redis_server.port, transport=transport, client_name="loud")
    try:
        assert loud.ping() is True
    finally:
        loud.close()
    wait_for(caplog, event("connected", client_name="loud"))
    assert not [r for r in caplog.records if getattr(r, "client_name", None) == "quiet"]


def test_a_subscriber_that_loses_its_connection_logs_the_resubscribe(
    redis_server: RedisServer, transport: str, records: pytest.LogCaptureFixture
) -> None:
    name = f"sub-{uuid.uuid4().hex[:8]}"
    r = babushka.Redis(port=redis_server.port, transport=transport, client_name=name)
    p = r.pubsub()
    try:
        p.subscribe("logging:channel")
        assert p.get_message(timeout=5)["type"] == "subscribe"  # type: ignore[index]
        kill_by_name(redis_server, name)
        lost = wait_for(records, event("subscriber_lost", client_name=name))
        assert lost.name == "babushka.pubsub"
        assert lost.levelno == logging.WARNING
        assert lost.address == f"localhost:{redis_server.port}"  # type: ignore[attr-defined]
        resubscribed = wait_for(records, event("resubscribed", client_name=name))
        assert resubscribed.levelno == logging.INFO
        assert "1 subscriptions" in resubscribed.getMessage()
    finally:
        p.close()
        r.close()


# The records are the client's (its fork handling), alike on both kinds.
@pytest.mark.any_server
def test_a_forked_child_reports_leaving_the_parents_connections(
    redis_server: RedisServer, transport: str
) -> None:
    # The child's records go to the same stdout; the child has its own
    # event thread (the parent's is not inherited).
    script = f"""
import logging, os, sys, time
import babushka
from babushka import _logging
logging.basicConfig(level=logging.DEBUG, stream=sys.stdout, format="%(process)d %(event)s")
r = babushka.Redis(port={redis_server.port}, transport={transport!r})
r.ping()
time.sleep(0.3)
pid = os.fork()
if pid == 0:
    r.ping()
    time.sleep(0.5)
    sys.stdout.flush()
    os._exit(0)
os.waitpid(pid, 0)
print("child", pid)
"""
    ran = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.split("\n")
    child = next(line.split()[1] for line in lines if line.startswith("child "))
    # A uds client's child opens a stream to a listener of its own, whose
    # client is new; managed and ffi clients leave the parent's behind.
    first = "uds_accepted" if transport == "uds" else "fork_disowned"
    assert f"{child} {first}" in lines, ran.stdout
    assert f"{child} connected" in lines, ran.stdout


def test_dropped_events_are_reported(records: pytest.LogCaptureFixture) -> None:
    # The core counts the events its full queue dropped and hands the count
    # over with the next batch (core/src/events/queue.rs tests the counting).
    _logging._deliver([], 3)
    dropped = wait_for(records, event("events_dropped", dropped=3))
    assert dropped.name == "babushka"
    assert dropped.levelno == logging.WARNING
