"""The calling side: a pod's own projected ServiceAccount token, sent as a bearer.

The kubelet (locally: the process runtime) rewrites the token file before it expires,
so the file is read again whenever it changed; a caller never caches a token for long.

Two tokens, two audiences, never mixed: ``NEXUS_SERVICE_TOKEN_FILE`` (audience
``nexus-services``) goes to the other Nexus services only; the automounted token
(:func:`automounted_token`, audience the Kubernetes API) to the cluster API only.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Generator
from pathlib import Path

import httpx

#: where Kubernetes mounts a pod's API token (``automountServiceAccountToken``)
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


class ServiceToken:
    """The token in ``path`` (``NEXUS_SERVICE_TOKEN_FILE``), re-read when the file changes."""

    _cache: dict[str, tuple[float, str]] = {}
    _lock = threading.Lock()

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    @classmethod
    def from_env(cls) -> ServiceToken | None:
        path = os.environ.get("NEXUS_SERVICE_TOKEN_FILE", "")
        return cls(path) if path else None

    def value(self) -> str | None:
        """The current token, or None when the file is missing or empty."""
        key = str(self.path)
        try:
            mtime = self.path.stat().st_mtime_ns
        except OSError:
            return None
        with self._lock:
            cached = self._cache.get(key)
            if cached and cached[0] == mtime:
                return cached[1]
        try:
            token = self.path.read_text(encoding="utf-8").strip()
        except OSError:
            return None
        with self._lock:
            self._cache[key] = (mtime, token)
        return token or None

    def headers(self) -> dict[str, str]:
        """``{"Authorization": "Bearer ..."}``, or nothing when there is no token."""
        token = self.value()
        return {"Authorization": f"Bearer {token}"} if token else {}


def automounted_token() -> ServiceToken | None:
    """The pod's automounted API token: its local folder in ``NEXUSKIT_MOUNTS`` (a pod of
    the process runtime), else Kubernetes' own path; None when the pod has none."""
    try:
        mounts = json.loads(os.environ.get("NEXUSKIT_MOUNTS") or "{}")
    except ValueError:
        mounts = {}
    local = mounts.get(SERVICE_ACCOUNT_DIR) if isinstance(mounts, dict) else None
    path = Path(local) / "token" if local else Path(SERVICE_ACCOUNT_DIR) / "token"
    return ServiceToken(path) if path.exists() else None


class BearerAuth(httpx.Auth):
    """httpx authentication that sends the current service token on every request."""

    def __init__(self, token: ServiceToken | None) -> None:
        self.token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self.token is not None:
            value = self.token.value()
            if value:
                request.headers["Authorization"] = f"Bearer {value}"
        yield request
