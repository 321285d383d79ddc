"""Silver's write side: Parquet bytes, the record-id index that dedupes, per-partition buffers.

Duplicates (same record ``id`` within a dataset and UTC date) are dropped against a compact
id index per partition (``_index/<dataset>/date=.../ids-*.parquet``, committed with the
data), so a record put twice - in one run or in two - appears once. The index of a
partition is found by listing its prefix (the job is the only writer of ``_index/``, and
it lists only after :func:`~.commit.recover` has removed what a dead run left); a partition
whose index has grown to :data:`INDEX_MERGE_AT` files is rewritten as one file in the same
commit, so loading it stays a few reads however many runs wrote to it.
"""

from __future__ import annotations

import io
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from services.medallion.lib import layout
from services.medallion.lib.commit import OutputFile, Transaction
from services.medallion.lib.store import ObjectStore

INDEX_MERGE_AT = 16
_UNIQUE_COLUMNS = {"id", "insight_id", "raw", "extra"}  # values rarely repeat: no dictionary


def parquet_bytes(table: pa.Table) -> bytes:
    """ZSTD Parquet; dictionary encoding for repetitive text only (not ids, nor numbers)."""
    sink = io.BytesIO()
    dictionary = [
        f.name
        for f in table.schema
        if f.name not in _UNIQUE_COLUMNS
        and (pa.types.is_string(f.type) or pa.types.is_dictionary(f.type) or pa.types.is_large_string(f.type))
    ]
    pq.write_table(
        table, sink, compression="zstd", row_group_size=262_144, store_schema=False, use_dictionary=dictionary
    )
    return sink.getvalue()


def read_parquet(
    body: bytes, columns: list[str] | None = None, dictionary: list[str] | None = None
) -> pa.Table:
    """A Parquet file's table; ``dictionary`` columns are read dictionary-encoded (cheap).

    Asked-for columns the file lacks (written before the dataset gained them) come back as nulls.
    Decoded on the calling thread: a pyarrow worker that drops the last reference to ``body``
    after the read can run into interpreter shutdown and abort the process (seen as
    ``terminate called without an active exception`` when a job or the CLI exits)."""
    file = pq.ParquetFile(pa.BufferReader(body))
    present = set(file.schema_arrow.names)
    wanted = [c for c in columns if c in present] if columns is not None else None
    keep = [c for c in dictionary if wanted is None or c in wanted] if dictionary else None
    table = pq.read_table(
        pa.BufferReader(body), columns=wanted, read_dictionary=keep or None, use_threads=False
    )
    for name in columns or []:
        if name not in present:
            table = table.append_column(name, pa.nulls(table.num_rows))
    return table.select(columns) if columns is not None else table


class IdIndex:
    """Record ids already in silver, per (dataset, date)."""

    def __init__(self, store: ObjectStore, bucket: str) -> None:
        self.store = store
        self.bucket = bucket
        self._known: dict[tuple[str, str], list[pa.Array]] = {}
        self.committed: dict[tuple[str, str], list[OutputFile]] = {}
        self.reads = 0

    def known(self, dataset: str, date: str) -> list[pa.Array]:
        slot = (dataset, date)
        if slot not in self._known:
            partition = layout.partition_value(date)
            prefix = f"{layout.INDEX}/{dataset}/{partition}/"
            files = [o for o in self.store.list_keys(self.bucket, prefix) if o.key.endswith(".parquet")]
            arrays = []
            for obj in files:
                arrays.append(
                    read_parquet(self.store.get(self.bucket, obj.key), ["id"])["id"].combine_chunks()
                )
                self.reads += 1
            self._known[slot] = arrays
            self.committed[slot] = [
                OutputFile(dataset, partition, o.key, "", "", o.size, 0, kind="index") for o in files
            ]
        return self._known[slot]

    def drop_seen(self, dataset: str, date: str, table: pa.Table) -> tuple[pa.Table, pa.Array]:
        """The rows whose id is new (first occurrence kept), and those new ids.

        One hashing pass: the known ids (unique, so codes ``0..k-1``) and the new ones are
        dictionary-encoded together; a new row is kept when its code is ``>= k`` and higher
        than every code before it (codes are handed out in order of first occurrence)."""
        ids = table["id"].combine_chunks()
        known = self.known(dataset, date)
        size = sum(len(a) for a in known)
        combined = pa.concat_arrays([*known, ids]) if known else ids
        codes = np.asarray(combined.dictionary_encode().indices)[size:]
        previous = np.maximum.accumulate(np.concatenate(([size - 1], codes[:-1])))
        first = codes > previous
        if bool(first.all()):
            known.append(ids)
            return table, ids
        keep = pa.array(first)
        fresh = ids.filter(keep)
        known.append(fresh)
        return table.filter(keep), fresh

    def merge_due(self, dataset: str, date: str) -> bool:
        return len(self.committed.get((dataset, date), [])) >= INDEX_MERGE_AT


class PartitionWriter:
    """Buffers rows per (dataset, date) and stages them as Parquet files of one run.

    With ``background``, a full buffer is deduplicated, encoded and staged on one worker
    thread (pyarrow and zlib release the GIL) while the caller parses on; one flush waits
    while another runs, so at most two buffers are held. :meth:`flush_all` waits for them."""

    def __init__(self, tx: Transaction, index: IdIndex, flush_rows: int, background: bool = False) -> None:
        self.tx = tx
        self.index = index
        self.flush_rows = flush_rows
        self._buffers: dict[tuple[str, str], list[pa.Table]] = {}
        self._rows: dict[tuple[str, str], int] = {}
        self._seq = 0
        self.written: dict[str, int] = {}
        self.duplicates = 0
        self.dates: dict[str, set[str]] = {}
        self._worker = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="silver-flush") if background else None
        )
        self._pending: Future[None] | None = None

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
        if self._worker is None:
            self._write(slot, tables)
            return
        self._wait()
        self._pending = self._worker.submit(self._write, slot, tables)

    def _wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def _write(self, slot: tuple[str, str], tables: list[pa.Table]) -> None:
        dataset, date = slot
        table = pa.concat_tables(tables, promote_options="permissive") if len(tables) > 1 else tables[0]
        if dataset != "quarantine":
            before = table.num_rows
            table, new_ids = self.index.drop_seen(dataset, date, table)
            self.duplicates += before - table.num_rows
            if table.num_rows == 0:
                return
            ids = new_ids
            if self.index.merge_due(dataset, date):
                ids = pa.concat_arrays(self.index.known(dataset, date))
                self.tx.supersede(self.index.committed.pop(slot))
                self.index.committed[slot] = []
            self._stage(
                layout.index_key(dataset, date, self.tx.run_id, self._seq),
                dataset,
                date,
                "index",
                pa.table({"id": ids}),
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
        self._wait()

    def close(self) -> None:
        """Stop the worker (after :meth:`flush_all`, or to give up after an error)."""
        if self._worker is not None:
            try:
                self._wait()
            finally:
                self._worker.shutdown(wait=True)
                self._worker = None


def by_date(table: pa.Table, time_field: str) -> list[tuple[str, pa.Table]]:
    """The table split by the UTC date of its time field."""
    if table.num_rows == 0:
        return []
    day = pc.floor_temporal(table[time_field], unit="day")
    days = pc.unique(day).to_pylist()
    if len(days) == 1:
        return [(days[0].strftime("%Y-%m-%d"), table)]
    return [
        (d.strftime("%Y-%m-%d"), table.filter(pc.equal(day, pa.scalar(d, day.type)))) for d in sorted(days)
    ]
