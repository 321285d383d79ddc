"""Record timestamps: the real clock, or a simulated one for backfills and reproducible runs.

A :class:`SimulatedClock` stamps record ``seq`` at ``start + seq * step``, whatever the
wall time; with a seed it makes a run's records identical field for field. The
:class:`RealClock` stamps the moment a record is made.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Protocol

from nexuskit.producers.errors import ProducerError

_ISO_Z = re.compile(r"Z$")


class Clock(Protocol):
    """The timestamp (epoch seconds) of record ``seq``."""

    @property
    def simulated(self) -> bool: ...

    def stamp(self, seq: int) -> float: ...


@dataclass(frozen=True)
class RealClock:
    simulated: bool = False

    def stamp(self, seq: int) -> float:
        return time.time()


@dataclass(frozen=True)
class SimulatedClock:
    start: float
    step: float = 1.0
    simulated: bool = True

    def stamp(self, seq: int) -> float:
        return self.start + seq * self.step


def parse_instant(text: str) -> float:
    """``2026-11-26T10:00:00Z`` (or with an offset, or a date) -> epoch seconds."""
    try:
        moment = datetime.fromisoformat(_ISO_Z.sub("+00:00", text.strip()))
    except ValueError:
        raise ProducerError(
            f"start time {text!r} is not an ISO-8601 timestamp", "write it like 2026-11-26T10:00:00Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


@lru_cache(maxsize=4096)
def _second(whole: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(whole))


def iso_ms(epoch: float) -> str:
    """``2026-11-26T10:00:00.123Z``: the lake's wire format for ``ts``."""
    millis = int(epoch * 1000) if epoch >= 0 else math.floor(epoch * 1000)
    whole, ms = divmod(millis, 1000)
    return f"{_second(whole)}{ms:03d}Z"
