"""The control plane of a real ``nexuskit up --local``: pods, config, credentials, scaling, crashes."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.runtime.conftest import Stack, http_get, wait_until

pytestmark = pytest.mark.e2e

PUT_PRIMARY = (
    "import boto3; "
    "boto3.client('kinesis').put_record(StreamName='nexus-dev-intake', Data=b'x', PartitionKey='k')"
)
EXPECTED_REPLICAS = {
    "agent-core": 2,
    "nexus-ui": 1,
    "aws-mcp": 1,
    "custom-mcp": 1,
    "database-mcp": 1,
    "k8s-mcp": 1,
}


def _ps(stack: Stack) -> list[dict[str, Any]]:
    result = stack.cli("ps", "--json")
    assert result.returncode == 0, result.stderr
    pods: list[dict[str, Any]] = json.loads(result.stdout)
    return pods


def _pod(stack: Stack, deployment: str) -> dict[str, Any]:
    (pod,) = [p for p in stack.api.pods(deployment) if p["ready"]]
    return pod


def _pod_env(pod: dict[str, Any]) -> dict[str, str]:
    return psutil.Process(pod["pid"]).environ()


def _run_in_pod_env(pod: dict[str, Any], code: str) -> subprocess.CompletedProcess[str]:
    """Run Python code with exactly the environment the pod's process got (and its cwd)."""
    proc = psutil.Process(pod["pid"])
    return subprocess.run(
        [sys.executable, "-c", code],
        env=proc.environ(),
        cwd=proc.cwd(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_every_deployment_is_ready_with_its_replica_count(stack: Stack) -> None:
    """After up, ps lists each Deployment's replicas, all Running and ready, each with its port."""
    pods = _ps(stack)
    counts: dict[str, int] = {}
    for pod in pods:
        assert pod["phase"] == "Running" and pod["ready"], pod
        assert set(pod) >= {"deployment", "namespace", "name", "phase", "ready", "restarts", "age", "port"}
        counts[pod["deployment"]] = counts.get(pod["deployment"], 0) + 1
    assert counts == EXPECTED_REPLICAS
    namespaces = {p["deployment"]: p["namespace"] for p in pods}
    assert namespaces["agent-core"] == namespaces["nexus-ui"] == "nexus-agent-core"
    assert namespaces["aws-mcp"] == "nexus-mcp"


def test_status_reports_the_services_local_urls(stack: Stack) -> None:
    """status --json fills endpoints.agent_core, endpoints.mcp.* and endpoints.ui, and they answer."""
    result = stack.cli("status", "--json")
    assert result.returncode == 0, result.stderr
    endpoints = json.loads(result.stdout)["endpoints"]
    assert endpoints["agent_core"] == f"http://127.0.0.1:{stack.service_base}"
    urls = [endpoints["agent_core"], endpoints["ui"], *endpoints["mcp"].values()]
    assert len(urls) == 6 and all(urls)
    for url in urls:
        code, _ = http_get(url.removesuffix("/mcp") + "/health")
        assert code == 200, url


def test_agent_core_gets_its_configmap_settings(stack: Stack) -> None:
    """agent-core's mounted settings.yaml has the Bedrock model IDs and both pipelines' names."""
    env = _pod_env(next(p for p in stack.api.pods("agent-core") if p["ready"]))
    assert env["NEXUS_SETTINGS_FILE"].startswith(str(stack.state_dir))  # /etc/nexus, mounted locally
    settings = Path(env["NEXUS_SETTINGS_FILE"]).read_text()
    for name in (
        "anthropic.claude-3-sonnet-20240229-v1:0",
        "stream: nexus-dev-intake",
        "firehose: nexus-dev-to-lake",
        "stream: nexus-dev-client-intake",
        "firehose: nexus-dev-client-to-lake",
        "bucket: nexus-dev-bronze-us-west-2",
    ):
        assert name in settings
    aws_mcp = f"http://127.0.0.1:{stack.api.info['services']['nexus-mcp/aws-mcp']['80']}/mcp"
    assert f"aws: {aws_mcp}" in settings  # cluster DNS rewritten to the Service's local port
    assert env["AWS_MCP_URL"] == aws_mcp
    assert env["LOG_LEVEL"] == "INFO"


def test_ui_gets_its_configmap_as_environment(stack: Stack) -> None:
    """nexus-ui gets nexus-ui-config through envFrom, with agent-core's local URL."""
    env = _pod_env(_pod(stack, "nexus-ui"))
    assert env["MAP_STYLE"] == "dark-matter"
    assert env["HTTP_API_NAME"] == "nexus-dev-ui"
    assert env["AGENT_CORE_URL"] == stack.api.service_url("nexus-agent-core/agent-core")


def test_pods_cap_their_malloc_arenas(stack: Stack) -> None:
    """Every pod's process gets MALLOC_ARENA_MAX=2 (fewer glibc heaps: a smaller local RSS)."""
    for deployment in ("agent-core", "aws-mcp", "nexus-ui"):
        pods = [p for p in stack.api.pods(deployment) if p["ready"]]
        assert pods and all(_pod_env(p)["MALLOC_ARENA_MAX"] == "2" for p in pods), deployment


def test_aws_mcp_pod_runs_as_its_irsa_role(stack: Stack) -> None:
    """The aws-mcp pod's credentials are the aws_mcp_irsa role's, assumed with its service-account token."""
    pod = _pod(stack, "aws-mcp")
    whoami = _run_in_pod_env(pod, "import boto3; print(boto3.client('sts').get_caller_identity()['Arn'])")
    assert whoami.stdout.startswith("arn:aws:sts::123456789012:assumed-role/nexus-dev-aws-mcp-irsa/"), whoami
    env = _pod_env(pod)
    assert env["AWS_ROLE_ARN"] == "arn:aws:iam::123456789012:role/nexus-dev-aws-mcp-irsa"
    payload = Path(env["AWS_WEB_IDENTITY_TOKEN_FILE"]).read_text().split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["sub"] == "system:serviceaccount:nexus-mcp:aws-mcp"
    assert claims["aud"] == ["sts.amazonaws.com"]
    assert claims["iss"].startswith("https://oidc.eks.us-west-2.amazonaws.com/id/")


def test_k8s_mcp_pod_reads_the_cluster_with_its_service_account(stack: Stack) -> None:
    """In k8s-mcp's pod, the official client (its automounted token and CA) reads the Kubernetes API."""
    code = (
        "from services.mcp.k8s_mcp.backends import KubernetesBackend; "
        "b = KubernetesBackend(); "
        "print(sorted({p['deployment'] for p in b.list_pods('nexus-mcp')}))"
    )
    result = _run_in_pod_env(_pod(stack, "k8s-mcp"), code)
    assert result.returncode == 0, result.stderr
    assert "'k8s-mcp'" in result.stdout


def test_aws_mcp_pod_can_call_glue(stack: Stack) -> None:
    """In the aws-mcp pod's environment, Glue get_jobs through the engine succeeds."""
    result = _run_in_pod_env(
        _pod(stack, "aws-mcp"), "import boto3; print(boto3.client('glue').get_jobs()['Jobs'])"
    )
    assert result.returncode == 0, result.stderr


def test_aws_mcp_pod_is_limited_to_its_role(stack: Stack) -> None:
    """The aws-mcp role may not write the primary stream, so with the pod's credentials it is denied."""
    code = PUT_PRIMARY
    result = _run_in_pod_env(_pod(stack, "aws-mcp"), code)
    assert result.returncode != 0 and "AccessDenied" in result.stderr


def test_agent_core_pod_writes_the_primary_stream(stack: Stack) -> None:
    """agent-core's role (agent_irsa) may put records on the primary stream, and does."""
    code = PUT_PRIMARY
    pod = next(p for p in stack.api.pods("agent-core") if p["ready"])
    result = _run_in_pod_env(pod, code)
    assert result.returncode == 0, result.stderr


def test_database_mcp_pod_cannot_read_the_lake(stack: Stack) -> None:
    """database-mcp has no IRSA role: no AWS credentials at all, so reading bronze fails."""
    pod = _pod(stack, "database-mcp")
    assert not {"AWS_ACCESS_KEY_ID", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"} & set(_pod_env(pod))
    code = "import boto3; boto3.client('s3').list_objects_v2(Bucket='nexus-dev-bronze-us-west-2')"
    result = _run_in_pod_env(pod, code)
    assert result.returncode != 0 and "NoCredentialsError" in result.stderr


def _pod_processes(stack: Stack, deployment: str) -> int:
    """The runtime's child processes (one per running pod) whose environment names ``deployment``."""
    runtime = psutil.Process(int((stack.state_dir / "runtime.pid").read_text()))
    count = 0
    for child in runtime.children():
        try:
            if child.environ().get("NEXUSKIT_POD_NAME", "").startswith(f"{deployment}-"):
                count += 1
        except psutil.Error:
            continue
    return count


class _Prober(threading.Thread):
    """Calls a URL in a loop and counts the answers that were not 200."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.stop = threading.Event()
        self.ok = 0
        self.failures: list[str] = []

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                code, _ = http_get(self.url, timeout=15)
            except OSError as exc:
                self.failures.append(str(exc))
                continue
            if code == 200:
                self.ok += 1
            else:
                self.failures.append(f"HTTP {code}")


def test_scale_changes_process_count_and_service_keeps_answering(stack: Stack) -> None:
    """scale custom-mcp 1 -> 3 -> 1: the process count follows, and its Service never fails a request."""
    prober = _Prober(stack.api.service_url("nexus-mcp/custom-mcp") + "/health")
    prober.start()
    try:
        assert stack.cli("scale", "custom-mcp", "3").returncode == 0
        wait_until(
            lambda: len([p for p in stack.api.pods("custom-mcp") if p["ready"]]) == 3, 60, "3 ready pods"
        )
        assert _pod_processes(stack, "custom-mcp") == 3
        assert stack.cli("scale", "custom-mcp", "1").returncode == 0
        wait_until(lambda: len(stack.api.pods("custom-mcp")) == 1, 30, "one pod left")
        wait_until(lambda: _pod_processes(stack, "custom-mcp") == 1, 10, "one process left")
    finally:
        prober.stop.set()
        prober.join(5)
    assert prober.ok > 10
    assert prober.failures == []


def test_killed_pod_process_restarts_and_counts(stack: Stack) -> None:
    """kill -9 of a pod's process: the pod restarts, restarts is 1 and the last exit is 137."""
    before = _pod(stack, "k8s-mcp")
    os.kill(before["pid"], signal.SIGKILL)
    after = wait_until(
        lambda: next((p for p in stack.api.pods("k8s-mcp") if p["restarts"] == 1 and p["ready"]), None),
        60,
        "the restarted pod",
    )
    assert after["name"] == before["name"] and after["pid"] != before["pid"]
    assert after["last_exit"]["exit_code"] == 137
    row = next(p for p in _ps(stack) if p["name"] == before["name"])
    assert row["restarts"] == 1


def test_rolling_restart_replaces_pods_without_downtime(stack: Stack) -> None:
    """restart agent-core rolls new pods in before the old ones go; the Service keeps answering."""
    old = {p["name"] for p in stack.api.pods("agent-core")}
    prober = _Prober(stack.api.service_url("nexus-agent-core/agent-core") + "/health")
    prober.start()
    try:
        assert stack.cli("restart", "agent-core").returncode == 0

        def rolled() -> bool:
            pods = stack.api.pods("agent-core")
            return len(pods) == 2 and all(p["ready"] and p["name"] not in old for p in pods)

        wait_until(rolled, 90, "the rollout")
    finally:
        prober.stop.set()
        prober.join(5)
    assert prober.failures == []


def test_logs_print_each_pods_lines(stack: Stack) -> None:
    """logs SERVICE prints up to N last lines of each pod's log file, prefixed with the pod."""
    pods = stack.api.pods("agent-core")
    result = stack.cli("logs", "agent-core", "--tail", "5")
    assert result.returncode == 0, result.stderr
    printed = result.stdout.splitlines()
    for pod in pods:
        prefix = f"[{pod['name']}] "
        mine = [line.removeprefix(prefix) for line in printed if line.startswith(prefix)]
        written = Path(pod["log"]).read_text().splitlines()  # read after: the pod may have added lines
        assert 1 <= len(mine) <= 5
        assert all(line in written for line in mine)
    assert all(line.startswith(tuple(f"[{p['name']}] " for p in pods)) for line in printed)


def test_unknown_deployment_is_one_line_error(stack: Stack) -> None:
    """scale of a deployment that does not exist fails with one line naming it."""
    result = stack.cli("scale", "no-such-thing", "2")
    assert result.returncode != 0
    first = result.stderr.strip().splitlines()[0]
    assert first.startswith("error:") and "no-such-thing" in first


def test_events_tell_what_happened(stack: Stack) -> None:
    """The events list scheduling, starts, role assumptions and waits for dependencies."""
    reasons = {e["reason"] for e in stack.api.events()}
    assert {"Scheduled", "Started", "AssumedRole", "WaitingForDependencies", "SuccessfulCreate"} <= reasons
    placed = {e["name"].rsplit("-", 2)[0]: e["message"] for e in stack.api.events("Scheduled")}
    assert placed["aws-mcp"].endswith("nexus-dev-eks-mcp")  # toleration + nodeSelector role=mcp
    assert placed["nexus-ui"].endswith("nexus-dev-eks-general")


def test_up_again_keeps_the_running_control_plane(stack: Stack) -> None:
    """A second up re-applies the manifests: same pods, a scaled replica count is kept (kubectl apply)."""
    before = {p["name"] for p in stack.api.pods()}
    runtime_pid = (stack.state_dir / "runtime.pid").read_text()
    assert stack.cli("scale", "database-mcp", "2").returncode == 0
    try:
        wait_until(lambda: len([p for p in stack.api.pods("database-mcp") if p["ready"]]) == 2, 60, "2 pods")
        result = stack.cli("up", "--local", "--json")
        assert result.returncode == 0, result.stderr
        assert (stack.state_dir / "runtime.pid").read_text() == runtime_pid
        after = {p["name"] for p in stack.api.pods()}
        assert before < after and len(after - before) == 1
    finally:
        stack.cli("scale", "database-mcp", "1")
        wait_until(lambda: len(stack.api.pods("database-mcp")) == 1, 20, "one database-mcp pod")
