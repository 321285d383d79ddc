"""custom-mcp's tools: parse, call, return. The work lives in kv and weather.

Every tool needs the caller's ``read`` role; ``kv_set``, ``kv_append`` and ``kv_delete``
need ``write`` (and ``--allow-write``), and what they store is charged to the caller
(``namespace/serviceaccount``) for its quotas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from services.common.httpguard import ASGIApp
from services.mcp.common import WriteGuard, build_http_app, read_only, tool_error, write_annotations
from services.mcp.custom_mcp.kv import KvError, KvStore
from services.mcp.custom_mcp.settings import CustomMcpSettings
from services.mcp.custom_mcp.weather import (
    OfflineWeather,
    OpenMeteoWeather,
    WeatherError,
    WeatherProvider,
    enrich,
    hour_of,
    parse_time,
)

if TYPE_CHECKING:
    from mcp.server import MCPServer

Ttl = Annotated[float | None, Field(gt=0, description="seconds until the entry expires (default: never)")]


def make_provider(settings: CustomMcpSettings) -> WeatherProvider:
    if settings.weather_provider == "open-meteo":
        return OpenMeteoWeather(settings.weather_api_url, settings.weather_timeout_seconds)
    return OfflineWeather()


def create_server(settings: CustomMcpSettings) -> MCPServer:
    from mcp.server import MCPServer  # the SDK: imported by the first MCP request

    store = KvStore(
        max_value_bytes=settings.kv_max_value_bytes,
        max_keys_per_namespace=settings.kv_max_keys_per_namespace,
        max_total_bytes=settings.kv_max_total_bytes,
        max_namespaces=settings.kv_max_namespaces,
        default_ttl=settings.kv_default_ttl_seconds,
        max_namespaces_per_caller=settings.kv_max_namespaces_per_caller,
        max_keys_per_caller=settings.kv_max_keys_per_caller,
        max_bytes_per_caller=settings.kv_max_bytes_per_caller,
    )
    weather_cache = KvStore(max_keys_per_namespace=100_000)
    provider = make_provider(settings)
    guard = WriteGuard(settings.service_name, settings.allow_write)
    server = MCPServer(
        settings.service_name,
        instructions="A namespaced key-value cache (TTL, size limits) and weather enrichment for a "
        "place and time. Read-only unless started with --allow-write.",
    )

    def kv(call: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            result: dict[str, Any] = call(*args, **kwargs)
        except KvError as exc:
            raise tool_error(str(exc)) from None
        return result

    @server.tool(annotations=read_only())
    def kv_get(namespace: str, key: str) -> dict[str, Any]:
        """A value (found false when absent or expired) and its remaining TTL."""
        return kv(store.get, namespace, key)

    @server.tool(annotations=read_only())
    def kv_list(
        namespace: str, prefix: str = "", limit: Annotated[int, Field(ge=1, le=10_000)] = 100
    ) -> dict[str, Any]:
        """Keys of a namespace (live ones), sorted."""
        return kv(store.list, namespace, prefix, limit)

    @server.tool(annotations=read_only())
    def kv_stats() -> dict[str, Any]:
        """Keys and bytes per namespace, and the limits."""
        return store.stats()

    @server.tool(annotations=write_annotations(destructive=True, idempotent=True))
    def kv_set(namespace: str, key: str, value: Any, ttl_seconds: Ttl = None) -> dict[str, Any]:
        """Store a JSON value (replacing any), with an optional TTL."""
        guard.check("kv_set")
        return kv(store.set, namespace, key, value, ttl_seconds, caller=guard.caller_name())

    @server.tool(annotations=write_annotations(destructive=False))
    def kv_append(
        namespace: str,
        key: str,
        item: Any,
        max_items: Annotated[int, Field(ge=1, le=10_000)] = 100,
        ttl_seconds: Ttl = None,
    ) -> dict[str, Any]:
        """Append to a list value atomically, keeping the newest max_items (a rolling window)."""
        guard.check("kv_append")
        return kv(store.append, namespace, key, item, max_items, ttl_seconds, caller=guard.caller_name())

    @server.tool(annotations=write_annotations(destructive=True, idempotent=True))
    def kv_delete(
        namespace: str, key: Annotated[str | None, Field(description="omit to delete the namespace")] = None
    ) -> dict[str, Any]:
        """Delete one key, or a whole namespace."""
        guard.check("kv_delete")
        return kv(store.delete, namespace, key)

    @server.tool(annotations=read_only(open_world=settings.weather_provider != "offline"))
    def weather_enrich(
        lat: Annotated[float, Field(ge=-90, le=90)],
        lon: Annotated[float, Field(ge=-180, le=180)],
        time: Annotated[
            str | float | None, Field(description="ISO-8601 or epoch seconds (default: now)")
        ] = None,
    ) -> dict[str, Any]:
        """Weather at a place for the hour of a time: temperature, humidity, pressure, wind, conditions."""
        try:
            hour = hour_of(parse_time(time)).isoformat()
            cache_key = f"{provider.name}|{lat:.2f}|{lon:.2f}|{hour}"
            cached = weather_cache.get("weather", cache_key)
            if cached["found"]:
                return {**cached["value"], "cached": True}
            result = enrich(provider, lat, lon, time)
        except WeatherError as exc:
            raise tool_error(str(exc)) from None
        if settings.weather_cache_ttl_seconds > 0:
            weather_cache.set("weather", cache_key, result, settings.weather_cache_ttl_seconds)
        return {**result, "cached": False}

    return server


def create_app(settings: CustomMcpSettings) -> ASGIApp:
    async def health() -> dict[str, Any]:
        return {"status": "ok", "weather_provider": settings.weather_provider}

    return build_http_app(lambda: create_server(settings), settings, health)
