"""The typed example programs of ``tests/typed_examples/``: checked with
``mypy --strict`` against the source tree (test_typing.py) and against a
built wheel alone (test_packaging.py)."""

from __future__ import annotations

from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "typed_examples"
#: The example that must fail, with ``# error: code`` on each line that does.
NEGATIVE = EXAMPLES / "misspelt_keywords.py"


def passing_examples() -> list[Path]:
    """The examples that must pass, in a stable order."""
    return sorted(p for p in EXAMPLES.glob("*.py") if p != NEGATIVE)
