"""k8s-mcp's Kubernetes backend maps the official client's objects like the runtime's (in-process).

No cluster here: the CoreV1/AppsV1 APIs are small fakes returning objects shaped like the
``kubernetes`` client's models, so the mapping and the diagnosis of a crash loop are checked.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace as Obj
from typing import Any

from services.mcp.k8s_mcp.backends import KubernetesBackend
from services.mcp.k8s_mcp.triage import troubleshoot

WHEN = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def _crashing_pod() -> Any:
    waiting = Obj(reason="CrashLoopBackOff", message="back-off 40s restarting failed container")
    last = Obj(exit_code=137, reason="OOMKilled", message="", started_at=WHEN, finished_at=WHEN)
    status = Obj(
        ready=False,
        restart_count=5,
        state=Obj(waiting=waiting, terminated=None),
        last_state=Obj(terminated=last),
    )
    return Obj(
        metadata=Obj(
            namespace="nexus-mcp",
            name="aws-mcp-7d9f-abcde",
            owner_references=[Obj(kind="ReplicaSet", name="aws-mcp-7d9f")],
        ),
        spec=Obj(node_name="node-1"),
        status=Obj(phase="Running", message=None, start_time=WHEN, container_statuses=[status]),
    )


class FakeCore:
    def read_namespaced_pod(self, name: str, namespace: str, **_: Any) -> Any:
        return _crashing_pod()

    def list_namespaced_pod(self, namespace: str, label_selector: str | None = None, **_: Any) -> Any:
        return Obj(items=[_crashing_pod()])

    def list_namespaced_event(self, namespace: str, field_selector: str, **_: Any) -> Any:
        event = Obj(
            type="Warning",
            reason="BackOff",
            involved_object=Obj(kind="Pod", name="aws-mcp-7d9f-abcde"),
            message="Back-off restarting failed container",
            count=7,
            last_timestamp=WHEN,
            event_time=None,
        )
        return Obj(items=[event])

    def read_namespaced_pod_log(
        self, name: str, namespace: str, tail_lines: int, previous: bool = False, **_: Any
    ) -> str:
        return "loading 2 GB of embeddings\nKilled\n" if previous else ""

    def list_namespace(self, **_: Any) -> Any:
        return Obj(items=[Obj(metadata=Obj(name="nexus-mcp"))])


class FakeApps:
    def __init__(self) -> None:
        self.scaled: list[tuple[str, str, dict[str, Any]]] = []

    def patch_namespaced_deployment_scale(
        self, name: str, namespace: str, body: dict[str, Any], **_: Any
    ) -> Any:
        self.scaled.append((namespace, name, body))
        return Obj(spec=Obj(replicas=body["spec"]["replicas"]))


def test_pod_mapping_reads_the_previous_termination() -> None:
    """A crash-looping container: CrashLoopBackOff, restarts, last exit from last_state, its deployment."""
    pod = KubernetesBackend(FakeCore(), FakeApps()).get_pod("nexus-mcp", "aws-mcp-7d9f-abcde")
    assert (pod["status"], pod["restarts"], pod["deployment"]) == ("CrashLoopBackOff", 5, "aws-mcp")
    assert pod["last_exit"]["exit_code"] == 137 and pod["last_exit"]["reason"] == "OOMKilled"


def test_troubleshoot_diagnoses_an_oom_crash_loop() -> None:
    """troubleshoot names the OOM kill first, and the crash loop with the previous instance's log."""
    report = troubleshoot(KubernetesBackend(FakeCore(), FakeApps()), "nexus-mcp", "aws-mcp-7d9f-abcde", 10)
    assert report["diagnosis"]["severity"] == "critical"
    assert "OOMKilled" in report["diagnosis"]["summary"]
    assert any("exited with code 137" in f for f in report["diagnosis"]["findings"])
    assert report["log_tail"] == ["loading 2 GB of embeddings", "Killed"]


def test_scale_patches_the_scale_subresource() -> None:
    """scale sends a merge patch of spec.replicas to deployments/scale."""
    apps = FakeApps()
    answer = KubernetesBackend(FakeCore(), apps).scale("nexus-mcp", "custom-mcp", 3)
    assert apps.scaled == [("nexus-mcp", "custom-mcp", {"spec": {"replicas": 3}})]
    assert answer["replicas"] == 3
