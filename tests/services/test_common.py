"""services.common in-process: the front door's body rules and where the keys come from.

The MCP servers' tests drive the same code over HTTP; these cover what is hard to reach
from outside (a key source that is down, which token goes to it).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.common.callers import AuthSettings, CallerAuth, UnauthenticatedError
from services.common.httpguard import HostPolicy, Message, Receive, RequestGuard, Scope, Send
from services.common.servicetoken import SERVICE_ACCOUNT_DIR


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    """An app that answers 200 with the body it got."""
    body = b""
    while True:
        message: Message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def guarded(jsonrpc: bool = False) -> httpx.AsyncClient:
    auth = CallerAuth(AuthSettings(mode="off"))
    app = RequestGuard(echo, auth, HostPolicy.for_service("svc", "ns"), jsonrpc_errors=jsonrpc)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1")


@pytest.mark.anyio
async def test_body_without_content_type_is_checked_as_json() -> None:
    """A body with no Content-Type (FastAPI reads it as JSON) cannot carry a key twice."""
    async with guarded() as client:
        response = await client.post("/x", content=b'{"user": "a", "user": "admin"}')
    assert response.status_code == 400 and "duplicate key 'user'" in response.text


@pytest.mark.anyio
async def test_refusal_carries_a_jsonrpc_error_for_jsonrpc_services() -> None:
    """For a JSON-RPC service a refusal is also a JSON-RPC error with the same message."""
    async with guarded(jsonrpc=True) as client:
        response = await client.post("/x", content=b"{}", headers={"Origin": "http://evil.example"})
    body = response.json()
    assert response.status_code == 403
    assert body["error"]["message"] == body["detail"] and body["id"] is None


class KeySource:
    """A stand-in for the runtime's discovery endpoints: records who asked, answers ``status``."""

    def __init__(self, status: int) -> None:
        self.authorizations: list[str | None] = []
        source = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                source.authorizations.append(self.headers.get("Authorization"))
                base = f"http://127.0.0.1:{source.server.server_address[1]}"
                doc = {"issuer": "https://issuer.example", "jwks_uri": f"{base}/openid/v1/jwks"}
                data = json.dumps(doc if status == 200 else {"message": "no"}).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def key_source_down() -> Iterator[KeySource]:
    source = KeySource(500)
    yield source
    source.server.shutdown()


@pytest.fixture
def key_source() -> Iterator[KeySource]:
    source = KeySource(200)
    yield source
    source.server.shutdown()


def test_key_source_down_is_a_401_that_names_no_url(key_source_down: KeySource) -> None:
    """With the runtime's discovery failing, a token gets a 401 that does not disclose where
    the keys live; a flood of tokens does not make the service ask again at once."""
    auth = CallerAuth(AuthSettings(callers="ns/sa=read", runtime_api=key_source_down.url))
    for _ in range(3):
        with pytest.raises(UnauthenticatedError) as refused:
            auth.authenticate("Bearer a.b.c")
        assert "127.0.0.1" not in refused.value.message
    assert len(key_source_down.authorizations) == 1


def test_discovery_gets_the_api_token_never_the_service_token(
    key_source: KeySource, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runtime's discovery is asked with the pod's automounted API token, not with its
    nexus-services token (which is for the other services only)."""
    mounted = tmp_path / "sa"
    mounted.mkdir()
    (mounted / "token").write_text("api-audience-token")
    (tmp_path / "service-token").write_text("nexus-services-token")
    monkeypatch.setenv("NEXUSKIT_MOUNTS", json.dumps({SERVICE_ACCOUNT_DIR: str(mounted)}))
    settings = AuthSettings(
        callers="ns/sa=read", runtime_api=key_source.url, token_file=str(tmp_path / "service-token")
    )
    verifier = CallerAuth(settings).verifier()
    assert verifier.issuer == "https://issuer.example"
    assert key_source.authorizations == ["Bearer api-audience-token"]


def test_health_checks_the_dependencies_once_for_many_anonymous_callers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Forty anonymous ``GET /health`` in a row make one check of the service's dependencies
    (an S3 call in aws-mcp), not forty; once the report is older than the cache, the next
    caller gets a fresh check."""
    import asyncio
    import time

    from services.mcp.common import app as mcp_app
    from services.mcp.custom_mcp.settings import CustomMcpSettings

    checks: list[float] = []

    async def health() -> dict[str, Any]:
        checks.append(time.monotonic())
        return {"status": "ok"}

    def no_server() -> Any:
        raise AssertionError("GET /health must not build the MCP server")

    monkeypatch.setattr(mcp_app, "HEALTH_CACHE_SECONDS", 0.5)
    app = mcp_app.build_http_app(no_server, CustomMcpSettings(), health, auth=AuthSettings(mode="off"))

    async def probe(times: int) -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return [(await client.get("/health")).status_code for _ in range(times)]

    assert asyncio.run(probe(40)) == [200] * 40
    assert len(checks) == 1
    time.sleep(0.6)
    assert asyncio.run(probe(3)) == [200] * 3
    assert len(checks) == 2
