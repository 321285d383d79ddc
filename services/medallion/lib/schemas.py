"""The lake's fixed schemas, and the record contract of nexuskit's own producers.

Silver datasets fed from bronze are defined by the files users edit (``lake/datasets/*.yaml``,
see :mod:`.datasets`); this module holds what does not change with them:

* the producer contract of nexuskit's built-in record types (``telemetry``, ``event``,
  ``sensor``): :data:`RECORD_TYPES`, :data:`REQUIRED_FIELDS` (what the lake needs; ``id`` is
  derived from the record's content when absent and ``run_id`` is optional), :data:`RANGES`,
  :data:`SEVERITIES` and the TypedDicts, for producers and their tests;
* the datasets the lake writes itself: ``silver.quarantine`` (every record or object part
  that could not become a row, with its reason) and ``silver.enrichment`` (agent-core's
  findings), the gold aggregates and ``vibranium.insights``;
* :data:`GOLD_INPUTS`: the silver columns gold reads (the dataset files must keep them;
  defined in :mod:`.names`, with the other names code without pyarrow needs).

Silver rows carry ``ts`` as ``timestamp[us, UTC]`` and the partition column ``date``
(``YYYY-MM-DD`` of the dataset's time field, UTC) lives in the key (``date=...``).

This module is shipped to Glue with the jobs: standard library and pyarrow only, and
Python 3.9 syntax at run time (Glue Python shell runs 3.9).
"""

from __future__ import annotations

from typing import TypedDict

import pyarrow as pa

from services.medallion.lib.names import SYSTEM_DATASETS

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


#: What the lake requires of the built-in types (``id`` is derived when absent, ``run_id`` optional).
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "telemetry": ("ts", "device_id", "lat", "lon"),
    "event": ("ts", "event_id", "source", "severity"),
    "sensor": ("ts", "station_id", "lat", "lon", "metric", "value", "unit"),
}

# -- Arrow schemas ------------------------------------------------------------------------------
TS = pa.timestamp("us", tz="UTC")
#: Silver datasets the lake writes itself (not routed from bronze; their names are reserved).
SYSTEM_SCHEMAS: dict[str, pa.Schema] = {
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
if tuple(SYSTEM_SCHEMAS) != SYSTEM_DATASETS:  # names.py names them for code without pyarrow
    raise RuntimeError(f"SYSTEM_SCHEMAS {tuple(SYSTEM_SCHEMAS)} != names.SYSTEM_DATASETS {SYSTEM_DATASETS}")

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

#: Fixed tiers: gold and vibranium (silver's routed datasets come from the lake config).
FIXED_SCHEMAS: dict[str, dict[str, pa.Schema]] = {"gold": GOLD_SCHEMAS, "vibranium": VIBRANIUM_SCHEMAS}
