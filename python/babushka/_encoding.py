"""The client's text encoding, on the Python side.

Arguments are encoded by the core; Python only needs the same bytes where it
hashes or compares a value as the server will see it: a script's SHA1
(:class:`babushka.script.Script`) and a lock's token.
"""

from __future__ import annotations

from typing import Any

from babushka.exceptions import DataError


def encoding_of(client: Any) -> tuple[str, str]:
    """``(encoding, encoding_errors)`` of a client, or of a pipeline's client."""
    owner = getattr(client, "_client", client)
    kwargs = getattr(owner, "connection_kwargs", {})
    return kwargs.get("encoding", "utf-8"), kwargs.get("encoding_errors", "strict")


def encode(client: Any, value: object, name: str) -> bytes:
    """``value`` as the bytes the core would send for it (redis-py's
    ``Encoder.encode``): bytes as they are, text in the client's encoding,
    numbers as their ``repr``."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        encoding, errors = encoding_of(client)
        return value.encode(encoding, errors)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value).encode()
    raise DataError(f"{name} must be str, bytes, int or float, got {type(value).__name__}")
