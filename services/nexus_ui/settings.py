"""nexus-ui settings: the ``nexus-ui-config`` ConfigMap (environment) plus the Deployment's env.

Nothing is read at import: :class:`UiSettings` is built by ``main`` or a test and passed
to ``create_app``.
"""

from __future__ import annotations

import os

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class UiSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    api_gateway_url: str = Field(
        default="", validation_alias=AliasChoices("API_GATEWAY_URL", "api_gateway_url")
    )
    auth_path: str = Field(default="/auth", validation_alias=AliasChoices("AUTH_PATH", "auth_path"))
    jwks_path: str = Field(
        default="/.well-known/jwks.json", validation_alias=AliasChoices("JWKS_PATH", "jwks_path")
    )
    agent_core_url: str = Field(default="", validation_alias=AliasChoices("AGENT_CORE_URL", "agent_core_url"))
    aws_mcp_url: str = Field(default="", validation_alias=AliasChoices("AWS_MCP_URL", "aws_mcp_url"))
    map_style: str = Field(default="dark-matter", validation_alias=AliasChoices("MAP_STYLE", "map_style"))
    region: str = Field(default="", validation_alias=AliasChoices("NEXUS_REGION", "region"))
    environment: str = Field(default="", validation_alias=AliasChoices("NEXUS_ENVIRONMENT", "environment"))
    token_issuer: str | None = Field(
        default=None, validation_alias=AliasChoices("NEXUS_TOKEN_ISSUER", "token_issuer")
    )
    token_audience: str | None = Field(
        default=None, validation_alias=AliasChoices("NEXUS_TOKEN_AUDIENCE", "token_audience")
    )
    # The data plane the mappings view and the live map read (names from the stack).
    client_stream: str = Field(default="", validation_alias=AliasChoices("CLIENT_STREAM", "client_stream"))
    primary_stream: str = Field(default="", validation_alias=AliasChoices("PRIMARY_STREAM", "primary_stream"))
    client_firehose: str = Field(
        default="", validation_alias=AliasChoices("CLIENT_FIREHOSE", "client_firehose")
    )
    primary_firehose: str = Field(
        default="", validation_alias=AliasChoices("PRIMARY_FIREHOSE", "primary_firehose")
    )
    client_video_stream: str = Field(
        default="", validation_alias=AliasChoices("CLIENT_VIDEO_STREAM", "client_video_stream")
    )
    primary_video_stream: str = Field(
        default="", validation_alias=AliasChoices("PRIMARY_VIDEO_STREAM", "primary_video_stream")
    )
    # The live stream reader: GetRecords every poll_s per shard while a page watches,
    # stopping idle_s after the last request; at most stream_points points per stream.
    stream_poll_s: float = Field(
        default=1.0, validation_alias=AliasChoices("NEXUS_UI_STREAM_POLL_S", "stream_poll_s")
    )
    stream_idle_s: float = Field(
        default=60.0, validation_alias=AliasChoices("NEXUS_UI_STREAM_IDLE_S", "stream_idle_s")
    )
    stream_points: int = Field(
        default=300, validation_alias=AliasChoices("NEXUS_UI_STREAM_POINTS", "stream_points")
    )
    # "name=url" pairs, comma-separated: the /health URLs shown on the health view.
    health_targets: str = Field(
        default="", validation_alias=AliasChoices("NEXUS_UI_HEALTH", "health_targets")
    )
    # The front door: the names this service answers to besides loopback and its Service's
    # cluster names (DNS rebinding), other origins allowed to call its API (none: the page
    # is same-origin), and nexus-ui's own ServiceAccount token for agent-core and aws-mcp.
    service_name: str = Field(
        default="nexus-ui", validation_alias=AliasChoices("SERVICE_NAME", "service_name")
    )
    namespace: str = Field(
        default="nexus-agent-core",
        validation_alias=AliasChoices("POD_NAMESPACE", "NEXUSKIT_NAMESPACE", "namespace"),
    )
    allowed_hosts: str = Field(
        default="", validation_alias=AliasChoices("NEXUS_ALLOWED_HOSTS", "allowed_hosts")
    )
    allowed_origins: str = Field(
        default="", validation_alias=AliasChoices("NEXUS_ALLOWED_ORIGINS", "allowed_origins")
    )
    service_token_file: str = Field(
        default="", validation_alias=AliasChoices("NEXUS_SERVICE_TOKEN_FILE", "service_token_file")
    )
    max_body_bytes: int = Field(
        default=64 * 1024, ge=1024, validation_alias=AliasChoices("NEXUS_UI_MAX_BODY_BYTES", "max_body_bytes")
    )
    port: int = Field(default=8000, validation_alias=AliasChoices("PORT", "port"))
    bind_host: str | None = Field(default=None, validation_alias=AliasChoices("BIND_HOST", "bind_host"))
    log_level: str = Field(default="INFO", validation_alias=AliasChoices("LOG_LEVEL", "log_level"))
    http_timeout: float = 15.0

    @property
    def host(self) -> str:
        if self.bind_host:
            return self.bind_host
        return "0.0.0.0" if os.environ.get("KUBERNETES_SERVICE_HOST") else "127.0.0.1"

    @property
    def auth_url(self) -> str:
        return self.api_gateway_url.rstrip("/") + self.auth_path if self.api_gateway_url else ""

    @property
    def jwks_url(self) -> str:
        return self.api_gateway_url.rstrip("/") + self.jwks_path if self.api_gateway_url else ""

    def streams(self) -> dict[str, str]:
        """The data streams the map reads live, by channel (``client``, ``internal``)."""
        named = {"client": self.client_stream, "internal": self.primary_stream}
        return {channel: name for channel, name in named.items() if name}

    def health_urls(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for pair in self.health_targets.split(","):
            name, sep, url = pair.strip().partition("=")
            if sep and name and url:
                out[name.strip()] = url.strip()
        return out
