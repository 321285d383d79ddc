"""The runtime's Kubernetes API and internal channel from the attacker's side (issue 22, finding 5; issue 18).

A hostile local process or web page tries to scale a deployment to zero, restart it,
apply a changed one, delete its pod, read its logs, list pods and mint tokens: with no
token, as a browser's simple request, with a foreign Origin, through DNS rebinding, with
forged, expired, other-issuer or other-audience JWTs, over plain HTTP, and through the
old control API's routes on the internal channel. Every attempt is refused and the
deployment is untouched; ServiceAccounts get what RBAC from the manifests gives them,
nothing more.

The runtime under attack runs ``victim`` (which logs a secret line) in
``nexus-agent-core`` and k8s-mcp's real ServiceAccount, ClusterRole and binding (from
its template).
"""

from __future__ import annotations

import base64
import http.client
import json
import ssl
import stat
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from emulation.runtime.identity import TokenIssuer
from nexuskit.controlplane.render import render_manifests
from nexuskit.params import load_stack
from tests.runtime.conftest import Lab, start_runtime, stop_runtime, wait_until

pytestmark = pytest.mark.e2e

SECRET_LINE = "the-victims-secret-log-line"
API_AUDIENCE = "https://kubernetes.default.svc"
RBAC_KINDS = {"ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"}
DEPLOY = "/apis/apps/v1/namespaces/nexus-agent-core/deployments/victim"

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
    port: int  # the Kubernetes API (HTTPS)
    internal: int  # the internal channel (HTTP)
    admin: str
    k8s_mcp: str  # a valid API token of nexus-mcp/k8s-mcp
    issuer: TokenIssuer  # the runtime's own issuer (to make leaked-looking tokens)
    context: ssl.SSLContext
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


def send(
    target: Target | tuple[int, ssl.SSLContext | None],
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> tuple[int, dict[str, str], bytes]:
    """One raw request: the attacker chooses every header, ``Host`` included."""
    port, context = (target.port, target.context) if isinstance(target, Target) else target
    conn: http.client.HTTPConnection
    if context is None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    else:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=context)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        headers = {"Host": f"127.0.0.1:{port}", **(headers or {})}
        if body or method in {"POST", "PATCH", "PUT"}:
            headers.setdefault("Content-Length", str(len(body)))
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders(body or None)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def _victim(target: Target | tuple[int, ssl.SSLContext], admin: str) -> dict[str, Any]:
    auth = {"Authorization": f"Bearer {admin}"}
    _, _, raw = send(target, "GET", DEPLOY, auth)
    deployment = json.loads(raw)
    _, _, raw = send(target, "GET", "/api/v1/namespaces/nexus-agent-core/pods", auth)
    pods = sorted(
        p["metadata"]["name"] for p in json.loads(raw)["items"] if not p["metadata"].get("deletionTimestamp")
    )
    return {
        "replicas": deployment["spec"]["replicas"],
        "generation": deployment["metadata"]["generation"],
        "template": deployment["spec"]["template"],
        "pods": pods,
    }


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
        context = ssl.create_default_context(cafile=api.ca_file)
        port = urllib.parse.urlsplit(api.kube_url).port or 0
        wait_until(lambda: SECRET_LINE in _logs((port, context), api.token), 20, "the victim's log line")
        issuer_url = json.loads(send((port, context), "GET", "/.well-known/openid-configuration")[2])[
            "issuer"
        ]
        issuer = TokenIssuer(issuer_url, root / "state" / "runtime" / "sa-signing-key.pem")
        internal = urllib.parse.urlsplit(api.url).port or 0
        k8s_mcp = api.token_for("nexus-mcp", "k8s-mcp", API_AUDIENCE)
        yield Target(
            runtime, port, internal, api.token, k8s_mcp, issuer, context, _victim((port, context), api.token)
        )
    finally:
        stop_runtime(runtime)


def _logs(target: Target | tuple[int, ssl.SSLContext], token: str) -> str:
    _, _, raw = send(
        target, "GET", "/api/v1/namespaces/nexus-agent-core/pods", {"Authorization": f"Bearer {token}"}
    )
    text = ""
    for pod in json.loads(raw).get("items", []):
        path = f"/api/v1/namespaces/nexus-agent-core/pods/{pod['metadata']['name']}/log"
        status, _, body = send(target, "GET", path, {"Authorization": f"Bearer {token}"})
        text += body.decode() if status == 200 else ""
    return text


