"""Gold -> vibranium: curated insights at or above a confidence threshold, with provenance.

Candidate insights are computed from gold rows by fixed rules; each has a confidence in
[0, 1] (rounded to 4 places). Only those with ``confidence >= threshold`` are written.

==================  ================  ===================================================
kind                from              rule and confidence
==================  ================  ===================================================
``overheat``        device_hourly     temperature_c_max >= 45:
                                      coverage x min(1, 0.5 + (max - 45) / 20)
``low_battery``     device_hourly     battery_pct_min <= 15:
                                      coverage x min(1, 0.5 + (15 - min) / 20)
``agent_finding``   device_hourly     agent-core enrichment present: its max confidence
``critical_events`` event_severity    severity critical: min(1, 0.6 + 0.1 x events)
``error_burst``     event_severity    severity error and events >= 5:
                                      min(1, 0.4 + 0.05 x events)
``crowded_cell``    geo_density       subjects >= 10: min(1, subjects / 20)
==================  ================  ===================================================

coverage = min(1, records / 10): an hour seen through few samples is less certain.

Each insight gets a provenance manifest ``provenance/<run>/<insight_id>.json``: the gold
file it was derived from, and the silver files and bronze objects behind that gold row,
each with bucket, key, version id and sha256; the job, its run id (and Glue job run id)
and the code version. Insights of a date are recomputed whenever that date's gold
partitions change, replacing the date's previous insights file.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from services.medallion.lib import layout
from services.medallion.lib.catalog import GlueCatalog
from services.medallion.lib.commit import CommitLog, OutputFile, Transaction, now_iso, recover
from services.medallion.lib.gold import JOB as GOLD_JOB
from services.medallion.lib.names import DEFAULT_THRESHOLD
from services.medallion.lib.schemas import GOLD_DATASETS, VIBRANIUM_SCHEMAS
from services.medallion.lib.silver import JobResult, ProgressFn, parquet_bytes, read_parquet
from services.medallion.lib.store import ObjectStore

JOB = "gold_to_vibranium"
MIN_SAMPLES = 10
OVERHEAT_C = 45.0
LOW_BATTERY_PCT = 15.0
ERROR_BURST_EVENTS = 5
CROWDED_SUBJECTS = 10
PROVENANCE_FORMAT = "nexus-insight-provenance/1"


@dataclass
class VibraniumConfig:
    silver_bucket: str
    gold_bucket: str
    vibranium_bucket: str
    threshold: float = DEFAULT_THRESHOLD
    code_version: str = ""
    glue_job_run_id: str | None = None


def coverage(records: int) -> float:
    return min(1.0, records / MIN_SAMPLES)


def insight_id(kind: str, subject_type: str, subject_id: str, window_start: datetime) -> str:
    text = f"{kind}|{subject_type}|{subject_id}|{window_start.isoformat()}"
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _candidate(
    kind: str,
    subject_type: str,
    subject_id: str,
    row: dict[str, Any],
    confidence: float,
    summary: str,
    metrics: dict[str, Any],
    gold_ref: str,
) -> dict[str, Any]:
    start = row["hour"]
    return {
        "insight_id": insight_id(kind, subject_type, subject_id, start),
        "kind": kind,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "window_start": start,
        "window_end": start.replace(minute=59, second=59, microsecond=999999),
        "confidence": round(max(0.0, min(1.0, confidence)), 4),
        "summary": summary,
        "metrics": metrics,
        "gold_ref": gold_ref,
        "silver_files": row["silver_files"] or [],
        "bronze_objects": row["bronze_objects"] or [],
    }


def device_candidates(table: pa.Table) -> list[dict[str, Any]]:
    """Insight candidates of device_hourly rows (rows need a ``gold_file`` column)."""
    found = []
    interesting = pc.or_(
        pc.or_(
            pc.fill_null(pc.greater_equal(table["temperature_c_max"], OVERHEAT_C), False),
            pc.fill_null(pc.less_equal(table["battery_pct_min"], LOW_BATTERY_PCT), False),
        ),
        pc.is_valid(table["enrichment_max_confidence"]),
    )
    for row in table.filter(interesting).to_pylist():
        device, records, ref = row["device_id"], row["records"], row["gold_file"]
        t_max, b_min = row["temperature_c_max"], row["battery_pct_min"]
        if t_max is not None and t_max >= OVERHEAT_C:
            confidence = coverage(records) * min(1.0, 0.5 + (t_max - OVERHEAT_C) / 20.0)
            found.append(
                _candidate(
                    "overheat",
                    "device",
                    device,
                    row,
                    confidence,
                    f"{device} reached {t_max:.1f} C in the hour ({records} samples)",
                    {"temperature_c_max": t_max, "records": records},
                    ref,
                )
            )
        if b_min is not None and b_min <= LOW_BATTERY_PCT:
            confidence = coverage(records) * min(1.0, 0.5 + (LOW_BATTERY_PCT - b_min) / 20.0)
            found.append(
                _candidate(
                    "low_battery",
                    "device",
                    device,
                    row,
                    confidence,
                    f"{device} battery fell to {b_min:.1f} % ({records} samples)",
                    {"battery_pct_min": b_min, "records": records},
                    ref,
                )
            )
        if row["enrichment_max_confidence"] is not None:
            labels = row["enrichment_labels"] or []
            found.append(
                _candidate(
                    "agent_finding",
                    "device",
                    device,
                    row,
                    row["enrichment_max_confidence"],
                    f"agent-core: {', '.join(labels) or 'finding'} for {device}",
                    {"labels": labels, "findings": row["enrichment_count"]},
                    ref,
                )
            )
    return found


def event_candidates(table: pa.Table) -> list[dict[str, Any]]:
    found = []
    interesting = pc.is_in(table["severity"], value_set=pa.array(["critical", "error"]))
    for row in table.filter(pc.fill_null(interesting, False)).to_pylist():
        events, category, ref = row["events"], row["category"], row["gold_file"]
        metrics = {"events": events, "sources": row["sources"], "severity": row["severity"]}
        if row["severity"] == "critical":
            found.append(
                _candidate(
                    "critical_events",
                    "category",
                    category,
                    row,
                    min(1.0, 0.6 + 0.1 * events),
                    f"{events} critical {category} events in the hour",
                    metrics,
                    ref,
                )
            )
        elif events >= ERROR_BURST_EVENTS:
            found.append(
                _candidate(
                    "error_burst",
                    "category",
                    category,
                    row,
                    min(1.0, 0.4 + 0.05 * events),
                    f"{events} error {category} events in the hour",
                    metrics,
                    ref,
                )
            )
    return found


def geo_candidates(table: pa.Table) -> list[dict[str, Any]]:
    found = []
    for row in table.filter(pc.greater_equal(table["subjects"], CROWDED_SUBJECTS)).to_pylist():
        subject = f"{row['cell_id']}/{row['source']}"
        found.append(
            _candidate(
                "crowded_cell",
                "cell",
                subject,
                row,
                min(1.0, row["subjects"] / 20.0),
                f"{row['subjects']} {row['source']} subjects in cell {row['cell_id']}",
                {
                    "subjects": row["subjects"],
                    "records": row["records"],
                    "cell_lat": row["cell_lat"],
                    "cell_lon": row["cell_lon"],
                },
                row["gold_file"],
            )
        )
    return found


CANDIDATES = {
    "device_hourly": device_candidates,
    "event_severity": event_candidates,
    "geo_density": geo_candidates,
}


def candidates(gold: dict[str, pa.Table]) -> list[dict[str, Any]]:
    """Every candidate insight of one date's gold tables (each with a ``gold_file`` column)."""
    found: list[dict[str, Any]] = []
    for dataset, table in sorted(gold.items()):
        if table.num_rows:
            found += CANDIDATES[dataset](table)
    found.sort(key=lambda c: (c["window_start"], c["kind"], c["subject_id"]))
    return found


