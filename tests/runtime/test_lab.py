"""Pod behaviour on the lab manifests: probes, restarts, back-off, dependencies, scheduling."""

from __future__ import annotations

from typing import Any

import pytest

from tests.runtime.conftest import Lab, http_get, http_post, wait_until

pytestmark = pytest.mark.e2e


def _ready_pods(lab: Lab, deployment: str, count: int) -> list[dict[str, Any]]:
    def check() -> list[dict[str, Any]] | None:
        pods = [p for p in lab.api.pods(deployment) if p["ready"]]
        return pods if len(pods) == count else None

    result: list[dict[str, Any]] = wait_until(check, 20, f"{count} ready {deployment} pods")
    return result


def test_failing_readiness_keeps_the_pod_out_of_its_service(lab: Lab) -> None:
    """A pod whose readiness probe fails is not ready, and its Service sends nothing to it."""
    first, second = _ready_pods(lab, "web", 2)
    code, _ = http_post(lab.pod_url(first, "/_placeholder/ready"), {"ready": False})
    assert code == 200
    try:
        wait_until(
            lambda: not next(p for p in lab.api.pods("web") if p["name"] == first["name"])["ready"],
            10,
            "the pod to turn not ready",
        )
        service = lab.api.service_url("lab/web")
        answered_by = {http_get(service + "/")[1]["pod"] for _ in range(12)}
        assert answered_by == {second["name"]}
    finally:
        http_post(lab.pod_url(first, "/_placeholder/ready"), {"ready": True})
    _ready_pods(lab, "web", 2)


def test_service_balances_over_ready_replicas(lab: Lab) -> None:
    """With every replica ready, the Service's connections reach each of them."""
    pods = _ready_pods(lab, "web", 2)
    service = lab.api.service_url("lab/web")
    answered_by = {http_get(service + "/")[1]["pod"] for _ in range(8)}
    assert answered_by == {p["name"] for p in pods}


def test_liveness_failure_restarts_the_container(lab: Lab) -> None:
    """A failing liveness probe gets the container killed and restarted in the same pod."""
    (pod,) = _ready_pods(lab, "sick", 1)
    http_post(lab.pod_url(pod, "/_placeholder/ready"), {"ready": False})
    restarted = wait_until(
        lambda: next((p for p in lab.api.pods("sick") if p["restarts"] >= 1 and p["ready"]), None),
        20,
        "a liveness restart",
    )
    assert restarted["name"] == pod["name"]
    killing = [e for e in lab.api.events("Killing") if e["name"] == pod["name"]]
    assert any("failed liveness probe" in e["message"] for e in killing)


def test_crashing_container_backs_off(lab: Lab) -> None:
    """A container that keeps exiting is restarted with back-off: CrashLoopBackOff, exit code kept."""
    pod = wait_until(
        lambda: next((p for p in lab.api.pods("crasher") if p["phase"] == "CrashLoopBackOff"), None),
        20,
        "CrashLoopBackOff",
    )
    assert pod["restarts"] >= 2
    assert pod["last_exit"]["exit_code"] == 3
    assert pod["last_exit"]["reason"] == "Error"
    assert any(e["name"] == pod["name"] for e in lab.api.events("BackOff"))
    assert "crashing" in (lab.state_dir / "runtime" / "logs" / "lab" / f"{pod['name']}.log").read_text()


def test_dependent_waits_until_its_dependency_is_ready(lab: Lab) -> None:
    """A Deployment with depends-on stays Pending until the deployment it names is ready."""
    (gate,) = wait_until(lambda: lab.api.pods("gate") or None, 10, "the gate pod")
    (dependent,) = lab.api.pods("dependent")
    assert dependent["phase"] == "Pending"
    assert "waiting for lab/gate" in dependent["message"]
    pod_dir = lab.state_dir / "runtime" / "pods" / "lab" / gate["name"]
    wait_until(pod_dir.exists, 10, "the gate's pod folder")
    (pod_dir / "open").touch()
    wait_until(lambda: lab.api.pods("dependent")[0]["ready"], 15, "the dependent to start")


def test_pod_without_a_matching_node_stays_pending(lab: Lab) -> None:
    """A nodeSelector no node matches leaves the pod Pending with a FailedScheduling event."""
    (pod,) = wait_until(lambda: lab.api.pods("gpu") or None, 10, "the gpu pod")
    assert pod["phase"] == "Pending" and pod["pid"] is None
    events = [e for e in lab.api.events("FailedScheduling") if e["name"] == pod["name"]]
    assert events and "didn't match Pod's node affinity/selector" in events[0]["message"]


def test_logs_follow_streams_new_lines(lab: Lab) -> None:
    """The pod log API with follow=true keeps the answer open and sends lines as a pod writes them."""
    (pod,) = _ready_pods(lab, "sick", 1)
    resp = lab.api.core().read_namespaced_pod_log(
        pod["name"], "lab", follow=True, tail_lines=0, _preload_content=False, _request_timeout=10
    )
    try:
        http_get(lab.pod_url(pod, "/?marker=follow-test"))
        line = next(iter(resp)).decode()
    finally:
        resp.release_conn()
    assert "marker=follow-test" in line


def test_memory_limit_is_enforced(lab: Lab) -> None:
    """A container over its memory limit is killed (OOMKilled, exit 137) and restarted."""
    pod = wait_until(
        lambda: next(
            (p for p in lab.api.pods("hog") if (p["last_exit"] or {}).get("reason") == "OOMKilled"), None
        ),
        20,
        "an OOMKilled container",
    )
    assert pod["last_exit"]["exit_code"] == 137
    assert pod["restarts"] >= 1
