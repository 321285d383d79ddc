"""Compaction: many small silver files of a partition merged into few large ones, on demand.

Each incremental silver run adds a file per partition it touches, so a partition fed by
many small runs ends up as many small files (slow to list, read and query). :func:`compact`
merges, per dataset and partition, the committed files smaller than ``small_bytes`` - when
there are at least ``min_files`` of them - into files of up to ``target_bytes``, and the
partition's id-index files into one. The merged rows keep every column, lineage included
(``source_key``, ``source_version_id``: each row still names the bronze object it came
from). The commit is the usual one (:mod:`.commit`): the new files are outputs, the merged
ones inputs (with their sha256) and ``removed`` - so readers switch at the manifest, and
the old versions stay in the bucket behind delete markers for provenance that names them.
The small files of a group (at most ``target_bytes`` together) are held while the new one
is written, one table at a time. Gold recomputes the touched partitions on its next run (same values).
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from services.medallion.lib import layout
from services.medallion.lib.commit import CommitLog, OutputFile, Transaction, recover
from services.medallion.lib.silver import JobResult, ProgressFn
from services.medallion.lib.store import ObjectStore

JOB = "compact"


@dataclass
class CompactConfig:
    silver_bucket: str
    datasets: tuple[str, ...] = ()  # only these (silver dataset names); empty: every one
    small_bytes: int = 32 << 20  # files below this are merged
    target_bytes: int = 128 << 20  # a merged file grows to about this
    min_files: int = 4  # a partition needs at least this many small files
    code_version: str = ""


def _groups(files: list[OutputFile], config: CompactConfig) -> list[list[OutputFile]]:
    small = sorted((f for f in files if f.bytes < config.small_bytes), key=lambda f: f.key)
    if len(small) < config.min_files:
        return []
    groups: list[list[OutputFile]] = [[]]
    size = 0
    for item in small:
        if groups[-1] and size + item.bytes > config.target_bytes:
            groups.append([])
            size = 0
        groups[-1].append(item)
        size += item.bytes
    return [g for g in groups if len(g) > 1]


def _merge(store: ObjectStore, bucket: str, files: list[OutputFile]) -> tuple[bytes, int]:
    """The files' rows in one Parquet file (schemas unified: older files lack newer columns)."""
    bodies = [store.get(bucket, item.key, item.version_id) for item in files]
    schemas = [_plain(pq.ParquetFile(pa.BufferReader(body)).schema_arrow) for body in bodies]
    schema = pa.unify_schemas(schemas, promote_options="permissive")
    sink = io.BytesIO()
    rows = 0
    with pq.ParquetWriter(sink, schema, compression="zstd", store_schema=False) as writer:
        while bodies:
            table = pq.read_table(pa.BufferReader(bodies.pop(0)), use_threads=False)
            columns = [
                table[f.name].cast(f.type)
                if f.name in table.column_names
                else pa.nulls(table.num_rows, f.type)
                for f in schema
            ]
            writer.write_table(pa.table(columns, schema=schema), row_group_size=262_144)
            rows += table.num_rows
    return sink.getvalue(), rows


def _plain(schema: pa.Schema) -> pa.Schema:
    """Dictionary columns as their value type (files differ in which columns are encoded)."""
    return pa.schema(
        [pa.field(f.name, f.type.value_type if pa.types.is_dictionary(f.type) else f.type) for f in schema]
    )


def compact(
    store: ObjectStore,
    config: CompactConfig,
    progress: ProgressFn | None = None,
) -> JobResult:
    """Merge the small files of every partition that has enough of them; one commit."""
    started = time.perf_counter()
    run_id = layout.new_run_id()
    result = JobResult(JOB, run_id)
    result.recovered = recover(store, config.silver_bucket, JOB)
    log = CommitLog(store, config.silver_bucket).load()
    work: list[tuple[str, str, list[OutputFile]]] = []
    for kind in ("data", "index"):
        by_slot: dict[tuple[str, str], list[OutputFile]] = {}
        for item in log.files(kind=kind):
            if config.datasets and item.dataset not in config.datasets:
                continue
            by_slot.setdefault((item.dataset, item.partition), []).append(item)
        for (dataset, _partition), files in sorted(by_slot.items()):
            work += [(kind, dataset, group) for group in _groups(files, config)]
    if progress:
        progress({"job": JOB, "phase": "start", "total": len(work)})
    if not work:
        result.skipped = True
        result.seconds = time.perf_counter() - started
        return result
    tx = Transaction(store, config.silver_bucket, JOB, run_id, code_version=config.code_version)
    inputs: list[dict[str, Any]] = []
    merged: dict[str, int] = {}
    for number, (kind, dataset, group) in enumerate(work):
        body, rows = _merge(store, config.silver_bucket, group)
        date = group[0].date
        key = (
            layout.data_key(dataset, date, run_id, number)
            if kind == "data"
            else layout.index_key(dataset, date, run_id, number)
        )
        tx.stage(key, body, dataset=dataset, partition=group[0].partition, rows=rows, kind=kind)
        tx.supersede(group)
        inputs += [
            {
                "bucket": config.silver_bucket,
                "key": f.key,
                "version_id": f.version_id,
                "sha256": f.sha256,
                "dataset": f.dataset,
                "partition": f.partition,
                "kind": f.kind,
                "rows": f.rows,
            }
            for f in group
        ]
        if kind == "data":
            result.rows[dataset] = result.rows.get(dataset, 0) + rows
            merged[dataset] = merged.get(dataset, 0) + len(group)
        if progress:
            progress(
                {"job": JOB, "phase": "partition", "done": number + 1, "total": len(work), "dataset": dataset}
            )
    stats = {"files_merged": merged, "groups": len(work), "rows": dict(result.rows)}
    tx.commit(inputs, stats)
    result.manifests.append(layout.manifest_key(JOB, run_id))
    result.inputs = len(inputs)
    result.records = sum(result.rows.values())
    result.extra = {"files_merged": merged, "files_written": sum(1 for w in work if w[0] == "data")}
    result.seconds = time.perf_counter() - started
    if progress:
        progress({"job": JOB, "phase": "done", "result": result.as_dict()})
    return result
