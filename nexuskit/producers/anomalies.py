"""Bad records on purpose (``--anomaly-rate``), so the lake's quarantine has work.

Each kind breaks one rule the bronze -> silver step checks (:mod:`nexuskit.lake.schemas`):
malformed JSON, a missing required field, a ``ts`` that is not a timestamp, a value
outside :data:`~nexuskit.lake.schemas.RANGES`, a number sent as a string, an unknown
severity, a unit that is not one of the metric's. Every anomalous record keeps its ``id``
and ``run_id`` (malformed JSON is cut after them), so a delivery proof still finds it.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

from nexuskit.lake.schemas import RANGES, REQUIRED_FIELDS

Record = dict[str, Any]
#: (record, rng) -> the record's kind of damage applied (in place); None when not applicable
Breaker = Callable[[Record, random.Random], bool]

_ENVELOPE = ("id", "run_id")


def _missing_field(record: Record, rng: random.Random) -> bool:
    required = [f for f in REQUIRED_FIELDS.get(str(record.get("type")), ()) if f not in _ENVELOPE]
    required = [f for f in required if f in record] or [f for f in record if f not in (*_ENVELOPE, "type")]
    if not required:
        return False
    del record[rng.choice(required)]
    return True


def _bad_ts(record: Record, rng: random.Random) -> bool:
    record["ts"] = rng.choice(("yesterday", "2026-13-45T25:61:00Z", "soon"))
    return True


def _out_of_range(record: Record, rng: random.Random) -> bool:
    candidates: list[tuple[dict[str, Any], str]] = [(record, key) for key in RANGES if key in record]
    readings = record.get("readings")
    if isinstance(readings, dict):
        candidates += [(readings, key) for key in RANGES if key in readings]
    if not candidates:
        return False
    holder, key = rng.choice(candidates)
    low, high = RANGES[key]
    span = high - low
    holder[key] = (
        round(high + span * rng.uniform(0.1, 2.0), 2)
        if rng.random() < 0.5
        else round(low - span * rng.uniform(0.1, 2.0), 2)
    )
    return True


def _negative_speed(record: Record, rng: random.Random) -> bool:
    if "speed_mps" not in record:
        return False
    record["speed_mps"] = -round(rng.uniform(0.5, 30), 2)
    return True


def _number_as_string(record: Record, rng: random.Random) -> bool:
    numeric = [k for k, v in record.items() if isinstance(v, int | float) and not isinstance(v, bool)]
    if not numeric:
        return False
    key = rng.choice(numeric)
    record[key] = str(record[key])
    return True


def _bad_severity(record: Record, rng: random.Random) -> bool:
    if "severity" not in record:
        return False
    record["severity"] = rng.choice(("apocalyptic", "meh", "P0"))
    return True


def _bad_unit(record: Record, rng: random.Random) -> bool:
    if "unit" not in record:
        return False
    record["unit"] = rng.choice(("furlongs", "parsecs", "smoots"))
    return True


BREAKERS: dict[str, Breaker] = {
    "missing_field": _missing_field,
    "bad_ts": _bad_ts,
    "out_of_range": _out_of_range,
    "negative_speed": _negative_speed,
    "number_as_string": _number_as_string,
    "bad_severity": _bad_severity,
    "bad_unit": _bad_unit,
}
MALFORMED = "malformed_json"
KINDS = (MALFORMED, *BREAKERS)


def malformed(record: Record, rng: random.Random) -> bytes:
    """The record's JSON cut short (after ``id`` and ``run_id``), with its newline."""
    head = {key: record[key] for key in _ENVELOPE if key in record}
    rest = {key: value for key, value in record.items() if key not in head}
    text = json.dumps({**head, **rest}, separators=(",", ":"))
    keep = len(json.dumps(head, separators=(",", ":"))) - 1  # without the closing brace
    cut = rng.randint(min(len(text) - 1, keep + 2), len(text) - 1)
    return text[:cut].encode("utf-8") + b"\n"


def damage(record: Record, rng: random.Random) -> tuple[str, bytes | None]:
    """Break the record one way; ``(kind, payload)`` where payload is set for malformed JSON."""
    kinds = list(KINDS)
    rng.shuffle(kinds)
    for kind in kinds:
        if kind == MALFORMED:
            return kind, malformed(record, rng)
        if BREAKERS[kind](record, rng):
            return kind, None
    return MALFORMED, malformed(record, rng)