def _entry(bucket: str, ref: str, sha256: str | None) -> dict[str, Any]:
    key, version = layout.split_lineage_ref(ref)
    return {"bucket": bucket, "key": key, "version_id": version, "sha256": sha256}


class ProvenanceIndex:
    """sha256 of gold files, silver files and bronze objects, from their tiers' manifests."""

    def __init__(self, gold: CommitLog, silver: CommitLog, bronze_bucket: str | None = None) -> None:
        self.gold_bucket = gold.bucket
        self.silver_bucket = silver.bucket
        self.gold = gold.outputs_by_ref()
        self.silver = silver.outputs_by_ref()
        self.bronze = silver.inputs_by_ref()

    def document(self, insight: dict[str, Any], job: dict[str, Any], threshold: float) -> dict[str, Any]:
        gold = self.gold.get(insight["gold_ref"])
        bronze = []
        for ref in insight["bronze_objects"]:
            entry = self.bronze.get(ref, {})
            bronze.append(_entry(entry.get("bucket", ""), ref, entry.get("sha256")))
        return {
            "format": PROVENANCE_FORMAT,
            "insight_id": insight["insight_id"],
            "kind": insight["kind"],
            "subject": {"type": insight["subject_type"], "id": insight["subject_id"]},
            "window": {
                "start": insight["window_start"].isoformat(),
                "end": insight["window_end"].isoformat(),
            },
            "confidence": insight["confidence"],
            "threshold": threshold,
            "summary": insight["summary"],
            "metrics": insight["metrics"],
            "job": job,
            "created_at": now_iso(),
            "sources": {
                "gold": [_entry(self.gold_bucket, insight["gold_ref"], gold.sha256 if gold else None)],
                "silver": [
                    _entry(self.silver_bucket, ref, self.silver[ref].sha256 if ref in self.silver else None)
                    for ref in insight["silver_files"]
                ],
                "bronze": bronze,
            },
        }


