"""Silver -> gold: hourly aggregates, recomputed per affected date partition.

``device_hourly``
    per device and hour: records, first/last ts, min/max/mean of temperature, humidity and
    pressure, mean/max speed, min/max battery, ``distance_m`` (haversine between
    consecutive positions of the device within the hour, ordered by ts then id), and
    agent-core's findings about the device in that hour (``silver.enrichment``, optional:
    count, max confidence, labels).
``geo_density``
    per hour and grid cell (``cells_per_degree`` cells per degree, default 10 - 0.1 deg) and
    source (telemetry, sensor): records and distinct subjects (devices or stations).
``event_severity``
    per hour, severity and category: events and distinct sources.

Every gold row names the silver files (``silver_files``) and bronze objects
(``bronze_objects``, as ``key#version``) it was computed from; vibranium builds its
provenance manifests from them. When new silver files arrive for a date, the gold
partitions of that date are recomputed from all of the date's silver files and replace
the previous ones (``mode: replace`` in the manifest), so a re-run is a no-op and late
data is folded in.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from services.medallion.lib import layout
from services.medallion.lib.catalog import GlueCatalog
from services.medallion.lib.commit import CommitLog, OutputFile, Transaction, recover
from services.medallion.lib.schemas import GOLD_SCHEMAS
from services.medallion.lib.silver import JobResult, ProgressFn, parquet_bytes, read_parquet
from services.medallion.lib.store import ObjectStore

JOB = "silver_to_gold"
EARTH_RADIUS_M = 6371008.8
# gold dataset -> the silver datasets it is computed from
SOURCES: dict[str, tuple[str, ...]] = {
    "device_hourly": ("telemetry", "enrichment"),
    "geo_density": ("telemetry", "sensor"),
    "event_severity": ("event",),
}
_COLUMNS: dict[str, list[str]] = {
    "telemetry": [
        "id",
        "device_id",
        "ts",
        "lat",
        "lon",
        "speed_mps",
        "temperature_c",
        "humidity_pct",
        "pressure_hpa",
        "battery_pct",
        "source_key",
        "source_version_id",
    ],
    "sensor": ["id", "station_id", "ts", "lat", "lon", "source_key", "source_version_id"],
    "event": ["id", "source", "ts", "severity", "category", "source_key", "source_version_id"],
    "enrichment": ["id", "subject_type", "subject_id", "ts", "label", "confidence"],
}

_DICTIONARY = ["source_key", "source_version_id"]
_VERSION = re.compile(r"_v\d+$")


def base_dataset(dataset: str) -> str:
    """``telemetry_v2`` -> ``telemetry``: gold reads every version of a silver dataset."""
    return _VERSION.sub("", dataset)


def source_partitions(silver: CommitLog, source: str) -> dict[str, list[OutputFile]]:
    """partition -> the committed files of every version of silver dataset ``source``."""
    found: dict[str, list[OutputFile]] = {}
    for item in silver.files():
        if base_dataset(item.dataset) == source:
            found.setdefault(item.partition, []).append(item)
    return found


@dataclass
class GoldConfig:
    silver_bucket: str
    gold_bucket: str
    code_version: str = ""
    glue_job_run_id: str | None = None
    cells_per_degree: int = 10


def haversine_m(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> Any:
    """Great-circle distance in metres, element-wise over Arrow arrays."""
    to_rad = math.pi / 180.0
    phi1, phi2 = pc.multiply(lat1, to_rad), pc.multiply(lat2, to_rad)
    dphi = pc.subtract(phi2, phi1)
    dlmb = pc.multiply(pc.subtract(lon2, lon1), to_rad)
    sin_phi = pc.sin(pc.divide(dphi, 2.0))
    sin_lmb = pc.sin(pc.divide(dlmb, 2.0))
    a = pc.add(
        pc.multiply(sin_phi, sin_phi),
        pc.multiply(pc.multiply(pc.cos(phi1), pc.cos(phi2)), pc.multiply(sin_lmb, sin_lmb)),
    )
    a = pc.min_element_wise(a, 1.0)
    return pc.multiply(pc.asin(pc.sqrt(a)), 2.0 * EARTH_RADIUS_M)


def _lineage(table: pa.Table, keys: list[str]) -> pa.Table:
    """Per group of ``keys``: the distinct silver files and bronze objects (``key#version``).

    Two steps keep it cheap: first the distinct (group, file, object) combinations - about
    one per group and bronze object - then the ``key#version`` strings of those only.
    """
    combos = table.group_by(
        [*keys, "silver_file", "source_key", "source_version_id"], use_threads=False
    ).aggregate([])
    combos = pa.table(
        {
            **{key: combos[key] for key in keys},
            "silver_file": combos["silver_file"].cast(pa.string()),
            "bronze": pc.binary_join_element_wise(
                combos["source_key"].cast(pa.string()), combos["source_version_id"].cast(pa.string()), "#"
            ),
        }
    )
    lineage = combos.group_by(keys, use_threads=False).aggregate(
        [("silver_file", "distinct"), ("bronze", "distinct")]
    )
    return lineage.rename_columns(
        {"silver_file_distinct": "silver_files", "bronze_distinct": "bronze_objects"}
    )


def _with_lineage(agg: pa.Table, table: pa.Table, keys: list[str]) -> pa.Table:
    """``agg`` (one row per group) with the groups' lineage lists, both in key order."""
    order = [(key, "ascending") for key in keys]
    agg = agg.sort_by(order)
    lineage = _lineage(table, keys).sort_by(order)
    files = [sorted(v) for v in lineage["silver_files"].to_pylist()]
    objects = [sorted(v) for v in lineage["bronze_objects"].to_pylist()]
    agg = agg.append_column("silver_files", pa.array(files, pa.list_(pa.string())))
    return agg.append_column("bronze_objects", pa.array(objects, pa.list_(pa.string())))


def _conform(table: pa.Table, dataset: str) -> pa.Table:
    schema = GOLD_SCHEMAS[dataset]
    return pa.table([table[f.name].cast(f.type) for f in schema], schema=schema)


def device_hourly(telemetry: pa.Table, enrichment: pa.Table | None) -> pa.Table:
    """The ``device_hourly`` rows of one date's telemetry (and enrichment)."""
    if telemetry.num_rows == 0:
        return GOLD_SCHEMAS["device_hourly"].empty_table()
    t = telemetry.append_column("hour", pc.floor_temporal(telemetry["ts"], unit="hour"))
    t = t.take(
        pc.sort_indices(t, sort_keys=[("device_id", "ascending"), ("ts", "ascending"), ("id", "ascending")])
    )
    n = t.num_rows
    head, tail = t.slice(0, n - 1), t.slice(1)
    same = pc.and_(pc.equal(head["device_id"], tail["device_id"]), pc.equal(head["hour"], tail["hour"]))
    step = haversine_m(head["lat"], head["lon"], tail["lat"], tail["lon"])
    segment = pc.if_else(same, step, 0.0)
    if isinstance(segment, pa.ChunkedArray):
        segment = segment.combine_chunks()
    t = t.append_column("_segment", pa.concat_arrays([pa.array([0.0]), segment.cast(pa.float64())]))
    stats = []
    for name in ("temperature_c", "humidity_pct", "pressure_hpa"):
        stats += [(name, "min"), (name, "max"), (name, "mean")]
    agg = t.group_by(["device_id", "hour"], use_threads=False).aggregate(
        [
            ("id", "count"),
            ("ts", "min"),
            ("ts", "max"),
            *stats,
            ("speed_mps", "mean"),
            ("speed_mps", "max"),
            ("battery_pct", "min"),
            ("battery_pct", "max"),
            ("_segment", "sum"),
        ]
    )
    agg = agg.rename_columns(
        {
            "id_count": "records",
            "ts_min": "first_ts",
            "ts_max": "last_ts",
            "_segment_sum": "distance_m",
        }
    )
    agg = _with_lineage(agg, t, ["device_id", "hour"])
    rows = agg.num_rows
    agg = agg.append_column("enrichment_count", pa.repeat(pa.scalar(0, pa.int64()), rows))
    agg = agg.append_column("enrichment_max_confidence", pa.nulls(rows, pa.float64()))
    agg = agg.append_column("enrichment_labels", pa.nulls(rows, pa.list_(pa.string())))
    if enrichment is not None and enrichment.num_rows:
        agg = _join_enrichment(agg, enrichment)
    agg = agg.sort_by([("device_id", "ascending"), ("hour", "ascending")])
    return _conform(agg, "device_hourly")


def _join_enrichment(agg: pa.Table, enrichment: pa.Table) -> pa.Table:
    devices = enrichment.filter(pc.fill_null(pc.equal(enrichment["subject_type"], "device"), False))
    if devices.num_rows == 0:
        return agg
    devices = devices.append_column("hour", pc.floor_temporal(devices["ts"], unit="hour"))
    found = devices.group_by(["subject_id", "hour"], use_threads=False).aggregate(
        [("id", "count"), ("confidence", "max"), ("label", "distinct"), ("silver_file", "distinct")]
    )
    by_slot = {(row["subject_id"], row["hour"]): row for row in found.to_pylist()}
    keys = zip(agg["device_id"].to_pylist(), agg["hour"].to_pylist())  # noqa: B905 (Python 3.9 has no strict zip)
    counts: list[int] = []
    maxima: list[float | None] = []
    labels: list[list[str] | None] = []
    files: list[list[str]] = []
    for (device, hour), current_files in zip(keys, agg["silver_files"].to_pylist()):  # noqa: B905
        row = by_slot.get((device, hour))
        if row is None:
            counts.append(0)
            maxima.append(None)
            labels.append(None)
            files.append(current_files)
            continue
        counts.append(row["id_count"])
        maxima.append(row["confidence_max"])
        labels.append(sorted(label for label in row["label_distinct"] if label))
        files.append(sorted(set(current_files) | set(row["silver_file_distinct"])))
    agg = agg.set_column(
        agg.schema.get_field_index("enrichment_count"), "enrichment_count", pa.array(counts, pa.int64())
    )
    agg = agg.set_column(
        agg.schema.get_field_index("enrichment_max_confidence"),
        "enrichment_max_confidence",
        pa.array(maxima, pa.float64()),
    )
    agg = agg.set_column(
        agg.schema.get_field_index("enrichment_labels"),
        "enrichment_labels",
        pa.array(labels, pa.list_(pa.string())),
    )
    return agg.set_column(
        agg.schema.get_field_index("silver_files"), "silver_files", pa.array(files, pa.list_(pa.string()))
    )


def geo_density(telemetry: pa.Table | None, sensor: pa.Table | None, cells_per_degree: int = 10) -> pa.Table:
    """The ``geo_density`` rows of one date's telemetry and sensor records."""
    parts = []
    for source, table, subject in (("telemetry", telemetry, "device_id"), ("sensor", sensor, "station_id")):
        if table is None or table.num_rows == 0:
            continue
        parts.append(
            pa.table(
                {
                    "ts": table["ts"],
                    "lat": table["lat"],
                    "lon": table["lon"],
                    "subject": table[subject].cast(pa.string()),
                    "source": pa.repeat(source, table.num_rows),
                    "silver_file": table["silver_file"].cast(pa.string()),
                    "source_key": table["source_key"].cast(pa.string()),
                    "source_version_id": table["source_version_id"].cast(pa.string()),
                }
            )
        )
    if not parts:
        return GOLD_SCHEMAS["geo_density"].empty_table()
    t = pa.concat_tables(parts)
    lat_cell = pc.cast(pc.floor(pc.multiply(t["lat"], float(cells_per_degree))), pa.int64())
    lon_cell = pc.cast(pc.floor(pc.multiply(t["lon"], float(cells_per_degree))), pa.int64())
    t = t.append_column("hour", pc.floor_temporal(t["ts"], unit="hour"))
    t = t.append_column(
        "cell_id",
        pc.binary_join_element_wise(pc.cast(lat_cell, pa.string()), pc.cast(lon_cell, pa.string()), ":"),
    )
    t = t.append_column(
        "cell_lat", pc.divide(pc.add(pc.cast(lat_cell, pa.float64()), 0.5), float(cells_per_degree))
    )
    t = t.append_column(
        "cell_lon", pc.divide(pc.add(pc.cast(lon_cell, pa.float64()), 0.5), float(cells_per_degree))
    )
    keys = ["hour", "cell_id", "cell_lat", "cell_lon", "source"]
    agg = t.group_by(keys, use_threads=False).aggregate([("ts", "count"), ("subject", "count_distinct")])
    agg = agg.rename_columns({"ts_count": "records", "subject_count_distinct": "subjects"})
    agg = _with_lineage(agg, t, keys)
    agg = agg.sort_by([("hour", "ascending"), ("cell_id", "ascending"), ("source", "ascending")])
    return _conform(agg, "geo_density")


def event_severity(events: pa.Table) -> pa.Table:
    """The ``event_severity`` rows of one date's events."""
    if events.num_rows == 0:
        return GOLD_SCHEMAS["event_severity"].empty_table()
    t = events.append_column("hour", pc.floor_temporal(events["ts"], unit="hour"))
    keys = ["hour", "severity", "category"]
    agg = t.group_by(keys, use_threads=False).aggregate([("id", "count"), ("source", "count_distinct")])
    agg = agg.rename_columns({"id_count": "events", "source_count_distinct": "sources"})
    agg = _with_lineage(agg, t, keys)
    agg = agg.sort_by([("hour", "ascending"), ("severity", "ascending"), ("category", "ascending")])
    return _conform(agg, "event_severity")


def _load(store: ObjectStore, files: list[OutputFile], bucket: str, dataset: str) -> pa.Table | None:
    tables = []
    for item in files:
        body = store.get(bucket, item.key, item.version_id)
        table = read_parquet(body, _COLUMNS[dataset], dictionary=_DICTIONARY)
        del body
        ref = layout.lineage_ref(item.key, item.version_id)
        tables.append(table.append_column("silver_file", _constant(ref, table.num_rows)))
    return pa.concat_tables(tables, promote_options="permissive").unify_dictionaries() if tables else None


def _constant(value: str, rows: int) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pc.cast(pa.repeat(0, rows), pa.int32()), pa.array([value]))


