"""A real Redis Cluster for the tests: 3 primaries and 3 replicas, each a
``RedisServer`` started with ``--cluster-enabled yes`` on a free loopback
port whose bus port (the port + 10000) is free too, joined with
``redis-cli --cluster create ... --cluster-replicas 1``.

``Cluster.start(kind)`` returns once every node reports ``cluster_state:ok``,
agrees on the slot map, and every replica's link to its primary is up (a
failover test needs a synced replica). ``stop()`` stops every node.

Tests that change the cluster (failovers, moved slots) share one per module
and find what they need in whatever state the tests before left it: a
replica still resyncing after an earlier failover, a demoted primary that
has not heard yet. Every wait here polls until ``SETTLE_SECONDS`` (returning
at once on a fast machine) and reads the cluster afresh on each try, since
any one node's view may be a moment behind.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from dataclasses import dataclass, field

from babushka.bench.cluster import cluster_port, create_cluster
from support.servers import RedisServer

PRIMARIES = 3
REPLICAS_PER_PRIMARY = 1
#: Small, so a failover is quick; large enough that a busy test machine does
#: not see nodes as failed when they are only slow.
NODE_TIMEOUT_MS = 2000
#: How long one wait on the cluster may take: a replica's resync after a
#: failover, a failover (the primaries vote for a shard's replicas once per
#: twice the node timeout, so one right after another of the same shard is
#: asked again), a demoted primary hearing of it. Wide, for a loaded 2-core
#: machine running the suite; a test doing N such waits declares
#: ``@pytest.mark.timeout`` to match (``timeout_for``).
SETTLE_SECONDS = 60.0
#: A manual failover that the primaries do not vote for in time is given up
#: by the replica after 5 s (CLUSTER_MF_TIMEOUT); it is asked again then.
FAILOVER_ATTEMPT_SECONDS = 6.0


def timeout_for(waits: int) -> float:
    """A test's pytest timeout for ``waits`` cluster waits, plus a minute
    for everything else it does."""
    return waits * SETTLE_SECONDS + 60.0


def command(host: str, port: int, *args: str, timeout: float = 5.0) -> str:
    """One command with ``redis-cli`` (the reply as text)."""
    completed = subprocess.run(
        ["redis-cli", "-h", host, "-p", str(port), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    return completed.stdout


@dataclass
class Cluster:
    """The nodes of a running cluster; ``nodes[i]`` is a ``RedisServer``."""

    nodes: list[RedisServer] = field(default_factory=list)
    kind: str = "redis"

    @property
    def host(self) -> str:
        return self.nodes[0].host

    @property
    def port(self) -> int:
        return self.nodes[0].port

    @classmethod
    def start(cls, kind: str) -> Cluster:
        if shutil.which("redis-cli") is None:
            raise RuntimeError("redis-cli is missing: install Debian's redis-tools")
        cluster = cls(kind=kind)
        try:
            for _ in range(PRIMARIES * (1 + REPLICAS_PER_PRIMARY)):
                cluster.nodes.append(cluster._start_node())
            addresses = [f"{node.host}:{node.port}" for node in cluster.nodes]
            create_cluster(addresses, REPLICAS_PER_PRIMARY)
            cluster.wait_healthy()
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def _start_node(self) -> RedisServer:
        return RedisServer.start(
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            str(NODE_TIMEOUT_MS),
            # CLUSTER SLOTS lists a replica only once its replication
            # offset moved, which the primary's pings do: every second.
            "--repl-ping-replica-period",
            "1",
            # A replica may take over at once in a test's failover.
            "--cluster-replica-validity-factor",
            "0",
            kind=self.kind,
            choose_port=cluster_port,
        )

    def info(self, node: RedisServer, section: str) -> dict[str, str]:
        if section == "cluster":
            text = command(node.host, node.port, "CLUSTER", "INFO")
        else:
            text = command(node.host, node.port, "INFO", section)
        fields = {}
        for line in text.splitlines():
            name, sep, value = line.strip().partition(":")
            if sep:
                fields[name] = value
        return fields

    def wait_healthy(self, timeout: float = SETTLE_SECONDS) -> None:
        """Until every node says ``cluster_state:ok``, all agree on the slots,
        and every replica is in sync with its primary."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            try:
                states = [self.info(node, "cluster").get("cluster_state") for node in self.nodes]
                maps = {self._canonical_slots(node) for node in self.nodes}
                links = [
                    self.info(node, "replication").get("master_link_status")
                    for node in self.replicas()
                ]
                replicas = len(links)
                listed = [self._listed_nodes(node) for node in self.nodes]
                if (
                    all(state == "ok" for state in states)
                    and len(maps) == 1
                    and replicas == PRIMARIES * REPLICAS_PER_PRIMARY
                    and all(link == "up" for link in links)
                    and all(count == len(self.nodes) for count in listed)
                ):
                    return
                last = (
                    f"states={states} maps={len(maps)} replica links={links} "
                    f"nodes in CLUSTER SLOTS={listed}"
                )
            except (subprocess.SubprocessError, OSError) as error:
                last = str(error)
            time.sleep(0.1)
        raise RuntimeError(f"the cluster did not become healthy in {timeout} s: {last}")

    def _listed_nodes(self, node: RedisServer) -> int:
        """How many nodes this node's ``CLUSTER SLOTS`` lists (a client
        learns only those)."""
        text = command(node.host, node.port, "CLUSTER", "SLOTS")
        return len({line for line in text.split() if len(line) == 40})

    def _canonical_slots(self, node: RedisServer) -> str:
        """This node's view of every node (id, role, primary, slots), sorted,
        so that views compare equal when the nodes agree."""
        rows = []
        for line in command(node.host, node.port, "CLUSTER", "NODES").splitlines():
            parts = line.split()
            if len(parts) < 8:
                continue
            flags = parts[2].replace("myself,", "")
            rows.append(f"{parts[0]} {flags.split(',')[0]} {parts[3]} {' '.join(parts[8:])}")
        return "\n".join(sorted(rows))

    def role(self, node: RedisServer) -> str:
        return self.info(node, "replication").get("role", "")

    def primaries(self) -> list[RedisServer]:
        return [node for node in self.nodes if self._alive(node) and self.role(node) == "master"]

    def replicas(self) -> list[RedisServer]:
        return [node for node in self.nodes if self._alive(node) and self.role(node) == "slave"]

    def node_at(self, port: int) -> RedisServer:
        return next(node for node in self.nodes if node.port == port)

    def node_for_slot(self, slot: int) -> RedisServer:
        """The primary serving ``slot``: the live node that says so of itself
        (its own ``CLUSTER NODES`` line), the highest config epoch winning
        while an old owner has not heard yet. Another node's view of the
        owner can lag a failover: a demoted primary named as the primary
        has no replica to wait for."""
        best: tuple[int, RedisServer] | None = None
        for node in self.nodes:
            own = self._own_line(node)
            if own is None or "master" not in own[2] or slot not in _slots(own[8:]):
                continue
            epoch = int(own[6])
            if best is None or epoch > best[0]:
                best = (epoch, node)
        if best is None:
            raise LookupError(f"no primary serves slot {slot}")
        return best[1]

    def _own_line(self, node: RedisServer) -> list[str] | None:
        """``node``'s own line of ``CLUSTER NODES``, split (None when dead)."""
        if not self._alive(node):
            return None
        for line in command(node.host, node.port, "CLUSTER", "NODES").splitlines():
            parts = line.split()
            if len(parts) >= 8 and "myself" in parts[2]:
                return parts
        return None

    def replica_of(self, primary: RedisServer) -> RedisServer | None:
        """A live replica of ``primary`` whose link to it is up."""
        for node in self.replicas():
            fields = self.info(node, "replication")
            if fields.get("master_port") == str(primary.port) and (
                fields.get("master_link_status") == "up"
            ):
                return node
        return None

    def synced_shard(
        self, slot: int | None = None, timeout: float = SETTLE_SECONDS
    ) -> tuple[RedisServer, RedisServer]:
        """A primary (the one serving ``slot``, else any) and a replica of it
        whose link is up. Both are looked up again on every try: a replica
        demoted by an earlier test resyncs first, and the primary of a slot
        may change meanwhile."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                primaries = [self.node_for_slot(slot)] if slot is not None else self.primaries()
                for primary in primaries:
                    replica = self.replica_of(primary)
                    if replica is not None:
                        return primary, replica
            except (LookupError, subprocess.SubprocessError, OSError):
                pass  # a node between roles: asked again
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"no primary{'' if slot is None else f' of slot {slot}'} had a synced "
                    f"replica within {timeout} s:\n{self.describe()}"
                )
            time.sleep(0.1)

    def failover(self, replica: RedisServer, timeout: float = SETTLE_SECONDS) -> None:
        """``CLUSTER FAILOVER`` on ``replica``; returns once it is a primary
        and its old primary calls itself a replica (so a test's next step
        meets the new layout on both). A manual failover the primaries do not
        vote for in time is asked again (``FAILOVER_ATTEMPT_SECONDS``)."""
        link = self.info(replica, "replication")
        old = next((node for node in self.nodes if str(node.port) == link.get("master_port")), None)
        deadline = time.monotonic() + timeout
        while True:
            # Refused when a previous ask won late (it is a primary): checked below.
            with contextlib.suppress(subprocess.SubprocessError):
                command(replica.host, replica.port, "CLUSTER", "FAILOVER")
            attempt = time.monotonic() + FAILOVER_ATTEMPT_SECONDS
            while time.monotonic() < attempt:
                if self.role(replica) == "master" and (
                    old is None or not self._alive(old) or self.role(old) != "master"
                ):
                    return
                time.sleep(0.05)
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{replica.port} did not take over within {timeout} s:\n{self.describe()}"
                )

    def start_migration(self, slots: list[int], source: RedisServer, target: RedisServer) -> None:
        """Marks ``slots`` as moving from ``source`` to ``target`` (IMPORTING
        on the target, then MIGRATING on the source), as ``redis-cli
        --cluster reshard`` does before it moves any key."""
        source_id, target_id = self.node_id(source), self.node_id(target)
        for slot in slots:
            command(
                target.host, target.port, "CLUSTER", "SETSLOT", str(slot), "IMPORTING", source_id
            )
            command(
                source.host, source.port, "CLUSTER", "SETSLOT", str(slot), "MIGRATING", target_id
            )

    def migrate_keys(self, slots: list[int], source: RedisServer, target: RedisServer) -> None:
        """Moves every key of ``slots`` from ``source`` to ``target`` (MIGRATE)."""
        for slot in slots:
            keys = command(
                source.host, source.port, "CLUSTER", "GETKEYSINSLOT", str(slot), "1000"
            ).split()
            if keys:
                command(
                    source.host,
                    source.port,
                    "MIGRATE",
                    target.host,
                    str(target.port),
                    "",
                    "0",
                    "5000",
                    "KEYS",
                    *keys,
                )

    def finish_migration(self, slots: list[int], source: RedisServer, target: RedisServer) -> None:
        """Gives ``slots`` to ``target`` (SETSLOT NODE on the target, the
        source, then the other primaries, so none has to wait for gossip)."""
        target_id = self.node_id(target)
        others = [n for n in self.primaries() if n.port not in (source.port, target.port)]
        for node in (target, source, *others):
            for slot in slots:
                command(node.host, node.port, "CLUSTER", "SETSLOT", str(slot), "NODE", target_id)

    def move_slots(self, slots: list[int], source: RedisServer, target: RedisServer) -> None:
        """Moves ``slots`` and their keys from ``source`` to ``target``."""
        self.start_migration(slots, source, target)
        self.migrate_keys(slots, source, target)
        self.finish_migration(slots, source, target)

    def slots_of(self, node: RedisServer) -> list[int]:
        """The slots ``node`` serves, by its own ``CLUSTER NODES`` line."""
        own = self._own_line(node)
        return [] if own is None else _slots(own[8:])

    def describe(self) -> str:
        """Every live node's own line of ``CLUSTER NODES`` and its
        replication link, for a failed wait's message."""
        lines = []
        for node in self.nodes:
            if not self._alive(node):
                lines.append(f"{node.port}: dead")
                continue
            try:
                own = next(
                    line
                    for line in command(node.host, node.port, "CLUSTER", "NODES").splitlines()
                    if "myself" in line
                )
                link = self.info(node, "replication")
                lines.append(
                    f"{node.port}: {own} | master_port={link.get('master_port')} "
                    f"link={link.get('master_link_status')}"
                )
            except (subprocess.SubprocessError, OSError, StopIteration) as error:
                lines.append(f"{node.port}: {error!r}")
        return "\n".join(lines)

    def node_id(self, node: RedisServer) -> str:
        return command(node.host, node.port, "CLUSTER", "MYID").strip()

    @staticmethod
    def _alive(node: RedisServer) -> bool:
        return node.process.poll() is None

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def _slots(specs: list[str]) -> list[int]:
    """The slots of a ``CLUSTER NODES`` line's slot fields (``0-5460``,
    ``7``), without the ``[slot->-node]`` migration marks."""
    slots: list[int] = []
    for spec in specs:
        if not spec.startswith("["):
            low, _, high = spec.partition("-")
            slots.extend(range(int(low), int(high or low) + 1))
    return slots
