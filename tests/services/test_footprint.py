"""What an idle pod holds: heavy libraries are imported by the requests that need them.

Each check runs in a fresh interpreter (this one has imported everything already): the
services' modules import neither the MCP SDK, the Kubernetes client, boto3, PyJWT nor
httpx's command-line client (rich); an MCP service answers ``GET /health`` without the
SDK and loads it with the first authenticated MCP request.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.services.support import auth_env, auth_headers

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("mcp", "kubernetes", "boto3", "jwt", "cryptography", "rich", "httpx2")


def _run(script: str, env: dict[str, str] | None = None) -> object:
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_service_modules_import_no_heavy_library() -> None:
    script = f"""
import json, sys
import services.mcp.aws_mcp.__main__, services.mcp.custom_mcp.__main__
import services.mcp.database_mcp.__main__, services.mcp.k8s_mcp.__main__
import services.agent_core.__main__, services.agent_core.app, services.agent_core.state
import services.nexus_ui.__main__, services.nexus_ui.app
print(json.dumps([name for name in {HEAVY!r} if name in sys.modules]))
"""
    assert _run(script) == []


def test_mcp_health_without_the_sdk_which_the_first_mcp_request_loads(tmp_path: Path) -> None:
    headers = {
        **auth_headers(),
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
    }
    script = f"""
import json, sys
from starlette.testclient import TestClient
from services.mcp.custom_mcp.server import create_app
from services.mcp.custom_mcp.settings import CustomMcpSettings

out = {{}}
with TestClient(create_app(CustomMcpSettings()), base_url="http://127.0.0.1") as client:
    health = client.get("/health")
    out["health"] = [health.status_code, health.json()["status"], "mcp" in sys.modules]
    answer = client.post("/mcp", headers={headers!r}, content=json.dumps(
        {{"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {{}}}}
    ))
    out["mcp"] = [answer.status_code, "mcp" in sys.modules]
    again = client.get("/health")
    out["again"] = again.status_code
print(json.dumps(out))
"""
    out = _run(script, auth_env())
    assert isinstance(out, dict)
    assert out["health"] == [200, "ok", False]
    status, loaded = out["mcp"]
    assert loaded and status < 500, out
    assert out["again"] == 200
