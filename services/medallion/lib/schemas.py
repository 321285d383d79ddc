"""The record contract of the lake: what producers write to bronze, and the typed tables after it.

Producers (internal and client) put one JSON object per record, each followed by a newline,
into Kinesis; Firehose concatenates the payloads as they are into GZIP objects in bronze.
Every record carries an envelope and the fields of its ``type``:

envelope (all types)
    ``id`` (str, record id, unique per record: a record put twice has the same id),
    ``run_id`` (str, the producer run), ``type`` (``telemetry`` | ``event`` | ``sensor``),
    ``ts`` (ISO-8601 string with ``Z`` or an offset - the fast path - or epoch seconds /
    milliseconds as a number; a string without offset is read as UTC).

``telemetry`` (a moving device)
    required ``device_id`` (str), ``lat`` (-90..90), ``lon`` (-180..180); optional
    ``speed_mps`` (>= 0), ``heading_deg`` (any number, normalised to 0..360),
    ``readings`` {``temperature_c`` (-90..70), ``humidity_pct`` (0..100), ``pressure_hpa``
    (300..1100)}, ``battery_pct`` (0..100).

``event`` (something that happened)
    required ``event_id`` (str), ``source`` (str), ``severity`` (``info`` | ``warning`` |
    ``error`` | ``critical``; case and the aliases ``warn``, ``err``, ``crit``, ``fatal``,
    ``information`` are normalised); optional ``category`` (default ``general``), ``message``.

``sensor`` (a fixed station)
    required ``station_id`` (str), ``lat``, ``lon``, ``metric`` (str), ``value`` (finite
    number), ``unit`` (str). Known metrics are converted to one unit: ``temperature`` to
    ``C`` (from C, F, K), ``humidity`` to ``%``, ``pressure`` to ``hPa`` (from hPa, mbar,
    kPa, Pa, inHg), ``wind_speed`` / ``speed`` to ``m/s`` (from m/s, km/h, mph, kn); a
    known metric with another unit is quarantined; other metrics keep their unit.

Silver flattens ``readings`` (``temperature_c``, ...), stores ``ts`` as
``timestamp[us, UTC]`` and adds ``channel`` (``internal`` | ``client``), ``source_key`` and
``source_version_id`` (the bronze object the row came from). Partition column ``date``
(``YYYY-MM-DD`` of ``ts``, UTC) lives in the key (``date=...``), not in the files.

This module is shipped to Glue with the jobs: standard library and pyarrow only, and
Python 3.9 syntax at run time (Glue Python shell runs 3.9).
"""

from __future__ import annotations

from typing import TypedDict

import pyarrow as pa

RECORD_TYPES = ("telemetry", "event", "sensor")
SEVERITIES = ("info", "warning", "error", "critical")
SEVERITY_ALIASES: dict[str, str] = {
    "warn": "warning",
    "err": "error",
    "crit": "critical",
    "fatal": "critical",
    "information": "info",
}
DEFAULT_EVENT_CATEGORY = "general"
CHANNELS = ("internal", "client")

# metric -> (canonical unit, {accepted unit (lower case) -> (scale, offset)}): v * scale + offset
UNIT_CONVERSIONS: dict[str, tuple[str, dict[str, tuple[float, float]]]] = {
    "temperature": (
        "C",
        {
            "c": (1.0, 0.0),
            "celsius": (1.0, 0.0),
            "degc": (1.0, 0.0),
            "f": (5.0 / 9.0, -32.0 * 5.0 / 9.0),
            "fahrenheit": (5.0 / 9.0, -32.0 * 5.0 / 9.0),
            "k": (1.0, -273.15),
            "kelvin": (1.0, -273.15),
        },
    ),
    "humidity": ("%", {"%": (1.0, 0.0), "pct": (1.0, 0.0), "percent": (1.0, 0.0)}),
    "pressure": (
        "hPa",
        {
            "hpa": (1.0, 0.0),
            "mbar": (1.0, 0.0),
            "kpa": (10.0, 0.0),
            "pa": (0.01, 0.0),
            "inhg": (33.8638866667, 0.0),
        },
    ),
    "wind_speed": (
        "m/s",
        {
            "m/s": (1.0, 0.0),
            "mps": (1.0, 0.0),
            "km/h": (1.0 / 3.6, 0.0),
            "mph": (0.44704, 0.0),
            "kn": (0.514444, 0.0),
        },
    ),
    "speed": (
        "m/s",
        {
            "m/s": (1.0, 0.0),
            "mps": (1.0, 0.0),
            "km/h": (1.0 / 3.6, 0.0),
            "mph": (0.44704, 0.0),
            "kn": (0.514444, 0.0),
        },
    ),
}

