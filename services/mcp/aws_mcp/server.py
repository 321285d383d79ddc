"""aws-mcp's tools: parse, check the caller, call, return. The work lives in lake, glue_bedrock
and dissemination.

Roles (see :mod:`services.mcp.common.guard`): every tool needs ``read``; the write tools
``write`` (and ``--allow-write``); a write to the vibranium tier, a run of the
gold-to-vibranium Glue job, ``disseminate`` and ``dissemination_redeliver`` need
``curate``; ``bedrock_invoke_model`` changes nothing (so a read-only server answers it)
but spends money on the platform's account, so it needs ``write`` too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any, Literal

import anyio
from pydantic import Field

from services.common.httpguard import ASGIApp
from services.mcp.aws_mcp import glue_bedrock
from services.mcp.aws_mcp.dissemination import Disseminator, RetryWorker
from services.mcp.aws_mcp.lake import Lake
from services.mcp.aws_mcp.settings import AwsMcpSettings
from services.mcp.common import WriteGuard, aws, build_http_app, read_only, write_annotations

if TYPE_CHECKING:
    from mcp.server import MCPServer

Tier = Literal["bronze", "silver", "gold", "vibranium"]
WritableTier = Literal["silver", "gold", "vibranium"]


def create_server(settings: AwsMcpSettings, disseminator: Disseminator | None = None) -> MCPServer:
    from mcp.server import MCPServer  # the SDK: imported by the first MCP request

    lake = Lake(settings)
    guard = WriteGuard(settings.service_name, settings.allow_write)
    dissem = disseminator or Disseminator(settings)
    server = MCPServer(
        settings.service_name,
        instructions="The Nexus lake tiers (bronze, silver, gold, vibranium), Glue jobs, Bedrock, "
        "and dissemination of curated insights. Read-only unless started with --allow-write.",
    )

    @server.tool(annotations=read_only())
    def lake_tiers() -> dict[str, Any]:
        """The medallion tiers and the bucket behind each."""
        return {"tiers": lake.tiers(), "region": aws.region()}

    @server.tool(annotations=read_only())
    def lake_inventory(
        tiers: Annotated[
            list[Tier] | None, Field(description="tiers to inventory (default: all four)")
        ] = None,
    ) -> dict[str, Any]:
        """Per tier: object count, bytes, newest object, top-level prefixes, versioning."""
        return lake.inventory(list(tiers) if tiers else None)

    @server.tool(annotations=read_only())
    def lake_list_objects(
        tier: Tier,
        prefix: str = "",
        max_keys: Annotated[int, Field(ge=1, le=1000)] = 100,
        continuation_token: str | None = None,
    ) -> dict[str, Any]:
        """Objects of one tier under a prefix (paged with next_token)."""
        return lake.list_objects(tier, prefix, max_keys, continuation_token)

    @server.tool(annotations=read_only())
    def lake_read_object(
        tier: Tier,
        key: str,
        version_id: str | None = None,
        max_bytes: Annotated[int | None, Field(ge=1)] = None,
    ) -> dict[str, Any]:
        """One object: JSON / JSON Lines parsed, text as text, gzip undone; Parquet reported, not read."""
        return lake.read_object(tier, key, version_id, max_bytes)

    @server.tool(annotations=write_annotations(destructive=True, idempotent=True))
    def lake_write_json(
        tier: WritableTier,
        key: str,
        document: Annotated[Any, Field(description="the JSON value to store")],
        if_absent: Annotated[bool, Field(description="refuse to replace an existing object")] = False,
    ) -> dict[str, Any]:
        """Write a JSON result to silver, gold or vibranium (never bronze)."""
        if tier == "vibranium":
            guard.check("lake_write_json", "curate", "write to the vibranium tier")
        else:
            guard.check("lake_write_json")
        return lake.write_json(tier, key, document, if_absent)

    @server.tool(annotations=write_annotations(destructive=False))
    def lake_write_enrichment(
        findings: Annotated[
            list[dict[str, Any]],
            Field(
                description="rows of silver.enrichment: id, subject_type, subject_id, ts, "
                "workflow_id, label, confidence, detail"
            ),
        ],
        code_version: str = "",
    ) -> dict[str, Any]:
        """Commit agent findings to the silver.enrichment dataset with the lake's commit protocol."""
        guard.check("lake_write_enrichment")
        return lake.write_enrichment(findings, code_version)

    @server.tool(annotations=read_only())
    def glue_list_jobs(include_last_run: bool = True) -> dict[str, Any]:
        """Glue jobs with the state of each one's last run."""
        return glue_bedrock.list_jobs(include_last_run)

    @server.tool(annotations=write_annotations(destructive=False))
    def glue_start_job_run(job_name: str, arguments: dict[str, str] | None = None) -> dict[str, Any]:
        """Start a Glue job run (arguments without the leading -- are given one)."""
        if "vibranium" in job_name.lower():
            guard.check("glue_start_job_run", "curate", f"start {job_name} (it writes the vibranium tier)")
        else:
            guard.check("glue_start_job_run")
        return glue_bedrock.start_job_run(job_name, arguments)

    @server.tool(annotations=read_only())
    def glue_get_job_run(job_name: str, run_id: str) -> dict[str, Any]:
        """State, timings and error of one Glue job run."""
        return glue_bedrock.get_job_run(job_name, run_id)

    @server.tool(annotations=read_only(open_world=True))
    def bedrock_invoke_model(
        prompt: str,
        model: Annotated[str, Field(description="'reasoning', 'text', or a model id")] = "reasoning",
        system: str | None = None,
        max_tokens: Annotated[int, Field(ge=1, le=8192)] = 512,
        temperature: Annotated[float, Field(ge=0, le=1)] = 0.0,
    ) -> dict[str, Any]:
        """Bedrock InvokeModel with aws-mcp's own role: the text and the token counts."""
        guard.require("bedrock_invoke_model", "write", "invoke a Bedrock model (it is billed)")
        return glue_bedrock.invoke_model(settings, model, prompt, system, max_tokens, temperature)

    @server.tool(annotations=write_annotations(destructive=False, idempotent=True, open_world=True))
    def disseminate(
        insight: Annotated[dict[str, Any], Field(description="the curated insight (JSON object)")],
        insight_id: str | None = None,
        subject: str | None = None,
    ) -> dict[str, Any]:
        """Push an insight to the dissemination SNS topic and the webhooks; every delivery recorded."""
        guard.check("disseminate", "curate", "disseminate an insight")
        return dissem.disseminate(insight, insight_id, subject)

    @server.tool(annotations=read_only())
    def dissemination_deliveries(
        insight_id: str | None = None,
        status: Literal["delivered", "retrying", "parked"] | None = None,
        limit: Annotated[int, Field(ge=1, le=1000)] = 100,
    ) -> dict[str, Any]:
        """Delivery records (target, status, attempts, last error) by insight or status."""
        return dissem.deliveries(insight_id, status, limit)

    @server.tool(annotations=write_annotations(destructive=False, open_world=True))
    def dissemination_redeliver(
        delivery_id: str | None = None, insight_id: str | None = None
    ) -> dict[str, Any]:
        """Send parked deliveries again (one, one insight's, or all) with a fresh retry budget."""
        guard.check("dissemination_redeliver", "curate", "redeliver disseminated insights")
        return dissem.redeliver(delivery_id, insight_id)

    return server


def create_app(settings: AwsMcpSettings) -> ASGIApp:
    disseminator = Disseminator(settings)
    worker = RetryWorker(disseminator)

    @asynccontextmanager
    async def background() -> AsyncIterator[None]:
        if settings.allow_write:
            worker.start()  # only a writer has deliveries to retry
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(worker.stop)
            disseminator.close()

    async def health() -> dict[str, Any]:
        def check() -> dict[str, Any]:
            aws.client("s3").list_buckets(MaxBuckets=1)
            return {"status": "ok", "checks": {"s3": "ok"}, "tiers": Lake(settings).tiers()}

        try:
            with anyio.fail_after(5):
                return await anyio.to_thread.run_sync(check)
        except Exception as exc:  # unreachable AWS: still serving, calls will fail
            return {"status": "degraded", "checks": {"s3": aws.describe(exc)}}

    return build_http_app(lambda: create_server(settings, disseminator), settings, health, background)
