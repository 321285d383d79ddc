"""RBAC from the manifests, and the manifest fields of service-account tokens."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulation.runtime.exceptions import ManifestError
from emulation.runtime.manifests import Manifests, load_manifests
from emulation.runtime.rbac import Attributes, Rbac, User, forbidden_message
from nexuskit.config import KitSettings
from nexuskit.controlplane.client import ControlPlaneError
from nexuskit.controlplane.tokens import request_token
from tests.runtime.test_kind import MISSING

BASE = """\
apiVersion: v1
kind: Namespace
metadata: {name: a}
---
apiVersion: v1
kind: Namespace
metadata: {name: b}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: bot, namespace: a}
"""

RBAC = """\
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader}
rules:
  - {apiGroups: [""], resources: ["pods", "pods/log"], verbs: ["get", "list"]}
  - {apiGroups: ["apps"], resources: ["*/scale"], verbs: ["patch"], resourceNames: ["web"]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader, namespace: a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader}
subjects: [{kind: ServiceAccount, name: bot}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: namespaces}
rules:
  - {apiGroups: [""], resources: ["namespaces"], verbs: ["list"]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: namespaces}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: namespaces}
subjects: [{kind: Group, name: "system:serviceaccounts:a"}]
"""

DEPLOYMENT = """\
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: a
  annotations: {nexuskit.dev/local-command: python -m tests.runtime.lab_pod}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: a/web:1}]
      volumes:
        - name: token
          projected:
            sources:
              - serviceAccountToken: {path: token, audience: nexus-services, expirationSeconds: SECONDS}
"""

BOT = User.service_account("a", "bot")


def _load(tmp_path: Path, text: str, min_seconds: int = 600) -> Manifests:
    path = tmp_path / "m" / "k8s" / "m.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return load_manifests(tmp_path / "m", min_seconds)


def _rbac(tmp_path: Path) -> Rbac:
    return _load(tmp_path, BASE + RBAC).rbac


def test_role_binding_grants_a_cluster_role_in_its_namespace_only(tmp_path: Path) -> None:
    """A ClusterRole bound by a RoleBinding in a allows there, not in b nor cluster-wide."""
    rbac = _rbac(tmp_path)
    assert rbac.allows(BOT, Attributes("list", "pods", namespace="a"))
    assert not rbac.allows(BOT, Attributes("list", "pods", namespace="b"))
    assert not rbac.allows(BOT, Attributes("list", "pods"))


def test_subresources_are_their_own_resources(tmp_path: Path) -> None:
    """pods/log is granted by its own entry; pods does not grant pods/exec."""
    rbac = _rbac(tmp_path)
    assert rbac.allows(BOT, Attributes("get", "pods", "", "log", "a", "web-1"))
    assert not rbac.allows(BOT, Attributes("get", "pods", "", "exec", "a", "web-1"))


def test_resource_names_limit_a_rule(tmp_path: Path) -> None:
    """*/scale with resourceNames [web] allows scaling web only."""
    rbac = _rbac(tmp_path)
    assert rbac.allows(BOT, Attributes("patch", "deployments", "apps", "scale", "a", "web"))
    assert not rbac.allows(BOT, Attributes("patch", "deployments", "apps", "scale", "a", "db"))
    assert not rbac.allows(BOT, Attributes("patch", "deployments", "apps", "", "a", "web"))


def test_group_subjects_match_service_account_groups(tmp_path: Path) -> None:
    """A ClusterRoleBinding to system:serviceaccounts:a reaches a's accounts and no others."""
    rbac = _rbac(tmp_path)
    assert rbac.allows(BOT, Attributes("list", "namespaces"))
    assert not rbac.allows(User.service_account("b", "bot"), Attributes("list", "namespaces"))


def test_forbidden_message_is_kubernetes(tmp_path: Path) -> None:
    """The refusal reads as the Kubernetes API server's."""
    attrs = Attributes("patch", "deployments", "apps", "scale", "b", "web")
    assert forbidden_message(BOT, attrs) == (
        'deployments.apps "web" is forbidden: User "system:serviceaccount:a:bot" cannot patch resource '
        '"deployments/scale" in API group "apps" in the namespace "b"'
    )
    assert forbidden_message(BOT, Attributes("list", "pods")) == (
        'pods is forbidden: User "system:serviceaccount:a:bot" cannot list resource "pods" '
        'in API group "" at the cluster scope'
    )


def test_cluster_role_binding_to_a_role_is_invalid(tmp_path: Path) -> None:
    """A ClusterRoleBinding must name a ClusterRole: the manifest error names the field."""
    bad = RBAC.replace("kind: ClusterRole, name: namespaces", "kind: Role, name: namespaces")
    with pytest.raises(ManifestError) as err:
        _load(tmp_path, BASE + bad)
    assert "roleRef.kind: must be ClusterRole in a ClusterRoleBinding" in str(err.value)


def test_short_projected_token_is_invalid(tmp_path: Path) -> None:
    """expirationSeconds under 600 fails as on Kubernetes, naming the field."""
    with pytest.raises(ManifestError) as err:
        _load(tmp_path, BASE + DEPLOYMENT.replace("SECONDS", "60"))
    message = str(err.value)
    assert "volumes[0].projected.sources[0].serviceAccountToken.expirationSeconds" in message
    assert "must be from 600" in message


def test_projected_token_path_must_stay_in_its_volume(tmp_path: Path) -> None:
    """A token path with '..' is refused."""
    text = BASE + DEPLOYMENT.replace("SECONDS", "600").replace("path: token", "path: ../../token")
    with pytest.raises(ManifestError) as err:
        _load(tmp_path, text)
    assert "serviceAccountToken.path: must be a relative path without '..'" in str(err.value)


def test_kind_context_without_a_cluster_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """For the kind runtime, tokens come through the official client; no kind context is one line."""
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "empty-kubeconfig"))
    (tmp_path / "empty-kubeconfig").write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\n")
    with pytest.raises(ControlPlaneError) as err:
        request_token(
            KitSettings(k8s="kind", state_dir=tmp_path), "nexus-agent-core", "nexus-operator", "aud", 600
        )
    assert "kind-nexus-dev" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.skipif(MISSING is not None, reason=f"kind runtime unavailable: {MISSING}")
def test_kind_cluster_issues_operator_tokens(
    tmp_path: Path,
) -> None:  # pragma: no cover - needs Docker and kind
    """On a machine with a kind cluster of the stack, a TokenRequest gives the operator's token."""
    settings = KitSettings(k8s="kind", state_dir=tmp_path)
    token, expires = request_token(settings, "nexus-agent-core", "nexus-operator", "nexus-services", 600)
    assert token.count(".") == 2 and expires > 0
