"""Shard leases and checkpoints in one DynamoDB table, as the Kinesis Client Library keeps them.

Items of ``${prefix}-agent-checkpoints`` (hash key ``lease_key``):

``shard#<stream>#<shard id>``
    ``owner`` (worker id) and ``lease_expires_at`` (epoch seconds): who reads the shard;
    ``checkpoint``: the sequence number of the last record fully handled (``SHARD_END``
    once a closed shard is done); ``checkpointed_at``.
``worker#<worker id>``
    a heartbeat (``expires_at``) so workers can share the shards evenly.

Every change is a conditional write: a worker takes a lease only when it is free,
expired or already its own, renews and checkpoints only while it still owns it, so two
replicas never read one shard at once and a replica that lost its lease cannot move the
checkpoint.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from botocore.exceptions import ClientError

from services.agent_core.workflow.runs import ensure_table

log = logging.getLogger(__name__)

SHARD_END = "SHARD_END"


def _conditional_failed(exc: ClientError) -> bool:
    code: str = exc.response.get("Error", {}).get("Code", "")
    return code == "ConditionalCheckFailedException"


class LeaseTable:
    def __init__(self, dynamodb: Any, table: str, stream: str, worker: str, lease_seconds: float) -> None:
        self.dynamodb = dynamodb
        self.table = table
        self.stream = stream
        self.worker = worker
        self.lease_seconds = lease_seconds

    def ensure_table(self) -> None:
        ensure_table(self.dynamodb, self.table, "lease_key")

    def key(self, shard_id: str) -> dict[str, Any]:
        return {"lease_key": {"S": f"shard#{self.stream}#{shard_id}"}}

    def acquire(self, shard_id: str) -> bool:
        """Take (or keep) the shard's lease; False when another live worker holds it."""
        now = time.time()
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key=self.key(shard_id),
                UpdateExpression="SET #o = :me, lease_expires_at = :exp, shard_id = :sid, #s = :stream",
                ConditionExpression="attribute_not_exists(#o) OR #o = :me OR lease_expires_at < :now",
                ExpressionAttributeNames={"#o": "owner", "#s": "stream"},
                ExpressionAttributeValues={
                    ":me": {"S": self.worker},
                    ":exp": {"N": f"{now + self.lease_seconds:.3f}"},
                    ":now": {"N": f"{now:.3f}"},
                    ":sid": {"S": shard_id},
                    ":stream": {"S": self.stream},
                },
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def renew(self, shard_id: str) -> bool:
        """Extend a lease this worker holds; False when it was lost."""
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key=self.key(shard_id),
                UpdateExpression="SET lease_expires_at = :exp",
                ConditionExpression="#o = :me",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={
                    ":me": {"S": self.worker},
                    ":exp": {"N": f"{time.time() + self.lease_seconds:.3f}"},
                },
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def checkpoint(self, shard_id: str, sequence: str) -> bool:
        """Record ``sequence`` as handled; False (and nothing written) when the lease is lost."""
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key=self.key(shard_id),
                UpdateExpression="SET checkpoint = :seq, checkpointed_at = :now, lease_expires_at = :exp",
                ConditionExpression="#o = :me",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={
                    ":me": {"S": self.worker},
                    ":seq": {"S": sequence},
                    ":now": {"N": f"{time.time():.3f}"},
                    ":exp": {"N": f"{time.time() + self.lease_seconds:.3f}"},
                },
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def release(self, shard_id: str) -> None:
        """Give the lease up (at shutdown) so another worker takes the shard at once."""
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key=self.key(shard_id),
                UpdateExpression="REMOVE #o SET lease_expires_at = :zero",
                ConditionExpression="#o = :me",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={":me": {"S": self.worker}, ":zero": {"N": "0"}},
            )
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise

    def read_checkpoint(self, shard_id: str) -> str | None:
        item = self.dynamodb.get_item(TableName=self.table, Key=self.key(shard_id), ConsistentRead=True).get(
            "Item"
        )
        if not item or "checkpoint" not in item:
            return None
        return str(item["checkpoint"]["S"])

    def heartbeat(self) -> None:
        self.dynamodb.put_item(
            TableName=self.table,
            Item={
                "lease_key": {"S": f"worker#{self.worker}"},
                "stream": {"S": self.stream},
                "expires_at": {"N": f"{time.time() + self.lease_seconds:.3f}"},
            },
        )

    def retire(self) -> None:
        self.dynamodb.delete_item(TableName=self.table, Key={"lease_key": {"S": f"worker#{self.worker}"}})

    def snapshot(self) -> tuple[int, dict[str, dict[str, Any]]]:
        """Live workers of this stream, and every shard item of it (a Scan: the table is small)."""
        now = time.time()
        workers = 0
        shards: dict[str, dict[str, Any]] = {}
        paginator = self.dynamodb.get_paginator("scan")
        for page in paginator.paginate(TableName=self.table, ConsistentRead=True):
            for item in page.get("Items", []):
                if item.get("stream", {}).get("S") != self.stream:
                    continue
                key = item["lease_key"]["S"]
                if key.startswith("worker#") and float(item.get("expires_at", {}).get("N", "0")) > now:
                    workers += 1
                elif key.startswith("shard#"):
                    shards[item.get("shard_id", {}).get("S", key.rsplit("#", 1)[-1])] = {
                        "owner": item.get("owner", {}).get("S"),
                        "lease_expires_at": float(item.get("lease_expires_at", {}).get("N", "0")),
                        "checkpoint": item.get("checkpoint", {}).get("S"),
                    }
        return workers, shards
