"""The client's text encoding, on the Python side.

Arguments are encoded by the core; Python only needs the same bytes where it
hashes or compares a value as the server will see it: a script's SHA1
(:class:`babushka.script.Script`), a lock's token, and the :class:`Encoder`
that ``get_encoder()`` hands to code written against redis-py.
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


class Encoder:
    """redis-py's ``Encoder``, what ``get_encoder()`` returns: a client's
    encoding settings, with ``encode`` giving the bytes the core sends for an
    argument and ``decode`` the text a reply becomes with
    ``decode_responses``. Code written for redis-py asks a client for one
    (its ``Lock`` and ``Script`` classes do, and so do libraries such as
    RQ), so it must agree with what the core does."""

    def __init__(self, encoding: str, encoding_errors: str, decode_responses: bool) -> None:
        self.encoding = encoding
        self.encoding_errors = encoding_errors
        self.decode_responses = decode_responses

    def encode(self, value: object) -> bytes | memoryview:
        """``value`` as sent: bytes and memoryviews as they are, text in the
        encoding, ints and floats as their ``repr``; anything else (``bool``
        and ``None`` too) raises ``DataError``, as the commands do."""
        if isinstance(value, (bytes, memoryview)):
            return value
        if isinstance(value, bytearray):
            return bytes(value)  # the core sends any buffer's bytes
        if isinstance(value, str):
            return value.encode(self.encoding, self.encoding_errors)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return repr(value).encode()
        raise DataError(
            f"Invalid input of type: '{type(value).__name__}'. "
            "Convert to a bytes, string, int or float first."
        )

    def decode(self, value: Any, force: bool = False) -> Any:
        """Bytes as text when the client decodes responses (or ``force``);
        anything else, and bytes otherwise, unchanged."""
        if self.decode_responses or force:
            if isinstance(value, memoryview):
                value = value.tobytes()
            if isinstance(value, bytes):
                return value.decode(self.encoding, self.encoding_errors)
        return value
