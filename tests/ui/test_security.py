"""nexus-ui's guard and headers over real HTTP, with tokens signed by a key served as JWKS."""

from __future__ import annotations

import json
import re
import threading
import time
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from services.nexus_ui.app import CSP
from services.nexus_ui.settings import UiSettings
from tests.helpers import free_port
from tests.ui.conftest import AUDIENCE, ISSUER, Signer, serve_app

STATIC = Path(__file__).resolve().parents[2] / "services" / "nexus_ui" / "static"


def test_api_refuses_a_missing_token(ui: str, http: httpx.Client) -> None:
    """No Authorization header: 401 with a Bearer challenge."""
    answer = http.get(f"{ui}/api/health")
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")


def test_api_refuses_a_tampered_token(ui: str, http: httpx.Client, signer: Signer) -> None:
    """A token whose payload was edited after signing does not verify."""
    head, _payload, sig = signer.token().split(".")
    forged_payload = signer.token(sub="admin").split(".")[1]
    answer = http.get(f"{ui}/api/health", headers={"authorization": f"Bearer {head}.{forged_payload}.{sig}"})
    assert answer.status_code == 401 and "signature" in answer.json()["detail"]


def test_api_refuses_an_expired_token(ui: str, http: httpx.Client, signer: Signer) -> None:
    """A correctly signed token past its exp (beyond the leeway) is refused."""
    past = int(time.time()) - 3600
    token = signer.token(iat=past - 900, exp=past)
    answer = http.get(f"{ui}/api/health", headers={"authorization": f"Bearer {token}"})
    assert answer.status_code == 401 and "expired" in answer.json()["detail"]


def test_api_refuses_another_audience(ui: str, http: httpx.Client, signer: Signer) -> None:
    """A token for another audience is refused."""
    answer = http.get(
        f"{ui}/api/health", headers={"authorization": f"Bearer {signer.token(aud='urn:other')}"}
    )
    assert answer.status_code == 401 and "audience" in answer.json()["detail"]


def test_api_refuses_a_token_in_a_cookie(ui: str, http: httpx.Client, signer: Signer) -> None:
    """Only the Authorization header counts: a cookie carrying a valid token is not a session."""
    answer = http.get(f"{ui}/api/health", headers={"cookie": f"authorization=Bearer {signer.token()}"})
    assert answer.status_code == 401


def test_api_accepts_a_valid_token(ui: str, http: httpx.Client, signer: Signer) -> None:
    """A valid token gets the health view's data (nexus-ui itself ok, the JWKS reachable)."""
    answer = http.get(f"{ui}/api/health", headers={"authorization": f"Bearer {signer.token()}"})
    assert answer.status_code == 200, answer.text
    services = {s["service"]: s for s in answer.json()["services"]}
    assert services["nexus-ui"]["ok"] and services["auth (JWKS)"]["ok"]


def test_health_needs_no_token(ui: str, http: httpx.Client) -> None:
    """The probe path /health answers without a token."""
    assert http.get(f"{ui}/health").json() == {"status": "ok", "service": "nexus-ui"}


class _Scripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.inline: list[str] = []
        self.handlers: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handlers += [name for name, _ in attrs if name.startswith("on")]
        if tag == "script":
            self.scripts.append(dict(attrs))
            self._in_script = True

    def handle_endtag(self, tag: str) -> None:
        self._in_script = self._in_script and tag != "script"

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(data)


def test_page_has_csp_and_no_inline_script(ui: str, http: httpx.Client) -> None:
    """The page is served with script-src 'self' and holds no inline script or handler."""
    answer = http.get(f"{ui}/")
    csp = answer.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    parser = _Scripts()
    parser.feed(answer.text)
    assert parser.scripts and all((s.get("src") or "").startswith("/static/") for s in parser.scripts)
    assert parser.inline == [] and parser.handlers == []


def test_page_and_assets_hold_no_secrets_nor_remote_urls(ui: str, http: httpx.Client) -> None:
    """No http(s) URL (no CDN) and no credential-looking value in any served asset."""
    for path in ["/", *[f"/static/{p.name}" for p in STATIC.iterdir()], "/config.json"]:
        body = http.get(f"{ui}{path}").text
        assert not re.search(r"https?://(?!127\.0\.0\.1)", body) or path == "/config.json", path
        assert not re.search(r"AKIA|SecretAccessKey|SessionToken|localStorage|sessionStorage", body), path


def test_world_outline_is_small(ui: str, http: httpx.Client) -> None:
    """The offline base map ships with the app and stays under 100 KB."""
    answer = http.get(f"{ui}/static/world.json")
    assert answer.status_code == 200 and len(answer.content) < 100_000
    assert len(answer.json()["features"]) >= 6


def _api_routes() -> list[tuple[str, str]]:
    """Every (method, path) under /api/ in the app's OpenAPI document."""
    from services.nexus_ui.app import create_app
    from services.nexus_ui.settings import UiSettings

    paths = create_app(UiSettings()).openapi()["paths"]
    return sorted(
        (method.upper(), path.replace("{run_id}", "run-1"))
        for path, operations in paths.items()
        if path.startswith("/api/")
        for method in operations
    )


