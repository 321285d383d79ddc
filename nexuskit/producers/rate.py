"""When each record is due: rates, modes and the parsing of ``500/s`` and ``30s``.

A schedule is a pure function of elapsed time on a monotonic clock: record ``k`` (from 0)
is due at :meth:`Schedule.due_at` ``(k)`` seconds after the start, and
:meth:`Schedule.due_count` ``(t)`` records are due by ``t``. The producer sends whatever
is due when it looks at the clock, so the rate stays exact however long a send took
(there is no per-record sleep whose error accumulates).

* ``constant``: ``rate`` records per second, evenly spaced.
* ``periodic``: the rate follows a sine wave around ``rate``
  (``rate * (1 + amplitude * sin(2 pi t / period))``), as the Kinesis Data Generator's
  periodic mode; the mean over whole periods is ``rate``.
* ``burst``: ``rate * interval`` records at once at the start of every ``interval``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal, Protocol

from nexuskit.producers.errors import ProducerError

Mode = Literal["constant", "periodic", "burst"]
MODES: tuple[Mode, ...] = ("constant", "periodic", "burst")

_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:/\s*(s|sec|second|m|min|minute|h|hour))?\s*$", re.IGNORECASE)
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h)?", re.IGNORECASE)
_PER = {"s": 1.0, "sec": 1.0, "second": 1.0, "m": 60.0, "min": 60.0, "minute": 60.0, "h": 3600.0}
_PER["hour"] = 3600.0
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_rate(text: str | float) -> float:
    """``500/s``, ``500``, ``30/min``, ``3600/h`` -> records per second."""
    if isinstance(text, int | float):
        rate = float(text)
    else:
        match = _RATE.match(text)
        if not match:
            raise ProducerError(f"rate {text!r} is not a number per second", "write it like 500/s or 30/min")
        rate = float(match.group(1)) / _PER[(match.group(2) or "s").lower()]
    if not rate > 0 or not math.isfinite(rate):
        raise ProducerError(f"rate {text!r} must be more than 0 records per second")
    return rate


def parse_duration(text: str | float) -> float:
    """``30s``, ``2m``, ``1h30m``, ``500ms``, ``45`` (seconds) -> seconds."""
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        cleaned = text.strip()
        parts = list(_DURATION.finditer(cleaned))
        if not parts or "".join(p.group(0) for p in parts).replace(" ", "") != cleaned.replace(" ", ""):
            raise ProducerError(f"duration {text!r} is not understood", "write it like 30s, 2m or 1h30m")
        seconds = sum(float(p.group(1)) * _UNIT[(p.group(2) or "s").lower()] for p in parts)
    if not seconds > 0 or not math.isfinite(seconds):
        raise ProducerError(f"duration {text!r} must be more than 0 seconds")
    return seconds


class Schedule(Protocol):
    """When record ``k`` is due, and how many are due by time ``t`` (seconds from start)."""

    @property
    def rate(self) -> float: ...

    def due_at(self, k: int) -> float: ...

    def due_count(self, t: float) -> int: ...


@dataclass(frozen=True)
class ConstantSchedule:
    rate: float

    def due_at(self, k: int) -> float:
        return k / self.rate

    def due_count(self, t: float) -> int:
        return 0 if t < 0 else math.floor(t * self.rate + 1e-9) + 1


@dataclass(frozen=True)
class PeriodicSchedule:
    rate: float
    period: float = 60.0
    amplitude: float = 0.5

    def _cumulative(self, t: float) -> float:
        omega = 2 * math.pi / self.period
        return self.rate * t + self.rate * self.amplitude / omega * (1 - math.cos(omega * t))

    def due_count(self, t: float) -> int:
        return 0 if t < 0 else math.floor(self._cumulative(t) + 1e-9) + 1

    def due_at(self, k: int) -> float:
        if k <= 0:
            return 0.0
        low = 0.0
        high = k / (self.rate * max(1e-9, 1 - self.amplitude)) + self.period
        for _ in range(60):  # bisection: C is increasing (amplitude <= 1)
            middle = (low + high) / 2
            if self._cumulative(middle) >= k:
                high = middle
            else:
                low = middle
        return high


@dataclass(frozen=True)
class BurstSchedule:
    rate: float
    interval: float = 1.0

    @property
    def size(self) -> int:
        return max(1, round(self.rate * self.interval))

    def due_at(self, k: int) -> float:
        return (k // self.size) * self.interval

    def due_count(self, t: float) -> int:
        return 0 if t < 0 else (math.floor(t / self.interval + 1e-9) + 1) * self.size


def make_schedule(
    rate: float,
    mode: str = "constant",
    *,
    period: float = 60.0,
    amplitude: float = 0.5,
    interval: float = 1.0,
) -> Schedule:
    if mode == "constant":
        return ConstantSchedule(rate)
    if mode == "periodic":
        if not 0 <= amplitude <= 1:
            raise ProducerError(f"amplitude {amplitude} must be between 0 and 1")
        if period <= 0:
            raise ProducerError("the period of the periodic mode must be more than 0 seconds")
        return PeriodicSchedule(rate, period, amplitude)
    if mode == "burst":
        if interval <= 0:
            raise ProducerError("the burst interval must be more than 0 seconds")
        return BurstSchedule(rate, interval)
    raise ProducerError(f"mode {mode!r} is not one of {', '.join(MODES)}")


def planned_count(schedule: Schedule, count: int | None, duration: float | None) -> int:
    """How many records a run sends: ``count``, or every record due before ``duration`` ends."""
    if count is not None and duration is not None:
        raise ProducerError("give --duration or --count, not both")
    if count is not None:
        if count < 1:
            raise ProducerError(f"--count {count} must be at least 1")
        return count
    if duration is None:
        raise ProducerError("say how long to produce", "give --duration 30s or --count N")
    planned = schedule.due_count(duration)
    while planned and schedule.due_at(planned - 1) >= duration:
        planned -= 1
    return max(1, planned)
