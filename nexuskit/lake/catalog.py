"""The Glue Data Catalog of the lake: databases per tier, tables per dataset, partitions.

``ensure_catalog`` (called by :func:`nexuskit.lake.grants.apply_grants`) creates the four
databases ``<prefix>_<tier>`` (``LocationUri`` = the tier's bucket) and the tables
``bronze.raw``, one silver table per dataset file (``lake/datasets/*.yaml``: ``telemetry``,
``event``, ``sensor`` and yours) plus ``silver.{quarantine,enrichment}``,
``gold.{device_hourly,geo_density,event_severity}`` and ``vibranium.insights`` with their
schemas; the jobs add partitions as they commit. ``describe_catalog`` reports them.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from nexuskit.aws import AwsTarget
from nexuskit.params import TIERS, StackSpec
from nexuskit.provision.context import ProvisionContext, aws_call
from nexuskit.provision.resources import CREATED, EXISTS, UPDATED, ResourceState
from services.medallion.lib.catalog import GlueCatalog, bronze_table_input, table_input
from services.medallion.lib.datasets import LakeConfig
from services.medallion.lib.names import database_name
from services.medallion.lib.schemas import FIXED_SCHEMAS, SYSTEM_SCHEMAS

DATABASE_TYPE = "glue.database"
TABLE_TYPE = "glue.table"


def tier_schemas(config: LakeConfig) -> dict[str, dict[str, pa.Schema]]:
    """tier -> dataset -> Arrow schema: silver's from the dataset files plus its own, gold, vibranium."""
    return {"silver": {**config.schemas(), **SYSTEM_SCHEMAS}, **FIXED_SCHEMAS}


def catalog_tables(config: LakeConfig) -> list[tuple[str, str, pa.Schema | None]]:
    """(tier, dataset, schema) of every table of the lake."""
    return [("bronze", "raw", None)] + [
        (tier, dataset, schema)
        for tier, schemas in tier_schemas(config).items()
        for dataset, schema in schemas.items()
    ]


def glue_catalog(spec: StackSpec, client: Any) -> GlueCatalog:
    return GlueCatalog(client, spec.prefix, dict(spec.buckets))


def ensure_catalog(ctx: ProvisionContext, config: LakeConfig | None = None) -> list[ResourceState]:
    """Create or update the tier databases and the dataset tables (default: ``lake/``'s datasets).

    One ``GetDatabases`` tells which tier databases exist, and one ``GetTables`` per existing
    database what its tables hold (a database made here is empty): about a dozen calls fewer
    than asking for each database and table on its own. A table is created when missing and
    updated when its columns differ (as :meth:`GlueCatalog.ensure_table` does).
    """
    if config is None:
        from nexuskit.lake.config import load_lake_config

        config = load_lake_config()
    glue = ctx.client("glue")
    catalog = glue_catalog(ctx.spec, glue)
    existing = {db["Name"] for db in _pages(glue, "get_databases", "DatabaseList")}
    states = []
    tables: dict[str, dict[str, Any]] = {}
    for tier in TIERS:
        name = catalog.database(tier)
        with aws_call(DATABASE_TYPE, name):
            # (a database the listing left out is looked up on its own before creating it)
            created = name not in existing and catalog.ensure_database(tier)
            tables[tier] = (
                {}
                if created
                else {t["Name"]: t for t in _pages(glue, "get_tables", "TableList", DatabaseName=name)}
            )
        states.append(
            ResourceState(
                DATABASE_TYPE, name, CREATED if created else EXISTS, f"s3://{ctx.spec.bucket(tier)}/"
            )
        )
    for tier, dataset, schema in catalog_tables(config):
        database = catalog.database(tier)
        name = f"{database}.{dataset}"
        bucket = ctx.spec.bucket(tier)
        wanted = (
            bronze_table_input(bucket) if tier == "bronze" else table_input(tier, dataset, bucket, schema)
        )
        current = tables[tier].get(dataset)
        with aws_call(TABLE_TYPE, name):
            if current is None:
                glue.create_table(DatabaseName=database, TableInput=wanted)
                state = CREATED
            elif (
                current.get("StorageDescriptor", {}).get("Columns", [])
                != wanted["StorageDescriptor"]["Columns"]
            ):
                glue.update_table(DatabaseName=database, TableInput=wanted)
                state = UPDATED
            else:
                state = EXISTS
        states.append(ResourceState(TABLE_TYPE, name, state, f"{tier}.{dataset}"))
    return states


def _pages(client: Any, method: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
    """Every item of a paginated Glue listing."""
    items: list[dict[str, Any]] = []
    while True:
        page = getattr(client, method)(**kwargs)
        items += page.get(key, [])
        if not page.get("NextToken"):
            return items
        kwargs["NextToken"] = page["NextToken"]


def describe_catalog(
    spec: StackSpec, target: AwsTarget, config: LakeConfig | None = None
) -> list[dict[str, Any]]:
    """Every lake table with its columns, location and partitions (missing ones flagged)."""
    if config is None:
        from nexuskit.lake.config import load_lake_config

        config = load_lake_config()
    glue = target.client("glue")
    found = []
    for tier, dataset, _schema in catalog_tables(config):
        database = database_name(spec.prefix, tier)
        try:
            table = glue.get_table(DatabaseName=database, Name=dataset)["Table"]
        except glue.exceptions.EntityNotFoundException:
            found.append({"table": f"{tier}.{dataset}", "database": database, "exists": False})
            continue
        partitions = []
        kwargs: dict[str, Any] = {"DatabaseName": database, "TableName": dataset}
        while True:
            page = glue.get_partitions(**kwargs)
            partitions += ["date=" + p["Values"][0] for p in page.get("Partitions", [])]
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
        descriptor = table.get("StorageDescriptor", {})
        found.append(
            {
                "table": f"{tier}.{dataset}",
                "database": database,
                "exists": True,
                "location": descriptor.get("Location"),
                "columns": [{"name": c["Name"], "type": c["Type"]} for c in descriptor.get("Columns", [])],
                "partitions": sorted(partitions),
            }
        )
    return found
