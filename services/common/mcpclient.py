"""An MCP client that sends a bearer token: how services and the kit call the MCP servers.

Every MCP server refuses anonymous callers (:class:`~services.common.httpguard.RequestGuard`),
so the client sends ``Authorization: Bearer <token>`` on every HTTP request of its session:
a pod its own projected ServiceAccount token (:class:`~services.common.servicetoken.ServiceToken`,
read again on every request since the kubelet rotates it), the kit the operator's token.

::

    async with mcp_client(url, ServiceToken.from_env(), read_timeout_seconds=30) as client:
        listing = await client.list_tools()

The SDK's streamable-HTTP transport takes an ``httpx2.AsyncClient`` (the HTTP library the
``mcp`` package uses); the one made here carries the token as an ``httpx2.Auth`` and is
closed with the session.

The ``mcp`` package (some 20-50 MB of pydantic models once imported) is imported on the
first session, not with this module: a service that only might call MCP pays at its first
call.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Generator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import httpx2

from services.common.servicetoken import ServiceToken

if TYPE_CHECKING:
    from mcp import Client

__all__ = ["BearerToken", "EventHooks", "TokenSource", "mcp_client", "token_value"]

#: a token as is, a pod's token file, or a function that returns the current one
TokenSource = str | ServiceToken | Callable[[], str | None] | None

#: the SDK's own defaults: 30 s to connect or send, 300 s to read (a response may stream)
CONNECT_TIMEOUT_S = 30.0
READ_TIMEOUT_S = 300.0


def token_value(source: TokenSource) -> str | None:
    """The current token of ``source`` (None or empty: no token)."""
    if source is None:
        return None
    if isinstance(source, str):
        value: str | None = source
    elif isinstance(source, ServiceToken):
        value = source.value()
    else:
        value = source()
    return value.strip() if value and value.strip() else None


class BearerToken(httpx2.Auth):
    """Sends the current token of ``source`` as ``Authorization: Bearer`` on every request."""

    def __init__(self, source: TokenSource) -> None:
        self.source = source

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        value = token_value(self.source)
        if value:
            request.headers["Authorization"] = f"Bearer {value}"
        yield request


#: httpx2 event hooks: ``{"request": [...], "response": [...]}`` of async callables
EventHooks = dict[str, list[Callable[..., Any]]]


@asynccontextmanager
async def _transport(url: str, token: TokenSource, event_hooks: EventHooks | None) -> AsyncIterator[Any]:
    from mcp.client.streamable_http import streamable_http_client

    timeout = httpx2.Timeout(CONNECT_TIMEOUT_S, read=READ_TIMEOUT_S)
    async with (
        httpx2.AsyncClient(auth=BearerToken(token), timeout=timeout, event_hooks=event_hooks) as http,
        streamable_http_client(url, http_client=http) as streams,
    ):
        yield streams


def mcp_client(
    url: str, token: TokenSource = None, *, event_hooks: EventHooks | None = None, **options: Any
) -> Client:
    """An (unentered) ``mcp.Client`` for the streamable-HTTP server at ``url``.

    ``token`` is sent on every request (see :data:`TokenSource`); ``event_hooks`` go to the
    HTTP client (e.g. to keep a refusal's ``detail``); ``options`` are the ``Client``'s own
    (``read_timeout_seconds``, ``client_info``, ...). A server that refuses the token
    answers a JSON-RPC error, which the client raises as ``mcp.MCPError`` with the reason.
    """
    from mcp import Client

    return Client(_transport(url, token, event_hooks), **options)
