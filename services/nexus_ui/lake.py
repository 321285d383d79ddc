"""The lake as the UI sees it, read through aws-mcp (the service that holds the lake role).

nexus-ui's own role (``ui_irsa``) reads the data streams only, with no lake rights, so it
reads the medallion tiers the way agent-core does: MCP tool calls on aws-mcp
(``lake_inventory``, ``lake_list_objects``, ``lake_read_object``), as itself: every request
of the session carries nexus-ui's projected ServiceAccount token (aws-mcp grants it ``read``).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from services.common.servicetoken import ServiceToken

log = logging.getLogger(__name__)
INSIGHTS_PREFIX = "agent-insights/"


class LakeUnavailableError(Exception):
    """aws-mcp could not be reached or its tool failed."""


class LakeReader:
    def __init__(self, aws_mcp_url: str, timeout: float = 20.0, token: ServiceToken | None = None) -> None:
        self.url = aws_mcp_url
        self.timeout = timeout
        self.token = token

    async def _calls(self, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
        if not self.url:
            raise LakeUnavailableError("AWS_MCP_URL is not configured")
        out: list[Any] = []
        try:
            from mcp.types import TextContent  # the SDK is loaded on the first call

            from services.common.mcpclient import mcp_client

            async with mcp_client(self.url, self.token, read_timeout_seconds=self.timeout) as client:
                for tool, args in calls:
                    result = await client.call_tool(tool, args)
                    if result.is_error:
                        text = " ".join(c.text for c in result.content if isinstance(c, TextContent))
                        raise LakeUnavailableError(f"aws-mcp {tool}: {text[:200]}")
                    if result.structured_content is not None:
                        out.append(result.structured_content)
                    else:
                        text = "".join(c.text for c in result.content if isinstance(c, TextContent))
                        out.append(json.loads(text) if text else None)
        except LakeUnavailableError:
            raise
        except Exception as exc:  # the SDK raises groups, httpx and MCP errors
            while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
                exc = exc.exceptions[0]  # type: ignore[assignment]
            raise LakeUnavailableError(f"aws-mcp at {self.url}: {exc}") from None
        return out

    async def inventory(self) -> dict[str, Any]:
        (doc,) = await self._calls([("lake_inventory", {})])
        return dict(doc)

    async def overview(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The tiers' inventory and the Glue jobs with their last runs (one MCP session)."""
        inventory, jobs = await self._calls(
            [("lake_inventory", {}), ("glue_list_jobs", {"include_last_run": True})]
        )
        return dict(inventory), list(jobs.get("jobs", []) if isinstance(jobs, dict) else [])

    async def latest(self, tier: str, prefix: str, count: int) -> list[dict[str, Any]]:
        """The newest ``count`` objects under ``prefix``, each ``{"key", "modified", "content"}``."""
        (listing,) = await self._calls(
            [("lake_list_objects", {"tier": tier, "prefix": prefix, "max_keys": 1000})]
        )
        objects = listing.get("objects", []) if isinstance(listing, dict) else []
        objects = sorted(objects, key=lambda o: str(o.get("last_modified", "")), reverse=True)[:count]
        if not objects:
            return []
        reads = await self._calls([("lake_read_object", {"tier": tier, "key": o["key"]}) for o in objects])
        return [
            {"key": o["key"], "modified": o.get("last_modified"), "content": _content(r)}
            for o, r in zip(objects, reads, strict=True)
        ]


def _content(read: Any) -> Any:
    if isinstance(read, dict):
        for field in ("content", "json", "records", "document", "text"):
            if field in read:
                return read[field]
    return read


def points_from(documents: list[Any], tier: str) -> list[dict[str, Any]]:
    """Every record with numeric ``lat``/``lon`` in the documents (nested lists walked)."""
    points: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            lat, lon = node.get("lat"), node.get("lon")
            if isinstance(lat, int | float) and isinstance(lon, int | float):
                points.append(
                    {
                        "lat": lat,
                        "lon": lon,
                        "device_id": node.get("device_id"),
                        "ts": node.get("ts"),
                        "severity": node.get("severity"),
                        "tier": tier,
                    }
                )
            else:
                for value in node.values():
                    if isinstance(value, dict | list):
                        walk(value)

    walk(documents)
    return points
