"""Bronze -> silver: typed, validated, deduplicated Parquet, partitioned by dataset and date.

1. :func:`~.commit.recover` cleans up after a run that died; the newest manifest gives the
   bronze watermarks and the stored dataset schemas, and the dataset files are checked
   against those (:mod:`.evolution`: an incompatible edit stops the run before anything).
2. :func:`~.bronze.discover` finds the object versions no run has read - a few short
   listings from the watermarks, or a full scan when one is due (see :mod:`.bronze`).
3. Object by object (the next ones downloaded and decompressed on other threads), each is
   read in blocks (:mod:`.decode`: any JSON shape, GZIP or not, bounded memory), parsed
   and routed to datasets (:mod:`.parse`), checked (:mod:`.validate`), deduplicated and
   buffered per partition (:mod:`.writer`). Whatever is not a row goes to
   ``silver.quarantine`` (partitioned by the run's date) with its reason, source key and
   version, line and raw text; an object that is not JSON at all is *skipped* - listed in
   the manifest, the result and ``lake stats`` with the reason, and not read again.
4. Every ``batch_objects`` objects the batch commits: one manifest with its inputs, its
   outputs, the advanced watermarks and the schemas.

Memory is bounded by the block size, the prefetch window and the partition buffers.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa

from services.medallion.lib import layout
from services.medallion.lib.bronze import BronzeState, Discovery, Pending, advance, discover, full_scan_due
from services.medallion.lib.catalog import GlueCatalog
from services.medallion.lib.commit import CommitLog, Transaction, latest_manifest, recover
from services.medallion.lib.datasets import LakeConfig, load_config
from services.medallion.lib.decode import ObjectShape, chunks_of, decompressed, read_blocks
from services.medallion.lib.evolution import check_evolution, updated_registry
from services.medallion.lib.parse import ParsePlan, Rejected, fill_raw, parse_block
from services.medallion.lib.schemas import SYSTEM_SCHEMAS
from services.medallion.lib.store import ObjectStore
from services.medallion.lib.validate import Lineage, check
from services.medallion.lib.writer import IdIndex, PartitionWriter, by_date, parquet_bytes, read_parquet

__all__ = [
    "JOB",
    "JobResult",
    "ProgressFn",
    "SilverConfig",
    "bronze_to_silver",
    "parquet_bytes",
    "read_parquet",
]

log = logging.getLogger(__name__)

JOB = "bronze_to_silver"
ProgressFn = Callable[[dict[str, Any]], None]
INLINE_BYTES = 32 << 20  # objects up to this size are downloaded (and decompressed) ahead
INLINE_DECOMPRESSED = 64 << 20
AHEAD_BYTES = 16 << 20
AHEAD_OBJECTS = 8


@dataclass
class SilverConfig:
    bronze_bucket: str
    silver_bucket: str
    client_prefix: str = "client/"
    code_version: str = ""
    glue_job_run_id: str | None = None
    batch_objects: int = 500
    flush_rows: int = 250_000
    lake: LakeConfig | None = None  # the dataset files (default: the checkout's lake/ folder)
    full_scan: bool = False  # list all of bronze, not only past the watermarks


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


@dataclass
class Fetched:
    """A bronze object version: downloaded (and decompressed) ahead, or to be streamed."""

    pending: Pending
    version_id: str = ""
    sha256: str = ""
    size: int = 0
    data: list[bytes] | None = None  # decompressed chunks
    shape: ObjectShape | None = None


def _fetch(store: ObjectStore, pending: Pending) -> Fetched:
    obj = pending.obj
    if obj.size > INLINE_BYTES:
        return Fetched(pending)
    download = store.open(obj.bucket, obj.key, obj.version_id or None)
    try:
        body = download.read()
    finally:
        download.close()
    shape = ObjectShape()
    data: list[bytes] = []
    total = 0
    for chunk in decompressed(iter([body]), shape):
        total += len(chunk)
        if total > INLINE_DECOMPRESSED:
            return Fetched(pending)  # too big to hold: streamed when its turn comes
        data.append(chunk)
    return Fetched(pending, download.version_id, hashlib.sha256(body).hexdigest(), len(body), data, shape)


def prefetched(store: ObjectStore, pending: list[Pending]) -> Iterator[Fetched]:
    """The objects in order, the next ones fetched on other threads (zlib and sockets release
    the GIL): up to :data:`AHEAD_OBJECTS` and :data:`AHEAD_BYTES` ahead, at least one."""
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="bronze-get") as pool:
        queue: list[Future[Fetched]] = []
        ahead = 0
        for item in pending:
            queue.append(pool.submit(_fetch, store, item))
            ahead += item.obj.size
            while len(queue) > 1 and (len(queue) > AHEAD_OBJECTS or ahead > AHEAD_BYTES):
                done = queue.pop(0).result()
                ahead -= done.pending.obj.size
                yield done
        while queue:
            yield queue.pop(0).result()


def _stream(store: ObjectStore, fetched: Fetched) -> Iterator[bytes]:
    obj = fetched.pending.obj
    download = store.open(obj.bucket, obj.key, obj.version_id or None)
    fetched.version_id = download.version_id
    digest = hashlib.sha256()
    try:
        for chunk in chunks_of(download.read):
            digest.update(chunk)
            fetched.size += len(chunk)
            yield chunk
    finally:
        download.close()
        fetched.sha256 = digest.hexdigest()


def _quarantine(entries: list[Rejected], key: str, version: str, run_id: str) -> pa.Table:
    now = datetime.now(layout.UTC)
    rows = [
        {
            "source_key": key,
            "source_version_id": version,
            "line": e.line,
            "record_id": e.record_id,
            "type": e.type,
            "reason": e.reason,
            "raw": e.raw,
            "job_run_id": run_id,
            "quarantined_at": now,
        }
        for e in entries
    ]
    return pa.Table.from_pylist(rows, schema=SYSTEM_SCHEMAS["quarantine"])


def process_object(
    store: ObjectStore,
    fetched: Fetched,
    writer: PartitionWriter,
    plan: ParsePlan,
    config: SilverConfig,
    today: str,
) -> dict[str, Any]:
    """Read, parse, check and buffer one object version; its manifest input entry."""
    obj = fetched.pending.obj
    lake = plan.config
    if fetched.data is not None and fetched.shape is not None:
        shape, data = fetched.shape, iter(fetched.data)
    else:
        shape = ObjectShape()
        data = decompressed(_stream(store, fetched), shape)
    version = fetched.version_id or obj.version_id or "null"
    lineage = Lineage(obj.key, version, layout.channel_of(obj.key, config.client_prefix))
    valid = quarantined = records = 0
    for block in read_blocks(data, shape, int(lake.bronze["max_record_bytes"])):
        parsed = parse_block(block, plan, obj.key)
        rejected = parsed.rejected
        for name, tables in parsed.tables.items():
            spec = lake.dataset(name)
            assert spec is not None
            table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
            checked = check(spec, table, lineage)
            for date, part in by_date(checked.valid, spec.time_field):
                writer.add(spec.storage_name, date, part)
            valid += checked.valid.num_rows
            for row in checked.rejected.to_pylist():
                rejected.append(Rejected(row["_line"], row["reason"], None, row["id"], name))
        missing = [r for r in rejected if r.raw is None]
        if missing:
            fill_raw(missing, block)
        if rejected:
            writer.add("quarantine", today, _quarantine(rejected, obj.key, version, writer.tx.run_id))
        quarantined += len(rejected)
        records += len(rejected)
    records += valid + sum(1 for p in shape.problems if p.line is not None)
    if shape.problems:
        writer.add(
            "quarantine",
            today,
            _quarantine(
                [Rejected(p.line, p.reason, p.raw) for p in shape.problems],
                obj.key,
                version,
                writer.tx.run_id,
            ),
        )
        quarantined += len(shape.problems)
    entry: dict[str, Any] = {
        "bucket": obj.bucket,
        "key": obj.key,
        "version_id": version,
        "etag": obj.etag,
        "size": fetched.size or obj.size,
        "sha256": fetched.sha256,
        "unit": fetched.pending.unit,
        "format": shape.format,
        "compression": shape.compression,
        "records": records,
        "valid": valid,
        "quarantined": quarantined,
    }
    if shape.skipped:
        entry["skipped"] = shape.skipped
    if shape.problems:
        entry["problems"] = [p.reason for p in shape.problems[:20]]
    return entry


def _batches(pending: list[Pending], size: int) -> Iterator[tuple[list[Pending], list[Pending]]]:
    for start in range(0, len(pending), size):
        yield pending[start : start + size], pending[start + size :]


def _listing(discovery: Discovery, state: BronzeState | None) -> dict[str, Any]:
    return {
        "mode": discovery.mode,
        "units": len(discovery.units),
        "listed": discovery.listed,
        "version_listings": discovery.version_listings,
        "last_full_scan": state.last_full_scan if state else None,
    }


def bronze_to_silver(
    store: ObjectStore,
    config: SilverConfig,
    catalog: GlueCatalog | None = None,
    progress: ProgressFn | None = None,
) -> JobResult:
    """Promote every new bronze object version to silver; idempotent and crash-safe (see module doc)."""
    started = time.perf_counter()
    run_id = layout.new_run_id()
    result = JobResult(JOB, run_id)
    lake = config.lake or load_config()
    plan = ParsePlan(lake)
    result.recovered = recover(store, config.silver_bucket, JOB)
    latest = latest_manifest(store, config.silver_bucket, JOB)
    state = BronzeState.from_manifest(latest)
    registry: dict[str, Any] = dict((latest or {}).get("schemas") or {})
    check_evolution(lake, registry)
    now = datetime.now(layout.UTC)
    full = config.full_scan or full_scan_due(state, float(lake.bronze["full_scan_hours"]), now)
    manifests = CommitLog(store, config.silver_bucket, jobs=[JOB]).load().manifests if full else None
    lookback = float(lake.bronze["lookback_hours"])
    discovery = discover(store, config.bronze_bucket, config.client_prefix, state, lookback, full, manifests)
    pending = discovery.pending
    result.extra["listing"] = _listing(discovery, state)
    result.extra["skipped_objects"] = []
    if progress:
        progress({"job": JOB, "phase": "start", "total": len(pending)})
    if not pending:
        if full and state is not None:  # a periodic full scan: remember it ran
            fresh = advance(state, discovery, [], [], lookback, now)
            tx = Transaction(store, config.silver_bucket, JOB, run_id, code_version=config.code_version)
            tx.commit([], {"records": 0}, {"bronze_state": fresh.as_dict(), "schemas": registry})
            result.manifests.append(layout.manifest_key(JOB, run_id))
            result.extra["listing"]["last_full_scan"] = fresh.last_full_scan
        result.skipped = True
        result.seconds = time.perf_counter() - started
        return result
    index = IdIndex(store, config.silver_bucket)
    today = now.strftime("%Y-%m-%d")
    read: list[dict[str, Any]] = []
    for number, (batch, remaining) in enumerate(_batches(pending, config.batch_objects), start=1):
        tx = Transaction(
            store,
            config.silver_bucket,
            JOB,
            f"{run_id}-b{number:04d}",
            code_version=config.code_version,
            glue_job_run_id=config.glue_job_run_id,
            background=True,
        )
        writer = PartitionWriter(tx, index, config.flush_rows, background=True)
        inputs = []
        try:
            for fetched in prefetched(store, batch):
                entry = process_object(store, fetched, writer, plan, config, today)
                inputs.append(entry)
                result.records += entry["records"]
                if entry.get("skipped"):
                    result.extra["skipped_objects"].append(
                        {"key": entry["key"], "version_id": entry["version_id"], "reason": entry["skipped"]}
                    )
                if progress:
                    progress(
                        {
                            "job": JOB,
                            "phase": "object",
                            "done": len(read) + len(inputs),
                            "total": len(pending),
                            "key": entry["key"],
                            "records": result.records,
                        }
                    )
            writer.flush_all()
        finally:
            writer.close()
            tx.close()
        read += inputs
        fresh = advance(state, discovery, read, remaining, lookback, now)
        registry = updated_registry(lake, registry, set(writer.written))
        stats = {
            "records": sum(e["records"] for e in inputs),
            "rows": dict(writer.written),
            "quarantined": sum(e["quarantined"] for e in inputs),
            "duplicates": writer.duplicates,
            "skipped": sum(1 for e in inputs if e.get("skipped")),
        }
        tx.commit(inputs, stats, {"bronze_state": fresh.as_dict(), "schemas": registry})
        result.manifests.append(layout.manifest_key(JOB, tx.run_id))
        result.inputs += len(inputs)
        for dataset, rows in writer.written.items():
            result.rows[dataset] = result.rows.get(dataset, 0) + rows
        result.quarantined += stats["quarantined"]
        result.duplicates += writer.duplicates
        if catalog is not None:
            for dataset, dates in writer.dates.items():
                catalog.add_partitions("silver", dataset, dates, _schema(lake, dataset))
    result.extra["listing"]["last_full_scan"] = fresh.last_full_scan
    result.seconds = time.perf_counter() - started
    if progress:
        progress({"job": JOB, "phase": "done", "result": result.as_dict()})
    return result


def _schema(lake: LakeConfig, dataset: str) -> pa.Schema | None:
    spec = lake.storage_names().get(dataset)
    return spec.arrow_schema() if spec is not None else SYSTEM_SCHEMAS.get(dataset)