# Plausible ranges (inclusive); outside them a record is quarantined.
RANGES: dict[str, tuple[float, float]] = {
    "lat": (-90.0, 90.0),
    "lon": (-180.0, 180.0),
    "temperature_c": (-90.0, 70.0),
    "humidity_pct": (0.0, 100.0),
    "pressure_hpa": (300.0, 1100.0),
    "battery_pct": (0.0, 100.0),
}


# -- the producer contract as types (for producers and tests) ----------------------------------
class Readings(TypedDict, total=False):
    temperature_c: float
    humidity_pct: float
    pressure_hpa: float


class TelemetryRecord(TypedDict, total=False):
    id: str
    run_id: str
    type: str  # "telemetry"
    ts: str
    device_id: str
    lat: float
    lon: float
    speed_mps: float
    heading_deg: float
    readings: Readings
    battery_pct: float


class EventRecord(TypedDict, total=False):
    id: str
    run_id: str
    type: str  # "event"
    ts: str
    event_id: str
    source: str
    severity: str
    category: str
    message: str


class SensorRecord(TypedDict, total=False):
    id: str
    run_id: str
    type: str  # "sensor"
    ts: str
    station_id: str
    lat: float
    lon: float
    metric: str
    value: float
    unit: str


REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "telemetry": ("id", "run_id", "ts", "device_id", "lat", "lon"),
    "event": ("id", "run_id", "ts", "event_id", "source", "severity"),
    "sensor": ("id", "run_id", "ts", "station_id", "lat", "lon", "metric", "value", "unit"),
}

# -- Arrow schemas ------------------------------------------------------------------------------
TS = pa.timestamp("us", tz="UTC")
READINGS = pa.struct(
    [("temperature_c", pa.float64()), ("humidity_pct", pa.float64()), ("pressure_hpa", pa.float64())]
)

#: How a bronze JSON line is read (the union of the three record types; unknown fields ignored).
PARSE_FIELDS: list[tuple[str, pa.DataType]] = [
    ("id", pa.string()),
    ("run_id", pa.string()),
    ("type", pa.string()),
    ("ts", pa.string()),
    ("device_id", pa.string()),
    ("lat", pa.float64()),
    ("lon", pa.float64()),
    ("speed_mps", pa.float64()),
    ("heading_deg", pa.float64()),
    ("readings", READINGS),
    ("battery_pct", pa.float64()),
    ("event_id", pa.string()),
    ("source", pa.string()),
    ("severity", pa.string()),
    ("category", pa.string()),
    ("message", pa.string()),
    ("station_id", pa.string()),
    ("metric", pa.string()),
    ("value", pa.float64()),
    ("unit", pa.string()),
]
PARSE_SCHEMA = pa.schema(PARSE_FIELDS)
#: The parse stage's output: ``ts`` parsed, plus whether a present ``ts`` was unreadable.
PARSED_SCHEMA = pa.schema(
    [(name, TS if name == "ts" else kind) for name, kind in PARSE_FIELDS]
    + [("_ts_invalid", pa.bool_()), ("_line", pa.int64())]
)

_LINEAGE = [
    ("channel", pa.string()),
    ("source_key", pa.string()),
    ("source_version_id", pa.string()),
]

