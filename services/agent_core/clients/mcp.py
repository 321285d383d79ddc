"""Long-lived MCP client sessions to the four services, reconnected when they drop.

Opening an MCP session costs a discovery round trip; a tool call on an open session
costs one HTTP request. So each service gets one session, held open by a task of its own
(the SDK's client is an async context manager that must be entered and left in one task)
and shared by every run. A call on a session that has died (the service restarted or is
down) fails as *unavailable*; the next call opens a new session. Failures are
:class:`McpCallError` with a ``reason``: ``unavailable``, ``timeout``, ``tool_error``
(the tool answered ``isError``), ``refused`` (the server refused agent-core's token: 401
or 403, its ``detail`` in the message) or ``protocol``.

Every HTTP request of a session carries ``Authorization: Bearer`` with agent-core's own
projected ServiceAccount token (``NEXUS_SERVICE_TOKEN_FILE``), read again whenever the
kubelet (locally: the runtime) has rewritten the file, so a long-lived session keeps
working across token rotations.

The ``mcp`` package (and its HTTP library, httpx2) is imported when the first session
opens (an idle replica that has run no workflow does not hold its pydantic models: tens of
MB per process).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from services.agent_core.metrics import AgentMetrics
from services.common.servicetoken import ServiceToken

if TYPE_CHECKING:
    import httpx2
    from mcp import Client
    from mcp.types import CallToolResult

log = logging.getLogger(__name__)


class McpCallError(RuntimeError):
    """A tool call that did not produce a result; ``reason`` says why."""

    def __init__(self, service: str, tool: str, reason: str, message: str) -> None:
        super().__init__(f"{service}.{tool}: {message}")
        self.service = service
        self.tool = tool
        self.reason = reason


@dataclass
class ToolResult:
    value: Any
    text: str


def _first_error(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def result_value(result: CallToolResult) -> ToolResult:
    """The structured content when there is one, else the text (parsed when it is JSON)."""
    from mcp.types import TextContent

    text = "\n".join(c.text for c in result.content if isinstance(c, TextContent))
    if result.structured_content is not None:
        return ToolResult(result.structured_content, text)
    try:
        return ToolResult(json.loads(text), text)
    except ValueError:
        return ToolResult(text, text)


def health_url(mcp_url: str) -> str:
    """``http://host:port/mcp`` -> ``http://host:port/health``."""
    parts = urlsplit(mcp_url)
    return urlunsplit((parts.scheme, parts.netloc, "/health", "", ""))


class Refusals:
    """The last 401/403 each MCP URL answered (the SDK reports them only as "an error response")."""

    def __init__(self) -> None:
        self.last: dict[str, str] = {}

    async def record(self, response: httpx2.Response) -> None:
        """An httpx2 response hook: remember why a server refused (its ``detail``)."""
        if response.status_code not in (401, 403):
            return
        await response.aread()
        try:
            body = response.json()
        except ValueError:
            body = None
        detail: Any = response.text[:200]
        if isinstance(body, dict):  # FastAPI's {"detail"} or a JSON-RPC {"error": {"message"}}
            error = body.get("error")
            detail = (
                body.get("detail") or (error.get("message") if isinstance(error, dict) else None) or detail
            )
        self.last[str(response.request.url)] = f"HTTP {response.status_code}: {detail}"

    def pop(self, url: str) -> str | None:
        return self.last.pop(url, None)


@contextlib.asynccontextmanager
async def _transport(url: str, token: ServiceToken | None, refusals: Refusals) -> AsyncIterator[Any]:
    """The SDK's streamable-HTTP transport on an HTTP client that sends agent-core's token."""
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    from services.common.mcpclient import BearerToken

    timeout = httpx2.Timeout(30.0, read=300.0)  # the SDK's defaults; calls have their own timeouts
    async with (
        httpx2.AsyncClient(
            auth=BearerToken(token), timeout=timeout, event_hooks={"response": [refusals.record]}
        ) as http,
        streamable_http_client(url, http_client=http) as streams,
    ):
        yield streams


class _Session:
    """One open client session, held by its own task until closed or broken."""

    def __init__(self, url: str, read_timeout: float, token: ServiceToken | None, refusals: Refusals) -> None:
        self.url = url
        self.read_timeout = read_timeout
        self.token = token
        self.refusals = refusals
        self.client: Client | None = None
        self.error: BaseException | None = None
        self._ready = asyncio.Event()
        self._closing = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def open(self, timeout: float) -> Client:
        self.task = asyncio.get_running_loop().create_task(self._hold(), name=f"mcp session {self.url}")
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            await self.close()
            raise TimeoutError(f"no MCP session within {timeout:g} s") from None
        if self.client is None:
            raise self.error or ConnectionError("the MCP session closed while opening")
        return self.client

    async def _hold(self) -> None:
        try:
            from mcp import Client

            transport = _transport(self.url, self.token, self.refusals)
            async with Client(transport, read_timeout_seconds=self.read_timeout) as client:
                self.client = client
                self._ready.set()
                await self._closing.wait()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # connect errors arrive wrapped in exception groups
            self.error = _first_error(exc)
        finally:
            self.client = None
            self._ready.set()

    @property
    def alive(self) -> bool:
        return self.client is not None and self.task is not None and not self.task.done()

    async def close(self) -> None:
        self._closing.set()
        if self.task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self.task), 5)
            except (TimeoutError, Exception):
                self.task.cancel()
                with contextlib.suppress(BaseException):
                    await self.task


