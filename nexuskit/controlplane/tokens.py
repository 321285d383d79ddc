"""ServiceAccount tokens for callers outside the cluster: the CLI, the TUI and scenarios.

The operator acts as the ServiceAccount ``nexus-agent-core/nexus-operator`` (declared in
the manifests, no pods). :func:`service_token` gets a token for it (or any account) with
a TokenRequest (``POST .../serviceaccounts/NAME/token``), as ``kubectl create token``
does, through the official client against the stack's cluster: the process runtime's
Kubernetes API (as its admin) or kind's (context ``kind-<prefix>``).

Tokens are kept in memory until 80 % of their life has passed, per cluster (for the
process runtime: per runtime process, so a restarted runtime is asked again).
"""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime
from typing import Any

from nexuskit.config import KitSettings
from nexuskit.controlplane.client import ControlPlaneError
from nexuskit.controlplane.daemon import RuntimeDaemon

REFRESH_FRACTION = 0.8
TOKEN_REQUEST_VERSION = "authentication.k8s.io/v1"

_cache: dict[tuple[Any, ...], tuple[str, float]] = {}  # key -> (token, refresh at)
_lock = threading.Lock()


def service_token(
    settings: KitSettings,
    namespace: str = "nexus-agent-core",
    service_account: str = "nexus-operator",
    audience: str = "nexus-services",
    seconds: int = 3600,
) -> str:
    """A signed token of ``namespace/service_account`` for ``audience``, valid ``seconds``.

    ControlPlaneError (one line) when the control plane is not running or refuses, e.g.
    for a ServiceAccount the manifests do not declare.
    """
    from nexuskit.controlplane.lifecycle import runtime_kind

    if runtime_kind(settings.k8s) == "kind":
        where: tuple[Any, ...] = ("kind", settings.stack().prefix)
    else:
        daemon = RuntimeDaemon(settings)
        info = daemon.info()
        if info is None:
            raise ControlPlaneError(
                f"no control plane is running for {daemon.state_dir}, so no token for "
                f"{namespace}/{service_account}",
                "start it with `nexuskit up --local`",
            )
        where = ("process", str(daemon.state_dir), info.get("pid"), info.get("started_at"))
    key = (*where, namespace, service_account, audience, seconds)
    now = time.time()
    with _lock:
        cached = _cache.get(key)
        if cached is not None and now < cached[1]:
            return cached[0]
    token, expires = request_token(settings, namespace, service_account, audience, seconds)
    with _lock:
        _cache[key] = (token, now + REFRESH_FRACTION * max(0.0, expires - now))
    return token


def request_token(
    settings: KitSettings, namespace: str, service_account: str, audience: str, seconds: int
) -> tuple[str, float]:
    """A TokenRequest through the official client; (token, expiry as epoch seconds)."""
    from nexuskit.controlplane.kube import call, core

    body = {
        "apiVersion": TOKEN_REQUEST_VERSION,
        "kind": "TokenRequest",
        "spec": {"audiences": [audience], "expirationSeconds": seconds},
    }
    api = core(settings)
    try:
        response = call(
            f"token for {namespace}/{service_account}",
            api.create_namespaced_service_account_token,
            service_account,
            namespace,
            body,
            _preload_content=False,
        )
    except ControlPlaneError as exc:
        raise ControlPlaneError(
            f"no token for {namespace}/{service_account}: {exc.message}", exc.hint
        ) from None
    answer = json.loads(response.data)
    try:
        token = str(answer["status"]["token"])
        stamp = str(answer["status"]["expirationTimestamp"]).replace("Z", "+00:00")
        return token, datetime.fromisoformat(stamp).timestamp()
    except (KeyError, TypeError, ValueError):
        raise ControlPlaneError(f"the TokenRequest answer has no token: {str(answer)[:200]}") from None


def clear_cache() -> None:
    """Forget every cached token (tests; after ``down``)."""
    with _lock:
        _cache.clear()