@pytest.mark.parametrize(("method", "path"), _api_routes())
def test_every_api_route_refuses_a_forged_token(ui: str, http: httpx.Client, method: str, path: str) -> None:
    """Each /api route the page uses answers 401 to no token and to a token signed by another key."""
    forger = Signer(rsa.generate_private_key(public_exponent=65537, key_size=2048))  # same kid, wrong key
    body = {"workflow": "lake-inventory"} if method == "POST" else None
    for headers in ({}, {"authorization": f"Bearer {forger.token()}"}):
        answer = http.request(method, f"{ui}{path}", json=body, headers=headers)
        assert answer.status_code == 401, (method, path, answer.text)


# -- the front door: Host, Origin, bodies ------------------------------------------------------
def test_a_rebinding_host_is_refused(ui: str, http: httpx.Client, signer: Signer) -> None:
    """A page whose own name resolves to 127.0.0.1 (DNS rebinding) gets 403, even with a valid token."""
    port = ui.rsplit(":", 1)[1]
    for path in ("/", "/config.json", "/api/health"):
        answer = http.get(
            f"{ui}{path}",
            headers={"host": f"rebind.attacker.test:{port}", "authorization": f"Bearer {signer.token()}"},
        )
        assert answer.status_code == 403, path
        assert "is not a name of this service" in answer.json()["detail"]
        assert answer.headers["content-security-policy"] == CSP  # the refusal is a page too


def test_a_foreign_origin_is_refused(ui: str, http: httpx.Client, signer: Signer) -> None:
    """Another site's script or form (Origin: theirs, or null) gets 403 on the API and the sign-in relay."""
    token = {"authorization": f"Bearer {signer.token()}"}
    for origin in ("https://evil.example", "null"):
        launch = http.post(
            f"{ui}/api/workflows/runs",
            json={"workflow": "lake-inventory"},
            headers={"origin": origin, **token},
        )
        assert launch.status_code == 403 and "cross-origin" in launch.json()["detail"], origin
        sign_in = http.post(f"{ui}/auth", json={"user": "victim"}, headers={"origin": origin})
        assert sign_in.status_code == 403, origin


def test_a_cors_preflight_gets_no_cors_headers(ui: str, http: httpx.Client) -> None:
    """OPTIONS from another origin is refused and allows nothing."""
    answer = http.options(
        f"{ui}/api/workflows/runs",
        headers={"origin": "https://evil.example", "access-control-request-method": "POST"},
    )
    assert answer.status_code == 403
    assert not [h for h in answer.headers if h.lower().startswith("access-control-")]


def test_its_own_origin_is_accepted(ui: str, http: httpx.Client, signer: Signer) -> None:
    """The page's own requests (Origin = the UI's origin) go through, and so does the page itself."""
    answer = http.get(f"{ui}/api/health", headers={"origin": ui, "authorization": f"Bearer {signer.token()}"})
    assert answer.status_code == 200, answer.text
    assert http.get(f"{ui}/", headers={"origin": ui}).status_code == 200
    assert http.get(f"{ui}/static/app.js").status_code == 200


def test_duplicate_json_keys_are_refused(ui: str, http: httpx.Client) -> None:
    """A sign-in body naming the user twice is 400 (the relay would forward one and check the other)."""
    answer = http.post(
        f"{ui}/auth",
        content=b'{"user": "alice", "user": "admin"}',
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 400 and "duplicate key 'user'" in answer.json()["detail"]


class _Upstream:
    """One HTTP server standing in for the HTTP API (POST /auth, its JWKS) and agent-core."""

    def __init__(self, signer: Signer) -> None:
        self.seen: list[tuple[str, str, str | None]] = []  # method, path, Authorization
        jwks = json.dumps({"keys": [signer.jwk()]}).encode()
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, body: bytes) -> None:
                upstream.seen.append((self.command, self.path, self.headers.get("authorization")))
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self._answer(jwks if self.path == "/.well-known/jwks.json" else b'{"workflows": []}')

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                self._answer(b'{"token": "operator-jwt", "expires_at": "2030-01-01T00:00:00Z"}')

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_nexus_ui_sends_its_own_token_to_agent_core_only(
    tmp_path: Path, http: httpx.Client, signer: Signer
) -> None:
    """Calls to agent-core carry nexus-ui's ServiceAccount token (from its projected file);
    the sign-in relay and the JWKS fetch to the HTTP API carry none."""
    upstream = _Upstream(signer)
    token_file = tmp_path / "token"
    token_file.write_text("nexus-ui-service-account-token\n")
    settings = UiSettings(
        api_gateway_url=upstream.url,
        agent_core_url=upstream.url,
        token_issuer=ISSUER,
        token_audience=AUDIENCE,
        service_token_file=str(token_file),
    )
    try:
        for ui in serve_app(settings):
            assert http.post(f"{ui}/auth", json={"user": "alice"}).status_code == 200
            answer = http.get(f"{ui}/api/workflows", headers={"authorization": f"Bearer {signer.token()}"})
            assert answer.status_code == 200, answer.text
    finally:
        upstream.close()
    assert ("GET", "/workflows", "Bearer nexus-ui-service-account-token") in upstream.seen
    assert ("POST", "/auth", None) in upstream.seen
    assert ("GET", "/.well-known/jwks.json", None) in upstream.seen
