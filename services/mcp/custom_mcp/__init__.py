"""custom-mcp (spec §2.4): a key-value cache and weather enrichment, as MCP tools.

``python -m services.mcp.custom_mcp [--allow-write]``. No AWS role. Read tools:
``kv_get``, ``kv_list``, ``kv_stats``, ``weather_enrich``; write tools (``--allow-write``):
``kv_set``, ``kv_append``, ``kv_delete``. Weather comes from a deterministic offline
provider unless ``WEATHER_PROVIDER=open-meteo`` (see :mod:`.weather`).
"""
