"""Bad arguments refused before anything is sent, as a table: the command
groups' tests list calls with the ``DataError`` message each must raise."""

from __future__ import annotations

from typing import Any

import pytest

import babushka

#: A refused call: the method's name, its positional and keyword arguments,
#: and a pattern the ``DataError``'s message must match.
Refusal = tuple[str, tuple[Any, ...], dict[str, Any], str]


def expect_refusals(client: babushka.Redis[Any], cases: list[Refusal]) -> None:
    """Each call of ``cases`` on ``client`` raises ``DataError`` with its message."""
    for method, args, kwargs, message in cases:
        with pytest.raises(babushka.DataError, match=message):
            getattr(client, method)(*args, **kwargs)
