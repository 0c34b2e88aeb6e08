"""OpenTelemetry tracing and metrics for Babushka's clients.

As OpenTelemetry's instrumentations do (``RedisInstrumentor`` for redis-py)::

    from babushka.instrumentation import BabushkaInstrumentor

    BabushkaInstrumentor().instrument()          # the global providers
    BabushkaInstrumentor().instrument(tracer_provider=tp, meter_provider=mp)
    BabushkaInstrumentor().uninstrument()

While instrumented, every command and every pipeline of every client, sync
and asyncio (those made before too), is a ``CLIENT`` span, a child of the
caller's current span, and measured in ``db.client.operation.duration``.
Only ``opentelemetry-api`` is needed (``pip install
babushka-redis[opentelemetry]``); this module imports without it, and
:meth:`BabushkaInstrumentor.instrument` says what is missing.

Switched off (the default), a command runs the very hooks it runs in a
program that never imported this module: nothing is checked per command.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from babushka import _instrumented

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import TracerProvider

__all__ = ["BabushkaInstrumentor"]

_lock = threading.Lock()
#: The instrumentation that is on (a ``babushka._otel.Telemetry``), if any.
_active: Any = None


class BabushkaInstrumentor:
    """Turns tracing and metrics on and off for every Babushka client.

    One instance per process, as OpenTelemetry's instrumentors are:
    ``BabushkaInstrumentor()`` always returns the same object.
    """

    _instance: BabushkaInstrumentor | None = None

    def __new__(cls) -> BabushkaInstrumentor:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    @property
    def is_instrumented_by_opentelemetry(self) -> bool:
        """Whether the clients are traced now (the name OpenTelemetry's
        instrumentors use)."""
        return _instrumented.wrap is not None

    def instrument(
        self,
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        query_text: bool = False,
    ) -> None:
        """Traces and measures every client's commands from now on.

        Args:
            tracer_provider: Where spans go; the global provider if ``None``.
            meter_provider: Where metrics go; the global provider if ``None``.
            query_text: Adds ``db.query.text``: the command with every
                argument replaced by ``?`` (``SET ? ? ?``); keys and values
                never leave the process.

        Calling it again replaces the providers and options (where
        OpenTelemetry's instrumentors would ignore the second call, its
        arguments would be ignored too). Raises ``ImportError`` when
        ``opentelemetry-api`` is not installed, ``TypeError`` for a
        ``query_text`` that is not a bool.
        """
        if not isinstance(query_text, bool):
            raise TypeError(f"query_text must be a bool, got {type(query_text).__name__}")
        try:
            from babushka import _otel
        except ImportError as error:
            raise ImportError(
                "Babushka's OpenTelemetry instrumentation needs opentelemetry-api: "
                "pip install 'babushka-redis[opentelemetry]'"
            ) from error
        global _active
        telemetry = _otel.Telemetry(tracer_provider, meter_provider, query_text)
        with _lock:
            _stop()
            _active = telemetry
            _instrumented.wrap = telemetry.wrap
            for client in _instrumented.clients():
                telemetry.wrap(client)

    def uninstrument(self) -> None:
        """Gives every client its own hooks back: no spans, no metrics, and
        nothing checked per command."""
        with _lock:
            _stop()


def _stop() -> None:
    """Silences the instrumentation that is on, and unwraps every client."""
    global _active
    if _active is not None:
        _active.active = False
        _active = None
    _instrumented.wrap = None
    for client in _instrumented.clients():
        for hook in ("_execute", "_execute_request"):
            raw: Any = getattr(getattr(client, hook, None), "__wrapped__", None)
            if raw is not None:
                setattr(client, hook, raw)
