"""Scripting commands: Lua scripts (EVAL, EVALSHA, SCRIPT ...) and functions
(FUNCTION ..., FCALL).

Replies are redis-py's: a script's or a function's result as the server
converts it (Lua numbers as ints, tables as lists, ``false`` as ``None``),
``script_load`` the SHA1 as ``str``, ``script_exists`` a list of bools,
``function_list`` RESP2's nested lists on either protocol, ``function_dump``
bytes even with ``decode_responses``. :meth:`register_script` objects live in
``babushka.script``.
"""

from __future__ import annotations

from typing import Any, NoReturn, Union

from babushka import _shapes as S
from babushka._typing import Reply, ValueT
from babushka.commands.base import CommandsBase, EncodableT, KeyT, require_int
from babushka.exceptions import DataError

#: What may be sent as a script's or a library's source.
ScriptTextT = Union[str, bytes]


def _text(value: object, name: str) -> Any:
    """A script, library source, SHA1 or name: text or bytes, nothing else
    (a number there is surely a mistake)."""
    if not isinstance(value, (str, bytes, bytearray, memoryview)):
        raise DataError(f"{name} must be str or bytes, got {type(value).__name__}")
    return value


def _numkeys(numkeys: object, keys_and_args: tuple[Any, ...]) -> int:
    """``numkeys`` of EVAL/FCALL: how many of ``keys_and_args`` are keys."""
    count = require_int(numkeys, "numkeys")
    if not 0 <= count <= len(keys_and_args):
        raise DataError(
            f"numkeys must be between 0 and {len(keys_and_args)} "
            f"(the number of keys and args given), got {count}"
        )
    return count


def _mode(value: object, allowed: tuple[str, ...], name: str) -> str:
    word = value.upper() if isinstance(value, str) else None
    if word not in allowed:
        raise DataError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return word


def str_if_bytes(reply: Any) -> Any:
    """A SHA1 as ``str`` whatever ``decode_responses`` says (as redis-py)."""
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


def _flat_function_list(reply: Any) -> Any:
    """FUNCTION LIST in RESP2's shape on either protocol (as the blocking
    commands' replies): RESP3 sends each library and function as a map and
    the flags as a set; they become ``[key, value, ...]`` lists and a list."""
    if not isinstance(reply, list):
        return reply
    return [_flat(library) for library in reply]


def _flat(entry: Any) -> Any:
    if not isinstance(entry, dict):
        return entry
    flat: list[Any] = []
    for key, value in entry.items():
        if key in (b"functions", "functions") and isinstance(value, list):
            value = [_flat(function) for function in value]
        elif isinstance(value, set):
            value = list(value)
        flat += [key, value]
    return flat


