"""The telemetry responder's analysis: summarise and classify a batch of events.

Events are found as JSON in the prompt: a list of objects, an object holding such a list
(``{"events": [...]}``, ``{"records": [...]}``, ...), or JSON Lines. The summary is plain
statistics, so it is the same for the same batch and its counts can be checked:

* ``event_count``, per-field ``categories`` (value counts of low-cardinality text fields),
  numeric ``fields`` (count, min, max, mean, median) and the ``time_range``;
* ``anomalies``: numeric values whose modified z-score (median and MAD) exceeds 3.5, and
  events whose status/level field says error/critical/failed;
* ``severity`` (low, medium, high, critical) from the share of anomalous events, and
  ``classification`` (nominal, anomalous, critical);
* ``confidence`` in [0, 1]: grows with the batch size and with how uniform its schema is.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from typing import Any

GENERATOR = "nexuskit local model (deterministic statistics; no real model was called)"

_LIST_KEYS = ("events", "records", "items", "data", "telemetry", "readings", "batch", "messages")
_TIME_FIELDS = {"timestamp", "ts", "time", "event_time", "eventtime", "datetime", "date", "@timestamp"}
_STATUS_FIELDS = ("status", "level", "severity", "state", "alarm", "result", "health")
_CRITICAL_WORDS = {"critical", "fatal", "emergency", "panic"}
_ERROR_WORDS = {"error", "err", "fail", "failed", "failure", "alarm", "alert", "fault", "down", "offline"}
_WARNING_WORDS = {"warning", "warn", "degraded", "unstable"}
_Z_LIMIT = 3.5
_MAX_ANOMALIES = 25
_MAX_CATEGORY_VALUES = 20


def json_values(text: str) -> list[Any]:
    """Every top-level JSON object or array embedded in ``text``, in order."""
    decoder = json.JSONDecoder()
    found: list[Any] = []
    index = 0
    while index < len(text):
        starts = [pos for pos in (text.find("{", index), text.find("[", index)) if pos >= 0]
        if not starts:
            break
        start = min(starts)
        try:
            value, end = decoder.raw_decode(text, start)
        except ValueError:
            index = start + 1
            continue
        found.append(value)
        index = end
    return found


def _as_events(value: Any) -> list[dict[str, Any]] | None:
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        return value
    if isinstance(value, dict):
        for key in _LIST_KEYS:
            events = _as_events(value.get(key))
            if events:
                return events
        for item in value.values():
            events = _as_events(item)
            if events:
                return events
    return None


def find_events(text: str) -> list[dict[str, Any]] | None:
    """The largest batch of events in ``text`` (None when there is none)."""
    values = json_values(text)
    batches = [events for events in map(_as_events, values) if events]
    standalone = [value for value in values if isinstance(value, dict) and not _as_events(value)]
    if len(standalone) >= 2:  # JSON Lines: one object per line
        batches.append(standalone)
    if not batches:
        return None
    return max(batches, key=len)


def _flatten(event: dict[str, Any], prefix: str = "", depth: int = 0) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in event.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and depth < 2:
            flat.update(_flatten(value, f"{name}.", depth + 1))
        else:
            flat[name] = value
    return flat


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_time_field(name: str) -> bool:
    leaf = name.rsplit(".", 1)[-1].lower()
    return leaf in _TIME_FIELDS or leaf.endswith("_at")


def _round(value: float) -> float:
    return round(value, 4)


def _numeric_anomalies(name: str, values: list[tuple[int, float]]) -> list[dict[str, Any]]:
    if len(values) < 4:
        return []
    numbers = [value for _, value in values]
    median = statistics.median(numbers)
    mad = statistics.median(abs(value - median) for value in numbers)
    if mad > 0:
        scale = mad / 0.6745
    else:
        mean_ad = statistics.fmean(abs(value - median) for value in numbers)
        scale = mean_ad * 1.253314
    if scale == 0:
        return []
    found = []
    for index, value in values:
        score = (value - median) / scale
        if abs(score) > _Z_LIMIT:
            direction = "above" if score > 0 else "below"
            found.append(
                {
                    "index": index,
                    "field": name,
                    "value": value,
                    "reason": f"{direction} the batch median {_round(median)} "
                    f"(modified z-score {_round(score)})",
                }
            )
    return found


def summarise(events: list[dict[str, Any]]) -> dict[str, Any]:
    """Statistics, anomalies, severity and confidence of one batch."""
    flat = [_flatten(event) for event in events]
    count = len(flat)
    names = sorted({name for event in flat for name in event})
    numeric: dict[str, list[tuple[int, float]]] = {}
    texts: dict[str, list[str]] = {}
    time_range: dict[str, Any] | None = None
    for name in names:
        present = [(index, event[name]) for index, event in enumerate(flat) if name in event]
        if _is_time_field(name):
            stamps = sorted(str(value) if not _is_number(value) else value for _, value in present)
            if stamps and time_range is None:
                time_range = {"field": name, "start": stamps[0], "end": stamps[-1]}
            continue
        nums = [(index, float(value)) for index, value in present if _is_number(value)]
        if nums and len(nums) >= len(present) / 2:
            numeric[name] = nums
        strings = [value for _, value in present if isinstance(value, str)]
        if strings:
            texts[name] = strings

    fields = {
        name: {
            "count": len(values),
            "min": _round(min(v for _, v in values)),
            "max": _round(max(v for _, v in values)),
            "mean": _round(statistics.fmean(v for _, v in values)),
            "median": _round(statistics.median(v for _, v in values)),
        }
        for name, values in numeric.items()
    }
    categories: dict[str, dict[str, int]] = {}
    for name, strings in texts.items():
        distinct = Counter(strings)
        if len(distinct) <= _MAX_CATEGORY_VALUES and (len(distinct) < len(strings) or count <= 3):
            ordered = sorted(distinct.items(), key=lambda item: (-item[1], item[0]))
            categories[name] = dict(ordered)

    anomalies: list[dict[str, Any]] = []
    for name, values in numeric.items():
        anomalies.extend(_numeric_anomalies(name, values))
    critical = errors = warnings = 0
    for index, event in enumerate(flat):
        words = {
            str(value).lower()
            for name, value in event.items()
            if isinstance(value, str) and name.rsplit(".", 1)[-1].lower() in _STATUS_FIELDS
        }
        if words & _CRITICAL_WORDS:
            critical += 1
        if words & (_CRITICAL_WORDS | _ERROR_WORDS):
            errors += 1
            label = sorted(words & (_CRITICAL_WORDS | _ERROR_WORDS))[0]
            anomalies.append({"index": index, "field": "status", "value": label, "reason": f"event {label}"})
        elif words & _WARNING_WORDS:
            warnings += 1
    anomalies.sort(key=lambda item: (item["index"], item["field"]))
    anomalous_events = len({item["index"] for item in anomalies})

    score = (anomalous_events + errors + 0.5 * warnings) / count if count else 0.0
    if critical or score >= 0.5:
        severity = "critical"
    elif score >= 0.2:
        severity = "high"
    elif score > 0:
        severity = "medium"
    else:
        severity = "low"
    classification = {"low": "nominal", "critical": "critical"}.get(severity, "anomalous")

    shapes = Counter(tuple(sorted(event)) for event in flat)
    uniformity = shapes.most_common(1)[0][1] / count if count else 0.0
    confidence = round(min(1.0, 0.35 + 0.6 * (count / (count + 10)) * uniformity), 2)

    parts = [f"{count} events"]
    if time_range:
        parts.append(f"from {time_range['start']} to {time_range['end']}")
    summary = " ".join(parts) + f": {anomalous_events} anomalous"
    if anomalies:
        summary += " (" + ", ".join(sorted({str(item["field"]) for item in anomalies})) + ")"
    summary += f", {errors} errors, {warnings} warnings; severity {severity}."
    return {
        "summary": summary,
        "event_count": count,
        "time_range": time_range,
        "fields": fields,
        "categories": categories,
        "anomaly_count": anomalous_events,
        "anomalies": anomalies[:_MAX_ANOMALIES],
        "error_count": errors,
        "warning_count": warnings,
        "classification": classification,
        "severity": severity,
        "confidence": confidence,
        "generator": GENERATOR,
    }
