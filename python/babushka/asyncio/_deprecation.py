"""The asyncio names redis-py deprecates in favour of ``aclose()``."""

from __future__ import annotations

import warnings


def warn_use_aclose(name: str) -> None:
    """Warns, as redis-py (since 5.0.1) does, that ``name`` is an old alias
    of ``aclose()``; the warning points at the line that awaited it."""
    warnings.warn(
        f"{name}() is deprecated: use aclose() instead",
        DeprecationWarning,
        stacklevel=3,
    )
