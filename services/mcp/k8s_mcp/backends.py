"""Where k8s-mcp reads pods and scales deployments: the local runtime or a real cluster.

Both backends answer in the same shapes (plain dicts), so the tools and the diagnosis do
not care which one is behind them:

pod
    ``namespace``, ``name``, ``deployment``, ``phase`` (Pending/Running/...), ``status``
    (what ``kubectl get pods`` shows: Running, CrashLoopBackOff, Error, ...), ``ready``,
    ``restarts``, ``node``, ``started_at``, ``message``, ``last_exit`` (``exit_code``,
    ``reason``, ``finished_at``) or None.
deployment
    ``namespace``, ``name``, ``replicas`` (desired), ``ready``, ``available``.
event
    ``type``, ``reason``, ``object``, ``message``, ``count``, ``last_time``.

:class:`ControlApiBackend` calls the process runtime's JSON control API
(``NEXUSKIT_RUNTIME_API``) with the pod's automounted ServiceAccount token
(``/var/run/secrets/kubernetes.io/serviceaccount/token``, found through
``NEXUSKIT_MOUNTS`` in a local pod and read again whenever it is rotated), so the
runtime applies k8s-mcp's RBAC as a cluster would. :class:`KubernetesBackend` uses the official ``kubernetes``
client with in-cluster configuration (or ``~/.kube/config``); the package is optional and
imported only when that backend is chosen.
"""

from __future__ import annotations

import importlib
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import httpx


class BackendError(RuntimeError):
    """The cluster API refused or could not be reached; the message says which."""


class ClusterBackend(Protocol):
    name: str

    def list_namespaces(self) -> list[str]: ...
    def list_pods(self, namespace: str, deployment: str | None = None) -> list[dict[str, Any]]: ...
    def list_deployments(self, namespace: str) -> list[dict[str, Any]]: ...
    def get_pod(self, namespace: str, name: str) -> dict[str, Any]: ...
    def scale(self, namespace: str, name: str, replicas: int) -> dict[str, Any]: ...
    def events(self, namespace: str, name: str) -> list[dict[str, Any]]: ...
    def log_tail(self, namespace: str, name: str, lines: int) -> list[str]: ...


def _time(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value).astimezone().isoformat()
    return value


SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def service_account_token_file() -> Path | None:
    """The pod's automounted token: its local folder in ``NEXUSKIT_MOUNTS``, else the cluster path."""
    try:
        mounts = json.loads(os.environ.get("NEXUSKIT_MOUNTS") or "{}")
    except ValueError:
        mounts = {}
    local = mounts.get(SERVICE_ACCOUNT_DIR) if isinstance(mounts, dict) else None
    if local:
        return Path(local) / "token"
    default = Path(SERVICE_ACCOUNT_DIR) / "token"
    return default if default.exists() else None


