"""What the four MCP services share: settings, the HTTP app, callers and roles, write gating,
tool annotations.

Each service is an :class:`~mcp.server.MCPServer` served over streamable HTTP at ``/mcp``
(``MCP_PATH``) on ``PORT`` with ``GET /health`` next to it, behind the shared front door
(a ServiceAccount token of an allowed caller), read-only unless started with
``--allow-write``. Write tools are always listed (with ``destructiveHint``), and refuse
with a tool error that names the flag while the server is read-only, or the role the
caller lacks.
"""

from services.mcp.common.app import McpServiceSettings, build_http_app, parse_cli, serve
from services.mcp.common.guard import (
    READ_ONLY,
    CallerContext,
    ToolError,
    WriteGuard,
    current_caller,
    read_only,
    write_annotations,
)

__all__ = [
    "READ_ONLY",
    "CallerContext",
    "McpServiceSettings",
    "ToolError",
    "WriteGuard",
    "build_http_app",
    "current_caller",
    "parse_cli",
    "read_only",
    "serve",
    "write_annotations",
]
