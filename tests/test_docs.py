"""The configuration reference of the docs is the constructor's docstring
(``docs/configuration.md`` renders it): every keyword is described there,
and nothing that is not a keyword. ``./dev test`` builds the docs with
warnings as errors."""

from __future__ import annotations

import inspect
import re

from babushka._base import ClientBase


def documented_arguments(function: object) -> list[str]:
    doc = inspect.getdoc(function) or ""
    _, found, section = doc.partition("\nArgs:\n")
    assert found, "the docstring has no Args: section"
    # Google style: each argument opens a line indented by four spaces.
    return re.findall(r"^    (\*{0,2}\w+):", section, flags=re.MULTILINE)


def test_every_keyword_of_the_clients_is_documented() -> None:
    parameters = [
        ("**" if p.kind is p.VAR_KEYWORD else "") + name
        for name, p in inspect.signature(ClientBase.__init__).parameters.items()
        if name != "self"
    ]
    assert documented_arguments(ClientBase.__init__) == parameters
