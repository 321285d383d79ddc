"""The runtime's control API from the attacker's side (issue 22, finding 5).

A hostile local process or web page tries to scale a deployment to zero, restart it,
re-apply the manifests, read its logs and list pods: with no token, as a browser's
simple request, with a foreign Origin, through DNS rebinding, with forged, expired,
other-issuer or other-audience JWTs. Every attempt is refused and the deployment is
untouched; ServiceAccounts get what RBAC from the manifests gives them, nothing more.

The runtime under attack runs ``victim`` (which logs a secret line) in
``nexus-agent-core`` and k8s-mcp's real ServiceAccount, ClusterRole and binding (from
its template). Its manifests folder holds a pending change (``victim`` at 0 replicas)
that any successful ``apply`` would roll out, so "untouched" covers apply too.
"""

from __future__ import annotations

import base64
import http.client
import json
import stat
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from emulation.runtime.identity import TokenIssuer
from nexuskit.controlplane import render_manifests
from nexuskit.stack import load_stack
from tests.runtime.conftest import Lab, start_runtime, stop_runtime, wait_until

pytestmark = pytest.mark.e2e

SECRET_LINE = "the-victims-secret-log-line"
API_AUDIENCE = "https://kubernetes.default.svc"
RBAC_KINDS = {"ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"}

MANIFESTS = f"""\
apiVersion: v1
kind: Namespace
metadata: {{name: nexus-agent-core}}
---
apiVersion: v1
kind: Namespace
metadata: {{name: nexus-mcp}}
---
apiVersion: v1
kind: Namespace
metadata: {{name: nexus-data}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {{name: nexus-operator, namespace: nexus-agent-core}}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: victim
  namespace: nexus-agent-core
  annotations:
    nexuskit.dev/local-command: python -c "import time; print('{SECRET_LINE}', flush=True); time.sleep(10**6)"
spec:
  replicas: 1
  selector: {{matchLabels: {{app: victim}}}}
  template:
    metadata: {{labels: {{app: victim}}}}
    spec:
      containers: [{{name: victim, image: lab/victim:1}}]
---
# scaler may scale deployments, through a RoleBinding in nexus-mcp only.
apiVersion: v1
kind: ServiceAccount
metadata: {{name: scaler, namespace: nexus-mcp}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {{name: scaler}}
rules:
  - {{apiGroups: ["apps"], resources: ["deployments/scale"], verbs: ["get", "patch", "update"]}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: scaler, namespace: nexus-mcp}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: scaler}}
subjects: [{{kind: ServiceAccount, name: scaler}}]
"""


@dataclass
class Target:
    runtime: Lab
    port: int
    admin: str
    k8s_mcp: str  # a valid API token of nexus-mcp/k8s-mcp
    issuer: TokenIssuer  # the runtime's own issuer (to make leaked-looking tokens)
    before: dict[str, Any]


def _k8s_mcp_rbac(out: Path) -> str:
    """k8s-mcp's ServiceAccount and RBAC objects as its template renders them."""
    rendered = out / "rendered"
    render_manifests(load_stack(), rendered)
    (path,) = rendered.glob("**/k8s-mcp.yaml")
    docs = [
        d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict) and d["kind"] in RBAC_KINDS
    ]
    assert any(d["kind"] == "ServiceAccount" and d["metadata"]["name"] == "k8s-mcp" for d in docs)
    return yaml.safe_dump_all(docs, sort_keys=False)


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    root = tmp_path_factory.mktemp("runtime-api")
    folder = root / "manifests" / "attack" / "k8s"
    folder.mkdir(parents=True)
    (folder / "attack.yaml").write_text(MANIFESTS)
    (folder / "k8s-mcp.yaml").write_text(_k8s_mcp_rbac(root))
    (root / "state").mkdir()
    runtime = start_runtime(root / "state", root / "manifests")
    try:
        api = runtime.api
        wait_until(lambda: [p for p in api.pods("victim") if p["ready"]], 20, "the victim pod")
        wait_until(lambda: SECRET_LINE in _admin_logs(api.url, api.token), 20, "the victim's log line")
        # a pending change: any apply that gets through scales the victim to zero
        (folder / "attack.yaml").write_text(MANIFESTS.replace("replicas: 1", "replicas: 0"))
        issuer_url = api.get("/.well-known/openid-configuration")["issuer"]
        issuer = TokenIssuer(issuer_url, root / "state" / "runtime" / "sa-signing-key.pem")
        port = urllib.parse.urlsplit(api.url).port or 0
        k8s_mcp = api.token_for("nexus-mcp", "k8s-mcp", API_AUDIENCE)
        yield Target(runtime, port, api.token, k8s_mcp, issuer, _victim(api.url, api.token))
    finally:
        stop_runtime(runtime)


