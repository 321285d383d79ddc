"""Where k8s-mcp reads pods and scales deployments: the Kubernetes API, through the official client.

One code path for every cluster: the official ``kubernetes`` client, configured as the
process finds itself:

* in a pod of the local process runtime: the automounted ServiceAccount folder
  (``token`` and ``ca.crt``; its local path in ``NEXUSKIT_MOUNTS``) and
  ``KUBERNETES_SERVICE_HOST``/``PORT``, the runtime's Kubernetes API (the token file is
  read again as the runtime rotates it);
* in a pod of a real cluster (EKS, kind): ``load_incluster_config()``;
* elsewhere: the kubeconfig (``KUBECONFIG``, else ``~/.kube/config``).

So the API applies k8s-mcp's RBAC from its manifest in every case. The client imports
every model of the API (some 850 modules, about 40 MB), and k8s-mcp's health (its
readiness probe) lists namespaces every few seconds; so in a pod, listing namespaces is one
plain GET with the automounted token and CA (:class:`InClusterApi`, no client), and the
client is loaded by the first call that needs more (a tool's). Outside a pod (kubeconfig:
exec plugins, client certificates, ...) the client is loaded at the start, as before.

Answers are plain dicts:

pod
    ``namespace``, ``name``, ``deployment``, ``phase`` (Pending/Running/...), ``status``
    (what ``kubectl get pods`` shows: Running, CrashLoopBackOff, Error, ...), ``ready``,
    ``restarts``, ``node``, ``started_at``, ``message``, ``last_exit`` (``exit_code``,
    ``reason``, ``finished_at``) or None.
deployment
    ``namespace``, ``name``, ``replicas`` (desired), ``ready``, ``available``.
event
    ``type``, ``reason``, ``object``, ``message``, ``count``, ``last_time``.
"""

from __future__ import annotations

import http.client
import importlib
import json
import os
import ssl
import threading
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol


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


def service_account_folder() -> Path | None:
    """The pod's automounted folder: its local path in ``NEXUSKIT_MOUNTS``, else the cluster path."""
    try:
        mounts = json.loads(os.environ.get("NEXUSKIT_MOUNTS") or "{}")
    except ValueError:
        mounts = {}
    local = mounts.get(SERVICE_ACCOUNT_DIR) if isinstance(mounts, dict) else None
    if local:
        return Path(local)
    default = Path(SERVICE_ACCOUNT_DIR)
    return default if (default / "token").exists() else None


def load_configuration(timeout: float) -> Any:
    """A client ``Configuration`` for where this process runs (see the module docstring)."""
    try:  # the package is a dependency of nexuskit; a slim image might still leave it out
        client = importlib.import_module("kubernetes.client")
        config = importlib.import_module("kubernetes.config")
        incluster = importlib.import_module("kubernetes.config.incluster_config")
    except ImportError:
        raise BackendError("k8s-mcp needs the `kubernetes` package (pip install kubernetes)") from None
    configuration = client.Configuration()
    folder = service_account_folder()
    try:
        if folder is not None and os.environ.get("KUBERNETES_SERVICE_HOST"):
            loader = incluster.InClusterConfigLoader(
                token_filename=str(folder / "token"), cert_filename=str(folder / "ca.crt")
            )
            loader.load_and_set(configuration)
        else:
            config.load_kube_config(client_configuration=configuration)
    except (config.ConfigException, OSError) as exc:
        raise BackendError(f"no Kubernetes API configuration: {exc}") from None
    configuration.retries = 0
    return configuration


class InClusterApi:
    """GETs on the Kubernetes API of the pod's cluster: the automounted token and CA, no client.

    Checks what the client's ``InClusterConfigLoader`` checks (the service host and port
    are set, the token and CA files exist and are not empty) with the same messages, and
    reads the token again on every request (the kubelet rotates it).
    """

    def __init__(self, folder: Path, environ: Any = os.environ) -> None:
        host = environ.get("KUBERNETES_SERVICE_HOST")
        port = environ.get("KUBERNETES_SERVICE_PORT")
        if host is None or port is None:
            raise BackendError("no Kubernetes API configuration: Service host/port is not set.")
        if not host or not port:
            raise BackendError("no Kubernetes API configuration: Service host/port is set but empty.")
        self.token_file = folder / "token"
        ca_file = folder / "ca.crt"
        if not self.token_file.is_file():
            raise BackendError("no Kubernetes API configuration: Service token file does not exist.")
        self._token()
        if not ca_file.is_file():
            raise BackendError("no Kubernetes API configuration: Service certification file does not exist.")
        try:
            if not ca_file.read_text(encoding="utf-8"):
                raise BackendError("no Kubernetes API configuration: Cert file exists but empty.")
            self.context = ssl.create_default_context(cafile=str(ca_file))
        except (OSError, ssl.SSLError, ValueError) as exc:
            raise BackendError(f"no Kubernetes API configuration: {exc}") from None
        self.host, self.port = host.strip("[]"), int(port)

    def _token(self) -> str:
        try:
            token = self.token_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise BackendError(f"no Kubernetes API configuration: {exc}") from None
        if not token:
            raise BackendError("no Kubernetes API configuration: Token file exists but empty.")
        return token

    def get(self, what: str, path: str, timeout: float) -> Any:
        """The JSON answer of ``GET path``; BackendError as the client's errors read."""
        headers = {"Authorization": "bearer " + self._token(), "Accept": "application/json"}
        connection = http.client.HTTPSConnection(self.host, self.port, timeout=timeout, context=self.context)
        try:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise BackendError(f"{what}: {type(exc).__name__}: {exc}") from None
        finally:
            connection.close()
        if response.status != 200:
            reason = _body_message(body) or response.reason
            raise BackendError(f"{what}: {reason} (HTTP {response.status})")
        try:
            return json.loads(body)
        except ValueError:
            raise BackendError(f"{what}: the API answered something other than JSON") from None


