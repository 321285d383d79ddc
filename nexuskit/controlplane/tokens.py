"""ServiceAccount tokens for callers outside the cluster: the CLI, the TUI and scenarios.

The operator acts as the ServiceAccount ``nexus-agent-core/nexus-operator`` (declared in
the manifests, no pods). :func:`service_token` gets a token for it (or any account) with
a TokenRequest, as ``kubectl create token`` does:

* process runtime: ``POST /api/v1/namespaces/NS/serviceaccounts/NAME/token`` on the
  control API, authenticated with the runtime's admin token;
* kind runtime (``NEXUSKIT_K8S=kind``): ``kubectl create token`` against the cluster's
  context (a missing ``kubectl`` raises ToolMissingError).

Tokens are kept in memory until 80 % of their life has passed, per runtime process, so
a restarted runtime is asked again.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from nexuskit.config import KitSettings
from nexuskit.controlplane.client import ControlPlaneError
from nexuskit.controlplane.daemon import RuntimeDaemon
from nexuskit.errors import ToolMissingError

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
    from nexuskit.controlplane import runtime_kind

    kind = runtime_kind(settings.k8s)
    if kind == "kind":
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
    if kind == "kind":
        token, expires = kind_token(str(where[1]), namespace, service_account, audience, seconds)
    else:
        token, expires = _request_token(daemon, namespace, service_account, audience, seconds)
    with _lock:
        _cache[key] = (token, now + REFRESH_FRACTION * max(0.0, expires - now))
    return token


def _request_token(
    daemon: RuntimeDaemon, namespace: str, service_account: str, audience: str, seconds: int
) -> tuple[str, float]:
    body = {
        "apiVersion": TOKEN_REQUEST_VERSION,
        "kind": "TokenRequest",
        "spec": {"audiences": [audience], "expirationSeconds": seconds},
    }
    path = f"/api/v1/namespaces/{namespace}/serviceaccounts/{service_account}/token"
    try:
        answer = daemon.client().post(path, body)
    except ControlPlaneError as exc:
        raise ControlPlaneError(
            f"no token for {namespace}/{service_account}: {exc.message}", exc.hint
        ) from None
    try:
        token = str(answer["status"]["token"])
        stamp = str(answer["status"]["expirationTimestamp"]).replace("Z", "+00:00")
        return token, datetime.fromisoformat(stamp).timestamp()
    except (KeyError, TypeError, ValueError):
        raise ControlPlaneError(
            f"the control plane's TokenRequest answer has no token: {answer!r:.200}"
        ) from None


def kind_token(
    prefix: str,
    namespace: str,
    service_account: str,
    audience: str,
    seconds: int,
    which: Callable[[str], str | None] = shutil.which,
    run: Callable[..., subprocess.CompletedProcess[str]] = subprocess.run,
) -> tuple[str, float]:
    """``kubectl create token`` against the kind cluster ``prefix`` (context ``kind-<prefix>``)."""
    kubectl = which("kubectl")
    if not kubectl:
        raise ToolMissingError(
            "kubectl is not installed (needed for tokens from the kind cluster)",
            "install kubectl, or use the process runtime (the default)",
        )
    cmd = [
        kubectl, "--context", f"kind-{prefix}", "create", "token", service_account,
        "-n", namespace, "--audience", audience, "--duration", f"{seconds}s",
    ]  # fmt: skip
    try:
        result = run(cmd, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ControlPlaneError(f"kubectl create token failed: {exc}") from None
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        last = lines[-1] if lines else f"exit code {result.returncode}"
        raise ControlPlaneError(f"kubectl create token {namespace}/{service_account} failed: {last}")
    token = result.stdout.strip()
    return token, _expiry(token, time.time() + seconds)


def _expiry(token: str, default: float) -> float:
    """The ``exp`` claim of a JWT (not verified: only to know when to ask again)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"])
    except (IndexError, ValueError, KeyError, TypeError):
        return default


def clear_cache() -> None:
    """Forget every cached token (tests; after ``down``)."""
    with _lock:
        _cache.clear()
