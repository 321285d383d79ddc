"""Troubleshooting one pod: gather its state, events and log tail, and say what is wrong.

The diagnosis is a small set of rules a person would apply to ``kubectl describe`` and
``kubectl logs --previous``: crash loops (with the exit code and its usual meaning),
OOM kills, configuration errors, unmet dependencies, failing probes, and pods that are
simply fine. A deployment name stands for its worst pod (not ready first, then the most
restarts).
"""

from __future__ import annotations

from typing import Any

from services.mcp.k8s_mcp.backends import BackendError, ClusterBackend

EXIT_MEANINGS = {
    1: "a generic application error",
    2: "a misuse of a shell command or bad arguments",
    126: "the command could not be executed",
    127: "the command was not found",
    137: "it was killed (SIGKILL: out of memory or a failed liveness probe)",
    139: "a segmentation fault",
    143: "it was terminated (SIGTERM)",
}
MAX_EVENTS = 20


def _worst(pods: list[dict[str, Any]]) -> dict[str, Any]:
    return sorted(pods, key=lambda p: (p["ready"], -p["restarts"], p["name"]))[0]


def _find(backend: ClusterBackend, namespace: str, name: str) -> dict[str, Any]:
    try:
        return backend.get_pod(namespace, name)
    except BackendError as exc:
        pods = backend.list_pods(namespace, name)
        if not pods:
            raise BackendError(f"no pod or deployment named {name!r} in {namespace} ({exc})") from None
        return _worst(pods)


def diagnose(pod: dict[str, Any], events: list[dict[str, Any]], log_tail: list[str]) -> dict[str, Any]:
    findings: list[str] = []
    severity = "ok"
    status = str(pod.get("status") or "")
    last = pod.get("last_exit") or {}
    restarts = int(pod.get("restarts") or 0)
    code = last.get("exit_code")
    warnings = [e for e in events if e.get("type") == "Warning"]
    if last.get("reason") == "OOMKilled" or status == "OOMKilled":
        severity = "critical"
        findings.append(
            "the container was OOMKilled: it used more memory than its limit; raise the limit or fix the leak"
        )
    if status == "CrashLoopBackOff" or (restarts > 0 and code not in (None, 0)):
        severity = "critical"
        meaning = (
            EXIT_MEANINGS.get(int(code), "an application error") if code is not None else "an unknown cause"
        )
        findings.append(
            f"crash loop: the container exited with code {code} "
            f"({last.get('reason') or 'Error'}; usually {meaning}) "
            f"and has restarted {restarts} time{'s' if restarts != 1 else ''}"
        )
        errors = [
            line
            for line in log_tail
            if any(w in line.lower() for w in ("error", "exception", "traceback", "fatal"))
        ]
        if errors:
            findings.append(f"the log says: {errors[-1].strip()[:300]}")
        elif log_tail:
            findings.append(f"the last log line: {log_tail[-1].strip()[:300]}")
    if status in {"CreateContainerConfigError", "RuntimeError"}:
        severity = "critical"
        findings.append(f"the pod cannot start: {pod.get('message') or status}")
    if pod.get("phase") == "Pending" and status == "Pending":
        severity = "warning" if severity == "ok" else severity
        findings.append(f"the pod is pending: {pod.get('message') or 'not scheduled yet'}")
    unhealthy = [e for e in warnings if e.get("reason") == "Unhealthy"]
    if status == "Running" and not pod.get("ready"):
        severity = "warning" if severity == "ok" else severity
        detail = f": {unhealthy[-1].get('message')}" if unhealthy else ""
        findings.append(f"running but not ready: its readiness probe fails{detail}")
    if not findings:
        if warnings:
            severity = "warning"
            findings.append(
                f"running, with {len(warnings)} warning events (latest: {warnings[-1].get('reason')})"
            )
        else:
            findings.append("running and ready; nothing wrong found")
    return {"severity": severity, "summary": findings[0], "findings": findings}


def troubleshoot(backend: ClusterBackend, namespace: str, name: str, tail_lines: int = 40) -> dict[str, Any]:
    pod = _find(backend, namespace, name)
    events = backend.events(namespace, pod["name"])[-MAX_EVENTS:]
    try:
        log_tail = backend.log_tail(namespace, pod["name"], tail_lines)
    except BackendError as exc:
        log_tail = [f"(no log: {exc})"]
    return {
        "namespace": namespace,
        "pod": pod,
        "events": events,
        "log_tail": log_tail,
        "diagnosis": diagnose(pod, events, log_tail),
    }
