"""The four MCP services from the kit: list a service's tools, call one.

Used by ``nexuskit mcp tools|call``, the TUI and scenarios. Each call opens a session with
the official MCP client over streamable HTTP (``mcp`` is imported inside the functions:
the core never imports it at module import). URLs come from the local stack
(:func:`nexuskit.lifecycle.endpoints`, ``endpoints["mcp"][service]``), or ``url``, or
``NEXUSKIT_MCP_<SERVICE>_URL``.

The servers answer only ServiceAccount tokens of allowed callers, so every request
carries the operator's (``nexus-agent-core/nexus-operator``, audience ``nexus-services``),
from the control plane (:func:`nexuskit.controlplane.tokens.service_token`: a TokenRequest, as
``kubectl create token`` makes), or the token in ``NEXUSKIT_MCP_TOKEN`` (e.g. one
``kubectl create token nexus-operator -n nexus-agent-core --audience nexus-services``
gave on EKS). With a URL given and no token to be had, the call goes without one (a
server run by hand with ``NEXUS_AUTH=off`` answers it).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from typing import Any

from nexuskit.config import KitSettings
from nexuskit.errors import NexuskitError

SERVICES = ("aws", "custom", "database", "k8s")
TOKEN_ENV = "NEXUSKIT_MCP_TOKEN"
OPERATOR_NAMESPACE = "nexus-agent-core"
OPERATOR_ACCOUNT = "nexus-operator"
AUDIENCE = "nexus-services"
#: JSON-RPC codes the servers' front door answers a refused token with
_REFUSED_CODES = {-32001: "401", -32003: "403"}

log = logging.getLogger(__name__)


class McpClientError(NexuskitError):
    """An MCP service is unknown, unreachable, or answered with a protocol error."""


class ToolCallError(McpClientError):
    """The tool ran and reported an error (``isError``): a refusal, bad arguments, a failure."""


def operator_token(settings: KitSettings) -> str:
    """The token the kit sends: ``NEXUSKIT_MCP_TOKEN``, else the operator's from the control plane."""
    given = os.environ.get(TOKEN_ENV, "").strip()
    if given:
        return given
    from nexuskit.controlplane.tokens import service_token

    try:
        return service_token(
            settings, namespace=OPERATOR_NAMESPACE, service_account=OPERATOR_ACCOUNT, audience=AUDIENCE
        )
    except NexuskitError as exc:
        raise McpClientError(
            f"cannot get the operator's token for the MCP services: {exc.message}",
            f"is the stack up (`nexuskit status`)? or give a token in {TOKEN_ENV}",
        ) from None


def _token(settings: KitSettings, explicit_url: bool) -> tuple[str | None, str | None]:
    """``(token, why there is none)``: without a token only for a URL given by hand."""
    try:
        return operator_token(settings), None
    except McpClientError as exc:
        if not explicit_url:
            raise
        log.debug("calling without a token: %s", exc.message)
        return None, exc.message


def service_url(settings: KitSettings, service: str, url: str | None = None) -> str:
    if service not in SERVICES:
        raise McpClientError(f"unknown MCP service {service!r}", f"use one of {', '.join(SERVICES)}")
    found = url or os.environ.get(f"NEXUSKIT_MCP_{service.upper()}_URL")
    if not found:
        from nexuskit.lifecycle import endpoints

        found = (endpoints(settings).get("mcp") or {}).get(service)
    if not found:
        raise McpClientError(
            f"{service}-mcp is not running in this stack",
            "start the stack with `nexuskit up --local`, or give its URL with --url",
        )
    return str(found)


def parse_arguments(pairs: list[str]) -> dict[str, Any]:
    """``["k=v", ...]`` as tool arguments; a value that is valid JSON is taken as JSON."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise McpClientError(
                f"--arg {pair!r} is not KEY=VALUE", "e.g. --arg namespace=cache --arg ttl_seconds=60"
            )
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def _unwrap(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


async def _session(
    url: str, token: str | None, action: str, name: str | None, args: dict[str, Any] | None, timeout: float
) -> Any:
    from services.common.mcpclient import mcp_client

    async with mcp_client(url, token, read_timeout_seconds=timeout) as client:
        if action == "list":
            return (await client.list_tools()).tools
        return await client.call_tool(str(name), args or {})


def _run(
    settings: KitSettings,
    service: str,
    url: str | None,
    action: str,
    name: str | None = None,
    args: dict[str, Any] | None = None,
    timeout: float = 60.0,
) -> Any:
    found = service_url(settings, service, url)
    explicit = bool(url or os.environ.get(f"NEXUSKIT_MCP_{service.upper()}_URL"))
    token, no_token = _token(settings, explicit)
    try:
        return asyncio.run(asyncio.wait_for(_session(found, token, action, name, args, timeout), timeout + 5))
    except TimeoutError:
        raise McpClientError(f"{found} did not answer within {timeout:g} s") from None
    except Exception as exc:  # transport and protocol errors of the SDK, flattened to one line
        inner = _unwrap(exc)
        code = getattr(inner, "code", None)
        if code in _REFUSED_CODES:
            hint = (
                f"no token was sent: {no_token}"
                if no_token
                else f"set {TOKEN_ENV} to call as another account"
            )
            raise McpClientError(
                f"{found} refused the call: {getattr(inner, 'message', inner)}", hint
            ) from None
        raise McpClientError(
            f"{found}: {type(inner).__name__}: {inner}", "is the stack up? `nexuskit status`"
        ) from None


def list_tools(settings: KitSettings, service: str, url: str | None = None) -> list[dict[str, Any]]:
    """Name, title, description, annotations and input schema of each tool of ``service``."""
    tools = _run(settings, service, url, "list")
    out = []
    for tool in tools:
        annotations = (
            tool.annotations.model_dump(exclude_none=True, by_alias=True) if tool.annotations else {}
        )
        out.append(
            {
                "name": tool.name,
                "description": (tool.description or "").strip(),
                "read_only": bool(annotations.get("readOnlyHint", False)),
                "destructive": bool(annotations.get("destructiveHint", False)),
                "annotations": annotations,
                "input_schema": tool.input_schema,
            }
        )
    return out


def call_tool(
    settings: KitSettings,
    service: str,
    tool: str,
    arguments: dict[str, Any] | None = None,
    url: str | None = None,
) -> dict[str, Any]:
    """Call ``tool`` on ``service``: ``{"service", "tool", "result"}``; ToolCallError on isError."""
    result = _run(settings, service, url, "call", tool, arguments)
    text = "\n".join(getattr(c, "text", "") for c in result.content if getattr(c, "text", None))
    if result.is_error:
        raise ToolCallError(f"{service}.{tool}: {text or 'the tool reported an error'}")
    value: Any = result.structured_content
    if value is None:
        try:
            value = json.loads(text)
        except ValueError:
            value = text
    return {"service": service, "tool": tool, "result": value}
