"""The clients that OpenTelemetry instrumentation wraps, and the switch.

Always imported, and free of ``opentelemetry`` imports: a client passes
through :func:`attach` once when its ``_execute`` hooks are set (the
constructor's last step, and an asyncio managed client's first command), and
that is the only place the switch is read. With instrumentation off a
command runs exactly the hooks it runs without this module: the traced ones
replace them only while ``babushka.instrumentation`` is on (see
``babushka._otel``).
"""

from __future__ import annotations

import weakref
from typing import Any, Callable

#: Every live client, so that instrumenting (or not) reaches the clients made
#: before the switch too.
_clients: weakref.WeakSet[Any] = weakref.WeakSet()

#: The active instrumentation's ``wrap(client)``; ``None`` while it is off.
wrap: Callable[[Any], None] | None = None


def attach(client: Any) -> None:
    """Registers a client whose hooks were just set, and wraps them when
    instrumentation is on."""
    _clients.add(client)
    if wrap is not None:
        wrap(client)


def clients() -> list[Any]:
    """The live clients (a copy: wrapping one may allocate and collect)."""
    return list(_clients)
