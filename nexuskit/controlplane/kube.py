"""The official ``kubernetes`` client, pointed at the stack's cluster: one code path for every runtime.

* process runtime: the runtime's own Kubernetes API, as ``<state>/kubeconfig``
  (:mod:`~nexuskit.controlplane.kubeconfig`) describes it: its URL and CA from the running
  daemon's ``runtime/api.json``, the admin token from ``runtime/admin-token``;
* kind runtime (``NEXUSKIT_K8S=kind``): the context ``kind-<prefix>`` of the user's
  kubeconfig (``KUBECONFIG`` or ``~/.kube/config``), which ``kind create cluster`` wrote.

Clients are kept per kubeconfig (and the admin token file's age, so a restarted runtime
is picked up). Errors of the client (``ApiException``, a refused connection) become
one-line :class:`~nexuskit.controlplane.client.ControlPlaneError` with the API server's
message. The package is imported only when a function here runs (it takes ~0.7 s).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from nexuskit.config import KitSettings
from nexuskit.controlplane.client import ControlPlaneError

T = TypeVar("T")
REQUEST_TIMEOUT = 15.0

_clients: dict[tuple[Any, ...], Any] = {}
_lock = threading.Lock()


def _stamp(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def api_client(settings: KitSettings) -> Any:
    """A ``kubernetes.client.ApiClient`` for the stack's cluster (ControlPlaneError without one)."""
    from kubernetes import client, config

    from nexuskit.controlplane.lifecycle import runtime_kind

    if runtime_kind(settings.k8s) == "kind":
        context = f"kind-{settings.stack().prefix}"
        key: tuple[Any, ...] = ("kind", context)
        info: dict[str, Any] = {}
    else:
        from nexuskit.controlplane.daemon import RuntimeDaemon

        daemon = RuntimeDaemon(settings)
        info = daemon.info() or {}
        if not info.get("kube_url"):
            raise ControlPlaneError(
                f"no control plane is running for {daemon.state_dir}"
                + (" (it serves no Kubernetes API: restart it)" if info else ""),
                "start it with `nexuskit up --local`",
            )
        key = ("process", info["kube_url"], _stamp(daemon.admin_token_file))
    with _lock:
        found = _clients.get(key)
        if found is not None:
            return found
        configuration = client.Configuration()
        if info:  # what <state>/kubeconfig says, read from the live daemon
            configuration.host = str(info["kube_url"])
            configuration.ssl_ca_cert = str(info["kube_ca"])
            token = RuntimeDaemon(settings).admin_token()
            configuration.api_key = {"authorization": f"Bearer {token}"}
        else:
            try:
                config.load_kube_config(context=context, client_configuration=configuration)
            except (config.ConfigException, OSError) as exc:
                raise ControlPlaneError(f"no kubeconfig context {context}: {exc}") from None
        configuration.retries = 0
        found = client.ApiClient(configuration)
        _clients[key] = found
        return found


def core(settings: KitSettings) -> Any:
    from kubernetes import client

    return client.CoreV1Api(api_client(settings))


def apps(settings: KitSettings) -> Any:
    from kubernetes import client

    return client.AppsV1Api(api_client(settings))


def call(what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)``; a refusal or an unreachable API as one ControlPlaneError line."""
    from kubernetes.client.rest import ApiException
    from urllib3.exceptions import HTTPError

    kwargs.setdefault("_request_timeout", REQUEST_TIMEOUT)
    try:
        return fn(*args, **kwargs)
    except ApiException as exc:
        raise ControlPlaneError(f"{what}: {api_message(exc)}") from None
    except (HTTPError, OSError) as exc:
        raise ControlPlaneError(
            f"{what}: the Kubernetes API does not answer ({exc})",
            "start the stack with `nexuskit up --local`",
        ) from None


def api_message(exc: Any) -> str:
    """The ``message`` of the Status an ApiException carries (else its reason and code)."""
    import json

    try:
        body = json.loads(exc.body or "{}")
        if isinstance(body, dict) and body.get("message"):
            return str(body["message"])
    except (ValueError, TypeError):
        pass
    return f"{exc.reason} (HTTP {exc.status})"


def forget_clients() -> None:
    """Drop cached clients (tests; after ``down``)."""
    with _lock:
        _clients.clear()
