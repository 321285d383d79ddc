"""The runtime's Kubernetes API in detail: discovery, OpenAPI, errors, watches, selectors, writes.

A runtime of its own (``python -m emulation.runtime``, no engine) runs a small set of
manifests, with watch bookmarks every second. Clients are the real ``kubectl`` and the
official Python client; every refusal is checked to have changed nothing.
"""

from __future__ import annotations

import json
import shutil
import ssl
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.runtime.conftest import Lab, kube_get, start_runtime, stop_runtime, wait_until

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH"),
]

MANIFEST = """\
apiVersion: v1
kind: Namespace
metadata: {name: api}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: api}
data: {GREETING: hello}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: reader, namespace: api}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader, namespace: api}
rules:
  - {apiGroups: [""], resources: ["pods", "pods/log"], verbs: ["get", "list", "watch"]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader, namespace: api}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects: [{kind: ServiceAccount, name: reader}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: api
  labels: {tier: front}
  annotations: {nexuskit.dev/local-command: python -m tests.runtime.lab_pod}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
        - name: web
          image: api/web:1
          ports: [{name: http, containerPort: 8000}]
          envFrom: [{configMapRef: {name: settings}}]
          readinessProbe: {httpGet: {path: /health, port: http}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: api}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8000}]
"""


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    root = tmp_path_factory.mktemp("kube-api")
    folder = root / "manifests" / "api" / "k8s"
    folder.mkdir(parents=True)
    (folder / "api.yaml").write_text(MANIFEST)
    (root / "state").mkdir()
    running = start_runtime(root / "state", root / "manifests", "--bookmark-seconds", "1")
    try:
        wait_until(lambda: [p for p in running.api.pods("web") if p["ready"]], 30, "the web pod")
        yield running
    finally:
        stop_runtime(running)


def kubectl(lab: Lab, *args: str, ok: bool = True) -> str:
    result = lab.api.kubectl(*args)
    if ok:
        assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"
        return result.stdout
    assert result.returncode != 0, result.stdout
    return result.stderr


def _web(lab: Lab) -> dict[str, Any]:
    return lab.api.deployment("api", "web")


