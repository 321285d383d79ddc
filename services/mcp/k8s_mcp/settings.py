"""k8s-mcp settings: which namespaces it may see and which cluster API it talks to."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from services.mcp.common import McpServiceSettings


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class K8sMcpSettings(McpServiceSettings):
    service_name: str = Field(default="k8s-mcp", validation_alias=_env("SERVICE_NAME"))
    watch_namespaces: str = Field(
        default="nexus-agent-core,nexus-mcp,nexus-data", validation_alias=_env("WATCH_NAMESPACES")
    )
    max_replicas: int = Field(default=10, ge=0, validation_alias=_env("K8S_MCP_MAX_REPLICAS"))
    request_timeout_seconds: float = Field(default=10.0, gt=0, validation_alias=_env("K8S_MCP_TIMEOUT"))

    @property
    def namespaces(self) -> list[str]:
        return [ns.strip() for ns in self.watch_namespaces.split(",") if ns.strip()]