RESTART = {"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "now"}}}}}
APPLY = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "victim"},
    "spec": {"replicas": 0},
}
#: the attacks: (method, path, content type, JSON body)
ACTIONS: dict[str, tuple[str, str, str, Any]] = {
    "scale-to-zero": ("PATCH", DEPLOY + "/scale", "application/merge-patch+json", {"spec": {"replicas": 0}}),
    "restart": ("PATCH", DEPLOY, "application/strategic-merge-patch+json", RESTART),
    "apply": ("PATCH", DEPLOY + "?fieldManager=evil", "application/apply-patch+yaml", APPLY),
    "replace": ("PUT", DEPLOY, "application/json", APPLY),
    "delete-deployment": ("DELETE", DEPLOY, "", None),
    "read-logs": ("GET", "/api/v1/namespaces/nexus-agent-core/pods?labelSelector=app%3Dvictim", "", None),
    "list-pods": ("GET", "/api/v1/pods", "", None),
    "token": (
        "POST",
        "/api/v1/namespaces/nexus-agent-core/serviceaccounts/nexus-operator/token",
        "application/json",
        {"spec": {"audiences": ["nexus-services"]}},
    ),
}


def attempt(
    target: Target, action: str, headers: dict[str, str], content_type: str | None = None
) -> tuple[int, bytes]:
    method, path, media, payload = ACTIONS[action]
    if payload is not None:
        headers = {"Content-Type": content_type or media, **headers}
    body = json.dumps(payload).encode() if payload is not None else b""
    status, _, answer = send(target, method, path, headers, body)
    return status, answer


def assert_refused(target: Target, status: int, answer: bytes, expected: int) -> None:
    """Refused with ``expected``, in the Status shape, disclosing nothing; the victim untouched."""
    assert status == expected, answer
    document = json.loads(answer)
    assert document["kind"] == "Status" and document["code"] == expected
    assert SECRET_LINE.encode() not in answer and b"victim-" not in answer and b"eyJ" not in answer
    assert _victim(target, target.admin) == target.before


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("action", ACTIONS)
def test_no_token_is_refused(target: Target, action: str) -> None:
    """Without a token every action is 401 Unauthorized."""
    status, answer = attempt(target, action, {})
    assert_refused(target, status, answer, 401)


@pytest.mark.parametrize("action", ["scale-to-zero", "restart", "apply", "token"])
def test_simple_text_plain_request_is_refused(target: Target, action: str) -> None:
    """A form-like text/plain body (what a page can send without a preflight) is 401."""
    status, answer = attempt(target, action, {}, content_type="text/plain")
    assert_refused(target, status, answer, 401)


def test_text_plain_body_is_never_parsed(target: Target) -> None:
    """Even with the admin token, a text/plain patch is refused (415), not read as JSON."""
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
        status, _, _ = send(target, "GET", "/api/v1/namespaces", {"Host": host, **_bearer(target.admin)})
        assert status == 200, host


