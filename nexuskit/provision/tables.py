"""agent-core's DynamoDB tables (Terraform's ``modules/agentstate``).

``<prefix>-agent-runs`` (hash key ``run_id``, TTL on ``expires_at``) holds the workflow runs
any replica answers for; ``<prefix>-agent-checkpoints`` (hash key ``lease_key``) the shard
leases the consumers share. Both on demand, encrypted with the AWS managed key, with
point-in-time recovery. agent-core still creates a missing table itself (a stack made before
these existed), with the same key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from nexuskit.params import StackSpec
from nexuskit.provision.context import ProvisionContext, aws_call, error_code, tag_list, wait_until
from nexuskit.provision.resources import CREATED, EXISTS, UPDATED, ResourceState, present

log = logging.getLogger(__name__)

TABLE_TYPE = "dynamodb.table"
OWNER_TAG = {"nexus:owner": "agent-core"}


@dataclass(frozen=True)
class TableSpec:
    name: str
    key: str
    ttl_attribute: str | None

    @property
    def detail(self) -> str:
        ttl = f", TTL {self.ttl_attribute}" if self.ttl_attribute else ""
        return f"hash key {self.key}, on demand{ttl}"


def agent_tables(spec: StackSpec) -> list[TableSpec]:
    return [
        TableSpec(f"{spec.prefix}-agent-runs", "run_id", "expires_at"),
        TableSpec(f"{spec.prefix}-agent-checkpoints", "lease_key", None),
    ]


def _describe(dynamodb: Any, name: str) -> dict[str, Any] | None:
    try:
        return dict(dynamodb.describe_table(TableName=name)["Table"])
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise


def _table(ctx: ProvisionContext, table: TableSpec, listed: set[str] | None = None) -> ResourceState:
    """Create the table, or bring it in line; ``listed``: the account's table names, when
    known (a table not among them is created without describing it first)."""
    dynamodb = ctx.client("dynamodb")
    outcome = EXISTS
    with aws_call(TABLE_TYPE, table.name):
        current = _describe(dynamodb, table.name) if listed is None or table.name in listed else None
        if current is None:
            made = dynamodb.create_table(
                TableName=table.name,
                AttributeDefinitions=[{"AttributeName": table.key, "AttributeType": "S"}],
                KeySchema=[{"AttributeName": table.key, "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST",
                SSESpecification={"Enabled": True, "SSEType": "KMS"},
                Tags=tag_list({**ctx.tags, **OWNER_TAG}),
            )["TableDescription"]
            if made.get("TableStatus") != "ACTIVE":  # AWS: CREATING for a few seconds
                wait_until(
                    lambda: _describe(dynamodb, table.name),
                    lambda t: t is not None and t.get("TableStatus") == "ACTIVE",
                    f"DynamoDB table {table.name}",
                )
            _enable_recovery(dynamodb, table)
            log.info("created DynamoDB table %s (%s)", table.name, table.detail)
            return ResourceState(TABLE_TYPE, table.name, CREATED, table.detail)
        backups = dynamodb.describe_continuous_backups(TableName=table.name)["ContinuousBackupsDescription"]
        recovery = backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus")
        if recovery != "ENABLED":
            dynamodb.update_continuous_backups(
                TableName=table.name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )
            outcome = outcome if outcome == CREATED else UPDATED
        if table.ttl_attribute:
            ttl = dynamodb.describe_time_to_live(TableName=table.name).get("TimeToLiveDescription", {})
            if ttl.get("TimeToLiveStatus") not in {"ENABLED", "ENABLING"}:
                dynamodb.update_time_to_live(
                    TableName=table.name,
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
                )
                outcome = outcome if outcome == CREATED else UPDATED
    return ResourceState(TABLE_TYPE, table.name, outcome, table.detail)


def _enable_recovery(dynamodb: Any, table: TableSpec) -> None:
    """Point-in-time recovery and the TTL of a new table (neither is on when it is made)."""
    dynamodb.update_continuous_backups(
        TableName=table.name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    if table.ttl_attribute:
        dynamodb.update_time_to_live(
            TableName=table.name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
        )


def _table_names(dynamodb: Any) -> set[str]:
    names: set[str] = set()
    for page in dynamodb.get_paginator("list_tables").paginate():
        names.update(page.get("TableNames", []))
    return names


def provision_tables(ctx: ProvisionContext) -> list[ResourceState]:
    # One listing tells which tables exist (on a first run: none), instead of a describe each.
    with aws_call(TABLE_TYPE, ctx.spec.prefix):
        listed = _table_names(ctx.client("dynamodb"))
    return ctx.each(lambda table: _table(ctx, table, listed), agent_tables(ctx.spec))


def inventory_tables(ctx: ProvisionContext) -> list[ResourceState]:
    with aws_call(TABLE_TYPE, ctx.spec.prefix):
        names = set(ctx.client("dynamodb").list_tables().get("TableNames", []))
    return [present(TABLE_TYPE, t.name, t.name in names, t.detail) for t in agent_tables(ctx.spec)]
