"""Reply shapes: how the Rust core builds the Python object for a reply.

The numbers mirror ``Shape`` in ``bindings/python/src/reply.rs``; a test checks
that each one produces the documented result against a real server.
"""

from __future__ import annotations

from typing import Final

RAW: Final = 0  # the reply as it is
OK: Final = 1  # "OK" -> True; anything else as it is
BOOL: Final = 2  # integer -> bool
FLOAT: Final = 3  # number-as-string -> float; nil -> None
PAIRS: Final = 4  # flat [k, v, ...] or RESP3 map -> dict
SCORED: Final = 5  # [member, score, ...] -> [(member, float), ...]
SET: Final = 6  # array -> set
BOOL_LIST: Final = 7  # [int, ...] -> [bool, ...]
FLOAT_LIST: Final = 8  # [number-as-string | nil, ...] -> [float | None, ...]
SCAN: Final = 9  # [cursor, [items]] -> (int, list)
SCAN_PAIRS: Final = 10  # [cursor, [k, v, ...]] -> (int, dict)
SCAN_SCORED: Final = 11  # [cursor, [m, s, ...]] -> (int, [(m, float)])
INT: Final = 12  # integer, or a string holding one -> int
TUPLE: Final = 13  # array -> tuple; nil -> None
KEY_MEMBER_SCORE: Final = 14  # [key, member, score] -> (key, member, float); nil -> None
BYTES: Final = 15  # a string reply as bytes even with decode_responses (FUNCTION DUMP)

#: The shape ``execute_command`` uses for a command name, so a raw call
#: returns what the named method would (``execute_command("SET", ...)`` gives True).
BY_COMMAND: Final[dict[str, int]] = {
    "SET": OK,
    "MSET": OK,
    "SETEX": OK,
    "PSETEX": OK,
    "FLUSHDB": OK,
    "FLUSHALL": OK,
    "SELECT": OK,
    "RENAME": OK,
    "LSET": OK,
    "LTRIM": OK,
    "HMSET": OK,
    "CONFIG SET": OK,
    "WATCH": OK,
    "UNWATCH": OK,
    "RESTORE": OK,
    "SCRIPT FLUSH": OK,
    "SCRIPT KILL": OK,
    "FUNCTION DELETE": OK,
    "FUNCTION FLUSH": OK,
    "FUNCTION RESTORE": OK,
    "EXPIRE": BOOL,
    "PEXPIRE": BOOL,
    "EXPIREAT": BOOL,
    "PEXPIREAT": BOOL,
    "PERSIST": BOOL,
    "SETNX": BOOL,
    "MSETNX": BOOL,
    "HSETNX": BOOL,
    "HEXISTS": BOOL,
    "SISMEMBER": BOOL,
    "SMOVE": BOOL,
    "RENAMENX": BOOL,
    "COPY": BOOL,
    "MOVE": BOOL,
    "INCRBYFLOAT": FLOAT,
    "HINCRBYFLOAT": FLOAT,
    "ZSCORE": FLOAT,
    "ZINCRBY": FLOAT,
    "HGETALL": PAIRS,
    "SMEMBERS": SET,
    "SINTER": SET,
    "SUNION": SET,
    "SDIFF": SET,
    "SMISMEMBER": BOOL_LIST,
    "SCRIPT EXISTS": BOOL_LIST,
    "ZMSCORE": FLOAT_LIST,
    "ZPOPMIN": SCORED,
    "ZPOPMAX": SCORED,
    "BLPOP": TUPLE,
    "BRPOP": TUPLE,
    "BZPOPMIN": KEY_MEMBER_SCORE,
    "BZPOPMAX": KEY_MEMBER_SCORE,
    "SCAN": SCAN,
    "SSCAN": SCAN,
    "HSCAN": SCAN_PAIRS,
    "ZSCAN": SCAN_SCORED,
    "FUNCTION DUMP": BYTES,
    "DUMP": BYTES,
}
