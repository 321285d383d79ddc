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


def test_fastapi_apps_are_built_without_pydantic_v1() -> None:
    """``services`` marks ``pydantic.v1`` absent: FastAPI's check for version-1 models then
    takes its own ImportError branch instead of importing pydantic's v1 copy."""
    script = """
import json, sys
from services.agent_core.app import create_app
from services.agent_core.settings import AgentSettings
from services.nexus_ui.app import create_app as create_ui
from services.nexus_ui.settings import UiSettings
create_app(AgentSettings(consumer_enabled=False))
create_ui(UiSettings())
print(json.dumps(sorted(name for name, module in sys.modules.items()
                        if name.startswith("pydantic.v1") and module is not None)))
"""
    assert _run(script) == []


def test_shared_botocore_session_holds_lean_data() -> None:
    """The shared session's clients resolve as botocore's own session does, with endpoint
    data parsed per service on use and service models without their documentation."""
    script = """
import json
import botocore.session
from services.common import awssession
env = dict(region_name="us-west-2", aws_access_key_id="a", aws_secret_access_key="b")
plain, lean = botocore.session.Session(), awssession._new_session()
same = []
for service in ("s3", "sts", "dynamodb", "kinesis", "iam", "sns", "glue"):
    for region in ("us-west-2", "eu-west-1", "cn-north-1", "us-gov-west-1", "aws-global"):
        a = plain.create_client(service, **{**env, "region_name": region})
        b = lean.create_client(service, **{**env, "region_name": region})
        same.append((a.meta.endpoint_url, a.meta.region_name) == (b.meta.endpoint_url, b.meta.region_name))
    same.append(plain.get_available_regions(service) == lean.get_available_regions(service))
s3 = lean.create_client("s3", endpoint_url="http://127.0.0.1:1", **env)
model = s3.meta.service_model
loader = lean.get_component("data_loader")
partition = loader.load_data("endpoints")["partitions"][0]
print(json.dumps({
    "same": all(same),
    "lazy": type(partition["services"]).__name__,
    "has_s3": "s3" in partition["services"] and bool(partition["services"]["s3"]["endpoints"]),
    "op_doc": model.operation_model("PutObject").documentation,
    "shape_doc": model.shape_for("PutObjectRequest").documentation,
    "context_params": len(model.client_context_parameters) > 0,
}))
"""
    assert _run(script) == {
        "same": True,
        "lazy": "LazyServices",
        "has_s3": True,
        "op_doc": "",
        "shape_doc": "",
        "context_params": True,
    }