def _load_gold(store: ObjectStore, bucket: str, files: list[OutputFile]) -> pa.Table | None:
    tables = []
    for item in files:
        table = read_parquet(store.get(bucket, item.key, item.version_id))
        tables.append(table.append_column("gold_file", pa.repeat(item.ref, table.num_rows)))
    return pa.concat_tables(tables) if tables else None


def gold_to_vibranium(
    store: ObjectStore,
    config: VibraniumConfig,
    catalog: GlueCatalog | None = None,
    progress: ProgressFn | None = None,
) -> JobResult:
    """Write the insights of every date whose gold partitions changed since the last run."""
    started = time.perf_counter()
    run_id = layout.new_run_id()
    result = JobResult(JOB, run_id)
    result.recovered = recover(store, config.vibranium_bucket, JOB)
    gold = CommitLog(store, config.gold_bucket, jobs=[GOLD_JOB]).load()
    mine = CommitLog(store, config.vibranium_bucket, jobs=[JOB]).load()
    processed = mine.processed_inputs()
    partitions = {dataset: gold.partitions(dataset) for dataset in GOLD_DATASETS}
    dates = sorted(
        {
            layout.date_of_partition(partition)
            for by_partition in partitions.values()
            for partition, files in by_partition.items()
            if any((config.gold_bucket, f.key, f.version_id) not in processed for f in files)
        }
    )
    if progress:
        progress({"job": JOB, "phase": "start", "total": len(dates)})
    if not dates:
        result.skipped = True
        result.seconds = time.perf_counter() - started
        return result
    silver = CommitLog(store, config.silver_bucket).load()
    index = ProvenanceIndex(gold, silver)
    tx = Transaction(
        store,
        config.vibranium_bucket,
        JOB,
        run_id,
        code_version=config.code_version,
        glue_job_run_id=config.glue_job_run_id,
    )
    job = {
        "name": JOB,
        "run_id": run_id,
        "glue_job_run_id": config.glue_job_run_id,
        "code_version": config.code_version,
    }
    scoped = f"{layout.PROVENANCE}/{run_id}/"
    current = mine.partitions("insights")
    used: list[OutputFile] = []
    below = 0
    for done, date in enumerate(dates, start=1):
        partition = layout.partition_value(date)
        tables = {}
        for dataset in GOLD_DATASETS:
            files = partitions[dataset].get(partition, [])
            used += files
            table = _load_gold(store, config.gold_bucket, files)
            if table is not None:
                tables[dataset] = table
        found = candidates(tables)
        chosen = [c for c in found if c["confidence"] >= config.threshold]
        below += len(found) - len(chosen)
        rows = []
        created = datetime.now(layout.UTC)
        for insight in chosen:
            document = index.document(insight, job, config.threshold)
            key = layout.provenance_key(run_id, insight["insight_id"])
            tx.put_run_scoped(
                scoped, key, json.dumps(document, indent=1, sort_keys=True).encode(), "provenance", partition
            )
            rows.append(
                {
                    **{
                        k: insight[k]
                        for k in (
                            "insight_id",
                            "kind",
                            "subject_type",
                            "subject_id",
                            "window_start",
                            "window_end",
                            "confidence",
                            "summary",
                        )
                    },
                    "threshold": config.threshold,
                    "metrics": json.dumps(insight["metrics"], sort_keys=True, default=str),
                    "provenance_key": key,
                    "job_run_id": run_id,
                    "created_at": created,
                }
            )
        table = pa.Table.from_pylist(rows, schema=VIBRANIUM_SCHEMAS["insights"])
        tx.stage(
            layout.data_key("insights", date, run_id, 0),
            parquet_bytes(table),
            dataset="insights",
            partition=partition,
            rows=table.num_rows,
            mode="replace",
        )
        tx.supersede(current.get(partition, []))
        result.rows["insights"] = result.rows.get("insights", 0) + table.num_rows
        if progress:
            progress(
                {
                    "job": JOB,
                    "phase": "partition",
                    "done": done,
                    "total": len(dates),
                    "partition": partition,
                    "rows": table.num_rows,
                }
            )
    entries = [
        {
            "bucket": config.gold_bucket,
            "key": f.key,
            "version_id": f.version_id,
            "sha256": f.sha256,
            "dataset": f.dataset,
            "partition": f.partition,
            "rows": f.rows,
        }
        for f in used
    ]
    tx.commit(
        entries,
        {
            "dates": dates,
            "insights": result.rows.get("insights", 0),
            "below_threshold": below,
            "threshold": config.threshold,
        },
    )
    result.manifests.append(layout.manifest_key(JOB, run_id))
    result.inputs = len(entries)
    result.extra = {"below_threshold": below, "threshold": config.threshold}
    if catalog is not None:
        catalog.add_partitions("vibranium", "insights", dates)
    result.seconds = time.perf_counter() - started
    if progress:
        progress({"job": JOB, "phase": "done", "result": result.as_dict()})
    return result
