"""The operation mix every client runs (DESIGN.md, "The benchmark").

80% GET (80% of them on keys that exist, 20% on keys that never do) and 20%
SET on existing keys. The whole sequence is drawn once, up front, from a fixed
seed, so every client replays exactly the same operations and the harness does
the same (tiny) work per operation whichever client it drives.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

GET_SHARE = 0.8
GET_EXISTING_SHARE = 0.8
#: Length of the pre-drawn sequence; workers cycle through it from spread-out offsets.
SEQUENCE_LENGTH = 100_000
#: Cap on seeded bytes, so 1 MiB values do not need a 10 GB keyspace.
MAX_SEEDED_BYTES = 64 << 20


def existing_key(index: int) -> bytes:
    return b"bench:key:%d" % index


def missing_key(index: int) -> bytes:
    return b"bench:missing:%d" % index


def keyspace_for(value_size: int, keyspace: int) -> int:
    """The number of seeded keys for a value size: ``keyspace``, or fewer when
    that many values would exceed :data:`MAX_SEEDED_BYTES`."""
    return max(1, min(keyspace, MAX_SEEDED_BYTES // max(1, value_size)))


@dataclass(frozen=True)
class Workload:
    """A pre-drawn operation sequence for one value size.

    ``is_get[i]`` says whether operation ``i`` is a GET (else a SET of
    ``value``) and ``keys[i]`` is its key. Keys are bytes so that no client
    pays for encoding a str.
    """

    value_size: int
    keyspace: int
    value: bytes
    is_get: list[bool]
    keys: list[bytes]

    @classmethod
    def build(cls, value_size: int, keyspace: int, seed: int = 4) -> Workload:
        rng = random.Random(seed)
        keyspace = keyspace_for(value_size, keyspace)
        is_get: list[bool] = []
        keys: list[bytes] = []
        for _ in range(SEQUENCE_LENGTH):
            get = rng.random() < GET_SHARE
            is_get.append(get)
            if get and rng.random() >= GET_EXISTING_SHARE:
                keys.append(missing_key(rng.randrange(keyspace)))
            else:
                keys.append(existing_key(rng.randrange(keyspace)))
        # A recognisable, incompressible-enough value of exactly value_size bytes.
        value = (bytes(range(33, 127)) * (value_size // 94 + 1))[:value_size]
        return cls(value_size, keyspace, value, is_get, keys)

    def offset(self, worker: int, workers: int) -> int:
        """Where worker ``worker`` of ``workers`` starts, spread over the sequence."""
        return worker * len(self.keys) // workers