class KubernetesBackend:
    """The Kubernetes API through the official client (namespaces, in a pod, without it)."""

    name = "kubernetes"

    def __init__(self, core: Any = None, apps: Any = None, timeout: float = 10.0) -> None:
        self._core = core
        self._apps = apps
        self.timeout = timeout
        self._lock = threading.Lock()
        self.in_cluster: InClusterApi | None = None
        if core is None or apps is None:
            folder = service_account_folder()
            if folder is not None and os.environ.get("KUBERNETES_SERVICE_HOST"):
                self.in_cluster = InClusterApi(folder)  # the client on the first call that needs it
            else:
                self._load_client()

    def _load_client(self) -> None:
        with self._lock:
            if self._core is None or self._apps is None:
                client = importlib.import_module("kubernetes.client")
                api = client.ApiClient(load_configuration(self.timeout))
                self._core, self._apps = client.CoreV1Api(api), client.AppsV1Api(api)

    @property
    def core(self) -> Any:
        if self._core is None:
            self._load_client()
        return self._core

    @property
    def apps(self) -> Any:
        if self._apps is None:
            self._load_client()
        return self._apps

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, _request_timeout=self.timeout, **kwargs)
        except Exception as exc:  # ApiException and the transport errors of the client
            status = getattr(exc, "status", None)
            reason = _status_message(exc) or getattr(exc, "reason", None) or str(exc)
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
        if self.in_cluster is not None:
            answer = self.in_cluster.get("namespaces", "/api/v1/namespaces", self.timeout)
            items = answer.get("items") if isinstance(answer, dict) else None
            try:
                return [str(item["metadata"]["name"]) for item in items or []]
            except (TypeError, KeyError):
                raise BackendError("namespaces: the API answered an unexpected NamespaceList") from None
        return [ns.metadata.name for ns in self._call("namespaces", self.core.list_namespace).items]

    def list_pods(self, namespace: str, deployment: str | None = None) -> list[dict[str, Any]]:
        selector = None
        if deployment:  # the Deployment's own selector, as kubectl does
            found = self._call(
                f"deployment {namespace}/{deployment}",
                self.apps.read_namespaced_deployment,
                deployment,
                namespace,
            )
            labels = found.spec.selector.match_labels or {}
            selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
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
        previous = ""
        try:  # a crash-looping container's useful lines are in the previous instance's log
            previous = self._call(
                "previous log",
                self.core.read_namespaced_pod_log,
                name,
                namespace,
                tail_lines=lines,
                previous=True,
            )
        except BackendError:  # no previous instance: that is fine
            previous = ""
        try:
            text = self._call(
                f"log of {namespace}/{name}",
                self.core.read_namespaced_pod_log,
                name,
                namespace,
                tail_lines=lines,
            )
        except BackendError:
            if not previous:
                raise
            text = ""  # waiting to restart: only the previous instance has lines
        return (str(previous) + str(text)).splitlines()[-lines:]


def _status_message(exc: Exception) -> str | None:
    """The ``message`` of the Kubernetes ``Status`` an ApiException carries."""
    return _body_message(getattr(exc, "body", None))


def _body_message(raw: Any) -> str | None:
    """The ``message`` of a Kubernetes ``Status`` answer (JSON text or bytes)."""
    try:
        body = json.loads(raw or "{}")
    except (ValueError, TypeError):
        return None
    return str(body["message"]) if isinstance(body, dict) and body.get("message") else None


def choose_backend(timeout: float) -> ClusterBackend:
    """The Kubernetes API, configured for where this process runs (BackendError when there is none)."""
    return KubernetesBackend(timeout=timeout)