SILVER_SCHEMAS: dict[str, pa.Schema] = {
    "telemetry": pa.schema(
        [
            ("id", pa.string()),
            ("run_id", pa.string()),
            ("device_id", pa.string()),
            ("ts", TS),
            ("lat", pa.float64()),
            ("lon", pa.float64()),
            ("speed_mps", pa.float64()),
            ("heading_deg", pa.float64()),
            ("temperature_c", pa.float64()),
            ("humidity_pct", pa.float64()),
            ("pressure_hpa", pa.float64()),
            ("battery_pct", pa.float64()),
            *_LINEAGE,
        ]
    ),
    "event": pa.schema(
        [
            ("id", pa.string()),
            ("run_id", pa.string()),
            ("event_id", pa.string()),
            ("source", pa.string()),
            ("ts", TS),
            ("severity", pa.string()),
            ("category", pa.string()),
            ("message", pa.string()),
            *_LINEAGE,
        ]
    ),
    "sensor": pa.schema(
        [
            ("id", pa.string()),
            ("run_id", pa.string()),
            ("station_id", pa.string()),
            ("ts", TS),
            ("lat", pa.float64()),
            ("lon", pa.float64()),
            ("metric", pa.string()),
            ("value", pa.float64()),
            ("unit", pa.string()),
            ("raw_value", pa.float64()),
            ("raw_unit", pa.string()),
            *_LINEAGE,
        ]
    ),
    "quarantine": pa.schema(
        [
            ("source_key", pa.string()),
            ("source_version_id", pa.string()),
            ("line", pa.int64()),
            ("record_id", pa.string()),
            ("type", pa.string()),
            ("reason", pa.string()),
            ("raw", pa.string()),
            ("job_run_id", pa.string()),
            ("quarantined_at", TS),
        ]
    ),
    # Written by agent-core (optional input of gold): one finding about one subject.
    "enrichment": pa.schema(
        [
            ("id", pa.string()),
            ("subject_type", pa.string()),  # device | station | event
            ("subject_id", pa.string()),
            ("ts", TS),
            ("workflow_id", pa.string()),
            ("label", pa.string()),
            ("confidence", pa.float64()),
            ("detail", pa.string()),
        ]
    ),
}
SILVER_DATASETS = ("telemetry", "event", "sensor", "quarantine", "enrichment")

_GOLD_LINEAGE = [("silver_files", pa.list_(pa.string())), ("bronze_objects", pa.list_(pa.string()))]


def _stats(name: str) -> list[tuple[str, pa.DataType]]:
    return [(f"{name}_min", pa.float64()), (f"{name}_max", pa.float64()), (f"{name}_mean", pa.float64())]


GOLD_SCHEMAS: dict[str, pa.Schema] = {
    "device_hourly": pa.schema(
        [
            ("device_id", pa.string()),
            ("hour", TS),
            ("records", pa.int64()),
            ("first_ts", TS),
            ("last_ts", TS),
            *_stats("temperature_c"),
            *_stats("humidity_pct"),
            *_stats("pressure_hpa"),
            ("speed_mps_mean", pa.float64()),
            ("speed_mps_max", pa.float64()),
            ("battery_pct_min", pa.float64()),
            ("battery_pct_max", pa.float64()),
            ("distance_m", pa.float64()),
            ("enrichment_count", pa.int64()),
            ("enrichment_max_confidence", pa.float64()),
            ("enrichment_labels", pa.list_(pa.string())),
            *_GOLD_LINEAGE,
        ]
    ),
    "geo_density": pa.schema(
        [
            ("hour", TS),
            ("cell_id", pa.string()),
            ("cell_lat", pa.float64()),
            ("cell_lon", pa.float64()),
            ("source", pa.string()),  # telemetry | sensor
            ("records", pa.int64()),
            ("subjects", pa.int64()),
            *_GOLD_LINEAGE,
        ]
    ),
    "event_severity": pa.schema(
        [
            ("hour", TS),
            ("severity", pa.string()),
            ("category", pa.string()),
            ("events", pa.int64()),
            ("sources", pa.int64()),
            *_GOLD_LINEAGE,
        ]
    ),
}
GOLD_DATASETS = tuple(GOLD_SCHEMAS)

VIBRANIUM_SCHEMAS: dict[str, pa.Schema] = {
    "insights": pa.schema(
        [
            ("insight_id", pa.string()),
            ("kind", pa.string()),
            ("subject_type", pa.string()),
            ("subject_id", pa.string()),
            ("window_start", TS),
            ("window_end", TS),
            ("confidence", pa.float64()),
            ("threshold", pa.float64()),
            ("summary", pa.string()),
            ("metrics", pa.string()),  # JSON object
            ("provenance_key", pa.string()),
            ("job_run_id", pa.string()),
            ("created_at", TS),
        ]
    ),
}

TIER_SCHEMAS: dict[str, dict[str, pa.Schema]] = {
    "silver": SILVER_SCHEMAS,
    "gold": GOLD_SCHEMAS,
    "vibranium": VIBRANIUM_SCHEMAS,
}
PARTITION_KEY = "date"


def dataset_schema(tier: str, dataset: str) -> pa.Schema | None:
    """The Arrow schema of ``tier.dataset`` (None for an unknown one)."""
    return TIER_SCHEMAS.get(tier, {}).get(dataset)
