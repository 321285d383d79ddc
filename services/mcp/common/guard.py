"""Read-only by default: tool annotations and the check every write tool makes first.

As in the awslabs MCP servers, write tools stay listed (a client sees what exists and
that it is destructive) but refuse while the server runs without ``--allow-write``.
"""

from __future__ import annotations

from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

__all__ = ["READ_ONLY", "ToolError", "WriteGuard", "read_only", "write_annotations"]

#: a tool that only reads (safe to retry, changes nothing)
READ_ONLY = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)


def read_only(open_world: bool = False) -> ToolAnnotations:
    """Annotations of a read tool; ``open_world`` when it reaches outside the platform."""
    return ToolAnnotations(
        read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=open_world
    )


def write_annotations(
    destructive: bool = True, idempotent: bool = False, open_world: bool = False
) -> ToolAnnotations:
    """Annotations of a tool that changes state (refused unless ``--allow-write``)."""
    return ToolAnnotations(
        read_only_hint=False,
        destructive_hint=destructive,
        idempotent_hint=idempotent,
        open_world_hint=open_world,
    )


class WriteGuard:
    """Refuses write tools while the server is read-only, with an error that says what to do."""

    def __init__(self, service: str, allow_write: bool) -> None:
        self.service = service
        self.allow_write = allow_write

    def check(self, tool: str) -> None:
        if not self.allow_write:
            raise ToolError(
                f"{self.service} is read-only: {tool} changes state and is refused; "
                "start the server with --allow-write to enable write tools"
            )