class ScriptingCommands(CommandsBase[ValueT]):
    # -- Lua scripts -------------------------------------------------------

    def eval(self, script: ScriptTextT, numkeys: int, *keys_and_args: EncodableT) -> Reply[Any]:
        """Runs the Lua ``script`` with the first ``numkeys`` of
        ``keys_and_args`` as KEYS and the rest as ARGV; returns its result.
        :meth:`register_script` is the usual way to run scripts."""
        count = _numkeys(numkeys, keys_and_args)
        return self._execute(S.RAW, "EVAL", _text(script, "script"), count, *keys_and_args)

    def eval_ro(self, script: ScriptTextT, numkeys: int, *keys_and_args: EncodableT) -> Reply[Any]:
        """:meth:`eval` of a script that only reads (the server refuses writes)."""
        count = _numkeys(numkeys, keys_and_args)
        return self._execute(S.RAW, "EVAL_RO", _text(script, "script"), count, *keys_and_args)

    def evalsha(self, sha: str, numkeys: int, *keys_and_args: EncodableT) -> Reply[Any]:
        """Runs the cached script whose SHA1 is ``sha`` (``NoScriptError`` when
        the server does not have it); see :meth:`eval`."""
        count = _numkeys(numkeys, keys_and_args)
        return self._execute(S.RAW, "EVALSHA", _text(sha, "sha"), count, *keys_and_args)

    def evalsha_ro(self, sha: str, numkeys: int, *keys_and_args: EncodableT) -> Reply[Any]:
        """:meth:`evalsha` of a script that only reads."""
        count = _numkeys(numkeys, keys_and_args)
        return self._execute(S.RAW, "EVALSHA_RO", _text(sha, "sha"), count, *keys_and_args)

    def script_load(self, script: ScriptTextT) -> Reply[str]:
        """Caches ``script`` on the server; returns its SHA1 (a ``str``)."""
        return self._execute_then(str_if_bytes, S.RAW, "SCRIPT", "LOAD", _text(script, "script"))

    def script_exists(self, *args: str) -> Reply[list[bool]]:
        """Whether each SHA1 names a cached script: a list of bools."""
        if not args:
            raise DataError("script_exists needs at least one sha")
        shas = [_text(sha, "sha") for sha in args]
        return self._execute(S.BOOL_LIST, "SCRIPT", "EXISTS", *shas)

    def script_flush(self, sync_type: str | None = None) -> Reply[bool]:
        """Empties the script cache; ``sync_type`` is ``"SYNC"`` or ``"ASYNC"``
        (``None``: the server's default)."""
        if sync_type is None:
            return self._execute(S.OK, "SCRIPT", "FLUSH")
        mode = _mode(sync_type, ("SYNC", "ASYNC"), "sync_type")
        return self._execute(S.OK, "SCRIPT", "FLUSH", mode)

    def script_kill(self) -> Reply[bool]:
        """Stops the script running on the server (one that has not written
        yet); ``True``. Send it from another client than the one waiting for
        the script: a connection's requests are served in order."""
        return self._execute(S.OK, "SCRIPT", "KILL")

    def script_debug(self, *args: Any) -> NoReturn:
        """Not implemented, as in redis-py: the debugger takes over the
        connection. https://redis.io/docs/latest/commands/script-debug/"""
        raise NotImplementedError("SCRIPT DEBUG is intentionally not implemented in the client.")

    # -- functions ---------------------------------------------------------

    def function_load(self, code: ScriptTextT, replace: bool | None = False) -> Reply[ValueT]:
        """Loads a library (its code starts with ``#!lua name=...``); with
        ``replace`` it overwrites one of the same name. Returns its name."""
        source = _text(code, "code")
        if replace:
            return self._execute(S.RAW, "FUNCTION", "LOAD", "REPLACE", source)
        return self._execute(S.RAW, "FUNCTION", "LOAD", source)

    def function_delete(self, library: str) -> Reply[bool]:
        """Deletes a library and its functions; ``True``."""
        return self._execute(S.OK, "FUNCTION", "DELETE", _text(library, "library"))

    def function_flush(self, mode: str | None = "SYNC") -> Reply[bool]:
        """Deletes every library; ``mode`` is ``"SYNC"`` or ``"ASYNC"``."""
        if mode is None:
            return self._execute(S.OK, "FUNCTION", "FLUSH")
        return self._execute(S.OK, "FUNCTION", "FLUSH", _mode(mode, ("SYNC", "ASYNC"), "mode"))

    def function_list(
        self, library: str | None = "*", withcode: bool | None = False
    ) -> Reply[list[Any]]:
        """The libraries whose names match the pattern ``library`` (``None``:
        all), each as ``[b"library_name", name, b"engine", ..., b"functions",
        [[b"name", ..., b"flags", [...]], ...]]``; with ``withcode`` their source too."""
        words: list[Any] = ["FUNCTION", "LIST"]
        if library is not None:
            words += ["LIBRARYNAME", _text(library, "library")]
        if withcode:
            words.append("WITHCODE")
        return self._execute_then(_flat_function_list, S.RAW, *words)

    def function_dump(self) -> Reply[bytes]:
        """Every library, serialized for :meth:`function_restore` (bytes)."""
        return self._execute(S.BYTES, "FUNCTION", "DUMP")

    def function_restore(self, payload: bytes, policy: str | None = "APPEND") -> Reply[bool]:
        """Loads the libraries of a :meth:`function_dump`. ``policy``:
        ``"APPEND"`` (fail on a name already there), ``"REPLACE"`` or
        ``"FLUSH"`` (delete every library first). Returns ``True``."""
        words: list[Any] = ["FUNCTION", "RESTORE", _text(payload, "payload")]
        if policy is not None:
            words.append(_mode(policy, ("APPEND", "REPLACE", "FLUSH"), "policy"))
        return self._execute(S.OK, *words)

    def function_stats(self) -> Reply[Any]:
        """The function running now (if any) and the engines, as the server
        sends them (nested lists on RESP2, maps on RESP3)."""
        return self._execute(S.RAW, "FUNCTION", "STATS")

    def function_kill(self) -> Reply[ValueT]:
        """Stops the function running on the server (one that has not
        written); ``b"OK"`` as redis-py gives it. Send it from another client,
        as :meth:`script_kill`."""
        return self._execute(S.RAW, "FUNCTION", "KILL")

    def fcall(self, function: str, numkeys: int, *keys_and_args: EncodableT | KeyT) -> Reply[Any]:
        """Calls a loaded function with the first ``numkeys`` of
        ``keys_and_args`` as its keys and the rest as its args."""
        count = _numkeys(numkeys, keys_and_args)
        return self._execute(S.RAW, "FCALL", _text(function, "function"), count, *keys_and_args)

    def fcall_ro(
        self, function: str, numkeys: int, *keys_and_args: EncodableT | KeyT
    ) -> Reply[Any]:
        """:meth:`fcall` of a function flagged ``no-writes``."""
        count = _numkeys(numkeys, keys_and_args)
        return self._execute(S.RAW, "FCALL_RO", _text(function, "function"), count, *keys_and_args)
