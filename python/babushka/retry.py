"""redis-py's ``Retry``, and how a client's retry keywords become the core's
policy.

``Retry(backoff, retries, supported_errors)`` as in redis-py: a client given
one sends a request again up to ``retries`` times, ``backoff`` apart, when it
fails with one of ``supported_errors``, and that applies to any request,
writes included, as redis-py does. Without it the core's own rule holds
(README, RELIABILITY.md): only requests that never reached the server and
read-only ones are sent again.

The core runs the policy, so it must understand it: ``supported_errors`` are
read as the kinds of failure they cover (a class that ``ConnectionError`` or
``TimeoutError`` is a subclass of covers that kind); a class covering
neither, and a backoff of a class of your own, raise ``DataError`` when the
client is made rather than being ignored.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from babushka.backoff import AbstractBackoff, FullJitterBackoff
from babushka.exceptions import ConnectionError, DataError, TimeoutError

T = TypeVar("T")

#: The reconnect keywords' defaults (redis-py 8's base and cap, full jitter).
DEFAULT_RECONNECT_BASE = 0.01
DEFAULT_RECONNECT_CAP = 1.0
DEFAULT_RECONNECT_ATTEMPTS = 3
#: ``retries < 0`` means "for ever" in redis-py; the core counts attempts in 32 bits.
_FOREVER = 2**32 - 1


class Retry:
    """Retry a request ``retries`` times (``-1``: without end), ``backoff`` apart."""

    def __init__(
        self,
        backoff: AbstractBackoff,
        retries: int,
        supported_errors: tuple[type[BaseException], ...] = (
            ConnectionError,
            TimeoutError,
            socket.timeout,
        ),
    ) -> None:
        self._backoff = backoff
        self._retries = retries
        self._supported_errors = tuple(supported_errors)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Retry):
            return NotImplemented
        return (
            self._backoff == other._backoff
            and self._retries == other._retries
            and set(self._supported_errors) == set(other._supported_errors)
        )

    def __hash__(self) -> int:
        return hash((self._backoff, self._retries, frozenset(self._supported_errors)))

    def update_supported_errors(self, specified_errors: Iterable[type[BaseException]]) -> None:
        """Adds error classes to retry on."""
        self._supported_errors = tuple(set(self._supported_errors) | set(specified_errors))

    def get_retries(self) -> int:
        return self._retries

    def update_retries(self, value: int) -> None:
        self._retries = value

    def call_with_retry(
        self,
        do: Callable[[], T],
        fail: Callable[..., Any],
        is_retryable: Callable[[BaseException], bool] | None = None,
        with_failure_count: bool = False,
    ) -> T:
        """Calls ``do`` until it succeeds, or fails with an error not retried,
        or ``retries`` retries are spent; ``fail(error)`` after every failure."""
        self._backoff.reset()
        failures = 0
        while True:
            try:
                return do()
            except self._supported_errors as error:
                if is_retryable is not None and not is_retryable(error):
                    raise
                failures += 1
                if with_failure_count:
                    fail(error, failures)
                else:
                    fail(error)
                if 0 <= self._retries < failures:
                    raise
                delay = self._backoff.compute(failures)
                if delay > 0:
                    time.sleep(delay)


@dataclass(frozen=True)
class CorePolicy:
    """The keywords of ``_core.Client`` that carry the policy."""

    backoff: tuple[int, float, float]
    attempts: int
    retry_on_timeout: bool
    retry_writes: bool
    retry_on_connection: bool


def _seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise DataError(f"{name} must be a non-negative number of seconds, got {value!r}")
    return float(value)


def _covers(classes: Iterable[object], name: str) -> tuple[bool, bool]:
    """Which kinds of failure (connection, timeout) the error classes cover."""
    connection = timeout = False
    for cls in classes:
        if not isinstance(cls, type) or not issubclass(cls, BaseException):
            raise DataError(f"{name} must hold exception classes, got {cls!r}")
        covers_connection = issubclass(ConnectionError, cls)
        covers_timeout = issubclass(TimeoutError, cls)
        if not (covers_connection or covers_timeout):
            raise DataError(
                f"{name}: {cls.__name__} cannot be retried; Babushka retries connection "
                "errors (ConnectionError) and timeouts (TimeoutError)"
            )
        connection |= covers_connection
        timeout |= covers_timeout
    return connection, timeout


def core_policy(
    *,
    retry: Retry | None,
    retry_on_timeout: bool,
    retry_on_error: list[type[BaseException]] | None,
    reconnect_backoff_base: float | None,
    reconnect_backoff_cap: float | None,
    reconnect_attempts: int | None,
) -> CorePolicy:
    """Checks the retry keywords and turns them into the core's policy."""
    if not isinstance(retry_on_timeout, bool):
        raise DataError(f"retry_on_timeout must be a bool, got {retry_on_timeout!r}")
    if retry_on_error is not None and not isinstance(retry_on_error, (list, tuple)):
        raise DataError(
            f"retry_on_error must be a list of exception classes, got {retry_on_error!r}"
        )
    extra_connection, extra_timeout = _covers(retry_on_error or (), "retry_on_error")
    reconnect = (reconnect_backoff_base, reconnect_backoff_cap, reconnect_attempts)
    if retry is not None:
        if any(value is not None for value in reconnect):
            raise DataError(
                "pass either retry= or the reconnect_backoff_base/reconnect_backoff_cap/"
                "reconnect_attempts keywords, not both: retry= sets the backoff and attempts"
            )
        if not isinstance(retry, Retry):
            raise DataError(f"retry must be a babushka.retry.Retry, got {retry!r}")
        backoff = retry._backoff
        try:
            spec = backoff._core_backoff()
        except (NotImplementedError, AttributeError):
            raise DataError(
                f"retry: the backoff {type(backoff).__name__} is not one of babushka.backoff's "
                "classes, which are the ones the core can run"
            ) from None
        retries = retry.get_retries()
        if isinstance(retries, bool) or not isinstance(retries, int):
            raise DataError(f"retry: retries must be an int, got {retries!r}")
        connection, timeout = _covers(retry._supported_errors, "retry supported_errors")
        return CorePolicy(
            backoff=spec,
            attempts=_FOREVER if retries < 0 else min(retries + 1, _FOREVER),
            retry_on_timeout=timeout or extra_timeout or retry_on_timeout,
            retry_writes=True,
            retry_on_connection=connection or extra_connection,
        )
    base = _seconds(
        "reconnect_backoff_base",
        DEFAULT_RECONNECT_BASE if reconnect_backoff_base is None else reconnect_backoff_base,
    )
    cap = _seconds(
        "reconnect_backoff_cap",
        DEFAULT_RECONNECT_CAP if reconnect_backoff_cap is None else reconnect_backoff_cap,
    )
    if cap < base:
        raise DataError(
            f"reconnect_backoff_cap ({cap}) must be at least reconnect_backoff_base ({base})"
        )
    attempts = DEFAULT_RECONNECT_ATTEMPTS if reconnect_attempts is None else reconnect_attempts
    if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts < _FOREVER:
        raise DataError(f"reconnect_attempts must be a positive int, got {reconnect_attempts!r}")
    return CorePolicy(
        backoff=FullJitterBackoff(cap=cap, base=base)._core_backoff(),
        attempts=attempts,
        retry_on_timeout=retry_on_timeout or extra_timeout,
        retry_writes=False,
        retry_on_connection=True,
    )


__all__ = ["Retry"]
