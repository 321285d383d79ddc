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
from services.medallion.lib.catalog import GlueCatalog, database_name
from services.medallion.lib.datasets import LakeConfig
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
    """Create or update the tier databases and the dataset tables (default: ``lake/``'s datasets)."""
    if config is None:
        from nexuskit.lake.config import load_lake_config

        config = load_lake_config()
    catalog = glue_catalog(ctx.spec, ctx.client("glue"))
    states = []
    for tier in TIERS:
        name = catalog.database(tier)
        with aws_call(DATABASE_TYPE, name):
            created = catalog.ensure_database(tier)
        states.append(
            ResourceState(
                DATABASE_TYPE, name, CREATED if created else EXISTS, f"s3://{ctx.spec.bucket(tier)}/"
            )
        )
    outcome = {"created": CREATED, "updated": UPDATED, "exists": EXISTS}
    for tier, dataset, schema in catalog_tables(config):
        name = f"{catalog.database(tier)}.{dataset}"
        with aws_call(TABLE_TYPE, name):
            state = catalog.ensure_table(tier, dataset, schema)
        states.append(ResourceState(TABLE_TYPE, name, outcome[state], f"{tier}.{dataset}"))
    return states


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
