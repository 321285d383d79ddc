"""nexus-ui over real HTTP: the app in uvicorn on a free port, a JWKS served by a test server."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import psutil
import pytest
import uvicorn
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from services.nexus_ui.app import create_app
from services.nexus_ui.settings import UiSettings
from tests.e2e.conftest import Stack, nexuskit, start_stack
from tests.helpers import free_port

ISSUER = "urn:nexus:test:auth"
AUDIENCE = "urn:nexus:test:client-streams"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Signer:
    """An RSA key whose public half the test JWKS server publishes."""

    key: rsa.RSAPrivateKey
    kid: str = "test-key-1"

    def jwk(self) -> dict[str, Any]:
        numbers = self.key.public_key().public_numbers()
        return {
            "kty": "RSA",
            "kid": self.kid,
            "alg": "RS256",
            "use": "sig",
            "n": _b64(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
            "e": _b64(numbers.e.to_bytes(3, "big")),
        }

    def token(self, **claims: Any) -> str:
        now = int(time.time())
        body = {"sub": "operator", "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 900, **claims}
        head = _b64(json.dumps({"alg": "RS256", "typ": "JWT", "kid": self.kid}).encode())
        payload = _b64(json.dumps(body).encode())
        sig = self.key.sign(f"{head}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{head}.{payload}.{_b64(sig)}"


def serve_app(settings: UiSettings) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    while not server.started:
        assert thread.is_alive(), "nexus-ui did not start"
        time.sleep(0.05)
    yield url
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer(rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture(scope="module")
def jwks_base(signer: Signer) -> Iterator[str]:
    """A real HTTP server publishing the signer's key at /.well-known/jwks.json."""
    document = json.dumps({"keys": [signer.jwk()]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path == "/.well-known/jwks.json"
            self.send_response(200 if found else 404)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(document if found else b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture(scope="module")
def ui(jwks_base: str) -> Iterator[str]:
    """nexus-ui with the test JWKS; agent-core and aws-mcp point at nothing."""
    settings = UiSettings(
        api_gateway_url=jwks_base,
        token_issuer=ISSUER,
        token_audience=AUDIENCE,
        agent_core_url="",
        aws_mcp_url="",
    )
    yield from serve_app(settings)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=20) as client:
        yield client


# -- a real stack (tests/ui/test_stack.py, test_browser.py) ---------------------------------
def put_telemetry(stack: Stack, device_id: str, lat: float, lon: float) -> None:
    """One telemetry event on the primary stream (agent-core turns it into a gold insight)."""
    event = {
        "id": f"ui-{uuid.uuid4().hex[:8]}",
        "type": "telemetry",
        "device_id": device_id,
        "ts": "2026-11-26T10:00:00.000Z",
        "lat": lat,
        "lon": lon,
        "readings": {"temperature_c": 22.0, "humidity_pct": 50.0, "pressure_hpa": 1012.0},
    }
    stack.client("kinesis").put_record(
        StreamName="nexus-dev-intake", Data=json.dumps(event).encode() + b"\n", PartitionKey=device_id
    )


@pytest.fixture(scope="session")
def ui_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack as ``nexuskit up --local`` starts it by default: IAM enforced on every call.

    nexus-ui runs as its own read-only role (ui_irsa) and reads the lake through aws-mcp
    (aws_mcp_irsa), so every view works with the roles' own policies.
    """
    running = start_stack(tmp_path_factory.mktemp("ui-stack"))
    yield running
    nexuskit("down", *running.args)


def ui_pod_environment(stack: Stack) -> dict[str, str]:
    """The environment the runtime gave the running nexus-ui pod (its IRSA credentials included)."""
    listed = stack.cli("ps", "--json")
    assert listed.returncode == 0, listed.stderr
    (pod,) = [p for p in json.loads(listed.stdout) if p["deployment"] == "nexus-ui" and p["ready"]]
    return dict(psutil.Process(pod["pid"]).environ())


@pytest.fixture(scope="session")
def ui_url(ui_stack: Stack) -> str:
    url = ui_stack.up_report["endpoints"]["ui"]
    assert url, ui_stack.up_report["endpoints"]
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=5).json().get("service") == "nexus-ui":
                return str(url)
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.3)
