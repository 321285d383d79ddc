"""nexus-ui's guard and headers over real HTTP, with tokens signed by a key served as JWKS."""

from __future__ import annotations

import re
import time
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.ui.conftest import Signer

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
    assert parser.scripts and all(s.get("src", "").startswith("/static/") for s in parser.scripts)
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
