"""database-mcp (spec §2.4): SQL on a SQLite file in the pod's ephemeral dir, as MCP tools.

``python -m services.mcp.database_mcp [--allow-write]``. Read tools: ``list_tables``,
``describe_table``, ``query``; write tool (``--allow-write``): ``execute``. Read-only is
enforced by SQLite itself (a ``mode=ro`` connection and an authorizer), never by looking
at the SQL text; see :mod:`.sql`.
"""