def _admin_logs(url: str, token: str) -> str:
    status, _, body = send(
        urllib.parse.urlsplit(url).port or 0,
        "GET",
        "/api/v1/namespaces/nexus-agent-core/deployments/victim/log",
        {"Authorization": f"Bearer {token}"},
    )
    return body.decode() if status == 200 else ""


def _victim(url: str, token: str) -> dict[str, Any]:
    port = urllib.parse.urlsplit(url).port or 0
    auth = {"Authorization": f"Bearer {token}"}
    _, _, raw = send(port, "GET", "/api/v1/namespaces/nexus-agent-core/deployments/victim", auth)
    deployment = json.loads(raw)
    _, _, raw = send(port, "GET", "/api/v1/pods?namespace=nexus-agent-core", auth)
    pods = sorted(p["name"] for p in json.loads(raw)["items"] if p["phase"] != "Terminating")
    return {"replicas": deployment["replicas"], "template": deployment["template_hash"], "pods": pods}


def send(
    port: int, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    """One raw HTTP request: the attacker chooses every header, ``Host`` included."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        headers = {"Host": f"127.0.0.1:{port}", **(headers or {})}
        if body or method == "POST":
            headers.setdefault("Content-Length", str(len(body)))
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders(body or None)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


#: the attacks: (method, path, JSON body)
ACTIONS = {
    "scale-to-zero": (
        "POST",
        "/api/v1/namespaces/nexus-agent-core/deployments/victim/scale",
        {"replicas": 0},
    ),
    "restart": ("POST", "/api/v1/namespaces/nexus-agent-core/deployments/victim/restart", {}),
    "apply": ("POST", "/api/v1/apply", {}),
    "read-logs": ("GET", "/api/v1/namespaces/nexus-agent-core/deployments/victim/log?tail=100", None),
    "list-pods": ("GET", "/api/v1/pods", None),
}


def attempt(
    target: Target, action: str, headers: dict[str, str], content_type: str = "application/json"
) -> tuple[int, bytes]:
    method, path, payload = ACTIONS[action]
    if payload is not None:
        headers = {"Content-Type": content_type, **headers}
    body = json.dumps(payload).encode() if payload is not None else b""
    status, _, answer = send(target.port, method, path, headers, body)
    return status, answer


def assert_refused(target: Target, status: int, answer: bytes, expected: int) -> None:
    """Refused with ``expected``, in the Status shape, disclosing nothing; the victim untouched."""
    assert status == expected, answer
    document = json.loads(answer)
    assert document["kind"] == "Status" and document["code"] == expected
    assert SECRET_LINE.encode() not in answer and b"victim-" not in answer
    assert _victim(f"http://127.0.0.1:{target.port}", target.admin) == target.before


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("action", ACTIONS)
def test_no_token_is_refused(target: Target, action: str) -> None:
    """Without a token every action is 401 Unauthorized."""
    status, answer = attempt(target, action, {})
    assert_refused(target, status, answer, 401)


@pytest.mark.parametrize("action", ["scale-to-zero", "restart", "apply"])
def test_simple_text_plain_post_is_refused(target: Target, action: str) -> None:
    """A form-like text/plain POST (what a page can send without a preflight) is 401."""
    status, answer = attempt(target, action, {}, content_type="text/plain")
    assert_refused(target, status, answer, 401)


def test_text_plain_body_is_never_parsed(target: Target) -> None:
    """Even with the admin token, a text/plain body is refused (415), not read as JSON."""
    status, answer = attempt(target, "scale-to-zero", _bearer(target.admin), content_type="text/plain")
    assert_refused(target, status, answer, 415)


@pytest.mark.parametrize("action", ACTIONS)
def test_foreign_origin_is_refused(target: Target, action: str) -> None:
    """A request from a web page (Origin header) is 403, whatever credentials it carries."""
    headers = {"Origin": "https://evil.example", **_bearer(target.admin)}
    status, answer = attempt(target, action, headers)
    assert_refused(target, status, answer, 403)


@pytest.mark.parametrize("action", ACTIONS)
def test_rebinding_host_is_refused(target: Target, action: str) -> None:
    """DNS rebinding (Host: a name the attacker controls) is 403, whatever credentials it carries."""
    headers = {"Host": f"rebind.evil.example:{target.port}", **_bearer(target.admin)}
    status, answer = attempt(target, action, headers)
    assert_refused(target, status, answer, 403)


def test_loopback_host_names_are_accepted(target: Target) -> None:
    """localhost and [::1] (with or without a port) are the API's own names."""
    for host in ("localhost", f"localhost:{target.port}", "[::1]", f"[::1]:{target.port}", "127.0.0.1"):
        status, _, _ = send(target.port, "GET", "/api/v1/namespaces", {"Host": host, **_bearer(target.admin)})
        assert status == 200, host


def test_cors_preflight_gets_no_cors_headers(target: Target) -> None:
    """A CORS preflight is refused and no answer ever carries Access-Control-* headers."""
    headers = {
        "Origin": "https://evil.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    status, answer_headers, _ = send(target.port, "OPTIONS", ACTIONS["scale-to-zero"][1], headers)
    assert status == 403
    assert not [h for h in answer_headers if h.startswith("access-control-")]
    _, answer_headers, _ = send(target.port, "GET", "/api/v1/pods", _bearer(target.admin))
    assert not [h for h in answer_headers if h.startswith("access-control-")]


def _segment(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _forged(target: Target) -> str:
    """k8s-mcp's token with its claims changed to another account, the signature kept."""
    head, payload, signature = target.k8s_mcp.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "system:serviceaccount:nexus-agent-core:nexus-operator"
    claims["kubernetes.io"]["serviceaccount"]["name"] = "nexus-operator"
    claims["kubernetes.io"]["namespace"] = "nexus-agent-core"
    return f"{head}.{_segment(claims)}.{signature}"


def _unsigned(target: Target) -> str:
    """k8s-mcp's claims with ``alg: none`` and no signature."""
    payload = target.k8s_mcp.split(".")[1]
    return f"{_segment({'alg': 'none', 'typ': 'JWT'})}.{payload}."


def _other_issuer(target: Target, tmp_path: Path) -> str:
    """Same issuer URL and claims, signed with a key the runtime never had."""
    stranger = TokenIssuer(target.issuer.issuer, tmp_path / "stranger.pem")
    return stranger.token("nexus-mcp", "k8s-mcp", audience=API_AUDIENCE, seconds=600)[0]


BAD_TOKENS: dict[str, Callable[[Target, Path], str]] = {
    "forged-claims": lambda t, _: _forged(t),
    "alg-none": lambda t, _: _unsigned(t),
    "other-issuer": _other_issuer,
    "expired": lambda t, _: t.issuer.token("nexus-mcp", "k8s-mcp", audience=API_AUDIENCE, seconds=-60)[0],
    "wrong-audience": lambda t, _: t.issuer.token("nexus-mcp", "k8s-mcp", audience="nexus-services")[0],
    "irsa": lambda t, _: t.issuer.token("nexus-mcp", "k8s-mcp", "k8s-mcp-x", "uid", "sts.amazonaws.com")[0],
    "admin-token-prefix": lambda t, _: t.admin[:-1],
    "not-bearer": lambda t, _: "",
}


@pytest.mark.parametrize("kind", BAD_TOKENS)
@pytest.mark.parametrize("action", ACTIONS)
def test_bad_bearer_token_is_refused(target: Target, action: str, kind: str, tmp_path: Path) -> None:
    """A token the runtime did not issue for its API, or no longer accepts, is 401."""
    token = BAD_TOKENS[kind](target, tmp_path)
    headers = {"Authorization": f"Basic {target.admin}"} if kind == "not-bearer" else _bearer(token)
    status, answer = attempt(target, action, headers)
    assert_refused(target, status, answer, 401)


def test_runtime_files_are_private(target: Target) -> None:
    """api.json, the admin token and the signing key are 0600 in a 0700 runtime folder."""
    runtime_dir = target.runtime.state_dir / "runtime"
    assert stat.S_IMODE(runtime_dir.stat().st_mode) == 0o700
    for name in ("api.json", "admin-token", "sa-signing-key.pem"):
        assert stat.S_IMODE((runtime_dir / name).stat().st_mode) == 0o600, name


def test_health_without_a_token_says_only_ok(target: Target) -> None:
    """Unauthenticated /health answers {"status": "ok"} and nothing else (no pid, no paths)."""
    status, _, body = send(target.port, "GET", "/health")
    assert status == 200 and json.loads(body) == {"status": "ok"}


def test_k8s_mcp_account_lists_pods(target: Target) -> None:
    """k8s-mcp's token lists pods, as its ClusterRole allows."""
    status, _, body = send(
        target.port, "GET", "/api/v1/pods?namespace=nexus-agent-core", _bearer(target.k8s_mcp)
    )
    assert status == 200 and [p["deployment"] for p in json.loads(body)["items"]] == ["victim"]


def test_k8s_mcp_account_cannot_apply(target: Target) -> None:
    """apply is the runtime admin's alone: k8s-mcp's token gets 403."""
    status, answer = attempt(target, "apply", _bearer(target.k8s_mcp))
    assert_refused(target, status, answer, 403)
    assert "system:serviceaccount:nexus-mcp:k8s-mcp" in json.loads(answer)["message"]


def test_k8s_mcp_account_cannot_request_tokens(target: Target) -> None:
    """k8s-mcp may not mint tokens for another account (no create serviceaccounts/token)."""
    body = json.dumps({"spec": {"audiences": ["nexus-services"]}}).encode()
    path = "/api/v1/namespaces/nexus-agent-core/serviceaccounts/nexus-operator/token"
    headers = {"Content-Type": "application/json", **_bearer(target.k8s_mcp)}
    status, _, answer = send(target.port, "POST", path, headers, body)
    assert_refused(target, status, answer, 403)
    assert json.loads(answer)["message"] == (
        'serviceaccounts "nexus-operator" is forbidden: User "system:serviceaccount:nexus-mcp:k8s-mcp" '
        'cannot create resource "serviceaccounts/token" in API group "" in the namespace "nexus-agent-core"'
    )


def test_token_request_without_credentials_is_refused(target: Target) -> None:
    """Nobody gets a token for the operator without credentials."""
    body = json.dumps({"spec": {"audiences": ["nexus-services"]}}).encode()
    path = "/api/v1/namespaces/nexus-agent-core/serviceaccounts/nexus-operator/token"
    status, _, answer = send(target.port, "POST", path, {"Content-Type": "application/json"}, body)
    assert_refused(target, status, answer, 401)
    assert b"eyJ" not in answer


def test_role_binding_does_not_reach_other_namespaces(target: Target) -> None:
    """A ClusterRole granted by a RoleBinding in nexus-mcp does not let its account scale elsewhere."""
    token = target.runtime.api.token_for("nexus-mcp", "scaler", API_AUDIENCE)
    status, answer = attempt(target, "scale-to-zero", _bearer(token))
    assert_refused(target, status, answer, 403)
    assert json.loads(answer)["message"] == (
        'deployments.apps "victim" is forbidden: User "system:serviceaccount:nexus-mcp:scaler" '
        'cannot patch resource "deployments/scale" in API group "apps" in the namespace "nexus-agent-core"'
    )
