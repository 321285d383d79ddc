"""``silver.enrichment``: agent-core's findings, written with the lake's commit protocol.

agent-core calls :func:`write_enrichment` with its findings (one dict per finding, fields
of ``SYSTEM_SCHEMAS["enrichment"]``; ``ts`` a datetime or ISO string). The job name is the
dataset name (``_manifests/enrichment/``), so a Lake Formation grant on the one table
``silver.enrichment`` covers everything the writer touches. Gold joins the findings to
``device_hourly`` (``subject_type`` ``device``) on the next ``silver_to_gold`` run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from services.medallion.lib import layout
from services.medallion.lib.commit import Transaction
from services.medallion.lib.records import parse_ts_value
from services.medallion.lib.schemas import SYSTEM_SCHEMAS
from services.medallion.lib.store import ObjectStore
from services.medallion.lib.writer import parquet_bytes

DATASET = "enrichment"


def write_enrichment(
    store: ObjectStore, silver_bucket: str, findings: list[dict[str, Any]], code_version: str = ""
) -> dict[str, Any] | None:
    """Commit ``findings`` to ``silver.enrichment`` (one file per date); the manifest."""
    if not findings:
        return None
    rows = []
    for finding in findings:
        row = dict(finding)
        if not isinstance(row.get("ts"), datetime):
            parsed, invalid = parse_ts_value(row.get("ts"))
            if parsed is None or invalid:
                raise ValueError(f"finding {row.get('id')!r}: ts {row.get('ts')!r} is not a timestamp")
            row["ts"] = parsed
        rows.append(row)
    table = pa.Table.from_pylist(rows, schema=SYSTEM_SCHEMAS[DATASET])
    run_id = layout.new_run_id()
    tx = Transaction(store, silver_bucket, DATASET, run_id, code_version=code_version)
    day = pc.strftime(table["ts"], format="%Y-%m-%d")
    for seq, date in enumerate(sorted(set(day.to_pylist()))):
        part = table.filter(pc.equal(day, date))
        tx.stage(
            layout.data_key(DATASET, date, run_id, seq),
            parquet_bytes(part),
            dataset=DATASET,
            partition=layout.partition_value(date),
            rows=part.num_rows,
        )
    return tx.commit([], {"rows": table.num_rows})
