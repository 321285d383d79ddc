"""database-mcp's tools: parse, call, return. The work (and the guarantees) live in sql.

Every tool needs the caller's ``read`` role; ``execute`` needs ``write`` (and
``--allow-write``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from services.common.httpguard import ASGIApp
from services.mcp.common import WriteGuard, build_http_app, read_only, tool_error, write_annotations
from services.mcp.database_mcp.settings import DatabaseMcpSettings
from services.mcp.database_mcp.sql import SqlError, SqlExecutor

if TYPE_CHECKING:
    from mcp.server import MCPServer

Params = Annotated[
    list[Any] | dict[str, Any] | None,
    Field(description="bound parameters: a list for ? placeholders, an object for :name"),
]
MaxRows = Annotated[
    int | None, Field(ge=1, description="rows to return at most (default: the server's row limit)")
]
Timeout = Annotated[float | None, Field(gt=0, description="seconds before the statement is interrupted")]


def create_server(settings: DatabaseMcpSettings, executor: SqlExecutor) -> MCPServer:
    from mcp.server import MCPServer  # the SDK: imported by the first MCP request

    guard = WriteGuard(settings.service_name, settings.allow_write)
    server = MCPServer(
        settings.service_name,
        instructions="SQL on the service's SQLite database: one statement per call, bound parameters, "
        "a row limit and a statement timeout. Read-only unless started with --allow-write.",
    )

    def run(call: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            result: dict[str, Any] = call(*args, **kwargs)
        except SqlError as exc:
            raise tool_error(str(exc)) from None
        return result

    @server.tool(annotations=read_only())
    def list_tables() -> dict[str, Any]:
        """Tables and views: columns (name, type, not null, default, primary key), indexes, DDL."""
        return run(executor.tables)

    @server.tool(annotations=read_only())
    def describe_table(table: str) -> dict[str, Any]:
        """One table's columns, indexes and DDL."""
        found = [t for t in run(executor.tables)["tables"] if t["name"] == table]
        if not found:
            raise tool_error(f"no table or view named {table!r}; list_tables shows what exists")
        return dict(found[0])

    @server.tool(annotations=read_only())
    def query(
        sql: str, params: Params = None, max_rows: MaxRows = None, timeout_seconds: Timeout = None
    ) -> dict[str, Any]:
        """Run one read-only statement (SELECT, WITH, read PRAGMAs); SQLite refuses any write."""
        return run(executor.run, sql, params, write=False, max_rows=max_rows, timeout=timeout_seconds)

    @server.tool(annotations=write_annotations(destructive=True))
    def execute(
        sql: str, params: Params = None, max_rows: MaxRows = None, timeout_seconds: Timeout = None
    ) -> dict[str, Any]:
        """Run one statement that may change the database (DDL or DML); needs --allow-write."""
        guard.check("execute")
        return run(executor.run, sql, params, write=True, max_rows=max_rows, timeout=timeout_seconds)

    return server


def create_app(settings: DatabaseMcpSettings) -> ASGIApp:
    executor = SqlExecutor(
        settings.database_path,
        row_limit=settings.row_limit,
        max_row_limit=settings.max_row_limit,
        timeout=settings.statement_timeout_seconds,
        max_timeout=settings.max_timeout_seconds,
        max_result_bytes=settings.max_result_bytes,
        max_value_bytes=min(settings.max_value_bytes, settings.max_result_bytes),
        max_memory_bytes=settings.max_memory_bytes,
    )
    executor.ensure_database()

    async def health() -> dict[str, Any]:
        ok = settings.database_path.exists()
        return {"status": "ok" if ok else "failing", "database": settings.database_path.name}

    return build_http_app(lambda: create_server(settings, executor), settings, health)
