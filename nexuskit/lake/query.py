"""SQL over the lake with DuckDB - the local stand-in for Athena.

Tables are addressed as ``tier.dataset`` (``silver.telemetry``, ``gold.device_hourly``,
``silver.quarantine``, ``vibranium.insights``, a dataset of your own ``silver.<name>`` or
an older version ``silver.<name>_v<n>``; ``bronze.raw`` reads the Firehose JSON lines).
For each table a query names, the caller's read grant is checked, the committed files
(from the tier's manifests - never a prefix listing, so uncommitted output is invisible)
are copied once into a local cache keyed by version id, and a DuckDB view is made over
them with the ``date`` partition column (a string, as in the Glue catalogue).
DuckDB runs offline: no extension is installed or loaded at run time.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from nexuskit.lake.access import Lake
from nexuskit.lake.catalog import tier_schemas
from nexuskit.lake.errors import LakeNotFoundError, QueryError
from nexuskit.lake.grants import READ
from nexuskit.params import TIERS
from services.medallion.lib import layout
from services.medallion.lib.commit import CommitLog
from services.medallion.lib.names import PARTITION_KEY

_TABLE_REF = re.compile(r"(?<![\w.\"'])\b(bronze|silver|gold|vibranium)\.([A-Za-z_]\w*)\b", re.IGNORECASE)


@dataclass
class QueryResult:
    """Columns, their DuckDB types, rows, and which files each table read."""

    sql: str
    columns: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool = False
    tables: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def as_dict(self) -> dict[str, Any]:
        return {
            "sql": self.sql,
            "columns": [{"name": n, "type": t} for n, t in zip(self.columns, self.types, strict=True)],
            "rows": self.records(),
            "row_count": len(self.rows),
            "truncated": self.truncated,
            "tables": self.tables,
            "seconds": round(self.seconds, 3),
        }


def table_refs(sql: str) -> list[tuple[str, str]]:
    """The ``tier.dataset`` names a query uses, in order of first use."""
    seen: list[tuple[str, str]] = []
    for tier, dataset in _TABLE_REF.findall(sql):
        ref = (tier.lower(), dataset.lower())
        if ref not in seen:
            seen.append(ref)
    return seen


def local_copy(lake: Lake, bucket: str, key: str, version_id: str, etag: str = "") -> Path:
    """The object in the local cache (downloaded once; versions never change)."""
    tag = hashlib.sha256((version_id or etag).encode()).hexdigest()[:16]
    path = lake.cache_dir / "objects" / bucket / tag / key
    if not path.exists():
        body = lake.store.get(bucket, key, version_id or None)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        tmp.write_bytes(body)
        tmp.replace(path)
    return path


def committed_paths(lake: Lake, tier: str, dataset: str) -> list[Path]:
    """Local copies of the committed files of ``tier.dataset``."""
    bucket = lake.bucket(tier)
    if tier == "bronze":
        prefixes = ("", lake.spec.params.client_firehose_prefix)
        return [
            local_copy(lake, bucket, obj.key, obj.version_id, obj.etag)
            for obj in lake.store.list_keys(bucket)
            if layout.is_bronze_object(obj.key, prefixes)
        ]
    log = CommitLog(lake.store, bucket, cache_dir=lake.cache_dir).load()
    return [local_copy(lake, bucket, f.key, f.version_id) for f in log.files(dataset)]


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _register(con: Any, lake: Lake, tier: str, dataset: str) -> int:
    if tier == "bronze" and dataset != "raw":
        raise LakeNotFoundError(f"unknown table bronze.{dataset}", "bronze has one table: bronze.raw")
    schema = tier_schemas(lake.config).get(tier, {}).get(dataset)
    if tier != "bronze" and schema is None and tier != "silver":
        raise LakeNotFoundError(
            f"unknown table {tier}.{dataset}", "see `nexuskit lake ls` for the tables of each tier"
        )
    lake.require(tier, READ, dataset)
    paths = committed_paths(lake, tier, dataset)
    if tier == "silver" and schema is None and not paths:  # an older version or a removed file keeps its data
        raise LakeNotFoundError(
            f"unknown table {tier}.{dataset}", "see `nexuskit lake ls silver` and `nexuskit lake datasets`"
        )
    con.execute(f'CREATE SCHEMA IF NOT EXISTS "{tier}"')
    name = f'"{tier}"."{dataset}"'
    if tier == "bronze":
        if paths:
            files = ", ".join(_quote(p) for p in paths)
            con.execute(
                f"CREATE VIEW {name} AS SELECT * FROM read_json([{files}], format='newline_delimited', "
                "ignore_errors=true, union_by_name=true, compression='gzip')"
            )
        else:
            con.execute(f"CREATE TABLE {name} (id VARCHAR, run_id VARCHAR, type VARCHAR, ts VARCHAR)")
        return len(paths)
    if paths:
        files = ", ".join(_quote(p) for p in paths)
        con.execute(
            f"CREATE VIEW {name} AS SELECT * FROM read_parquet([{files}], hive_partitioning=true, "
            f"hive_types={{'{PARTITION_KEY}': 'VARCHAR'}}, union_by_name=true)"
        )
    else:
        assert schema is not None
        con.register("_empty", schema.empty_table())
        con.execute(f"CREATE TABLE {name} AS SELECT *, NULL::VARCHAR AS {PARTITION_KEY} FROM _empty")
        con.unregister("_empty")
    return len(paths)


def connect() -> Any:
    """An in-memory DuckDB that never installs or loads extensions (offline-safe), in UTC."""
    con = duckdb.connect(":memory:")
    con.execute("SET autoinstall_known_extensions=false")
    con.execute("SET autoload_known_extensions=false")
    con.execute("SET TimeZone='UTC'")
    return con


def run_query(lake: Lake, sql: str, max_rows: int = 10_000) -> QueryResult:
    """Answer ``sql`` over the tiers it names (each checked against the caller's grants)."""
    started = time.perf_counter()
    refs = table_refs(sql)
    if not refs:
        raise QueryError(
            "the query names no lake table",
            f"address tables as tier.dataset, e.g. silver.telemetry (tiers: {', '.join(TIERS)})",
        )
    con = connect()
    try:
        tables = {f"{tier}.{dataset}": _register(con, lake, tier, dataset) for tier, dataset in refs}
        try:
            cursor = con.execute(sql)
            columns = [d[0] for d in cursor.description or []]
            types = [str(d[1]) for d in cursor.description or []]
            rows = cursor.fetchmany(max_rows + 1)
        except duckdb.Error as exc:
            raise QueryError(f"query failed: {str(exc).splitlines()[0]}") from exc
    finally:
        con.close()
    truncated = len(rows) > max_rows
    return QueryResult(
        sql=sql,
        columns=columns,
        types=types,
        rows=[tuple(r) for r in rows[:max_rows]],
        truncated=truncated,
        tables=tables,
        seconds=time.perf_counter() - started,
    )


def arrow_table(lake: Lake, tier: str, dataset: str) -> pa.Table:
    """The committed rows of ``tier.dataset`` as one Arrow table (small datasets, tests)."""
    con = connect()
    try:
        _register(con, lake, tier, dataset)
        table: pa.Table = con.sql(f'SELECT * FROM "{tier}"."{dataset}"').to_arrow_table()
        return table
    finally:
        con.close()
