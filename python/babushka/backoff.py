"""Backoff strategies for :class:`babushka.retry.Retry`, with redis-py's
names, arguments and formulas (``cap`` and ``base`` in seconds).

The core spaces connection attempts and retried requests itself, so it needs
to know the formula, not just a number: each class names its kind to the
core (``_core_backoff``). ``compute`` gives the same delays in Python, for
code that calls it directly (redis-py's ``Retry.call_with_retry``).
A subclass of :class:`AbstractBackoff` of your own cannot be run by the core
and is refused when the client is made.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod

#: redis-py's defaults for the exponential kinds.
DEFAULT_CAP = 0.512
DEFAULT_BASE = 0.008

# The core's numbers for each kind (bindings/python/src/client.rs, backoff_from).
_CONSTANT, _EXPONENTIAL, _FULL, _EQUAL, _DECORRELATED, _WITH_JITTER = range(1, 7)


class AbstractBackoff(ABC):
    """A delay before the next try, from the number of failures so far."""

    def reset(self) -> None:  # noqa: B027 - optional, as in redis-py: most kinds keep no state
        """Forgets state kept between calls (before a new operation)."""

    @abstractmethod
    def compute(self, failures: int) -> float:
        """The delay in seconds after ``failures`` failures."""

    def _core_backoff(self) -> tuple[int, float, float]:
        """``(kind, base, cap)`` for the core; only the classes below have one."""
        raise NotImplementedError


class ConstantBackoff(AbstractBackoff):
    """The same delay after every failure."""

    def __init__(self, backoff: float) -> None:
        self._backoff = backoff

    def __hash__(self) -> int:
        return hash((self._backoff,))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ConstantBackoff):
            return NotImplemented
        return self._backoff == other._backoff

    def compute(self, failures: int) -> float:
        return self._backoff

    def _core_backoff(self) -> tuple[int, float, float]:
        return (_CONSTANT, self._backoff, self._backoff)


class NoBackoff(ConstantBackoff):
    """No delay: try again at once."""

    def __init__(self) -> None:
        super().__init__(0)


class _Bounded(AbstractBackoff):
    """A kind that grows from ``base`` and never exceeds ``cap``."""

    _kind: int

    def __init__(self, cap: float = DEFAULT_CAP, base: float = DEFAULT_BASE) -> None:
        self._cap = cap
        self._base = base

    def __hash__(self) -> int:
        return hash((self._base, self._cap))

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, _Bounded)
        return self._base == other._base and self._cap == other._cap

    def _grown(self, failures: int) -> float:
        return float(min(self._cap, self._base * 2**failures))

    def _core_backoff(self) -> tuple[int, float, float]:
        return (self._kind, self._base, self._cap)


class ExponentialBackoff(_Bounded):
    """``min(cap, base * 2**failures)``."""

    _kind = _EXPONENTIAL

    def compute(self, failures: int) -> float:
        return self._grown(failures)


class FullJitterBackoff(_Bounded):
    """Uniform between 0 and ``min(cap, base * 2**failures)``."""

    _kind = _FULL

    def compute(self, failures: int) -> float:
        return random.uniform(0, self._grown(failures))


class EqualJitterBackoff(_Bounded):
    """Half of ``min(cap, base * 2**failures)``, plus up to as much again."""

    _kind = _EQUAL

    def compute(self, failures: int) -> float:
        half = self._grown(failures) / 2
        return half + random.uniform(0, half)


class DecorrelatedJitterBackoff(_Bounded):
    """Uniform between ``base`` and three times the last delay, at most ``cap``."""

    _kind = _DECORRELATED

    def __init__(self, cap: float = DEFAULT_CAP, base: float = DEFAULT_BASE) -> None:
        super().__init__(cap, base)
        self._previous_backoff = 0.0

    def reset(self) -> None:
        self._previous_backoff = 0.0

    def compute(self, failures: int) -> float:
        top = max(self._base, self._previous_backoff * 3)
        self._previous_backoff = min(self._cap, random.uniform(self._base, top))
        return self._previous_backoff


class ExponentialWithJitterBackoff(_Bounded):
    """``min(cap, random() * base * 2**failures)`` (redis-py 8's default kind)."""

    _kind = _WITH_JITTER

    def compute(self, failures: int) -> float:
        return float(min(self._cap, random.random() * self._base * 2**failures))


def default_backoff() -> AbstractBackoff:
    """redis-py's default for a bare ``Retry``: equal jitter."""
    return EqualJitterBackoff()


__all__ = [
    "AbstractBackoff",
    "ConstantBackoff",
    "DecorrelatedJitterBackoff",
    "EqualJitterBackoff",
    "ExponentialBackoff",
    "ExponentialWithJitterBackoff",
    "FullJitterBackoff",
    "NoBackoff",
    "default_backoff",
]
