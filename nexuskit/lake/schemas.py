"""The lake's record contract, for producers: import the types and constants from here.

What the lake accepts is defined by the dataset files (``lake/datasets/*.yaml``, see
:mod:`nexuskit.lake.config`); this module re-exports the contract of nexuskit's own record
types from :mod:`services.medallion.lib.schemas` (the module that ships to Glue)::

    from nexuskit.lake.schemas import TelemetryRecord, RECORD_TYPES, SEVERITIES

    record: TelemetryRecord = {
        "id": str(uuid.uuid4()), "run_id": run_id, "type": "telemetry",
        "ts": "2026-11-26T10:00:00.123Z", "device_id": "dev-0001", "lat": 45.5, "lon": -122.6,
        "speed_mps": 3.2, "heading_deg": 270.0, "battery_pct": 88.0,
        "readings": {"temperature_c": 21.5, "humidity_pct": 40.0, "pressure_hpa": 1013.2},
    }
    payload = json.dumps(record).encode() + b"\\n"   # one JSON line per record

``id`` and ``run_id`` are optional: a record without ``id`` gets one derived from its
content, and ``run_id`` is null when absent. :mod:`nexuskit.lake.sample` generates records.
"""

from __future__ import annotations

from services.medallion.lib.names import GOLD_INPUTS, PARTITION_KEY
from services.medallion.lib.schemas import (
    CHANNELS,
    DEFAULT_EVENT_CATEGORY,
    GOLD_DATASETS,
    GOLD_SCHEMAS,
    RANGES,
    RECORD_TYPES,
    REQUIRED_FIELDS,
    SEVERITIES,
    SEVERITY_ALIASES,
    SYSTEM_SCHEMAS,
    VIBRANIUM_SCHEMAS,
    EventRecord,
    Readings,
    SensorRecord,
    TelemetryRecord,
)

__all__ = [
    "CHANNELS",
    "DEFAULT_EVENT_CATEGORY",
    "GOLD_DATASETS",
    "GOLD_INPUTS",
    "GOLD_SCHEMAS",
    "PARTITION_KEY",
    "RANGES",
    "RECORD_TYPES",
    "REQUIRED_FIELDS",
    "SEVERITIES",
    "SEVERITY_ALIASES",
    "SYSTEM_SCHEMAS",
    "VIBRANIUM_SCHEMAS",
    "EventRecord",
    "Readings",
    "SensorRecord",
    "TelemetryRecord",
]
