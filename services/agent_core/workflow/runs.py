"""Runs and their steps, kept in memory and in a DynamoDB table every replica can read.

agent-core runs as several replicas behind one Service, so a run started on one pod
must be readable from any other: each run is written to ``${prefix}-agent-runs`` (one
item per run: ``run_id``, ``workflow``, ``status``, ``version``, ``expires_at`` for TTL,
and the run document as JSON). Writes are conditional on a growing ``version``, so a
late progress write never overwrites the final state. The stream consumer also reads
the table to learn whether an event's run already finished (its run id is derived from
the shard and the sequence number).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

log = logging.getLogger(__name__)

RUNNING, SUCCEEDED, FAILED = "running", "succeeded", "failed"
FINISHED = {SUCCEEDED, FAILED}
MAX_ITEM_BYTES = 350_000


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_run_id() -> str:
    return f"run-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:10]}"


@dataclass
class StepRecord:
    """One step of a run: what it called, how long it took, what came back."""

    id: str
    kind: str
    status: str = "pending"  # pending | running | succeeded | failed | skipped
    call: dict[str, Any] | None = None
    attempts: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    result: Any = None
    error: str | None = None
    tokens: dict[str, int] | None = None

    @property
    def duration_ms(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return round((self.finished_at - self.started_at) * 1000, 3)

    def as_dict(self) -> dict[str, Any]:
        out = {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "call": self.call,
            "attempts": self.attempts,
            "started_at": iso(self.started_at),
            "duration_ms": self.duration_ms,
            "result": self.result,
            "error": self.error,
        }
        if self.tokens is not None:
            out["tokens"] = self.tokens
        return out


@dataclass
class Run:
    id: str
    workflow: str
    input: dict[str, Any]
    trigger: str = "api"
    caller: str | None = None  # who started it: namespace/serviceaccount, or "stream"
    status: str = RUNNING
    steps: list[StepRecord] = field(default_factory=list)
    result: Any = None
    error: dict[str, Any] | None = None
    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    version: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.id,
            "workflow": self.workflow,
            "status": self.status,
            "trigger": self.trigger,
            "caller": self.caller,
            "input": self.input,
            "steps": [s.as_dict() for s in self.steps],
            "result": self.result,
            "error": self.error,
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "duration_ms": round((self.finished_at - self.started_at) * 1000, 3)
            if self.finished_at
            else None,
        }


def _trimmed(doc: dict[str, Any]) -> str:
    """The document as JSON, step results cut down when the item would be too large."""
    text = json.dumps(doc, default=str)
    if len(text) <= MAX_ITEM_BYTES:
        return text
    slim = dict(doc)
    slim["steps"] = [
        {
            **s,
            "result": "(omitted from the stored copy: "
            f"{len(json.dumps(s.get('result'), default=str))} bytes)",
        }
        for s in doc["steps"]
    ]
    text = json.dumps(slim, default=str)
    if len(text) <= MAX_ITEM_BYTES:
        return text
    slim["result"] = "(omitted from the stored copy: too large)"
    slim["input"] = "(omitted from the stored copy: too large)"
    return json.dumps(slim, default=str)


class RunStore:
    """Recent runs in memory (this replica) backed by the shared DynamoDB table."""

    def __init__(self, dynamodb: Any, table: str, keep: int = 1000, retention_days: int = 7) -> None:
        self.dynamodb = dynamodb
        self.table = table
        self.keep = keep
        self.retention_seconds = retention_days * 86400
        self._memory: OrderedDict[str, Run] = OrderedDict()
        self._background: set[asyncio.Task[None]] = set()

    # -- table ------------------------------------------------------------------------------
    def ensure_table(self) -> None:
        """Create the runs table when it is missing (idempotent; waits until ACTIVE)."""
        ensure_table(self.dynamodb, self.table, "run_id")
        try:
            self.dynamodb.update_time_to_live(
                TableName=self.table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
            )
        except ClientError as exc:  # already enabled, or TTL not offered by this endpoint
            log.debug("TTL on %s: %s", self.table, exc)

    # -- memory -----------------------------------------------------------------------------
    def remember(self, run: Run) -> None:
        self._memory[run.id] = run
        self._memory.move_to_end(run.id)
        while len(self._memory) > self.keep:
            oldest, old = next(iter(self._memory.items()))
            if old.status == RUNNING:
                break
            del self._memory[oldest]

    def recent(self, limit: int = 50, workflow: str | None = None) -> list[Run]:
        runs = [r for r in reversed(self._memory.values()) if workflow is None or r.workflow == workflow]
        return runs[:limit]

    # -- persistence ------------------------------------------------------------------------
    def _put(self, run_id: str, workflow: str, status: str, version: int, doc: dict[str, Any]) -> None:
        try:
            self.dynamodb.put_item(
                TableName=self.table,
                Item={
                    "run_id": {"S": run_id},
                    "workflow": {"S": workflow},
                    "status": {"S": status},
                    "version": {"N": str(version)},
                    "expires_at": {"N": str(int(time.time() + self.retention_seconds))},
                    "doc": {"S": _trimmed(doc)},
                },
                ConditionExpression="attribute_not_exists(version) OR version < :v",
                ExpressionAttributeValues={":v": {"N": str(version)}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise

    async def save(self, run: Run, wait: bool = True) -> None:
        """Write the run's current state (``wait=False``: in the background, best effort)."""
        run.version += 1
        args = (run.id, run.workflow, run.status, run.version, run.as_dict())
        if wait:
            try:
                await asyncio.to_thread(self._put, *args)
            except ClientError as exc:  # refused (no table, no rights): memory still has the run
                log.warning("run %s not stored in %s: %s", run.id, self.table, exc)
            return

        async def write() -> None:
            try:
                await asyncio.to_thread(self._put, *args)
            except (ClientError, BotoCoreError) as exc:
                log.warning("progress of run %s not stored: %s", args[0], exc)

        task = asyncio.get_running_loop().create_task(write())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _get(self, run_id: str) -> dict[str, Any] | None:
        item = self.dynamodb.get_item(
            TableName=self.table, Key={"run_id": {"S": run_id}}, ConsistentRead=True
        )
        found = item.get("Item")
        if not found:
            return None
        doc: dict[str, Any] = json.loads(found["doc"]["S"])
        return doc

    async def get(self, run_id: str) -> dict[str, Any] | None:
        """A run by id: this replica's copy, else the table's."""
        run = self._memory.get(run_id)
        if run is not None:
            return run.as_dict()
        try:
            return await asyncio.to_thread(self._get, run_id)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {
                "ResourceNotFoundException",
                "AccessDeniedException",
            }:
                return None
            raise

    async def stored_status(self, run_id: str) -> str | None:
        doc = await asyncio.to_thread(self._get, run_id)
        return str(doc["status"]) if doc else None

    async def drain(self) -> None:
        if self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    def check(self) -> None:
        """Raises when the table cannot be read (readiness)."""
        self.dynamodb.describe_table(TableName=self.table)


def ensure_table(dynamodb: Any, table: str, key: str, timeout: float = 30.0) -> None:
    """Create a pay-per-request table with one string hash key, unless it exists; wait for ACTIVE."""
    try:
        status = dynamodb.describe_table(TableName=table)["Table"]["TableStatus"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
        try:
            dynamodb.create_table(
                TableName=table,
                AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST",
                Tags=[{"Key": "nexus:owner", "Value": "agent-core"}],
            )
            log.info("created DynamoDB table %s", table)
        except ClientError as create_exc:  # another replica created it first
            if create_exc.response.get("Error", {}).get("Code") != "ResourceInUseException":
                raise
        status = "CREATING"
    deadline = time.monotonic() + timeout
    while status != "ACTIVE" and time.monotonic() < deadline:
        time.sleep(0.2)
        status = dynamodb.describe_table(TableName=table)["Table"]["TableStatus"]
