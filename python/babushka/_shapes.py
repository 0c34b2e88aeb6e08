"""Reply shapes: how the Rust core builds the Python object for a reply.

The shapes are defined once, in the core (``core/src/table/shape.rs``); the
native module exports each one's number as ``SHAPE_<NAME>``, and these are
the names command methods use (``from babushka import _shapes as S``;
``S.OK``). ``tests/test_command_table.py`` checks that every shape the
module exports has its name here, and what each one makes of a reply
against both servers (as redis-py shapes it). From ``STR`` on, the core
hands the reply to a parser in ``babushka._replies``. A command's default shape,
which ``execute_command`` uses, is in the core's command table.
"""

from __future__ import annotations

from typing import Final

from babushka import _core

RAW: Final = _core.SHAPE_RAW  # the reply as it is
OK: Final = _core.SHAPE_OK  # "OK" -> True; anything else as it is
BOOL: Final = _core.SHAPE_BOOL  # integer -> bool
FLOAT: Final = _core.SHAPE_FLOAT  # number-as-string -> float; nil -> None
PAIRS: Final = _core.SHAPE_PAIRS  # flat [k, v, ...] or RESP3 map -> dict
SCORED: Final = _core.SHAPE_SCORED  # [member, score, ...] -> [(member, float), ...]
SET: Final = _core.SHAPE_SET  # array -> set
BOOL_LIST: Final = _core.SHAPE_BOOL_LIST  # [int, ...] -> [bool, ...]
FLOAT_LIST: Final = _core.SHAPE_FLOAT_LIST  # [number-as-string | nil, ...] -> [float | None, ...]
SCAN: Final = _core.SHAPE_SCAN  # [cursor, [items]] -> (int, list)
SCAN_PAIRS: Final = _core.SHAPE_SCAN_PAIRS  # [cursor, [k, v, ...]] -> (int, dict)
SCAN_SCORED: Final = _core.SHAPE_SCAN_SCORED  # [cursor, [m, s, ...]] -> (int, [(m, float)])
INT: Final = _core.SHAPE_INT  # integer, or a string holding one -> int
TUPLE: Final = _core.SHAPE_TUPLE  # array -> tuple; nil -> None
KEY_MEMBER_SCORE: Final = _core.SHAPE_KEY_MEMBER_SCORE  # [k, m, score] -> (k, m, float)
BYTES: Final = _core.SHAPE_BYTES  # a string as bytes even with decode_responses (DUMP)
STR: Final = _core.SHAPE_STR  # bytes -> str, whatever decode_responses says
STR_LIST: Final = _core.SHAPE_STR_LIST  # [bytes, ...] -> [str, ...]
CONFIG_GET: Final = _core.SHAPE_CONFIG_GET  # CONFIG GET -> dict of str
INFO: Final = _core.SHAPE_INFO  # INFO's text -> dict
CLIENT_LIST: Final = _core.SHAPE_CLIENT_LIST  # CLIENT LIST -> [dict of str]
CLIENT_INFO: Final = _core.SHAPE_CLIENT_INFO  # CLIENT INFO -> dict
CLIENT_KILL: Final = _core.SHAPE_CLIENT_KILL  # OK -> True; a count stays an int
TRACKING_INFO: Final = _core.SHAPE_TRACKING_INFO  # CLIENT TRACKINGINFO -> flat list, labels as str
ACL_GETUSER: Final = _core.SHAPE_ACL_GETUSER  # ACL GETUSER -> dict
ACL_LOG: Final = _core.SHAPE_ACL_LOG  # ACL LOG -> [dict]; OK -> True
SLOWLOG_GET: Final = _core.SHAPE_SLOWLOG_GET  # SLOWLOG GET -> [dict]
MEMORY_STATS: Final = _core.SHAPE_MEMORY_STATS  # MEMORY STATS -> dict
DEBUG_OBJECT: Final = _core.SHAPE_DEBUG_OBJECT  # DEBUG OBJECT -> dict
COMMAND_INFO: Final = _core.SHAPE_COMMAND_INFO  # COMMAND -> {name: dict}
DATETIME: Final = _core.SHAPE_DATETIME  # Unix time -> datetime
TIME: Final = _core.SHAPE_TIME  # TIME -> (int, int)
PAIRS_LIST: Final = _core.SHAPE_PAIRS_LIST  # [[k, v, ...], ...] -> [dict]
TRUE: Final = _core.SHAPE_TRUE  # anything -> True
PONG: Final = _core.SHAPE_PONG  # PONG -> True, else False
