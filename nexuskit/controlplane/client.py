"""A small client of the runtime's control API (JSON over HTTP on 127.0.0.1)."""

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

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _request(
        self, method: str, path: str, body: dict[str, Any] | None = None, timeout: float | None = None
    ) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.base_url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"} if data is not None else {},
        )
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
        try:
            resp = urllib.request.urlopen(url, timeout=None)
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
        return str(data["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP {code}: {payload.decode(errors='replace')[:200]}"