def _raw(
    lab: Lab, method: str, path: str, body: Any = None, media: str = "application/json", **headers: str
) -> tuple[int, Any]:
    """One request as the admin (what kubectl would send), for the answers' shapes."""
    context = ssl.create_default_context(cafile=lab.api.ca_file)
    data = (body if isinstance(body, bytes) else json.dumps(body).encode()) if body is not None else None
    request = urllib.request.Request(
        lab.api.kube_url + path,
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {lab.api.token}", "Content-Type": media, **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


# -- discovery, version, OpenAPI --------------------------------------------------------------
def test_version_and_api_resources(api: Lab) -> None:
    """kubectl version sees the server; api-resources lists the served kinds with their short names."""
    assert "Server Version: v1.32.0-nexuskit" in kubectl(api, "version")
    out = kubectl(api, "api-resources")
    for line in (
        "deployments   deploy   apps/v1",
        "pods          po       v1",
        "replicasets   rs       apps/v1",
    ):
        assert any(row.split()[:3] == line.split() for row in out.splitlines()), line


def test_aggregated_discovery_when_asked(api: Lab) -> None:
    """/apis answers an APIGroupDiscoveryList to a client that asks for it, the legacy list otherwise."""
    accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
    code, body = _raw(api, "GET", "/apis", Accept=accept)
    assert code == 200 and body["kind"] == "APIGroupDiscoveryList"
    apps = next(g for g in body["items"] if g["metadata"]["name"] == "apps")
    deployments = next(r for r in apps["versions"][0]["resources"] if r["resource"] == "deployments")
    scale = next(s for s in deployments["subresources"] if s["subresource"] == "scale")
    assert scale["responseKind"] == {"group": "autoscaling", "version": "v1", "kind": "Scale"}
    code, legacy = _raw(api, "GET", "/apis")
    assert code == 200 and legacy["kind"] == "APIGroupList"


def test_explain_uses_the_runtimes_openapi(api: Lab) -> None:
    """kubectl explain reads the OpenAPI v3 documents: the fields the runtime honours."""
    out = kubectl(api, "explain", "deployment.spec.template.spec.containers.readinessProbe")
    assert "httpGet" in out and "periodSeconds" in out
    code, root = _raw(api, "GET", "/openapi/v3")
    assert code == 200 and "apis/apps/v1" in root["paths"]


# -- reads, selectors, tables -----------------------------------------------------------------
def test_label_and_field_selectors(api: Lab) -> None:
    """kubectl get with -l and --field-selector filters as the API server does."""
    (pod,) = [p for p in api.api.pods("web") if p["ready"]]
    selector = "status.phase=Running"
    out = kubectl(api, "get", "pods", "-n", "api", "-l", "app=web", "--field-selector", selector,
                  "-o", "name")  # fmt: skip
    assert out.split() == [f"pod/{pod['name']}"]
    assert kubectl(api, "get", "pods", "-n", "api", "-l", "app!=web", "-o", "name").strip() == ""
    out = kubectl(api, "get", "events", "-n", "api", "--field-selector", f"involvedObject.name={pod['name']}")
    assert "Scheduled" in out and "Started" in out
    err = kubectl(api, "get", "pods", "-n", "api", "--field-selector", "spec.image=x", ok=False)
    assert '"spec.image" is not a known field selector' in err


def test_lists_carry_a_resource_version_and_objects_their_metadata(api: Lab) -> None:
    """A list's resourceVersion; objects with uid, creationTimestamp, ownerReferences up to the Deployment."""
    pods = api.api.core().list_namespaced_pod("api")
    assert int(pods.metadata.resource_version) > 0
    (pod,) = [
        p for p in pods.items if p.metadata.labels.get("app") == "web" and not p.metadata.deletion_timestamp
    ]
    (owner,) = pod.metadata.owner_references
    assert owner.kind == "ReplicaSet" and owner.controller
    rs = api.api.apps().read_namespaced_replica_set(owner.name, "api")
    assert rs.metadata.uid == owner.uid
    assert rs.metadata.owner_references[0].uid == _web(api)["metadata"]["uid"]
    assert pod.metadata.labels["pod-template-hash"] == rs.metadata.labels["pod-template-hash"]


def test_services_endpoints_and_slices(api: Lab) -> None:
    """A Service shows its local address; its Endpoints and EndpointSlices list the ready pod."""
    out = kubectl(api, "get", "svc,endpoints,endpointslices", "-n", "api")
    local = api.api.info["services"]["api/web"]["80"]
    assert f"127.0.0.1:{local}" in out
    (pod,) = [p for p in api.api.pods("web") if p["ready"]]
    assert f"127.0.0.1:{pod['port']}" in out


# -- watches -----------------------------------------------------------------------------------
def test_watch_sends_bookmarks(api: Lab) -> None:
    """A watch that allows bookmarks gets a BOOKMARK with the current resourceVersion (here every second)."""
    version = api.api.core().list_namespaced_pod("api").metadata.resource_version
    context = ssl.create_default_context(cafile=api.api.ca_file)
    query = f"watch=true&allowWatchBookmarks=true&resourceVersion={version}&timeoutSeconds=5"
    path = f"/api/v1/namespaces/api/pods?{query}"
    request = urllib.request.Request(
        api.api.kube_url + path, headers={"Authorization": f"Bearer {api.api.token}"}
    )
    with urllib.request.urlopen(request, timeout=10, context=context) as resp:
        event = json.loads(resp.readline())
    assert event["type"] == "BOOKMARK" and int(event["object"]["metadata"]["resourceVersion"]) >= int(version)


def test_watch_with_initial_events_ends_them_with_a_bookmark(api: Lab) -> None:
    """sendInitialEvents=true: the current pods as ADDED, then the initial-events-end BOOKMARK."""
    context = ssl.create_default_context(cafile=api.api.ca_file)
    path = ("/api/v1/namespaces/api/pods?watch=true&sendInitialEvents=true&allowWatchBookmarks=true"
            "&resourceVersionMatch=NotOlderThan&timeoutSeconds=5")  # fmt: skip
    request = urllib.request.Request(
        api.api.kube_url + path, headers={"Authorization": f"Bearer {api.api.token}"}
    )
    with urllib.request.urlopen(request, timeout=10, context=context) as resp:
        first, second = json.loads(resp.readline()), json.loads(resp.readline())
    assert first["type"] == "ADDED" and first["object"]["kind"] == "Pod"
    assert second["type"] == "BOOKMARK"
    assert second["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


# -- writes and their errors -------------------------------------------------------------------
def test_missing_object_is_a_404_status(api: Lab) -> None:
    """kubectl get of a missing Deployment: the API server's NotFound message."""
    err = kubectl(api, "get", "deploy", "nope", "-n", "api", ok=False)
    assert 'Error from server (NotFound): deployments.apps "nope" not found' in err


def test_stale_resource_version_is_a_409(api: Lab) -> None:
    """An update that carries an old resourceVersion is refused with Conflict, and changes nothing."""
    from kubernetes.client.rest import ApiException  # imported here: 0.3 s in every worker's collection

    apps = api.api.apps()
    stale = apps.read_namespaced_deployment("web", "api")
    apps.patch_namespaced_deployment("web", "api", {"metadata": {"labels": {"touched": "1"}}})
    stale.metadata.labels["stale"] = "yes"
    with pytest.raises(ApiException) as err:
        apps.replace_namespaced_deployment("web", "api", stale)
    assert err.value.status == 409 and json.loads(err.value.body)["reason"] == "Conflict"
    assert "stale" not in _web(api)["metadata"]["labels"]


def test_invalid_object_is_a_422_with_causes_and_nothing_is_created(api: Lab) -> None:
    """A Deployment without the runtime's command and with a bad name: 422, one cause per problem."""
    body = yaml.safe_load(MANIFEST.split("---")[5])
    body["metadata"] = {"name": "Bad_Name", "namespace": "api"}
    code, status = _raw(api, "POST", "/apis/apps/v1/namespaces/api/deployments", body)
    assert code == 422 and status["reason"] == "Invalid"
    fields = {c["field"] for c in status["details"]["causes"]}
    assert "metadata.name" in fields
    assert {d.metadata.name for d in api.api.apps().list_namespaced_deployment("api").items} == {"web"}


def test_invalid_patch_changes_nothing(api: Lab) -> None:
    """A merge patch that makes the image a number: 422 naming the field; the Deployment is as it was."""
    before = _web(api)
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": 5}]}}}}
    code, status = _raw(
        api, "PATCH", "/apis/apps/v1/namespaces/api/deployments/web", patch, "application/merge-patch+json"
    )
    assert code == 422
    assert any(c["field"] == "spec.template.spec.containers[0].image" for c in status["details"]["causes"])
    after = _web(api)
    assert (
        after["spec"] == before["spec"]
        and after["metadata"]["generation"] == before["metadata"]["generation"]
    )


def test_selector_is_immutable(api: Lab) -> None:
    """Changing a Deployment's selector is 422 field is immutable."""
    patch = {"spec": {"selector": {"matchLabels": {"app": "other"}}}}
    code, status = _raw(
        api, "PATCH", "/apis/apps/v1/namespaces/api/deployments/web", patch, "application/merge-patch+json"
    )
    assert code == 422 and "field is immutable" in status["message"]


def test_create_existing_is_already_exists(api: Lab, tmp_path: Path) -> None:
    """kubectl create -f of an object that exists: 409 AlreadyExists."""
    path = tmp_path / "settings.yaml"
    path.write_text(MANIFEST.split("---")[1])
    err = kubectl(api, "create", "-f", str(path), ok=False)
    assert 'configmaps "settings" already exists' in err


def test_kubectl_create_generators_are_told_to_use_files(api: Lab) -> None:
    """kubectl create configmap sends protobuf: 415 saying to use create -f / apply -f; nothing created."""
    err = kubectl(api, "create", "configmap", "other", "-n", "api", "--from-literal=A=b", ok=False)
    assert "kubectl create -f" in err
    assert "other" not in {c.metadata.name for c in api.api.core().list_namespaced_config_map("api").items}


def test_kubectl_apply_refuses_unknown_fields_strictly(api: Lab, tmp_path: Path) -> None:
    """kubectl apply (fieldValidation=Strict) of a typo: the strict decoding error; nothing applied."""
    doc = yaml.safe_load(MANIFEST.split("---")[1])
    doc["datta"] = {"A": "b"}
    path = tmp_path / "typo.yaml"
    path.write_text(yaml.safe_dump(doc))
    err = kubectl(api, "apply", "-f", str(path), ok=False)
    assert 'unknown field "datta"' in err
    assert api.api.core().read_namespaced_config_map("settings", "api").data == {"GREETING": "hello"}


def test_wrong_kind_in_the_body_is_a_400(api: Lab) -> None:
    """A body of another kind or apiVersion than the URL's is 400."""
    body = {"apiVersion": "apps/v1beta1", "kind": "Deployment", "metadata": {"name": "x"}}
    code, status = _raw(api, "POST", "/apis/apps/v1/namespaces/api/deployments", body)
    assert code == 400 and "does not match the expected API version" in status["message"]


def test_scale_subresource_and_server_side_apply(api: Lab, tmp_path: Path) -> None:
    """The scale subresource sets replicas; a server-side re-apply of the unchanged manifest keeps them."""
    apps = api.api.apps()
    path = tmp_path / "web.yaml"
    path.write_text(MANIFEST.split("---", 5)[5].split("---", maxsplit=1)[0])
    kubectl(api, "apply", "--server-side", "--field-manager=tests", "-f", str(path))
    try:
        apps.patch_namespaced_deployment_scale("web", "api", {"spec": {"replicas": 2}})
        assert apps.read_namespaced_deployment_scale("web", "api").spec.replicas == 2
        wait_until(lambda: len([p for p in api.api.pods("web") if p["ready"]]) == 2, 30, "two web pods")
        assert "serverside-applied" in kubectl(
            api, "apply", "--server-side", "--field-manager=tests", "-f", str(path)
        )
        assert apps.read_namespaced_deployment("web", "api").spec.replicas == 2
    finally:
        apps.patch_namespaced_deployment_scale("web", "api", {"spec": {"replicas": 1}})
        wait_until(lambda: len(api.api.pods("web")) == 1, 30, "one web pod")


def test_create_and_delete_a_deployment(api: Lab) -> None:
    """A Deployment needs the runtime's command (422 says so); with it, pods run; delete removes them."""
    bare = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "extra", "namespace": "api"},
        "spec": {"selector": {"matchLabels": {"app": "extra"}},
                 "template": {"metadata": {"labels": {"app": "extra"}},
                              "spec": {"containers": [{"name": "extra", "image": "api/extra:1"}]}}},
    }  # fmt: skip
    code, status = _raw(api, "POST", "/apis/apps/v1/namespaces/api/deployments", bare)
    assert code == 422 and "nexuskit.dev/local-command" in status["message"]
    doc = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "extra", "namespace": "api",
                     "annotations": {"nexuskit.dev/local-command": "python -m tests.runtime.lab_pod"}},
        "spec": {"selector": {"matchLabels": {"app": "extra"}},
                 "template": {"metadata": {"labels": {"app": "extra"}},
                              "spec": {"containers": [{"name": "extra", "image": "api/extra:1"}]}}},
    }  # fmt: skip
    api.api.apps().create_namespaced_deployment("api", doc)
    wait_until(lambda: [p for p in api.api.pods("extra") if p["ready"]], 30, "the extra pod")
    kubectl(api, "delete", "deployment", "extra", "-n", "api")
    wait_until(lambda: not api.api.pods("extra"), 30, "the extra pods to go")