class _TokenFile:
    """A token file read again whenever it changes (the runtime rotates it)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._token = ""

    def read(self) -> str:
        try:
            stat = self.path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
            if stamp != self._stamp:
                self._token, self._stamp = self.path.read_text().strip(), stamp
        except OSError:
            return ""
        return self._token


class ControlApiBackend:
    """The nexuskit process runtime's control API (JSON over HTTP on 127.0.0.1)."""

    name = "control-api"

    def __init__(
        self,
        url: str,
        timeout: float = 10.0,
        client: httpx.Client | None = None,
        token_file: Path | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.client = client or httpx.Client(timeout=timeout)
        path = token_file or service_account_token_file()
        self.token = _TokenFile(path) if path is not None else None

    def _get(self, path: str, **params: Any) -> Any:
        return self._call("GET", path, params={k: v for k, v in params.items() if v is not None})

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        token = self.token.read() if self.token is not None else ""
        if token:
            kwargs["headers"] = {"Authorization": f"Bearer {token}"}
        try:
            response = self.client.request(method, self.url + path, **kwargs)
        except httpx.HTTPError as exc:
            raise BackendError(f"the runtime control API at {self.url} does not answer: {exc}") from None
        if response.status_code >= 400:
            try:
                message = response.json()["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text[:200]
            raise BackendError(f"{method} {path}: {message} (HTTP {response.status_code})")
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.text

    @staticmethod
    def _pod(raw: dict[str, Any]) -> dict[str, Any]:
        last = raw.get("last_exit")
        return {
            "namespace": raw.get("namespace"),
            "name": raw.get("name"),
            "deployment": raw.get("deployment"),
            "phase": raw.get("pod_phase") or raw.get("phase"),
            "status": raw.get("phase"),
            "ready": bool(raw.get("ready")),
            "restarts": int(raw.get("restarts") or 0),
            "node": raw.get("node"),
            "started_at": _time(raw.get("started_at")),
            "age_s": raw.get("age_s"),
            "message": raw.get("message") or "",
            "last_exit": {
                "exit_code": last.get("exit_code"),
                "reason": last.get("reason"),
                "message": last.get("message") or "",
                "started_at": _time(last.get("started_at")),
                "finished_at": _time(last.get("finished_at")),
            }
            if isinstance(last, dict)
            else None,
        }

    def list_namespaces(self) -> list[str]:
        return [item["name"] for item in self._get("/api/v1/namespaces").get("items", [])]

    def list_pods(self, namespace: str, deployment: str | None = None) -> list[dict[str, Any]]:
        items = self._get("/api/v1/pods", namespace=namespace, deployment=deployment).get("items", [])
        return [self._pod(item) for item in items]

    def list_deployments(self, namespace: str) -> list[dict[str, Any]]:
        items = self._get("/api/v1/deployments", namespace=namespace).get("items", [])
        return [
            {
                "namespace": d.get("namespace"),
                "name": d.get("name"),
                "replicas": d.get("replicas"),
                "ready": d.get("ready"),
                "available": d.get("available"),
            }
            for d in items
        ]

    def get_pod(self, namespace: str, name: str) -> dict[str, Any]:
        return self._pod(self._get(f"/api/v1/namespaces/{namespace}/pods/{name}"))

    def scale(self, namespace: str, name: str, replicas: int) -> dict[str, Any]:
        answer = self._call(
            "POST", f"/api/v1/namespaces/{namespace}/deployments/{name}/scale", json={"replicas": replicas}
        )
        return {
            "namespace": namespace,
            "name": name,
            "replicas": answer.get("replicas"),
            "ready": answer.get("ready"),
        }

    def events(self, namespace: str, name: str) -> list[dict[str, Any]]:
        items = self._get("/api/v1/events", namespace=namespace, name=name).get("items", [])
        return [
            {
                "type": e.get("type"),
                "reason": e.get("reason"),
                "object": e.get("object"),
                "message": e.get("message"),
                "count": e.get("count", 1),
                "last_time": _time(e.get("last_time")),
            }
            for e in items
        ]

    def log_tail(self, namespace: str, name: str, lines: int) -> list[str]:
        text = self._get(f"/api/v1/namespaces/{namespace}/pods/{name}/log", tail=lines)
        return str(text).splitlines()[-lines:] if lines else []


class KubernetesBackend:
    """The Kubernetes API through the official client (in-cluster config, else kubeconfig)."""

    name = "kubernetes"

    def __init__(self, core: Any = None, apps: Any = None) -> None:
        if core is None or apps is None:
            try:  # optional: only a pod inside a cluster needs it
                client = importlib.import_module("kubernetes.client")
                config = importlib.import_module("kubernetes.config")
            except ImportError:
                raise BackendError(
                    "the kubernetes backend needs the `kubernetes` package (pip install kubernetes)"
                ) from None
            try:
                config.load_incluster_config()
            except config.ConfigException:
                config.load_kube_config()
            core, apps = client.CoreV1Api(), client.AppsV1Api()
        self.core = core
        self.apps = apps

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # ApiException and transport errors of an optional package
            status = getattr(exc, "status", None)
            reason = getattr(exc, "reason", None) or str(exc)
            raise BackendError(f"{what}: {reason}" + (f" (HTTP {status})" if status else "")) from None

    @staticmethod
    def _pod(pod: Any) -> dict[str, Any]:
        statuses = pod.status.container_statuses or []
        first = statuses[0] if statuses else None
        status = pod.status.phase
        last_exit = None
        message = pod.status.message or ""
        if first is not None:
            waiting = first.state.waiting if first.state else None
            terminated = first.state.terminated if first.state else None
            if waiting is not None and waiting.reason:
                status, message = waiting.reason, waiting.message or message
            elif terminated is not None:
                status = terminated.reason or "Terminated"
            previous = first.last_state.terminated if first.last_state else None
            source = previous or terminated
            if source is not None:
                last_exit = {
                    "exit_code": source.exit_code,
                    "reason": source.reason,
                    "message": source.message or "",
                    "started_at": _time(source.started_at),
                    "finished_at": _time(source.finished_at),
                }
        owner = next((o.name for o in (pod.metadata.owner_references or []) if o.kind == "ReplicaSet"), None)
        return {
            "namespace": pod.metadata.namespace,
            "name": pod.metadata.name,
            "deployment": owner.rsplit("-", 1)[0] if owner else None,
            "phase": pod.status.phase,
            "status": status,
            "ready": bool(first.ready) if first is not None else False,
            "restarts": int(first.restart_count) if first is not None else 0,
            "node": pod.spec.node_name,
            "started_at": _time(pod.status.start_time),
            "age_s": None,
            "message": message,
            "last_exit": last_exit,
        }

    def list_namespaces(self) -> list[str]:
        return [ns.metadata.name for ns in self._call("namespaces", self.core.list_namespace).items]

    def list_pods(self, namespace: str, deployment: str | None = None) -> list[dict[str, Any]]:
        selector = f"app.kubernetes.io/name={deployment}" if deployment else None
        answer = self._call(
            f"pods in {namespace}", self.core.list_namespaced_pod, namespace, label_selector=selector
        )
        return [self._pod(p) for p in answer.items]

    def list_deployments(self, namespace: str) -> list[dict[str, Any]]:
        answer = self._call(f"deployments in {namespace}", self.apps.list_namespaced_deployment, namespace)
        return [
            {
                "namespace": d.metadata.namespace,
                "name": d.metadata.name,
                "replicas": d.spec.replicas,
                "ready": d.status.ready_replicas or 0,
                "available": d.status.available_replicas or 0,
            }
            for d in answer.items
        ]

    def get_pod(self, namespace: str, name: str) -> dict[str, Any]:
        return self._pod(
            self._call(f"pod {namespace}/{name}", self.core.read_namespaced_pod, name, namespace)
        )

    def scale(self, namespace: str, name: str, replicas: int) -> dict[str, Any]:
        body = {"spec": {"replicas": replicas}}
        answer = self._call(
            f"scale {namespace}/{name}", self.apps.patch_namespaced_deployment_scale, name, namespace, body
        )
        return {"namespace": namespace, "name": name, "replicas": answer.spec.replicas, "ready": None}

    def events(self, namespace: str, name: str) -> list[dict[str, Any]]:
        answer = self._call(
            f"events of {namespace}/{name}",
            self.core.list_namespaced_event,
            namespace,
            field_selector=f"involvedObject.name={name}",
        )
        return [
            {
                "type": e.type,
                "reason": e.reason,
                "object": f"{e.involved_object.kind}/{e.involved_object.name}",
                "message": e.message,
                "count": e.count or 1,
                "last_time": _time(e.last_timestamp or e.event_time),
            }
            for e in answer.items
        ]

    def log_tail(self, namespace: str, name: str, lines: int) -> list[str]:
        if not lines:
            return []
        text = self._call(
            f"log of {namespace}/{name}", self.core.read_namespaced_pod_log, name, namespace, tail_lines=lines
        )
        previous = ""
        try:  # a crash-looping container's useful lines are in the previous instance's log
            previous = self.core.read_namespaced_pod_log(name, namespace, tail_lines=lines, previous=True)
        except Exception:  # no previous instance: that is fine
            previous = ""
        return (str(previous) + str(text)).splitlines()[-lines:]


def choose_backend(kind: str, control_api: str | None, timeout: float) -> ClusterBackend:
    """``auto``: the Kubernetes API inside a cluster, the runtime's control API on a workstation."""
    if kind == "kubernetes" or (kind == "auto" and os.environ.get("KUBERNETES_SERVICE_HOST")):
        return KubernetesBackend()
    if control_api:
        return ControlApiBackend(control_api, timeout)
    raise BackendError(
        "no cluster API: set NEXUSKIT_RUNTIME_API (the runtime sets it for its pods) "
        "or run inside a cluster (KUBERNETES_SERVICE_HOST)"
    )
