"""custom-mcp settings: cache limits, per-caller quotas and the weather provider.

The per-caller quotas keep one client from using up the shared limits: with the defaults
two writers (agent-core's orchestrator and the operator) hold at most 50 of the 100
namespaces, 32 of the 64 MiB, and neither can fill a namespace's 10,000 keys alone.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field

from services.mcp.common import McpServiceSettings


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class CustomMcpSettings(McpServiceSettings):
    service_name: str = Field(default="custom-mcp", validation_alias=_env("SERVICE_NAME"))
    kv_max_value_bytes: int = Field(default=64 * 1024, ge=1, validation_alias=_env("KV_MAX_VALUE_BYTES"))
    kv_max_keys_per_namespace: int = Field(
        default=10_000, ge=1, validation_alias=_env("KV_MAX_KEYS_PER_NAMESPACE")
    )
    kv_max_total_bytes: int = Field(
        default=64 * 1024 * 1024, ge=1, validation_alias=_env("KV_MAX_TOTAL_BYTES")
    )
    kv_max_namespaces: int = Field(default=100, ge=1, validation_alias=_env("KV_MAX_NAMESPACES"))
    kv_max_namespaces_per_caller: int = Field(
        default=25, ge=1, validation_alias=_env("KV_MAX_NAMESPACES_PER_CALLER")
    )
    kv_max_keys_per_caller: int = Field(default=5_000, ge=1, validation_alias=_env("KV_MAX_KEYS_PER_CALLER"))
    kv_max_bytes_per_caller: int = Field(
        default=16 * 1024 * 1024, ge=1, validation_alias=_env("KV_MAX_BYTES_PER_CALLER")
    )
    kv_default_ttl_seconds: float | None = Field(
        default=None, gt=0, validation_alias=_env("KV_DEFAULT_TTL_SECONDS")
    )
    weather_provider: Literal["offline", "open-meteo"] = Field(
        default="offline", validation_alias=_env("WEATHER_PROVIDER")
    )
    weather_api_url: str = Field(
        default="https://api.open-meteo.com/v1/forecast", validation_alias=_env("WEATHER_API_URL")
    )
    weather_timeout_seconds: float = Field(
        default=5.0, gt=0, validation_alias=_env("WEATHER_TIMEOUT_SECONDS")
    )
    weather_cache_ttl_seconds: float = Field(
        default=900.0, ge=0, validation_alias=_env("WEATHER_CACHE_TTL_SECONDS")
    )
