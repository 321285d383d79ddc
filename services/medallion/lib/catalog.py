"""The Glue Data Catalog side of the lake: one database per tier, one table per dataset.

Databases are ``<catalog prefix>_<tier>`` (``nexus_dev_silver``) with ``LocationUri``
``s3://<tier bucket>/``; tables are Parquet, partitioned by ``date`` (string), located at
``s3://<bucket>/<dataset>/``, with columns from the Arrow schemas: the dataset files'
(:mod:`.datasets`) for routed silver datasets, :mod:`.schemas` for the rest. The jobs add
the partitions they commit, so Athena (and DuckDB locally) see them at once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import pyarrow as pa

from services.medallion.lib.names import PARTITION_KEY, database_name
from services.medallion.lib.schemas import FIXED_SCHEMAS, SYSTEM_SCHEMAS

log = logging.getLogger(__name__)

PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
JSON_SERDE = "org.openx.data.jsonserde.JsonSerDe"
TEXT_INPUT = "org.apache.hadoop.mapred.TextInputFormat"
TEXT_OUTPUT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"


def glue_type(kind: pa.DataType) -> str:
    """The Hive/Glue column type for an Arrow type."""
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_dictionary(kind):
        return "string"
    if pa.types.is_float64(kind):
        return "double"
    if pa.types.is_float32(kind):
        return "float"
    if pa.types.is_int64(kind):
        return "bigint"
    if pa.types.is_integer(kind):
        return "int"
    if pa.types.is_boolean(kind):
        return "boolean"
    if pa.types.is_timestamp(kind):
        return "timestamp"
    if pa.types.is_list(kind):
        return f"array<{glue_type(kind.value_type)}>"
    if pa.types.is_struct(kind):
        inner = ",".join(f"{f.name}:{glue_type(f.type)}" for f in kind)
        return f"struct<{inner}>"
    raise ValueError(f"no Glue type for {kind}")


def known_schema(tier: str, dataset: str) -> pa.Schema | None:
    """The fixed schema of a dataset the lake writes itself (gold, vibranium, silver's own)."""
    if tier == "silver":
        return SYSTEM_SCHEMAS.get(dataset)
    return FIXED_SCHEMAS.get(tier, {}).get(dataset)


def table_input(tier: str, dataset: str, bucket: str, schema: pa.Schema | None = None) -> dict[str, Any]:
    """The ``TableInput`` of ``tier.dataset`` (Parquet, partitioned by date)."""
    schema = schema if schema is not None else known_schema(tier, dataset)
    if schema is None:
        raise ValueError(f"no schema for {tier}.{dataset}")
    return {
        "Name": dataset,
        "Description": f"nexus {tier}.{dataset} (written by the medallion jobs)",
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "parquet", "EXTERNAL": "TRUE", "parquet.compression": "ZSTD"},
        "PartitionKeys": [{"Name": PARTITION_KEY, "Type": "string"}],
        "StorageDescriptor": {
            "Columns": [{"Name": f.name, "Type": glue_type(f.type)} for f in schema],
            "Location": f"s3://{bucket}/{dataset}/",
            "InputFormat": PARQUET_INPUT,
            "OutputFormat": PARQUET_OUTPUT,
            "Compressed": True,
            "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE, "Parameters": {"serialization.format": "1"}},
        },
    }


def bronze_table_input(bucket: str) -> dict[str, Any]:
    """``bronze.raw``: the Firehose objects as JSON lines (for Athena; not partitioned)."""
    return {
        "Name": "raw",
        "Description": "nexus bronze: Firehose GZIP JSON lines, root and client/",
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "json", "EXTERNAL": "TRUE", "compressionType": "gzip"},
        "StorageDescriptor": {
            "Columns": [
                {"Name": name, "Type": kind}
                for name, kind in (
                    ("id", "string"),
                    ("run_id", "string"),
                    ("type", "string"),
                    ("ts", "string"),
                )
            ],
            "Location": f"s3://{bucket}/",
            "InputFormat": TEXT_INPUT,
            "OutputFormat": TEXT_OUTPUT,
            "SerdeInfo": {
                "SerializationLibrary": JSON_SERDE,
                "Parameters": {"ignore.malformed.json": "true"},
            },
        },
    }


def _code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


class GlueCatalog:
    """Keeps the tables and partitions of the datasets a job writes current."""

    def __init__(self, client: Any, catalog_prefix: str, buckets: dict[str, str]) -> None:
        self.client = client
        self.catalog_prefix = catalog_prefix
        self.buckets = buckets
        self._tables: set[tuple[str, str]] = set()

    def database(self, tier: str) -> str:
        return database_name(self.catalog_prefix, tier)

    def ensure_database(self, tier: str) -> bool:
        """Create the tier's database if missing; True when created."""
        name = self.database(tier)
        try:
            self.client.get_database(Name=name)
            return False
        except Exception as exc:
            if _code(exc) != "EntityNotFoundException":
                raise
        self.client.create_database(
            DatabaseInput={
                "Name": name,
                "Description": f"nexus medallion tier {tier}",
                "LocationUri": f"s3://{self.buckets[tier]}/",
            }
        )
        return True

    def ensure_table(self, tier: str, dataset: str, schema: pa.Schema | None = None) -> str:
        """Create or update ``tier.dataset``'s table; ``created``, ``updated`` or ``exists``.

        ``schema`` is a routed silver dataset's (from the dataset files): a compatible change
        (a new optional column) updates the table, so Athena sees the column at once."""
        if (tier, dataset) in self._tables:
            return "exists"
        database = self.database(tier)
        wanted = (
            bronze_table_input(self.buckets[tier])
            if tier == "bronze"
            else table_input(tier, dataset, self.buckets[tier], schema)
        )
        try:
            current = self.client.get_table(DatabaseName=database, Name=dataset)["Table"]
        except Exception as exc:
            if _code(exc) != "EntityNotFoundException":
                raise
            self.client.create_table(DatabaseName=database, TableInput=wanted)
            self._tables.add((tier, dataset))
            return "created"
        self._tables.add((tier, dataset))
        columns = current.get("StorageDescriptor", {}).get("Columns", [])
        if columns != wanted["StorageDescriptor"]["Columns"]:
            self.client.update_table(DatabaseName=database, TableInput=wanted)
            return "updated"
        return "exists"

    def add_partitions(
        self, tier: str, dataset: str, dates: Iterable[str], schema: pa.Schema | None = None
    ) -> int:
        """Register ``date=...`` partitions (existing ones are left alone); how many were new."""
        self.ensure_table(tier, dataset, schema)
        database = self.database(tier)
        bucket = self.buckets[tier]
        current = self.client.get_table(DatabaseName=database, Name=dataset)["Table"]["StorageDescriptor"]
        inputs = []
        for date in sorted(set(dates)):
            descriptor = dict(current)
            descriptor["Location"] = f"s3://{bucket}/{dataset}/{PARTITION_KEY}={date}/"
            inputs.append({"Values": [date], "StorageDescriptor": descriptor})
        created = 0
        for start in range(0, len(inputs), 100):
            chunk = inputs[start : start + 100]
            answer = self.client.batch_create_partition(
                DatabaseName=database, TableName=dataset, PartitionInputList=chunk
            )
            errors = [
                e
                for e in answer.get("Errors", [])
                if e.get("ErrorDetail", {}).get("ErrorCode") != "AlreadyExistsException"
            ]
            if errors:
                raise RuntimeError(f"Glue refused partitions of {database}.{dataset}: {errors[0]}")
            created += len(chunk) - len(answer.get("Errors", []))
        return created