def compute(dataset: str, inputs: dict[str, pa.Table | None], cells_per_degree: int = 10) -> pa.Table:
    """One gold partition from the silver tables of its date."""
    if dataset == "device_hourly":
        telemetry = inputs.get("telemetry")
        if telemetry is None:
            return GOLD_SCHEMAS["device_hourly"].empty_table()
        return device_hourly(telemetry, inputs.get("enrichment"))
    if dataset == "geo_density":
        return geo_density(inputs.get("telemetry"), inputs.get("sensor"), cells_per_degree)
    events = inputs.get("event")
    return event_severity(events) if events is not None else GOLD_SCHEMAS["event_severity"].empty_table()


def silver_to_gold(
    store: ObjectStore,
    config: GoldConfig,
    catalog: GlueCatalog | None = None,
    progress: ProgressFn | None = None,
) -> JobResult:
    """Recompute the gold partitions whose silver inputs changed since the last run."""
    started = time.perf_counter()
    run_id = layout.new_run_id()
    result = JobResult(JOB, run_id)
    result.recovered = recover(store, config.gold_bucket, JOB)
    silver = CommitLog(store, config.silver_bucket).load()
    gold = CommitLog(store, config.gold_bucket, jobs=[JOB]).load()
    processed = gold.processed_inputs()
    by_dataset = {
        name: source_partitions(silver, name) for name in ("telemetry", "sensor", "event", "enrichment")
    }
    affected: dict[str, set[str]] = {}
    for gold_dataset, sources in SOURCES.items():
        for source in sources:
            for partition, files in by_dataset[source].items():
                if any((config.silver_bucket, f.key, f.version_id) not in processed for f in files):
                    affected.setdefault(gold_dataset, set()).add(partition)
    # by partition, so a date's silver tables are read once for all gold datasets of that date
    work = sorted(((d, p) for d in affected for p in affected[d]), key=lambda item: (item[1], item[0]))
    if progress:
        progress({"job": JOB, "phase": "start", "total": len(work)})
    if not work:
        result.skipped = True
        result.seconds = time.perf_counter() - started
        return result
    tx = Transaction(
        store,
        config.gold_bucket,
        JOB,
        run_id,
        code_version=config.code_version,
        glue_job_run_id=config.glue_job_run_id,
    )
    current = gold.partitions
    used: dict[str, OutputFile] = {}
    dates: dict[str, set[str]] = {}
    loaded: dict[str, pa.Table | None] = {}
    loaded_partition = None
    for done, (dataset, partition) in enumerate(work, start=1):
        if partition != loaded_partition:
            loaded, loaded_partition = {}, partition
        inputs = {}
        for source in SOURCES[dataset]:
            files = by_dataset[source].get(partition, [])
            for item in files:
                used[item.ref] = item
            if source not in loaded:
                loaded[source] = _load(store, files, config.silver_bucket, source)
            inputs[source] = loaded[source]
        table = compute(dataset, inputs, config.cells_per_degree)
        date = layout.date_of_partition(partition)
        tx.stage(
            layout.data_key(dataset, date, run_id, 0),
            parquet_bytes(table),
            dataset=dataset,
            partition=partition,
            rows=table.num_rows,
            mode="replace",
        )
        tx.supersede(current(dataset).get(partition, []))
        result.rows[dataset] = result.rows.get(dataset, 0) + table.num_rows
        result.records += sum(t.num_rows for t in inputs.values() if t is not None)
        dates.setdefault(dataset, set()).add(date)
        if progress:
            progress(
                {
                    "job": JOB,
                    "phase": "partition",
                    "done": done,
                    "total": len(work),
                    "dataset": dataset,
                    "partition": partition,
                    "rows": table.num_rows,
                }
            )
    entries = [
        {
            "bucket": config.silver_bucket,
            "key": f.key,
            "version_id": f.version_id,
            "sha256": f.sha256,
            "dataset": f.dataset,
            "partition": f.partition,
            "rows": f.rows,
        }
        for f in used.values()
    ]
    tx.commit(entries, {"partitions": len(work), "rows": dict(result.rows)})
    result.manifests.append(layout.manifest_key(JOB, run_id))
    result.inputs = len(entries)
    if catalog is not None:
        for dataset, values in dates.items():
            catalog.add_partitions("gold", dataset, values)
    result.seconds = time.perf_counter() - started
    if progress:
        progress({"job": JOB, "phase": "done", "result": result.as_dict()})
    return result
