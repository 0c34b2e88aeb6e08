"""The core's events as :mod:`logging` records, under the ``babushka.*`` loggers.

The core reports what happens to connections (see ``docs/logging.md`` for the
list): each event has a topic, which names its logger (``babushka.connection``,
``babushka.cluster``, ``babushka.pubsub``, ``babushka.uds``), one of the levels
DEBUG, INFO, WARNING, ERROR, a message, and context fields that become the
record's attributes (``event``, ``address``, ``client_name``, ``error``, ...).

Cost: the core asks, per event, whether the topic wants that level, by one
atomic load of a threshold kept here from the logger's effective level. Python's
``logging`` has no public hook for level changes, but ``Logger.setLevel``,
``logging.disable`` and the configuration functions all clear the logging
manager's level cache through ``Manager._clear_cache``; wrapping that one method
re-reads the thresholds whenever a level may have changed (``tests/test_logging.py``
pins it). A level changed some other way (assigning ``logger.level``) is picked
up at the next such call. Otherwise a threshold errs low, never high: a record
is only created if its logger really is enabled for it (checked again on
delivery).

Events reach Python on the core's event thread, a batch per GIL acquisition;
records are emitted from that thread. When the queue is full, events are
dropped, and their count is reported on the ``babushka`` logger.
"""

from __future__ import annotations

import atexit
import logging

from babushka import _core

ROOT = "babushka"
#: The loggers of the core's topics, by topic number.
LOGGERS: tuple[logging.Logger, ...] = tuple(
    logging.getLogger(f"{ROOT}.{topic}") for topic in _core._log_topics()
)
# The levels the core reports at, lowest first.
_LEVELS = (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR)
# Above every level: the topic is off.
_OFF = 255

Fields = dict[str, "str | int"]


def _threshold(logger: logging.Logger) -> int:
    """The lowest level the core reports at that ``logger`` would log."""
    for level in _LEVELS:
        if logger.isEnabledFor(level):
            return level
    return _OFF


def refresh() -> None:
    """Sets the core's thresholds from the loggers' effective levels now."""
    _core._log_set_thresholds([_threshold(logger) for logger in LOGGERS])


def _deliver(batch: list[tuple[int, int, str, Fields]], dropped: int) -> None:
    """Called by the core's event thread with a batch of events."""
    for topic, level, message, fields in batch:
        logger = LOGGERS[topic]
        if logger.isEnabledFor(level):
            logger.log(level, message, extra=fields)
    if dropped:
        logging.getLogger(ROOT).warning(
            "%d connection events were dropped: their queue was full",
            dropped,
            extra={"event": "events_dropped", "dropped": dropped},
        )


def _follow_level_changes() -> None:
    """Re-reads the thresholds whenever logging clears its level cache."""
    manager = logging.Logger.manager
    clear = getattr(manager, "_clear_cache", None)
    if clear is None or getattr(clear, "_babushka", False):
        return  # unknown logging version: levels are read at import only

    def clear_then_refresh() -> None:
        clear()
        refresh()

    clear_then_refresh._babushka = True  # type: ignore[attr-defined]
    manager._clear_cache = clear_then_refresh  # type: ignore[attr-defined]


def install() -> None:
    """Once, at import: no output by default, events delivered, levels followed."""
    # A library adds a NullHandler, so that without configuration nothing
    # reaches logging's last-resort handler (stderr).
    logging.getLogger(ROOT).addHandler(logging.NullHandler())
    _core._log_start(_deliver)
    _follow_level_changes()
    refresh()
    # Before the interpreter tears down, so the event thread never calls a
    # half-finalized Python.
    atexit.register(_core._log_stop)