def test_cors_preflight_gets_no_cors_headers(target: Target) -> None:
    """A CORS preflight is refused and no answer ever carries Access-Control-* headers."""
    headers = {
        "Origin": "https://evil.example",
        "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    status, answer_headers, _ = send(target, "OPTIONS", DEPLOY + "/scale", headers)
    assert status == 403
    assert not [h for h in answer_headers if h.startswith("access-control-")]
    _, answer_headers, _ = send(target, "GET", "/api/v1/pods", _bearer(target.admin))
    assert not [h for h in answer_headers if h.startswith("access-control-")]


def test_plain_http_gets_no_answer(target: Target) -> None:
    """The Kubernetes API speaks TLS only: a plain HTTP request with the admin token gets nothing."""
    with pytest.raises((http.client.HTTPException, ConnectionError, OSError)):
        send((target.port, None), "GET", "/api/v1/pods", _bearer(target.admin))
    assert _victim(target, target.admin) == target.before


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
@pytest.mark.parametrize("action", ["scale-to-zero", "apply", "read-logs", "token"])
def test_bad_bearer_token_is_refused(target: Target, action: str, kind: str, tmp_path: Path) -> None:
    """A token the runtime did not issue for its API, or no longer accepts, is 401."""
    token = BAD_TOKENS[kind](target, tmp_path)
    headers = {"Authorization": f"Basic {target.admin}"} if kind == "not-bearer" else _bearer(token)
    status, answer = attempt(target, action, headers)
    assert_refused(target, status, answer, 401)


def test_runtime_files_are_private(target: Target) -> None:
    """api.json, the admin token, the keys and the signing key are 0600 in a 0700 runtime folder."""
    runtime_dir = target.runtime.state_dir / "runtime"
    assert stat.S_IMODE(runtime_dir.stat().st_mode) == 0o700
    for name in ("api.json", "admin-token", "sa-signing-key.pem", "ca.key", "apiserver.key"):
        assert stat.S_IMODE((runtime_dir / name).stat().st_mode) == 0o600, name


def test_health_without_a_token_says_only_ok(target: Target) -> None:
    """Unauthenticated /healthz answers ok, the internal /health {"status": "ok"}: nothing else."""
    status, _, body = send(target, "GET", "/healthz")
    assert status == 200 and body == b"ok"
    status, _, body = send((target.internal, None), "GET", "/health")
    assert status == 200 and json.loads(body) == {"status": "ok"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/namespaces/nexus-agent-core/deployments/victim/scale"),
        ("POST", "/api/v1/namespaces/nexus-agent-core/deployments/victim/restart"),
        ("POST", "/api/v1/apply"),
        ("GET", "/api/v1/namespaces/nexus-agent-core/deployments/victim/log"),
        ("GET", "/api/v1/pods"),
        ("POST", "/api/v1/namespaces/nexus-agent-core/serviceaccounts/nexus-operator/token"),
    ],
)
def test_internal_channel_serves_none_of_the_old_control_api(target: Target, method: str, path: str) -> None:
    """The internal channel answers 401 without a token and 404 even to the admin: it is not an API."""
    body = b"{}" if method == "POST" else b""
    headers = {"Content-Type": "application/json"} if body else {}
    status, _, answer = send((target.internal, None), method, path, headers, body)
    assert_refused(target, status, answer, 401)
    status, _, answer = send(
        (target.internal, None), method, path, {**headers, **_bearer(target.admin)}, body
    )
    assert_refused(target, status, answer, 404)


def test_k8s_mcp_account_lists_pods(target: Target) -> None:
    """k8s-mcp's token lists pods, as its ClusterRole allows."""
    status, _, body = send(target, "GET", "/api/v1/namespaces/nexus-agent-core/pods", _bearer(target.k8s_mcp))
    assert status == 200
    assert [p["metadata"]["labels"]["app"] for p in json.loads(body)["items"]] == ["victim"]


@pytest.mark.parametrize("action", ["replace", "delete-deployment"])
def test_k8s_mcp_account_cannot_replace_or_delete_deployments(target: Target, action: str) -> None:
    """k8s-mcp's ClusterRole has patch on deployments (restart, scale), not update or delete: 403."""
    status, answer = attempt(target, action, _bearer(target.k8s_mcp))
    assert_refused(target, status, answer, 403)
    assert "system:serviceaccount:nexus-mcp:k8s-mcp" in json.loads(answer)["message"]


def test_k8s_mcp_account_cannot_request_tokens(target: Target) -> None:
    """k8s-mcp may not mint tokens for another account (no create serviceaccounts/token)."""
    status, answer = attempt(target, "token", _bearer(target.k8s_mcp))
    assert_refused(target, status, answer, 403)
    assert json.loads(answer)["message"] == (
        'serviceaccounts "nexus-operator" is forbidden: User "system:serviceaccount:nexus-mcp:k8s-mcp" '
        'cannot create resource "serviceaccounts/token" in API group "" in the namespace "nexus-agent-core"'
    )


def test_k8s_mcp_account_cannot_impersonate(target: Target) -> None:
    """kubectl --as: k8s-mcp may not act as the operator (no impersonate permission)."""
    headers = {
        **_bearer(target.k8s_mcp),
        "Impersonate-User": "system:serviceaccount:nexus-agent-core:nexus-operator",
    }
    status, answer = attempt(target, "token", headers)
    assert_refused(target, status, answer, 403)


def test_role_binding_does_not_reach_other_namespaces(target: Target) -> None:
    """A ClusterRole granted by a RoleBinding in nexus-mcp does not let its account scale elsewhere."""
    token = target.runtime.api.token_for("nexus-mcp", "scaler", API_AUDIENCE)
    status, answer = attempt(target, "scale-to-zero", _bearer(token))
    assert_refused(target, status, answer, 403)
    assert json.loads(answer)["message"] == (
        'deployments.apps "victim" is forbidden: User "system:serviceaccount:nexus-mcp:scaler" '
        'cannot patch resource "deployments/scale" in API group "apps" in the namespace "nexus-agent-core"'
    )
