"""Service-account tokens in lab pods: projected volumes, the automounted API token, TokenRequest."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path
from typing import Any

import psutil
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from nexuskit.config import KitSettings
from nexuskit.controlplane.client import ControlPlaneError
from nexuskit.controlplane.cluster import restart
from nexuskit.controlplane.tokens import service_token
from tests.runtime.conftest import Lab, http_get, kube_get, nexuskit, wait_until

pytestmark = pytest.mark.e2e

SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def _b64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def claims_of(token: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_b64(token.split(".")[1]))
    return data


def verifies_against_jwks(token: str, jwks: dict[str, Any]) -> bool:
    """RS256 signature check with the key the JWKS names (what any verifier does)."""
    head, payload, signature = token.split(".")
    kid = json.loads(_b64(head))["kid"]
    for key in jwks["keys"]:
        if key["kid"] != kid:
            continue
        public = rsa.RSAPublicNumbers(
            int.from_bytes(_b64(key["e"]), "big"), int.from_bytes(_b64(key["n"]), "big")
        ).public_key()
        try:
            public.verify(_b64(signature), f"{head}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return False
        return True
    return False


def _running_pod(lab: Lab, deployment: str) -> dict[str, Any]:
    pod: dict[str, Any] = wait_until(
        lambda: next((p for p in lab.api.pods(deployment) if p["ready"] and p["pid"]), None),
        20,
        f"a running {deployment} pod",
    )
    return pod


def _env(pod: dict[str, Any]) -> dict[str, str]:
    return psutil.Process(pod["pid"]).environ()


def _token_file(lab: Lab) -> tuple[dict[str, Any], Path]:
    pod = _running_pod(lab, "tokens")
    return pod, Path(_env(pod)["NEXUS_SERVICE_TOKEN_FILE"])


def test_projected_token_names_the_pods_account_and_audience(lab: Lab) -> None:
    """The projected token's sub is the pod's ServiceAccount, aud the volume's audience, bound to the pod."""
    pod, path = _token_file(lab)
    claims = claims_of(path.read_text())
    assert claims["sub"] == "system:serviceaccount:lab:watcher"
    assert claims["aud"] == ["nexus-services"]
    assert claims["kubernetes.io"]["pod"] == {"name": pod["name"], "uid": pod["uid"]}
    assert claims["exp"] - claims["iat"] == 6


def test_projected_token_verifies_against_the_public_jwks(lab: Lab) -> None:
    """The token's signature verifies with the key published, without credentials, at /openid/v1/jwks."""
    _, path = _token_file(lab)
    code, jwks = http_get(lab.api.url + "/openid/v1/jwks")
    assert code == 200
    assert verifies_against_jwks(path.read_text(), jwks)
    code, discovery = http_get(lab.api.url + "/.well-known/openid-configuration")
    assert code == 200 and discovery["issuer"] == claims_of(path.read_text())["iss"]


def test_projected_volume_is_mounted_where_the_manifest_says(lab: Lab) -> None:
    """An env value naming /var/run/secrets/nexus/token points into the pod folder, by the other sources."""
    pod, path = _token_file(lab)
    assert str(path).startswith(str(lab.state_dir / "runtime" / "pods" / "lab" / pod["name"]))
    mounts = json.loads(_env(pod)["NEXUSKIT_MOUNTS"])
    assert mounts["/var/run/secrets/nexus"] == str(path.parent)
    assert (path.parent / "pod-name").read_text() == pod["name"]
    callee = (path.parent / "callee-url").read_text()
    assert callee == lab.api.service_url("lab/web") + "/"  # cluster DNS rewritten, as in every volume


