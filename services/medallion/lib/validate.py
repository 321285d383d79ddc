"""Validate and normalise parsed records per type, vectorised (no Python loop per record).

Each check is a boolean mask with a reason; a record's reason is the first check it fails.
Records without a reason become silver rows (typed, normalised, with their lineage); the
others go to quarantine with their reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from services.medallion.lib.schemas import (
    DEFAULT_EVENT_CATEGORY,
    RANGES,
    SEVERITIES,
    SEVERITY_ALIASES,
    SILVER_SCHEMAS,
    UNIT_CONVERSIONS,
)


@dataclass(frozen=True)
class Lineage:
    """Where a batch of records came from."""

    source_key: str
    source_version_id: str
    channel: str


@dataclass
class Checked:
    """Silver rows of one type, and the rejected records (``_line``, ``id``, ``reason``)."""

    valid: pa.Table
    rejected: pa.Table


class _Reasons:
    def __init__(self, rows: int) -> None:
        self.reason = pa.nulls(rows, pa.string())

    def add(self, mask: pa.Array | pa.ChunkedArray, text: str) -> None:
        failing = pc.fill_null(mask, False)
        self.reason = pc.if_else(pc.and_(failing, pc.is_null(self.reason)), text, self.reason)


def _missing_text(column: pa.Array) -> pa.Array:
    return pc.fill_null(pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(column)), 0), True)


def _missing_number(column: pa.Array) -> pa.Array:
    return pc.or_(pc.is_null(column), pc.fill_null(pc.is_nan(column), False))


def _outside(column: pa.Array, low: float, high: float) -> pa.Array:
    inside = pc.and_(pc.greater_equal(column, low), pc.less_equal(column, high))
    return pc.fill_null(pc.invert(inside), False)


def _not_finite(column: pa.Array) -> pa.Array:
    return pc.fill_null(pc.invert(pc.is_finite(column)), False)


def _constant(value: str, rows: int) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pc.cast(pa.repeat(0, rows), pa.int32()), pa.array([value]))


def _common(table: pa.Table, reasons: _Reasons) -> None:
    reasons.add(_missing_text(table["id"]), "missing id")
    reasons.add(_missing_text(table["run_id"]), "missing run_id")
    reasons.add(table["_ts_invalid"], "ts is not an ISO-8601 timestamp or epoch number")
    reasons.add(pc.is_null(table["ts"]), "missing ts")


def _position(table: pa.Table, reasons: _Reasons) -> None:
    for name in ("lat", "lon"):
        low, high = RANGES[name]
        reasons.add(_missing_number(table[name]), f"missing {name}")
        reasons.add(_outside(table[name], low, high), f"{name} outside [{low:g}, {high:g}]")


def _finish(
    kind: str, table: pa.Table, columns: dict[str, pa.Array], reasons: _Reasons, lineage: Lineage
) -> Checked:
    rows = table.num_rows
    columns["channel"] = _constant(lineage.channel, rows)
    columns["source_key"] = _constant(lineage.source_key, rows)
    columns["source_version_id"] = _constant(lineage.source_version_id, rows)
    schema = SILVER_SCHEMAS[kind]
    full = pa.table([columns[field.name] for field in schema], names=schema.names)
    ok = pc.is_null(reasons.reason)
    rejected = pa.table({"_line": table["_line"], "id": table["id"], "reason": reasons.reason}).filter(
        pc.invert(ok)
    )
    return Checked(valid=full.filter(ok), rejected=rejected)


def check_telemetry(table: pa.Table, lineage: Lineage) -> Checked:
    reasons = _Reasons(table.num_rows)
    _common(table, reasons)
    reasons.add(_missing_text(table["device_id"]), "missing device_id")
    _position(table, reasons)
    speed, heading = table["speed_mps"], table["heading_deg"]
    reasons.add(_not_finite(speed), "speed_mps is not a finite number")
    reasons.add(pc.fill_null(pc.less(speed, 0.0), False), "speed_mps must be >= 0")
    reasons.add(_not_finite(heading), "heading_deg is not a finite number")
    readings = table["readings"]
    flat = {}
    for name in ("temperature_c", "humidity_pct", "pressure_hpa"):
        values = pc.struct_field(readings, name)
        low, high = RANGES[name]
        reasons.add(_outside(values, low, high), f"readings.{name} outside [{low:g}, {high:g}]")
        flat[name] = values
    low, high = RANGES["battery_pct"]
    reasons.add(_outside(table["battery_pct"], low, high), f"battery_pct outside [{low:g}, {high:g}]")
    turns = pc.floor(pc.divide(heading, 360.0))
    columns = {
        "id": table["id"],
        "run_id": table["run_id"],
        "device_id": table["device_id"],
        "ts": table["ts"],
        "lat": table["lat"],
        "lon": table["lon"],
        "speed_mps": speed,
        "heading_deg": pc.subtract(heading, pc.multiply(turns, 360.0)),
        "battery_pct": table["battery_pct"],
        **flat,
    }
    return _finish("telemetry", table, columns, reasons, lineage)


_SEVERITY_KEYS = pa.array(list(SEVERITIES) + list(SEVERITY_ALIASES))
_SEVERITY_VALUES = pa.array(list(SEVERITIES) + list(SEVERITY_ALIASES.values()))


def check_event(table: pa.Table, lineage: Lineage) -> Checked:
    reasons = _Reasons(table.num_rows)
    _common(table, reasons)
    reasons.add(_missing_text(table["event_id"]), "missing event_id")
    reasons.add(_missing_text(table["source"]), "missing source")
    raw = pc.utf8_lower(pc.utf8_trim_whitespace(table["severity"]))
    reasons.add(_missing_text(table["severity"]), "missing severity")
    index = pc.index_in(raw, value_set=_SEVERITY_KEYS)
    reasons.add(pc.is_null(index), "severity is not one of " + "|".join(SEVERITIES))
    severity = pc.take(_SEVERITY_VALUES, index)
    category = pc.utf8_trim_whitespace(table["category"])
    category = pc.if_else(_missing_text(category), DEFAULT_EVENT_CATEGORY, category)
    columns = {
        "id": table["id"],
        "run_id": table["run_id"],
        "event_id": table["event_id"],
        "source": table["source"],
        "ts": table["ts"],
        "severity": severity,
        "category": category,
        "message": table["message"],
    }
    return _finish("event", table, columns, reasons, lineage)


def _unit_table() -> tuple[pa.Array, pa.Array, pa.Array, pa.Array, pa.Array]:
    keys, scales, offsets, units = [], [], [], []
    for metric, (canonical, accepted) in UNIT_CONVERSIONS.items():
        for unit, (scale, offset) in accepted.items():
            keys.append(f"{metric}|{unit}")
            scales.append(scale)
            offsets.append(offset)
            units.append(canonical)
    return (
        pa.array(keys),
        pa.array(scales, pa.float64()),
        pa.array(offsets, pa.float64()),
        pa.array(units),
        pa.array(sorted(UNIT_CONVERSIONS)),
    )


_UNIT_KEYS, _UNIT_SCALES, _UNIT_OFFSETS, _UNIT_CANONICAL, _KNOWN_METRICS = _unit_table()


def check_sensor(table: pa.Table, lineage: Lineage) -> Checked:
    reasons = _Reasons(table.num_rows)
    _common(table, reasons)
    reasons.add(_missing_text(table["station_id"]), "missing station_id")
    _position(table, reasons)
    reasons.add(_missing_text(table["metric"]), "missing metric")
    reasons.add(_missing_number(table["value"]), "missing value")
    reasons.add(_not_finite(table["value"]), "value is not a finite number")
    reasons.add(_missing_text(table["unit"]), "missing unit")
    metric = pc.utf8_lower(pc.utf8_trim_whitespace(table["metric"]))
    unit = pc.utf8_trim_whitespace(table["unit"])
    key = pc.binary_join_element_wise(metric, pc.utf8_lower(unit), "|")
    index = pc.index_in(key, value_set=_UNIT_KEYS)
    known_metric = pc.fill_null(pc.is_in(metric, value_set=_KNOWN_METRICS), False)
    reasons.add(pc.and_(known_metric, pc.is_null(index)), "unit is not a unit of the metric")
    scale = pc.fill_null(pc.take(_UNIT_SCALES, index), 1.0)
    offset = pc.fill_null(pc.take(_UNIT_OFFSETS, index), 0.0)
    value = pc.add(pc.multiply(table["value"], scale), offset)
    columns = {
        "id": table["id"],
        "run_id": table["run_id"],
        "station_id": table["station_id"],
        "ts": table["ts"],
        "lat": table["lat"],
        "lon": table["lon"],
        "metric": metric,
        "value": value,
        "unit": pc.if_else(known_metric, pc.take(_UNIT_CANONICAL, index), unit),
        "raw_value": table["value"],
        "raw_unit": table["unit"],
    }
    return _finish("sensor", table, columns, reasons, lineage)


CHECKS = {"telemetry": check_telemetry, "event": check_event, "sensor": check_sensor}