def test_reader_account_sees_pods_only(api: Lab, tmp_path: Path) -> None:
    """A ServiceAccount token: what its Role grants (pods in api), 403 elsewhere; can-i and whoami agree."""
    token = api.api.token_for("api", "reader", "https://kubernetes.default.svc")
    assert kube_get(api, "/api/v1/namespaces/api/pods", token)[0] == 200
    code, body = kube_get(api, "/apis/apps/v1/namespaces/api/deployments", token)
    assert code == 403 and "cannot list resource" in body["message"]
    kubectl(api, "version")  # writes the kubeconfig
    config = yaml.safe_load((api.state_dir / "kubeconfig").read_text())
    config["users"][0]["user"] = {"token": token}
    reader = tmp_path / "reader"
    reader.write_text(yaml.safe_dump(config))
    can = api.api.kubectl("--kubeconfig", str(reader), "auth", "can-i", "list", "pods", "-n", "api")
    assert can.stdout.strip() == "yes"
    cannot = api.api.kubectl("--kubeconfig", str(reader), "auth", "can-i", "list", "deployments", "-n", "api")
    assert cannot.stdout.strip() == "no"
    whoami = api.api.kubectl("--kubeconfig", str(reader), "auth", "whoami")
    assert "system:serviceaccount:api:reader" in whoami.stdout


def test_create_token(api: Lab) -> None:
    """kubectl create token: a TokenRequest for the audience asked."""
    token = kubectl(api, "create", "token", "reader", "-n", "api", "--audience", "nexus-services").strip()
    import base64

    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["aud"] == ["nexus-services"] and claims["sub"] == "system:serviceaccount:api:reader"


def test_builtin_namespace_cannot_be_deleted(api: Lab) -> None:
    """Deleting namespace default is forbidden, as on any cluster."""
    err = kubectl(api, "delete", "namespace", "default", ok=False)
    assert "this namespace may not be deleted" in err


def test_delete_pod_waits_for_the_process(api: Lab) -> None:
    """kubectl delete pod returns once the pod is gone; a new one replaces it."""
    (pod,) = [p for p in api.api.pods("web") if p["ready"]]
    kubectl(api, "delete", "pod", pod["name"], "-n", "api")
    assert pod["name"] not in {p["name"] for p in api.api.pods("web")}
    wait_until(lambda: [p for p in api.api.pods("web") if p["ready"]], 30, "a new web pod")
