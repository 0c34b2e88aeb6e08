"""Naming a bad argument after the fact.

The Rust encoder finds a bad argument (``None``, a dict, a bool) while it
packs the command, where parameter names are unknown. On that cold path it
asks this module, which looks through the calling command method's locals for
the object, so the ``DataError`` can say "for argument 'value'".
"""

from __future__ import annotations

import sys
from types import FrameType
from typing import Mapping

#: Locals that hold the packed command, not a user's argument.
_SKIP = frozenset({"self", "args", "cls", "pieces", "words"})


def argument_name(value: object) -> str | None:
    """The name under which a command method received ``value``, if found."""
    # None and the bools are shared objects: a parameter that merely defaults
    # to None would match by identity, so look inside containers first.
    singleton = value is None or isinstance(value, bool)
    passes = (_contains, _is) if singleton else (_is, _contains)
    for matches in passes:
        frame: FrameType | None = sys._getframe(1)
        depth = 0
        while frame is not None and depth < 4:
            for name, local in frame.f_locals.items():
                if name in _SKIP or name.startswith("_"):
                    continue
                if matches(local, value):
                    return name
            frame = frame.f_back
            depth += 1
    return None


def _is(local: object, value: object) -> bool:
    return local is value


def _contains(container: object, value: object) -> bool:
    if isinstance(container, (list, tuple)):
        return any(item is value for item in container)
    if isinstance(container, Mapping):
        return any(k is value or v is value for k, v in container.items())
    return False
