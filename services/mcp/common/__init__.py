"""What the four MCP services share: settings, the HTTP app, callers and roles, write gating,
tool annotations.

Each service is an :class:`~mcp.server.MCPServer` served over streamable HTTP at ``/mcp``
(``MCP_PATH``) on ``PORT`` with ``GET /health`` next to it, behind the shared front door
(a ServiceAccount token of an allowed caller), read-only unless started with
``--allow-write``. Write tools are always listed (with ``destructiveHint``), and refuse
with a tool error that names the flag while the server is read-only, or the role the
caller lacks. The SDK is imported on first use (see :mod:`.app`).
"""

from typing import Any

from services.mcp.common import guard
from services.mcp.common.app import McpServiceSettings, build_http_app, parse_cli, serve
from services.mcp.common.guard import (
    CallerContext,
    WriteGuard,
    current_caller,
    read_only,
    tool_error,
    write_annotations,
)

__all__ = [
    "CallerContext",
    "McpServiceSettings",
    "WriteGuard",
    "build_http_app",
    "current_caller",
    "parse_cli",
    "read_only",
    "serve",
    "tool_error",
    "write_annotations",
]


def __getattr__(name: str) -> Any:
    """``READ_ONLY`` and ``ToolError`` load the MCP SDK: looked up on first use (see guard)."""
    if name in ("READ_ONLY", "ToolError"):
        return getattr(guard, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
