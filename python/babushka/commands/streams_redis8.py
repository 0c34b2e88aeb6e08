"""The stream commands of Redis 8.2 and later: reference policies when
deleting (XDELEX, XACKDEL), XNACK, and idempotent producers (XCFGSET, and
XADD's ``idmp`` words built here). Neither test server has them: their
tests check the words sent."""

from __future__ import annotations

from typing import Any

from babushka import _shapes as S
from babushka._typing import Reply, ValueT
from babushka.commands.base import CommandsBase, EncodableT, KeyT, require_int
from babushka.exceptions import DataError

StreamIdT = EncodableT

#: What trimming or deleting does to the entries' references in consumer
#: groups' pending lists (Redis 8.2+).
REF_POLICIES = ("KEEPREF", "DELREF", "ACKED")


def ref_policy_word(policy: object) -> str:
    """A ``ref_policy`` argument, checked."""
    if policy not in REF_POLICIES:
        raise DataError(f"ref_policy must be one of {', '.join(REF_POLICIES)}, got {policy!r}")
    return policy


def _ids(ids: tuple[StreamIdT, ...], command: str) -> list[Any]:
    """``IDS n id ...``."""
    if not ids:
        raise DataError(f"{command} needs at least one id")
    return ["IDS", len(ids), *ids]


NACK_MODES = ("SILENT", "FAIL", "FATAL")


def idempotency_words(
    idmpauto: EncodableT | None, idmp: tuple[EncodableT, EncodableT] | None, id: object
) -> list[Any]:
    """XADD's ``IDMPAUTO producer`` or ``IDMP producer id``."""
    if idmpauto is None and idmp is None:
        return []
    if idmpauto is not None and idmp is not None:
        raise DataError("only one of idmpauto and idmp may be given")
    if id != "*":
        raise DataError("idmpauto and idmp need id='*'")
    if idmpauto is not None:
        return ["IDMPAUTO", idmpauto]
    if not isinstance(idmp, tuple) or len(idmp) != 2:
        raise DataError("idmp must be a (producer_id, idempotent_id) tuple")
    return ["IDMP", *idmp]


def _bounded(value: object, name: str, low: int, high: int) -> int:
    number = require_int(value, name)
    if not low <= number <= high:
        raise DataError(f"{name} must be between {low} and {high}, got {number}")
    return number


class StreamRedis8Commands(CommandsBase[ValueT]):
    def xdelex(self, name: KeyT, *ids: StreamIdT, ref_policy: str = "KEEPREF") -> Reply[list[int]]:
        """Deletes entries, with their pending references as ``ref_policy``
        says; a result per id (Redis 8.2+)
        (https://redis.io/docs/latest/commands/xdelex/)."""
        words = ["XDELEX", name, ref_policy_word(ref_policy), *_ids(ids, "xdelex")]
        return self._execute(S.RAW, *words)

    def xackdel(
        self, name: KeyT, groupname: EncodableT, *ids: StreamIdT, ref_policy: str = "KEEPREF"
    ) -> Reply[list[int]]:
        """Acknowledges and deletes entries; a result per id (Redis 8.2+)
        (https://redis.io/docs/latest/commands/xackdel/)."""
        words = ["XACKDEL", name, groupname, ref_policy_word(ref_policy), *_ids(ids, "xackdel")]
        return self._execute(S.RAW, *words)

    def xnack(
        self,
        name: KeyT,
        groupname: EncodableT,
        mode: str,
        *ids: StreamIdT,
        retrycount: int | None = None,
        force: bool = False,
    ) -> Reply[int]:
        """Gives pending entries back to the group (``mode``: SILENT, FAIL or
        FATAL); returns how many (https://redis.io/docs/latest/commands/xnack/)."""
        if mode not in NACK_MODES:
            raise DataError(f"mode must be one of {', '.join(NACK_MODES)}, got {mode!r}")
        words: list[Any] = ["XNACK", name, groupname, mode, *_ids(ids, "xnack")]
        if retrycount is not None:
            words += ["RETRYCOUNT", _bounded(retrycount, "retrycount", 0, 2**63 - 1)]
        if force:
            words.append("FORCE")
        return self._execute(S.RAW, *words)

    def xcfgset(
        self,
        name: KeyT,
        idmp_duration: int | None = None,
        idmp_maxsize: int | None = None,
    ) -> Reply[bool]:
        """Sets how long (s) and how many idempotent ids the stream keeps
        (https://redis.io/docs/latest/commands/xcfgset/)."""
        words: list[Any] = ["XCFGSET", name]
        if idmp_duration is not None:
            words += ["IDMP-DURATION", _bounded(idmp_duration, "idmp_duration", 1, 300)]
        if idmp_maxsize is not None:
            words += ["IDMP-MAXSIZE", _bounded(idmp_maxsize, "idmp_maxsize", 1, 1_000_000)]
        if len(words) == 2:
            raise DataError("xcfgset needs idmp_duration or idmp_maxsize")
        return self._execute(S.RAW, *words)
