"""A small client of the runtime's internal channel (``/health``, JSON over HTTP on 127.0.0.1).

What :class:`~nexuskit.controlplane.daemon.RuntimeDaemon` supervises the daemon with
(is it up, is every Deployment ready); everything else goes through the Kubernetes API
and the official client (:mod:`~nexuskit.controlplane.kube`). Requests carry
``Authorization: Bearer TOKEN``: the runtime's admin token (``<state>/runtime/admin-token``,
readable by its owner only). :class:`ControlPlaneError` is the error of the whole
control plane package.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

from nexuskit.errors import NexuskitError


class ControlPlaneError(NexuskitError):
    """The control plane is not running, or refused a request (unknown deployment, bad count)."""


class ControlPlaneClient:
    """Calls one runtime's control API; every failure is a one-line ControlPlaneError."""

    def __init__(self, base_url: str, timeout: float = 10.0, token: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.token = token

    def auth_headers(self) -> dict[str, str]:
        """The ``Authorization`` header of this client's requests (empty without a token)."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def _request(
        self, method: str, path: str, body: dict[str, Any] | None = None, timeout: float | None = None
    ) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        headers = self.auth_headers()
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout) as resp:
                return json.load(resp)
        except urllib.error.HTTPError as exc:
            raise ControlPlaneError(_message(exc.read(), exc.code)) from None
        except (urllib.error.URLError, OSError) as exc:
            raise ControlPlaneError(
                f"the control plane at {self.base_url} does not answer ({exc})",
                "start the stack with `nexuskit up --local`",
            ) from None

    def get(self, path: str, **query: Any) -> Any:
        params = {k: v for k, v in query.items() if v is not None}
        suffix = "?" + urllib.parse.urlencode(params) if params else ""
        return self._request("GET", path + suffix)

    def post(self, path: str, body: dict[str, Any] | None = None, timeout: float | None = None) -> Any:
        return self._request("POST", path, body or {}, timeout)

    def stream(self, path: str, **query: Any) -> Iterator[str]:
        """Lines of a text answer as they arrive (chunked, for ``follow``)."""
        params = {k: v for k, v in query.items() if v is not None}
        url = self.base_url + path + ("?" + urllib.parse.urlencode(params) if params else "")
        request = urllib.request.Request(url, headers=self.auth_headers())
        try:
            resp = urllib.request.urlopen(request, timeout=None)
        except urllib.error.HTTPError as exc:
            raise ControlPlaneError(_message(exc.read(), exc.code)) from None
        except (urllib.error.URLError, OSError) as exc:
            raise ControlPlaneError(f"the control plane at {self.base_url} does not answer ({exc})") from None
        with resp:
            for raw in resp:
                yield raw.decode("utf-8", errors="replace").rstrip("\n")


def _message(payload: bytes, code: int) -> str:
    try:
        data = json.loads(payload)
    except ValueError:
        return f"HTTP {code}: {payload.decode(errors='replace')[:200]}"
    if isinstance(data, dict):
        if isinstance(data.get("message"), str):
            return str(data["message"])
        error = data.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
    return f"HTTP {code}: {payload.decode(errors='replace')[:200]}"