async def _load_sdk() -> None:
    """Import the ``mcp`` package in a worker thread (it takes a good fraction of a second),
    so the first session does not stall the event loop; later calls return at once."""
    if "mcp.client.streamable_http" not in sys.modules:
        await asyncio.to_thread(importlib.import_module, "mcp.client.streamable_http")


class McpPool:
    """Sessions to the MCP services by name (``aws``, ``custom``, ``database``, ``k8s``)."""

    def __init__(
        self,
        urls: dict[str, str],
        metrics: AgentMetrics,
        connect_timeout: float = 5.0,
        token: ServiceToken | None = None,
    ) -> None:
        self.urls = urls
        self.metrics = metrics
        self.connect_timeout = connect_timeout
        self.token = token
        self.refusals = Refusals()
        self._sessions: dict[str, _Session] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._http: httpx.AsyncClient | None = None

    async def _session(self, service: str, tool: str, read_timeout: float) -> Client:
        url = self.urls.get(service)
        if not url:
            raise McpCallError(
                service, tool, "unavailable", f"no URL is configured for the {service} MCP service"
            )
        await _load_sdk()
        lock = self._locks.setdefault(service, asyncio.Lock())
        async with lock:
            session = self._sessions.get(service)
            if session is not None and session.alive:
                assert session.client is not None
                return session.client
            if session is not None:
                await session.close()
            session = _Session(url, read_timeout, self.token, self.refusals)
            self._sessions[service] = session
            try:
                return await session.open(self.connect_timeout)
            except Exception as exc:  # transport errors of the SDK's HTTP stack, refused connections
                del self._sessions[service]
                refused = self._refusal(service, tool, url)
                raise refused or McpCallError(
                    service, tool, "unavailable", f"cannot reach {url}: {exc}"
                ) from None

    def _refusal(self, service: str, tool: str, url: str) -> McpCallError | None:
        """A ``refused`` McpCallError when the server's last answer was 401/403."""
        why = self.refusals.pop(url)
        if why is None:
            return None
        message = f"{url} refused agent-core's ServiceAccount token ({why})"
        return McpCallError(service, tool, "refused", message)

    async def _drop(self, service: str) -> None:
        session = self._sessions.pop(service, None)
        if session is not None:
            await session.close()

    async def call(self, service: str, tool: str, args: dict[str, Any], timeout: float) -> ToolResult:
        """Call a tool; its value, or McpCallError (counted by reason)."""
        started = time.perf_counter()
        self.metrics.mcp_calls.labels(service, tool).inc()
        try:
            client = await self._session(service, tool, timeout)
            from mcp import MCPError  # loaded by the session (see the module docstring)

            try:
                result = await asyncio.wait_for(
                    client.call_tool(tool, args, read_timeout_seconds=timeout), timeout
                )
            except TimeoutError:
                raise McpCallError(service, tool, "timeout", f"no answer within {timeout:g} s") from None
            except MCPError as exc:
                refused = self._refusal(service, tool, self.urls[service])
                if refused is not None:
                    raise refused from None
                if "closed" in str(exc).lower() or "connect" in str(exc).lower():
                    await self._drop(service)
                    raise McpCallError(service, tool, "unavailable", f"the connection broke: {exc}") from None
                raise McpCallError(service, tool, "protocol", str(exc)) from None
            except Exception as exc:  # a transport error: the session is gone
                await self._drop(service)
                raise McpCallError(service, tool, "unavailable", f"{type(exc).__name__}: {exc}") from None
            value = result_value(result)
            if result.is_error:
                raise McpCallError(service, tool, "tool_error", value.text or "the tool reported an error")
            return value
        except McpCallError as exc:
            self.metrics.mcp_errors.labels(service, tool, exc.reason).inc()
            raise
        finally:
            self.metrics.mcp_duration.labels(service, tool).observe(time.perf_counter() - started)

    async def list_tools(self, service: str) -> list[dict[str, Any]]:
        client = await self._session(service, "tools/list", self.connect_timeout)
        try:
            listing = await client.list_tools()
        except Exception as exc:  # protocol or transport: report, reconnect next time
            await self._drop(service)
            raise McpCallError(service, "tools/list", "unavailable", str(exc)) from None
        return [t.model_dump(mode="json", exclude_none=True) for t in listing.tools]

    async def health(self, service: str, timeout: float = 2.0) -> dict[str, Any]:
        """The service's ``/health`` (next to its ``/mcp``)."""
        url = self.urls.get(service)
        if not url:
            return {"status": "unconfigured"}
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=timeout)
        try:
            response = await self._http.get(health_url(url))
        except httpx.HTTPError as exc:
            return {"status": "unreachable", "url": url, "error": f"{type(exc).__name__}: {exc}"}
        try:
            body = response.json()
        except ValueError:
            body = {}
        status = "ok" if response.status_code == 200 else "failing"
        return {
            "status": status,
            "url": url,
            "http_status": response.status_code,
            "read_only": body.get("read_only"),
        }

    async def close(self) -> None:
        for service in list(self._sessions):
            await self._drop(service)
        if self._http is not None:
            await self._http.aclose()
            self._http = None
