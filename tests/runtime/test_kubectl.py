"""The real ``kubectl`` (1.32, on PATH) and the official Python client against a real ``nexuskit up --local``.

Every command runs with the stack's own kubeconfig (``<state>/kubeconfig``, context
``nexus-local``) as a user runs it after ``eval "$(nexuskit env)"``. Tests that change a
Deployment put it back.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psutil
import pytest
import yaml

from tests.runtime.conftest import Stack, http_get, kube_get, wait_until

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH"),
]

K8S_MCP = "system:serviceaccount:nexus-mcp:k8s-mcp"


def kubectl(stack: Stack, *args: str, timeout: float = 120) -> str:
    result = stack.api.kubectl(*args, timeout=timeout)
    assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"
    return result.stdout


def _ready(stack: Stack, deployment: str, count: int) -> list[dict[str, Any]]:
    pods: list[dict[str, Any]] = wait_until(
        lambda: (
            (found := [p for p in stack.api.pods(deployment) if p["ready"]]) and len(found) == count and found
        ),
        90,
        f"{count} ready {deployment} pods",
    )
    return pods


def test_kubeconfig_is_written_and_exported(stack: Stack) -> None:
    """up writes <state>/kubeconfig (context nexus-local, CA inline, 0600); env and kubeconfig name it."""
    path = stack.state_dir / "kubeconfig"
    config = yaml.safe_load(path.read_text())
    assert config["current-context"] == "nexus-local"
    assert config["clusters"][0]["cluster"]["certificate-authority-data"]
    assert config["clusters"][0]["cluster"]["server"] == stack.api.kube_url
    assert path.stat().st_mode & 0o077 == 0
    assert stack.cli("kubeconfig").stdout.strip() == str(path)
    assert f"export KUBECONFIG={path}" in stack.cli("env").stdout.splitlines()


def test_get_pods_all_namespaces_wide(stack: Stack) -> None:
    """kubectl get pods -A -o wide: every pod with READY, STATUS, IP and NODE columns."""
    out = kubectl(stack, "get", "pods", "-A", "-o", "wide")
    header, *rows = out.splitlines()
    assert header.split()[:6] == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert "NODE" in header and "IP" in header
    names = {row.split()[1] for row in rows}
    assert {p["name"] for p in stack.api.pods()} <= names
    k8s_mcp = next(row.split() for row in rows if row.split()[1].startswith("k8s-mcp-"))
    assert k8s_mcp[0] == "nexus-mcp" and k8s_mcp[2] == "1/1" and k8s_mcp[3] == "Running"
    assert "127.0.0.1" in k8s_mcp and "nexus-dev-eks-mcp" in k8s_mcp


def test_get_deployments_as_json(stack: Stack) -> None:
    """kubectl get deploy -n nexus-mcp -o json: real Deployment objects with status and conditions."""
    doc = json.loads(kubectl(stack, "get", "deploy", "-n", "nexus-mcp", "-o", "json"))
    assert doc["kind"] == "List"
    by_name = {d["metadata"]["name"]: d for d in doc["items"]}
    assert {"aws-mcp", "custom-mcp", "database-mcp", "k8s-mcp"} <= set(by_name)
    k8s_mcp = by_name["k8s-mcp"]
    assert k8s_mcp["apiVersion"] == "apps/v1" and k8s_mcp["metadata"]["uid"]
    assert int(k8s_mcp["metadata"]["resourceVersion"]) > 0 and k8s_mcp["metadata"]["generation"] >= 1
    assert k8s_mcp["status"]["readyReplicas"] == k8s_mcp["spec"]["replicas"]
    conditions = {c["type"]: c for c in k8s_mcp["status"]["conditions"]}
    assert conditions["Available"]["status"] == "True"


def test_describe_pod(stack: Stack) -> None:
    """kubectl describe pod: its node, owner ReplicaSet, container state, conditions and events."""
    (pod,) = _ready(stack, "k8s-mcp", 1)
    out = kubectl(stack, "describe", "pod", pod["name"], "-n", "nexus-mcp")
    assert "Node:             nexus-dev-eks-mcp/127.0.0.1" in out
    assert "Controlled By:  ReplicaSet/k8s-mcp-" in out
    assert "State:          Running" in out and "Ready:          True" in out
    assert "Service Account:  k8s-mcp" in out
    assert "Scheduled" in out.split("Events:")[1]


def test_logs_follow_delivers_a_new_line(stack: Stack) -> None:
    """kubectl logs -f: a line the pod writes after the command started arrives."""
    (pod,) = _ready(stack, "custom-mcp", 1)
    env = {
        "KUBECONFIG": str(stack.state_dir / "kubeconfig"),
        "KUBECACHEDIR": str(stack.state_dir / "kube-cache"),
    }
    proc = subprocess.Popen(
        ["kubectl", "logs", "-f", "--tail=1", pod["name"], "-n", "nexus-mcp"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    marker = f"marker-{uuid.uuid4().hex[:8]}.example"
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.extend(iter(proc.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    try:
        time.sleep(1)  # the stream is open
        http_get(f"http://127.0.0.1:{pod['port']}/health", headers={"Host": marker})  # refused and logged
        wait_until(lambda: any(marker in line for line in seen), 20, "the new line")
    finally:
        proc.terminate()
        proc.wait(10)


def test_scale_then_rollout_status(stack: Stack) -> None:
    """kubectl scale --replicas=2, then rollout status returns once both pods are available."""
    try:
        assert "scaled" in kubectl(stack, "scale", "deploy/custom-mcp", "-n", "nexus-mcp", "--replicas=2")
        out = kubectl(stack, "rollout", "status", "deploy/custom-mcp", "-n", "nexus-mcp", "--timeout=90s")
        assert 'deployment "custom-mcp" successfully rolled out' in out
        assert len([p for p in stack.api.pods("custom-mcp") if p["ready"]]) == 2
    finally:
        kubectl(stack, "scale", "deploy/custom-mcp", "-n", "nexus-mcp", "--replicas=1")
        wait_until(lambda: len(stack.api.pods("custom-mcp")) == 1, 60, "one custom-mcp pod")


def test_rollout_restart_then_status(stack: Stack) -> None:
    """kubectl rollout restart replaces every pod; rollout status waits for the new ones."""
    old = {p["name"] for p in _ready(stack, "database-mcp", 1)}
    assert "restarted" in kubectl(stack, "rollout", "restart", "deploy/database-mcp", "-n", "nexus-mcp")
    out = kubectl(stack, "rollout", "status", "deploy/database-mcp", "-n", "nexus-mcp", "--timeout=90s")
    assert "successfully rolled out" in out
    new = {p["name"] for p in _ready(stack, "database-mcp", 1)}
    assert not old & new


def test_delete_pod_is_replaced(stack: Stack) -> None:
    """kubectl delete pod: the pod goes and its ReplicaSet makes a new, ready one."""
    (pod,) = _ready(stack, "k8s-mcp", 1)
    assert f'pod "{pod["name"]}" deleted' in kubectl(stack, "delete", "pod", pod["name"], "-n", "nexus-mcp")
    (new,) = _ready(stack, "k8s-mcp", 1)
    assert new["name"] != pod["name"] and new["name"].rsplit("-", 1)[0] == pod["name"].rsplit("-", 1)[0]


def _pod_env(pod: dict[str, Any]) -> dict[str, str]:
    return psutil.Process(pod["pid"]).environ()


def test_apply_changed_manifest_then_undo(stack: Stack, tmp_path: Path) -> None:
    """kubectl apply -f of a changed manifest rolls it out; rollout undo goes back to the first template."""
    (source,) = (stack.state_dir / "manifests").glob("**/k8s/custom-mcp.yaml")
    docs = list(yaml.safe_load_all(source.read_text()))
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["env"].append(
        {"name": "ROLLOUT_MARK", "value": "v2"}
    )
    changed = tmp_path / "custom-mcp.yaml"
    changed.write_text(yaml.safe_dump_all(docs))
    before = _ready(stack, "custom-mcp", 1)[0]
    assert "ROLLOUT_MARK" not in _pod_env(before)
    out = kubectl(stack, "apply", "-f", str(changed))
    assert "deployment.apps/custom-mcp configured" in out
    kubectl(stack, "rollout", "status", "deploy/custom-mcp", "-n", "nexus-mcp", "--timeout=90s")
    after = _ready(stack, "custom-mcp", 1)[0]
    assert _pod_env(after)["ROLLOUT_MARK"] == "v2"
    history = kubectl(stack, "rollout", "history", "deploy/custom-mcp", "-n", "nexus-mcp")
    assert len([line for line in history.splitlines() if line[:1].isdigit()]) >= 2
    assert "rolled back" in kubectl(stack, "rollout", "undo", "deploy/custom-mcp", "-n", "nexus-mcp")
    kubectl(stack, "rollout", "status", "deploy/custom-mcp", "-n", "nexus-mcp", "--timeout=90s")
    back = _ready(stack, "custom-mcp", 1)[0]
    assert "ROLLOUT_MARK" not in _pod_env(back)
    assert back["name"].rsplit("-", 1)[0] == before["name"].rsplit("-", 1)[0]  # the first ReplicaSet again


def test_auth_can_i_as_k8s_mcp(stack: Stack) -> None:
    """kubectl auth can-i --as k8s-mcp's ServiceAccount answers from the manifests' RBAC."""
    for args, expected in (
        (("list", "pods", "-n", "nexus-mcp"), "yes"),
        (("get", "pods", "--subresource=log", "-n", "nexus-data"), "yes"),
        (("patch", "deployments", "--subresource=scale", "-n", "nexus-mcp"), "yes"),
        (("delete", "pods", "-n", "nexus-mcp"), "no"),
        (("get", "secrets", "-n", "nexus-agent-core"), "no"),
        (("create", "serviceaccounts", "--subresource=token", "-n", "nexus-agent-core"), "no"),
    ):
        result = stack.api.kubectl("auth", "can-i", *args, f"--as={K8S_MCP}")
        assert result.stdout.strip() == expected, (args, result.stdout, result.stderr)
        assert result.returncode == (0 if expected == "yes" else 1)


def test_unauthenticated_request_is_refused(stack: Stack, tmp_path: Path) -> None:
    """A kubeconfig with a token the API did not issue gets 401; a request without one too (a Status)."""
    config = yaml.safe_load((stack.state_dir / "kubeconfig").read_text())
    config["users"][0]["user"] = {"token": "not-a-token-of-this-cluster"}
    stranger = tmp_path / "stranger"
    stranger.write_text(yaml.safe_dump(config))
    result = stack.api.kubectl("--kubeconfig", str(stranger), "get", "pods", "-A")
    assert result.returncode != 0
    assert "You must be logged in to the server (Unauthorized)" in result.stderr
    code, body = kube_get(stack, "/api/v1/pods")
    assert code == 401 and body["kind"] == "Status" and body["reason"] == "Unauthorized"


def test_python_client_lists_and_watches_pods(stack: Stack) -> None:
    """The official client lists pods and its watch sees a pod of a deleted one's replacement arrive."""
    from kubernetes import watch

    core = stack.api.core()
    listed = core.list_namespaced_pod("nexus-mcp", label_selector="app.kubernetes.io/name=k8s-mcp")
    (pod,) = [p for p in listed.items if not p.metadata.deletion_timestamp]
    assert pod.status.phase == "Running" and pod.spec.node_name == "nexus-dev-eks-mcp"
    seen: list[tuple[str, str]] = []
    stream = watch.Watch()

    def follow() -> None:
        for event in stream.stream(
            core.list_namespaced_pod,
            "nexus-mcp",
            label_selector="app.kubernetes.io/name=k8s-mcp",
            resource_version=listed.metadata.resource_version,
            timeout_seconds=60,
        ):
            seen.append((event["type"], event["object"].metadata.name))
            if event["type"] == "ADDED":
                stream.stop()

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    time.sleep(0.5)
    core.delete_namespaced_pod(pod.metadata.name, "nexus-mcp")
    thread.join(60)
    assert ("MODIFIED", pod.metadata.name) in seen  # terminating
    assert any(kind == "ADDED" and name != pod.metadata.name for kind, name in seen)
    _ready(stack, "k8s-mcp", 1)
