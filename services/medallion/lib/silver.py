"""Bronze -> silver: typed, validated, deduplicated Parquet, partitioned by type and date.

Streams object by object: each new bronze object (a (key, version id) no silver manifest
lists) is downloaded, parsed (:mod:`.parse`), checked (:mod:`.validate`) and its rows are
added to per-partition buffers, which are written as Parquet when they grow past
``flush_rows`` and at the end of each batch. Memory stays bounded by the buffers, not by
the size of bronze.

Duplicates (same record ``id`` within a type) are dropped against a compact id index per
partition (``_index/<type>/date=.../ids-*.parquet``, committed with the data), so a record
put twice - in one run or in two - appears once (the scope is the record's type and UTC
date). Bad records go to ``quarantine`` (partitioned by the date of the run) with the
reason, the source key and version, the line number and the raw line.

Only the latest version of each bronze object is read (Firehose never overwrites).
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from services.medallion.lib import layout
from services.medallion.lib.catalog import GlueCatalog
from services.medallion.lib.commit import CommitLog, Transaction, recover
from services.medallion.lib.parse import ParsedObject, decompress, parse_object
from services.medallion.lib.schemas import RECORD_TYPES, SILVER_SCHEMAS
from services.medallion.lib.store import ObjectStore, ObjectVersion, sha256_hex
from services.medallion.lib.validate import CHECKS, Lineage

log = logging.getLogger(__name__)

JOB = "bronze_to_silver"
ProgressFn = Callable[[dict[str, Any]], None]


@dataclass
class SilverConfig:
    bronze_bucket: str
    silver_bucket: str
    client_prefix: str = "client/"
    code_version: str = ""
    glue_job_run_id: str | None = None
    batch_objects: int = 500
    flush_rows: int = 500_000


@dataclass
class JobResult:
    """What one run of a job did (``skipped`` when there was nothing new)."""

    job: str
    run_id: str
    skipped: bool = False
    inputs: int = 0
    records: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    quarantined: int = 0
    duplicates: int = 0
    manifests: list[str] = field(default_factory=list)
    recovered: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "run_id": self.run_id,
            "skipped": self.skipped,
            "inputs": self.inputs,
            "records": self.records,
            "rows": dict(self.rows),
            "quarantined": self.quarantined,
            "duplicates": self.duplicates,
            "manifests": list(self.manifests),
            "recovered": dict(self.recovered),
            "seconds": round(self.seconds, 3),
            **self.extra,
        }


_UNIQUE_COLUMNS = {"id", "insight_id", "raw"}  # values rarely repeat: no dictionary


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    dictionary = [name for name in table.column_names if name not in _UNIQUE_COLUMNS]
    pq.write_table(
        table, sink, compression="zstd", row_group_size=262_144, store_schema=False, use_dictionary=dictionary
    )
    return sink.getvalue()


def read_parquet(
    body: bytes, columns: list[str] | None = None, dictionary: list[str] | None = None
) -> pa.Table:
    """A Parquet file's table; ``dictionary`` columns are read dictionary-encoded (cheap)."""
    wanted = [c for c in dictionary if columns is None or c in columns] if dictionary else None
    return pq.read_table(pa.BufferReader(body), columns=columns, read_dictionary=wanted or None)


class IdIndex:
    """Record ids already in silver, per (type, date), loaded from the committed index."""

    def __init__(self, store: ObjectStore, bucket: str, commits: CommitLog) -> None:
        self.store = store
        self.bucket = bucket
        self._committed = commits.files(kind="index")
        self._known: dict[tuple[str, str], list[pa.Array]] = {}

    def known(self, dataset: str, date: str) -> list[pa.Array]:
        slot = (dataset, date)
        if slot not in self._known:
            partition = layout.partition_value(date)
            arrays = []
            for item in self._committed:
                if item.dataset == dataset and item.partition == partition:
                    body = self.store.get(self.bucket, item.key, item.version_id)
                    arrays.append(read_parquet(body, ["id"])["id"].combine_chunks())
            self._known[slot] = arrays
        return self._known[slot]

    def drop_seen(self, dataset: str, date: str, table: pa.Table) -> tuple[pa.Table, pa.Array]:
        """The rows whose id is new (first occurrence kept), and those new ids."""
        ids = table["id"].combine_chunks()
        unique = pc.unique(ids)
        first = None if len(unique) == len(ids) else pc.index_in(unique, value_set=ids)
        known = self.known(dataset, date)
        if known:
            fresh = pc.invert(pc.is_in(unique, value_set=pa.concat_arrays(known)))
            if pc.all(fresh).as_py() is False:
                first = pc.index_in(unique, value_set=ids) if first is None else first
                unique, first = unique.filter(fresh), first.filter(fresh)
        known.append(unique)
        return (table if first is None else table.take(first)), unique


