"""Registered Lua scripts: what ``register_script`` returns (redis-py's
``Script`` and ``AsyncScript``).

A script is run by its SHA1 (EVALSHA), so its source crosses the network
once per server rather than on every call. The SHA1 is computed here, from
the bytes the core would send for the source. When the server does not have
the script (it restarted, or someone ran SCRIPT FLUSH), the call gets
``NoScriptError``, loads the script and runs it again.

Given a pipeline as ``client``, a call queues an EVALSHA and adds the script
to the pipeline's ``scripts``; the pipeline makes sure they all exist on the
server (SCRIPT EXISTS, then SCRIPT LOAD for the missing ones) before it sends
its batch, since a NOSCRIPT inside a batch could not be retried.
"""

from __future__ import annotations

import hashlib
from typing import Any, Awaitable, Iterable, Sequence

from babushka._encoding import Encoder, encode
from babushka._pipeline import PipelineBase
from babushka.commands.base import EncodableT, KeyT
from babushka.commands.scripting import ScriptTextT
from babushka.exceptions import DataError, NoScriptError


class _ScriptBase:
    def __init__(self, registered_client: Any, script: ScriptTextT) -> None:
        if not isinstance(script, (str, bytes)):
            raise DataError(f"script must be str or bytes, got {type(script).__name__}")
        #: The client (or pipeline) that runs the script when a call names none.
        self.registered_client = registered_client
        self.script = script
        # The server names a script by the SHA1 of the bytes it received,
        # so a str is hashed in the client's encoding, as the core sends it.
        self.sha = hashlib.sha1(encode(registered_client, script, "script")).hexdigest()

    def get_encoder(self) -> Encoder:
        """redis-py's: the encoder of the client the script was registered
        with, which hashed its source."""
        return self.registered_client.get_encoder()  # type: ignore[no-any-return]

    def _prepare(
        self,
        keys: Sequence[KeyT] | None,
        args: Iterable[EncodableT] | None,
        client: Any,
    ) -> tuple[Any, int, list[Any]]:
        """The client to run on, the key count and EVALSHA's keys and args."""
        words = _listed(keys, "keys")
        numkeys = len(words)
        words += _listed(args, "args")
        if client is None:
            client = self.registered_client
        if isinstance(client, PipelineBase):
            client.scripts.add(self)
        return client, numkeys, words

    def __repr__(self) -> str:
        return f"<{type(self).__name__} sha={self.sha}>"


def _listed(values: Iterable[Any] | None, name: str) -> list[Any]:
    if values is None:
        return []
    # One key given bare would be split into letters: refuse it instead.
    if isinstance(values, (str, bytes, bytearray, memoryview)):
        raise DataError(f"{name} must be a list, got one {type(values).__name__}")
    try:
        return list(values)
    except TypeError:
        raise DataError(f"{name} must be a list, got {type(values).__name__}") from None


class Script(_ScriptBase):
    """A Lua script for the sync client: ``script(keys=[...], args=[...])``
    runs it (EVALSHA, loading it first if the server lacks it) and returns
    its result; ``client=`` runs it on another client or queues it in a
    pipeline."""

    def __call__(
        self,
        keys: Sequence[KeyT] | None = None,
        args: Iterable[EncodableT] | None = None,
        client: Any = None,
    ) -> Any:
        client, numkeys, words = self._prepare(keys, args, client)
        try:
            return client.evalsha(self.sha, numkeys, *words)
        except NoScriptError:
            # The server lost it (or never had it): load, then run again.
            self.sha = client.script_load(self.script)
            return client.evalsha(self.sha, numkeys, *words)


class AsyncScript(_ScriptBase):
    """A Lua script for the asyncio client: ``await script(keys=[...],
    args=[...])``. As the client's commands, the EVALSHA is sent when the
    script is called; with a pipeline as ``client`` it is queued at once."""

    def __call__(
        self,
        keys: Sequence[KeyT] | None = None,
        args: Iterable[EncodableT] | None = None,
        client: Any = None,
    ) -> Awaitable[Any]:
        client, numkeys, words = self._prepare(keys, args, client)
        sent = client.evalsha(self.sha, numkeys, *words)
        if sent is client:
            # Queued in a pipeline, which loads its scripts before sending:
            # the pipeline itself, awaitable as its other queued commands.
            return sent  # type: ignore[no-any-return]
        return self._finish(sent, client, numkeys, words)

    async def _finish(
        self, sent: Awaitable[Any], client: Any, numkeys: int, words: list[Any]
    ) -> Any:
        try:
            return await sent
        except NoScriptError:
            self.sha = await client.script_load(self.script)
            return await client.evalsha(self.sha, numkeys, *words)
