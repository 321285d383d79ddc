"""Names the lake fixes, without pyarrow: the CLI validates dataset files, names Glue
databases and provisions the jobs with these, and ``nexuskit up`` / ``status`` should not
load pyarrow (about 0.2 s of CPU) to do it. :mod:`.schemas` holds the Arrow schemas.

Shipped to Glue with the jobs: standard library only, Python 3.9 syntax at run time.
"""

from __future__ import annotations

#: Silver datasets the lake writes itself (not routed from bronze; their names are reserved);
#: their schemas are :data:`.schemas.SYSTEM_SCHEMAS`.
SYSTEM_DATASETS = ("quarantine", "enrichment")
#: the Hive-style partition column of every dataset (``date=YYYY-MM-DD`` in the key)
PARTITION_KEY = "date"
#: the confidence an insight needs to reach vibranium, unless a run names another
DEFAULT_THRESHOLD = 0.8

#: silver dataset -> {column: type} that gold reads (a dataset file must keep these).
GOLD_INPUTS: dict[str, dict[str, str]] = {
    "telemetry": {
        "device_id": "string",
        "ts": "timestamp",
        "lat": "float",
        "lon": "float",
        "speed_mps": "float",
        "temperature_c": "float",
        "humidity_pct": "float",
        "pressure_hpa": "float",
        "battery_pct": "float",
    },
    "sensor": {"station_id": "string", "ts": "timestamp", "lat": "float", "lon": "float"},
    "event": {"source": "string", "ts": "timestamp", "severity": "string", "category": "string"},
}


def database_name(catalog_prefix: str, tier: str) -> str:
    """``nexus-dev`` + ``silver`` -> ``nexus_dev_silver`` (Glue names: lower case, underscores)."""
    return f"{catalog_prefix.replace('-', '_').lower()}_{tier}"