class PartitionWriter:
    """Buffers rows per (dataset, date) and stages them as Parquet files of one run."""

    def __init__(self, tx: Transaction, index: IdIndex, flush_rows: int) -> None:
        self.tx = tx
        self.index = index
        self.flush_rows = flush_rows
        self._buffers: dict[tuple[str, str], list[pa.Table]] = {}
        self._rows: dict[tuple[str, str], int] = {}
        self._seq = 0
        self.written: dict[str, int] = {}
        self.duplicates = 0
        self.dates: dict[str, set[str]] = {}

    def add(self, dataset: str, date: str, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        slot = (dataset, date)
        self._buffers.setdefault(slot, []).append(table)
        self._rows[slot] = self._rows.get(slot, 0) + table.num_rows
        if self._rows[slot] >= self.flush_rows:
            self.flush(slot)
        elif sum(self._rows.values()) >= 2 * self.flush_rows:
            self.flush(max(self._rows, key=lambda s: self._rows[s]))

    def flush(self, slot: tuple[str, str]) -> None:
        tables = self._buffers.pop(slot, [])
        self._rows.pop(slot, None)
        if not tables:
            return
        dataset, date = slot
        table = pa.concat_tables(tables)
        if dataset != "quarantine":
            before = table.num_rows
            table, new_ids = self.index.drop_seen(dataset, date, table)
            self.duplicates += before - table.num_rows
            if table.num_rows == 0:
                return
            self._stage(
                layout.index_key(dataset, date, self.tx.run_id, self._seq),
                dataset,
                date,
                "index",
                pa.table({"id": new_ids}),
            )
        self._stage(layout.data_key(dataset, date, self.tx.run_id, self._seq), dataset, date, "data", table)
        self.written[dataset] = self.written.get(dataset, 0) + table.num_rows
        self.dates.setdefault(dataset, set()).add(date)
        self._seq += 1

    def _stage(self, key: str, dataset: str, date: str, kind: str, table: pa.Table) -> None:
        body = parquet_bytes(table)
        self.tx.stage(
            key, body, dataset=dataset, partition=layout.partition_value(date), rows=table.num_rows, kind=kind
        )

    def flush_all(self) -> None:
        for slot in sorted(self._buffers):
            self.flush(slot)


def _by_date(table: pa.Table) -> list[tuple[str, pa.Table]]:
    if table.num_rows == 0:
        return []
    day = pc.floor_temporal(table["ts"], unit="day")
    days = pc.unique(day).to_pylist()
    if len(days) == 1:
        return [(days[0].strftime("%Y-%m-%d"), table)]
    return [
        (d.strftime("%Y-%m-%d"), table.filter(pc.equal(day, pa.scalar(d, day.type)))) for d in sorted(days)
    ]


def _quarantine_table(
    entries: list[dict[str, Any]], parsed: ParsedObject, obj: ObjectVersion, run_id: str
) -> pa.Table:
    missing = [e["line"] for e in entries if e.get("raw") is None and e.get("line")]
    raws = parsed.raw_lines(missing) if missing else {}
    now = datetime.now(layout.UTC)
    rows = [
        {
            "source_key": obj.key,
            "source_version_id": obj.version_id,
            "line": e.get("line"),
            "record_id": e.get("record_id"),
            "type": e.get("type"),
            "reason": e["reason"],
            "raw": e.get("raw") if e.get("raw") is not None else raws.get(e.get("line") or 0),
            "job_run_id": run_id,
            "quarantined_at": now,
        }
        for e in entries
    ]
    return pa.Table.from_pylist(rows, schema=SILVER_SCHEMAS["quarantine"])


@dataclass
class Fetched:
    """A bronze object read (and decompressed, and hashed) ahead of its processing."""

    obj: ObjectVersion
    body: bytes
    data: bytes
    sha256: str


def fetch(store: ObjectStore, obj: ObjectVersion) -> Fetched:
    body = store.get(obj.bucket, obj.key, obj.version_id)
    return Fetched(obj, body, decompress(body), sha256_hex(body))


def process_object(
    fetched: Fetched, writer: PartitionWriter, config: SilverConfig, today: str
) -> dict[str, Any]:
    """Parse, check and buffer one bronze object; its manifest input entry."""
    obj = fetched.obj
    parsed = parse_object(fetched.body, fetched.data)
    lineage = Lineage(obj.key, obj.version_id, layout.channel_of(obj.key, config.client_prefix))
    table = parsed.table
    entries: list[dict[str, Any]] = [
        {"line": b.line, "raw": b.raw, "reason": b.reason, "record_id": b.record_id, "type": b.type}
        for b in parsed.bad
    ]
    valid = 0
    types = table["type"]
    for kind in RECORD_TYPES:
        subset = table.filter(pc.fill_null(pc.equal(types, kind), False))
        if subset.num_rows == 0:
            continue
        checked = CHECKS[kind](subset, lineage)
        for date, part in _by_date(checked.valid):
            writer.add(kind, date, part)
        valid += checked.valid.num_rows
        for row in checked.rejected.to_pylist():
            entries.append(
                {"line": row["_line"], "record_id": row["id"], "type": kind, "reason": row["reason"]}
            )
    unknown = table.filter(pc.invert(pc.fill_null(pc.is_in(types, value_set=pa.array(RECORD_TYPES)), False)))
    for row in unknown.select(["_line", "id", "type"]).to_pylist():
        reason = "missing type" if not row["type"] else f"unknown type {row['type']!r}"
        entries.append({"line": row["_line"], "record_id": row["id"], "type": row["type"], "reason": reason})
    if entries:
        writer.add("quarantine", today, _quarantine_table(entries, parsed, obj, writer.tx.run_id))
    return {
        "bucket": obj.bucket,
        "key": obj.key,
        "version_id": obj.version_id,
        "etag": obj.etag,
        "size": obj.size,
        "sha256": fetched.sha256,
        "records": table.num_rows + len(parsed.bad),
        "valid": valid,
        "quarantined": len(entries),
    }


def _prefetched(store: ObjectStore, objects: list[ObjectVersion]) -> Iterator[Fetched]:
    """The objects, the next one downloaded, decompressed and hashed on a second thread
    (zlib, hashlib and sockets release the GIL) while this one is processed."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bronze-get") as pool:
        ahead: Future[Fetched] | None = None
        for number, obj in enumerate(objects):
            current = ahead or pool.submit(fetch, store, obj)
            nxt = objects[number + 1] if number + 1 < len(objects) else None
            ahead = pool.submit(fetch, store, nxt) if nxt else None
            yield current.result()


def pending_bronze(store: ObjectStore, config: SilverConfig, commits: CommitLog) -> list[ObjectVersion]:
    """Bronze objects (latest versions) that no committed silver run has read, oldest first."""
    done = commits.processed_inputs()
    prefixes = ("", config.client_prefix) if config.client_prefix else ("",)
    found = [
        obj
        for obj in store.list_objects(config.bronze_bucket)
        if layout.is_bronze_object(obj.key, prefixes) and (obj.bucket, obj.key, obj.version_id) not in done
    ]
    found.sort(key=lambda obj: (obj.last_modified, obj.key))
    return found


def bronze_to_silver(
    store: ObjectStore,
    config: SilverConfig,
    catalog: GlueCatalog | None = None,
    progress: ProgressFn | None = None,
) -> JobResult:
    """Promote every new bronze object to silver; idempotent and crash-safe (see module doc)."""
    started = time.perf_counter()
    run_id = layout.new_run_id()
    result = JobResult(JOB, run_id)
    result.recovered = recover(store, config.silver_bucket, JOB)
    commits = CommitLog(store, config.silver_bucket, jobs=[JOB]).load()
    pending = pending_bronze(store, config, commits)
    if progress:
        progress({"job": JOB, "phase": "start", "total": len(pending)})
    if not pending:
        result.skipped = True
        result.seconds = time.perf_counter() - started
        return result
    index = IdIndex(store, config.silver_bucket, commits)
    today = datetime.now(layout.UTC).strftime("%Y-%m-%d")
    done = 0
    for number, start in enumerate(range(0, len(pending), config.batch_objects), start=1):
        batch = pending[start : start + config.batch_objects]
        tx = Transaction(
            store,
            config.silver_bucket,
            JOB,
            f"{run_id}-b{number:04d}",
            code_version=config.code_version,
            glue_job_run_id=config.glue_job_run_id,
            background=True,
        )
        writer = PartitionWriter(tx, index, config.flush_rows)
        inputs = []
        try:
            for fetched in _prefetched(store, batch):
                obj = fetched.obj
                entry = process_object(fetched, writer, config, today)
                del fetched
                inputs.append(entry)
                result.records += entry["records"]
                done += 1
                if progress:
                    progress(
                        {
                            "job": JOB,
                            "phase": "object",
                            "done": done,
                            "total": len(pending),
                            "key": obj.key,
                            "records": result.records,
                        }
                    )
            writer.flush_all()
        finally:
            tx.close()
        stats = {
            "records": sum(e["records"] for e in inputs),
            "rows": dict(writer.written),
            "quarantined": sum(e["quarantined"] for e in inputs),
            "duplicates": writer.duplicates,
        }
        tx.commit(inputs, stats)
        result.manifests.append(layout.manifest_key(JOB, tx.run_id))
        result.inputs += len(inputs)
        for dataset, rows in writer.written.items():
            result.rows[dataset] = result.rows.get(dataset, 0) + rows
        result.quarantined += stats["quarantined"]
        result.duplicates += writer.duplicates
        if catalog is not None:
            for dataset, dates in writer.dates.items():
                catalog.add_partitions("silver", dataset, dates)
    result.seconds = time.perf_counter() - started
    if progress:
        progress({"job": JOB, "phase": "done", "result": result.as_dict()})
    return result