def test_token_files_are_private(lab: Lab) -> None:
    """Token files are 0600 in 0700 folders; the runtime's folder is 0700."""
    pod, path = _token_file(lab)
    automounted = Path(json.loads(_env(pod)["NEXUSKIT_MOUNTS"])[SA_DIR])
    for token in (path, automounted / "token"):
        assert stat.S_IMODE(token.stat().st_mode) == 0o600
        assert stat.S_IMODE(token.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((lab.state_dir / "runtime").stat().st_mode) == 0o700


def test_projected_token_is_rewritten_before_it_expires(lab: Lab) -> None:
    """A 6 s token is replaced by a fresh one at 80 % of its life, before it expires."""
    _, path = _token_file(lab)
    first = path.read_text()
    second = wait_until(lambda: (text := path.read_text()) != first and text, 30, "the token to be rewritten")
    old, new = claims_of(first), claims_of(second)
    assert new["iat"] < old["exp"]  # written while the old one was still valid
    assert new["iat"] >= old["iat"] + 4  # ... and not long before it was due (80 % of 6 s)
    assert new["exp"] - new["iat"] == 6


def test_automounted_token_is_accepted_by_the_api(lab: Lab) -> None:
    """The automounted token (API audience) lists the pods of the pod's namespace, as its Role allows."""
    pod = _running_pod(lab, "tokens")
    folder = Path(json.loads(_env(pod)["NEXUSKIT_MOUNTS"])[SA_DIR])
    assert (folder / "namespace").read_text() == "lab"
    token = (folder / "token").read_text()
    assert claims_of(token)["aud"] == ["https://kubernetes.default.svc"]
    code, body = kube_get(lab, "/api/v1/namespaces/lab/pods", token)
    assert code == 200
    assert pod["name"] in {p["metadata"]["name"] for p in body["items"]}


def test_automount_false_mounts_no_token(lab: Lab) -> None:
    """A pod spec with automountServiceAccountToken: false gets no service-account folder."""
    pod = _running_pod(lab, "target")
    assert SA_DIR not in json.loads(_env(pod)["NEXUSKIT_MOUNTS"])
    assert not (lab.state_dir / "runtime" / "pods" / "lab-other" / pod["name"] / "volumes").exists()


def test_service_token_is_the_operators(lab: Lab) -> None:
    """service_token gets a nexus-services token of nexus-agent-core/nexus-operator, and reuses it."""
    settings = KitSettings(port=1, state_dir=lab.state_dir)
    token = service_token(settings)
    claims = claims_of(token)
    assert claims["sub"] == "system:serviceaccount:nexus-agent-core:nexus-operator"
    assert claims["aud"] == ["nexus-services"]
    assert claims["exp"] - claims["iat"] == 3600
    assert "pod" not in claims["kubernetes.io"]
    _, jwks = http_get(lab.api.url + "/openid/v1/jwks")
    assert verifies_against_jwks(token, jwks)
    assert service_token(settings) == token  # cached until 80 % of its life


def test_service_token_of_an_undeclared_account_is_one_line(lab: Lab) -> None:
    """A token for a ServiceAccount the manifests lack fails with one line naming it."""
    settings = KitSettings(port=1, state_dir=lab.state_dir)
    with pytest.raises(ControlPlaneError) as err:
        service_token(settings, namespace="lab", service_account="nobody")
    assert "\n" not in str(err.value)
    assert "lab/nobody" in err.value.message and "not found" in err.value.message


def test_service_token_without_a_runtime_says_so(tmp_path: Path) -> None:
    """Without a running control plane, service_token raises one line saying so."""
    with pytest.raises(ControlPlaneError) as err:
        service_token(KitSettings(port=1, state_dir=tmp_path))
    assert "no control plane is running" in err.value.message and "\n" not in str(err.value)


def test_k8s_mcp_backend_sends_the_automounted_token(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """In a pod's environment, the official client finds its token and CA (NEXUSKIT_MOUNTS); RBAC applies."""
    from services.mcp.k8s_mcp.backends import BackendError, KubernetesBackend

    pod = _running_pod(lab, "tokens")
    env = _env(pod)
    for name in ("NEXUSKIT_MOUNTS", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
        monkeypatch.setenv(name, env[name])
    backend = KubernetesBackend()
    assert pod["name"] in {p["name"] for p in backend.list_pods("lab")}
    with pytest.raises(BackendError) as err:
        backend.scale("lab-other", "target", 0)
    assert 'User "system:serviceaccount:lab:watcher" cannot patch resource "deployments/scale"' in str(
        err.value
    )
    assert lab.api.deployment("lab-other", "target")["spec"]["replicas"] == 1


def test_token_of_a_deleted_pod_is_refused(lab: Lab) -> None:
    """A pod's automounted token stops working once the pod is gone (tokens are bound to pods)."""
    pod = _running_pod(lab, "tokens")
    token = (Path(json.loads(_env(pod)["NEXUSKIT_MOUNTS"])[SA_DIR]) / "token").read_text()
    assert kube_get(lab, "/api/v1/namespaces/lab/pods", token)[0] == 200
    restart(lab.api.settings, "lab/tokens")
    wait_until(
        lambda: pod["name"] not in {p["name"] for p in lab.api.pods("tokens")}, 30, "the old pod to go"
    )
    code, body = kube_get(lab, "/api/v1/namespaces/lab/pods", token)
    assert code == 401 and body["reason"] == "Unauthorized"


def test_service_token_command_prints_a_token(lab: Lab) -> None:
    """nexuskit service-token prints the operator's token, as kubectl create token would."""
    result = nexuskit("service-token", "--state-dir", str(lab.state_dir), "--port", "1", "--seconds", "600")
    assert result.returncode == 0, result.stderr
    claims = claims_of(result.stdout.strip())
    assert claims["sub"] == "system:serviceaccount:nexus-agent-core:nexus-operator"
    assert claims["exp"] - claims["iat"] == 600
