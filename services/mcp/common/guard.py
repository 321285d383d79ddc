"""Who may call which tool: the caller's roles, and the server-wide ``--allow-write`` switch.

The HTTP front door (:class:`~services.common.httpguard.RequestGuard`) lets in only
callers with a valid ServiceAccount token of an allowed account; :class:`CallerContext`
(the MCP server's middleware) then makes that caller visible to the tool handlers
(:func:`current_caller`) and refuses every ``tools/call`` of a caller without ``read``.
Each tool that needs more checks it first, and refuses with a tool error that names
what is missing:

* :meth:`WriteGuard.check` - a tool that changes state: the server must run with
  ``--allow-write`` **and** the caller must hold ``write`` (or the role given, e.g.
  ``curate`` for vibranium writes and dissemination);
* :meth:`WriteGuard.require` - a role alone (a tool that changes nothing but must not be
  open to every reader, like a model invocation that costs money).

As in the awslabs MCP servers, write tools stay listed (a client sees what exists and
that it is destructive) whatever the caller may do.

Nothing here imports the MCP SDK until it is used (see :mod:`services.mcp.common.app`):
:func:`tool_error` makes the SDK's ``ToolError`` when a tool refuses, ``ToolError`` and
``READ_ONLY`` are looked up on first use.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from services.common.callers import Caller, ForbiddenError
from services.common.httpguard import caller_of

if TYPE_CHECKING:
    from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp.types import ToolAnnotations

__all__ = [
    "CallerContext",
    "WriteGuard",
    "current_caller",
    "read_only",
    "tool_error",
    "write_annotations",
]

log = logging.getLogger(__name__)

_caller: ContextVar[Caller | None] = ContextVar("nexus_mcp_caller", default=None)


def read_only(open_world: bool = False) -> ToolAnnotations:
    """Annotations of a read tool; ``open_world`` when it reaches outside the platform."""
    from mcp.types import ToolAnnotations

    return ToolAnnotations(
        read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=open_world
    )


def write_annotations(
    destructive: bool = True, idempotent: bool = False, open_world: bool = False
) -> ToolAnnotations:
    """Annotations of a tool that changes state (refused unless ``--allow-write``)."""
    from mcp.types import ToolAnnotations

    return ToolAnnotations(
        read_only_hint=False,
        destructive_hint=destructive,
        idempotent_hint=idempotent,
        open_world_hint=open_world,
    )


def tool_error(message: str) -> ToolError:
    """The SDK's ``ToolError`` with ``message`` (the caller gets it as the tool's error result)."""
    from mcp.server.mcpserver.exceptions import ToolError

    return ToolError(message)


def __getattr__(name: str) -> Any:
    """``READ_ONLY`` (a tool that only reads: safe to retry, changes nothing) and the SDK's
    ``ToolError``, made when first asked for."""
    if name == "READ_ONLY":
        return read_only()
    if name == "ToolError":
        from mcp.server.mcpserver.exceptions import ToolError

        return ToolError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def current_caller() -> Caller | None:
    """The authenticated caller of the MCP request being handled (None outside one)."""
    return _caller.get()


def _refusal(service: str, caller: Caller | None, role: str, what: str) -> str | None:
    """Why ``caller`` may not ``what`` (None when it may)."""
    if caller is None:
        return (
            f"{service} refuses {what}: the request has no authenticated caller "
            "(call the server over HTTP with a ServiceAccount bearer token)"
        )
    try:
        caller.require(role, what)
    except ForbiddenError as exc:
        return f"{service}: {exc.message}"
    return None


class CallerContext:
    """MCP server middleware: the HTTP request's caller for the handlers; ``read`` for every tool.

    The caller is the one :class:`~services.common.httpguard.RequestGuard` authenticated
    and put in the request's state; handlers read it with :func:`current_caller` (sync
    tools too: their worker thread runs in a copy of this context).
    """

    def __init__(self, service: str) -> None:
        self.service = service

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        caller = caller_of(ctx.request) if ctx.request is not None else None
        token = _caller.set(caller)
        try:
            if ctx.method == "tools/call":
                tool = str((ctx.params or {}).get("name", "a tool"))
                refused = _refusal(self.service, caller, "read", f"call {tool}")
                if refused is not None:
                    from mcp.types import CallToolResult, TextContent

                    log.warning("refused %s for %s: no read role", tool, caller.name if caller else "nobody")
                    return CallToolResult(content=[TextContent(type="text", text=refused)], is_error=True)
            return await call_next(ctx)
        finally:
            _caller.reset(token)


class WriteGuard:
    """Refuses write tools while the server is read-only or the caller lacks the role."""

    def __init__(self, service: str, allow_write: bool) -> None:
        self.service = service
        self.allow_write = allow_write

    def check(self, tool: str, role: str = "write", what: str | None = None) -> None:
        """A tool that changes state: ``--allow-write`` and the caller's ``role``."""
        if not self.allow_write:
            raise tool_error(
                f"{self.service} is read-only: {tool} changes state and is refused; "
                "start the server with --allow-write to enable write tools"
            )
        self.require(tool, role, what)

    def require(self, tool: str, role: str, what: str | None = None) -> None:
        """The caller must hold ``role`` to call ``tool`` (``what`` names the action precisely)."""
        caller = current_caller()
        refused = _refusal(self.service, caller, role, what or f"call {tool}")
        if refused is not None:
            log.warning("refused %s for %s: needs %s", tool, caller.name if caller else "nobody", role)
            raise tool_error(refused)

    def caller_name(self) -> str:
        """``namespace/serviceaccount`` of the current caller (for quotas and logs)."""
        caller = current_caller()
        return caller.name if caller is not None else "anonymous"
