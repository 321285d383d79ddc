"""k8s-mcp against the real process runtime (``python -m emulation.runtime``) and its Kubernetes API.

The runtime runs a small manifests folder: ``web`` (the lab pod of tests/runtime/lab_pod.py, healthy) and
``crasher`` (exits 3 after printing an error, so it crash-loops), with a fast restart
backoff. k8s-mcp reaches the runtime's Kubernetes API as its pods do, with the official
client: ``KUBERNETES_SERVICE_HOST``/``PORT`` and an automounted-like folder (``token`` of
its ServiceAccount ``nexus-mcp/k8s-mcp``, RBAC as in its manifest, and ``ca.crt``) found
through ``NEXUSKIT_MOUNTS``. There is no other backend.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nexuskit.config import KitSettings
from nexuskit.controlplane import kube
from nexuskit.controlplane.tokens import request_token
from tests.helpers import EngineProcess, free_port
from tests.services.support import (
    REPO,
    ServiceProcess,
    aws_env,
    error_text,
    http_json,
    mcp_call,
    mcp_tools,
    service_token_env,
    start_all,
    wait_for,
)

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
API_AUDIENCE = "https://kubernetes.default.svc"

MANIFEST = """
apiVersion: v1
kind: Namespace
metadata: {name: nexus-mcp}
---
apiVersion: v1
kind: Namespace
metadata: {name: kube-system}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: k8s-mcp, namespace: nexus-mcp}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: nexus-k8s-mcp}
rules:
  - apiGroups: [""]
    resources: ["pods", "pods/log", "events", "services", "namespaces"]
    verbs: ["get", "list", "watch"]
  - apiGroups: ["apps"]
    resources: ["deployments", "replicasets"]
    verbs: ["get", "list", "watch", "patch"]
  - apiGroups: ["apps"]
    resources: ["deployments/scale"]
    verbs: ["get", "update", "patch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: nexus-k8s-mcp}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: nexus-k8s-mcp}
subjects: [{kind: ServiceAccount, name: k8s-mcp, namespace: nexus-mcp}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: crasher
  namespace: nexus-mcp
  annotations:
    nexuskit.dev/local-command: >-
      python -c "import sys; print('loading settings');
      print('ERROR cannot open /etc/nexus/settings.yaml', flush=True); sys.exit(3)"
spec:
  replicas: 1
  selector: {matchLabels: {app.kubernetes.io/name: crasher}}
  template:
    metadata: {labels: {app.kubernetes.io/name: crasher}}
    spec:
      containers: [{name: crasher, image: "nexus/crasher:0.1.0"}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: nexus-mcp
  annotations: {nexuskit.dev/local-command: python -m tests.runtime.lab_pod}
spec:
  replicas: 1
  selector: {matchLabels: {app.kubernetes.io/name: web}}
  template:
    metadata: {labels: {app.kubernetes.io/name: web}}
    spec:
      containers:
        - name: web
          image: "nexus/web:0.1.0"
          ports: [{name: http, containerPort: 8000}]
          readinessProbe: {httpGet: {path: /health, port: http}, periodSeconds: 1}
"""


class Runtime:
    """The runtime's Kubernetes API, as its admin (official client, through ``nexuskit.controlplane``)."""

    def __init__(self, state_dir: Path) -> None:
        self.settings = KitSettings(port=1, state_dir=state_dir)
        self.info = json.loads((state_dir / "runtime" / "api.json").read_text())

    def deployment(self, name: str) -> dict[str, Any]:
        found = kube.apps(self.settings).read_namespaced_deployment(name, "nexus-mcp")
        return {"replicas": found.spec.replicas, "ready": found.status.ready_replicas or 0}

    def service_account_folder(self, folder: Path, namespace: str, name: str) -> Path:
        """What the automount gives a pod: the account's API token (a TokenRequest), namespace, ca.crt."""
        token, _ = request_token(self.settings, namespace, name, API_AUDIENCE, 3600)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "token").write_text(token)
        (folder / "namespace").write_text(namespace)
        (folder / "ca.crt").write_text(Path(self.info["kube_ca"]).read_text())
        return folder

    @property
    def kube_port(self) -> str:
        return str(self.info["kube_url"]).rsplit(":", 1)[1]


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """The process runtime on the manifests above."""
    root = tmp_path_factory.mktemp("runtime")
    (root / "manifests" / "apps" / "k8s").mkdir(parents=True)
    (root / "manifests" / "apps" / "k8s" / "apps.yaml").write_text(MANIFEST)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    cmd = [
        sys.executable,
        "-m",
        "emulation.runtime",
        "--state-dir",
        str(root / "state"),
        "--manifests",
        str(root / "manifests"),
        "--service-port-base",
        str(free_port()),
        "--backoff-base",
        "0.2",
        "--backoff-max",
        "1",
        "--workdir",
        str(REPO),
    ]
    with open(root / "runtime.log", "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO)
    info = root / "state" / "runtime" / "api.json"
    try:
        (root / "state").mkdir(exist_ok=True)
        (root / "state" / "runtime.pid").write_text(str(proc.pid))  # as `nexuskit up` writes it
        wait_for(lambda: info.exists() or proc.poll() is not None, timeout=30, what="the runtime's api.json")
        assert proc.poll() is None, (root / "runtime.log").read_text()
        yield Runtime(root / "state")
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.fixture(scope="module")
def k8s(
    runtime: Runtime, log_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServiceProcess, ServiceProcess]]:
    """k8s-mcp read-only and read-write, watching nexus-mcp only, as ``nexus-mcp/k8s-mcp``."""
    account = runtime.service_account_folder(tmp_path_factory.mktemp("k8s-mcp-sa"), "nexus-mcp", "k8s-mcp")
    env = {
        "KUBERNETES_SERVICE_HOST": "127.0.0.1",
        "KUBERNETES_SERVICE_PORT": runtime.kube_port,
        "NEXUSKIT_MOUNTS": json.dumps({SERVICE_ACCOUNT_DIR: str(account)}),
        "WATCH_NAMESPACES": "nexus-mcp",
    }
    ro = ServiceProcess("services.mcp.k8s_mcp", log_dir, env, name="k8s-ro")
    rw = ServiceProcess("services.mcp.k8s_mcp", log_dir, env, "--allow-write", name="k8s-rw")
    start_all([ro, rw])
    yield ro, rw
    ro.stop()
    rw.stop()


def _crash_looping(url: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        pods = mcp_call(
            url, "list_pods", {"namespace": "nexus-mcp", "deployment": "crasher"}
        ).structured_content["pods"]
        return pods[0] if pods and pods[0]["restarts"] >= 2 else None

    found: dict[str, Any] = wait_for(check, timeout=30, interval=0.3, what="crasher to restart twice")
    return found


def test_lists_tools(k8s: tuple[ServiceProcess, ServiceProcess]) -> None:
    """tools/list: listing and troubleshooting are read-only, scaling is destructive."""
    tools = {t.name: t for t in mcp_tools(k8s[0].mcp_url)}
    assert set(tools) >= {"list_pods", "list_deployments", "troubleshoot_pod", "scale_deployment"}
    assert tools["troubleshoot_pod"].annotations.read_only_hint is True
    assert tools["scale_deployment"].annotations.destructive_hint is True


def test_health_and_namespaces_without_the_client(k8s: tuple[ServiceProcess, ServiceProcess]) -> None:
    """In a pod, /health and list_namespaces are plain GETs with the ServiceAccount token: both
    see the cluster's namespaces (the client is loaded by the first tool that needs more)."""
    status, body = http_json("GET", k8s[1].url + "/health", account=None)
    assert (status, body["status"]) == (200, "ok")
    answer = mcp_call(k8s[1].mcp_url, "list_namespaces", {}).structured_content
    assert answer["namespaces"] == [{"name": "nexus-mcp", "exists": True}]


def test_lists_pods_of_the_runtime(k8s: tuple[ServiceProcess, ServiceProcess]) -> None:
    """list_pods shows the runtime's pods with their status and readiness."""

    def web_ready() -> bool:
        pods = mcp_call(k8s[0].mcp_url, "list_pods", {"namespace": "nexus-mcp"}).structured_content["pods"]
        return any(p["deployment"] == "web" and p["ready"] for p in pods)

    assert wait_for(web_ready, timeout=30, interval=0.3, what="web ready")


def test_troubleshoot_reports_the_crash_loops_last_exit(k8s: tuple[ServiceProcess, ServiceProcess]) -> None:
    """troubleshoot_pod on a crash-looping deployment: last exit 3, restarts, the error line, a diagnosis."""
    _crash_looping(k8s[0].mcp_url)
    body = mcp_call(
        k8s[0].mcp_url, "troubleshoot_pod", {"namespace": "nexus-mcp", "name": "crasher"}
    ).structured_content
    assert body["pod"]["last_exit"]["exit_code"] == 3
    assert body["pod"]["restarts"] >= 2
    assert any("cannot open /etc/nexus/settings.yaml" in line for line in body["log_tail"])
    assert body["diagnosis"]["severity"] == "critical"
    assert "exited with code 3" in body["diagnosis"]["summary"]
    assert any(e["reason"] in {"BackOff", "Started"} for e in body["events"])


def test_scale_refused_without_allow_write(
    k8s: tuple[ServiceProcess, ServiceProcess], runtime: Runtime
) -> None:
    """Read-only k8s-mcp refuses scale_deployment, and the replicas stay as they were."""
    result = mcp_call(
        k8s[0].mcp_url, "scale_deployment", {"namespace": "nexus-mcp", "name": "web", "replicas": 3}
    )
    assert "--allow-write" in error_text(result)
    assert runtime.deployment("web")["replicas"] == 1


def test_scale_refused_to_a_read_only_caller(
    k8s: tuple[ServiceProcess, ServiceProcess], runtime: Runtime
) -> None:
    """A caller with only the read role (the orchestrator, as in the manifest) cannot scale."""
    k8s_callers = "nexus-agent-core/agent-orchestrator=read nexus-agent-core/nexus-operator=read,write"
    server = ServiceProcess(
        "services.mcp.k8s_mcp",
        k8s[1].log_path.parent,
        {**k8s[1].extra_env, "NEXUS_AUTH_CALLERS": k8s_callers},
        "--allow-write",
        name="k8s-manifest-callers",
    ).start()
    before = runtime.deployment("web")["replicas"]
    try:
        result = mcp_call(
            server.mcp_url,
            "scale_deployment",
            {"namespace": "nexus-mcp", "name": "web", "replicas": 4},
            account="nexus-agent-core/agent-orchestrator",
        )
        assert "needs the 'write' role" in error_text(result)
        assert runtime.deployment("web")["replicas"] == before
    finally:
        server.stop()


def test_scale_with_allow_write(k8s: tuple[ServiceProcess, ServiceProcess], runtime: Runtime) -> None:
    """With --allow-write, scale_deployment sets the replicas and the runtime starts the pods."""
    result = mcp_call(
        k8s[1].mcp_url, "scale_deployment", {"namespace": "nexus-mcp", "name": "web", "replicas": 2}
    )
    assert result.structured_content["replicas"] == 2

    def two_ready() -> bool:
        return bool(runtime.deployment("web")["ready"] == 2)

    assert wait_for(two_ready, timeout=30, interval=0.3, what="two web pods ready")


def test_namespace_outside_the_allow_list_is_refused(k8s: tuple[ServiceProcess, ServiceProcess]) -> None:
    """A namespace not in WATCH_NAMESPACES is refused, even though the runtime has it."""
    result = mcp_call(k8s[1].mcp_url, "list_pods", {"namespace": "kube-system"})
    assert "allow-list" in error_text(result)


@pytest.fixture(scope="module")
def triage_agent(
    engine: EngineProcess,
    k8s: tuple[ServiceProcess, ServiceProcess],
    log_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServiceProcess]:
    """agent-core with k8s-mcp only (no consumer), calling it with the orchestrator's token."""
    env = (
        aws_env(engine)
        | {"K8S_MCP_URL": k8s[0].mcp_url, "AGENT_CONSUMER_ENABLED": "false"}
        | service_token_env(tmp_path_factory.mktemp("agent-triage-token"))
    )
    service = ServiceProcess("services.agent_core", log_dir, env, name="agent-triage").start()
    yield service
    service.stop()


def test_ops_triage_explains_a_failing_pod(
    triage_agent: ServiceProcess, k8s: tuple[ServiceProcess, ServiceProcess]
) -> None:
    """ops-triage: k8s-mcp's troubleshoot step then a Bedrock explanation; the result has both."""
    _crash_looping(k8s[0].mcp_url)
    code, run = http_json(
        "POST",
        triage_agent.url + "/workflow/execute",
        {"name": "ops-triage", "input": {"namespace": "nexus-mcp", "pod": "crasher"}},
    )
    assert code == 200 and run["status"] == "succeeded", run
    assert [s["id"] for s in run["steps"]] == ["triage", "explain"]
    assert run["steps"][0]["call"]["tool"] == "troubleshoot_pod"
    assert run["steps"][1]["tokens"]["input"] > 0
    assert run["result"]["last_exit"]["exit_code"] == 3
    assert run["result"]["severity"] == "critical"
    assert run["result"]["explanation"]
