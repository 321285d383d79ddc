"""The smoke test after apply: the token endpoint issues a token; unsigned calls are refused.

1. ``POST <http_api.auth_url>`` with ``{"user": "nexuskit-smoke", "ttl_minutes": 15}``
   (terraform output of the platform stack) answers 200 with a non-empty ``token``.
2. An unsigned Kinesis ``DescribeStreamSummary`` on the client stream (``streams.client``)
   is refused with a 4xx authentication error: the data plane needs credentials.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from nexuskit.errors import PromotionError

SMOKE_USER = "nexuskit-smoke"
_AUTH_ERRORS = (
    "MissingAuthenticationToken",
    "UnrecognizedClient",
    "IncompleteSignature",
    "InvalidSignature",
    "AccessDenied",
    "NotAuthorized",
)


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()
    except (urllib.error.URLError, OSError) as exc:
        raise PromotionError(f"cannot reach {url}: {exc}") from None


def output_value(outputs: dict[str, Any], *path: str) -> Any:
    """``terraform output -json`` value at ``path`` (``http_api``, ``auth_url``)."""
    value: Any = (outputs.get(path[0]) or {}).get("value")
    for key in path[1:]:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def token_is_issued(auth_url: str, timeout: float = 30.0) -> str:
    """POST /auth gives a token; returns a one-line description."""
    body = json.dumps({"user": SMOKE_USER, "ttl_minutes": 15}).encode()
    status, payload = _post(auth_url, body, {"Content-Type": "application/json"}, timeout)
    if status != 200:
        raise PromotionError(f"POST {auth_url} answered {status}: {payload[:200].decode(errors='replace')}")
    try:
        doc = json.loads(payload)
    except ValueError:
        raise PromotionError(f"POST {auth_url} did not answer JSON") from None
    if not isinstance(doc, dict) or not doc.get("token"):
        raise PromotionError(f"POST {auth_url} answered 200 without a token")
    return f"POST {auth_url} issued a {doc.get('token_type', 'bearer')} token"


def unsigned_call_is_refused(kinesis_url: str, stream: str, timeout: float = 30.0) -> str:
    """An unsigned DescribeStreamSummary on ``stream`` must be refused for lack of credentials."""
    headers = {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "Kinesis_20131202.DescribeStreamSummary",
    }
    status, payload = _post(kinesis_url, json.dumps({"StreamName": stream}).encode(), headers, timeout)
    text = payload.decode(errors="replace")
    if status < 400:
        raise PromotionError(f"an unsigned call to stream {stream} was accepted ({status})")
    if status in (401, 403) or any(code in text for code in _AUTH_ERRORS):
        return f"unsigned DescribeStreamSummary on {stream} refused ({status})"
    raise PromotionError(
        f"an unsigned call to stream {stream} failed with {status}, not an authentication error: {text[:200]}"
    )
