"""One invocation's request and result, and the AWS formats around them."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

MAX_SYNC_PAYLOAD = 6 * 1024 * 1024  # 6 MB, RequestResponse
MAX_ASYNC_PAYLOAD = 256 * 1024  # 256 KB, Event


@dataclass(frozen=True)
class Invocation:
    """What to run: which function (name, ARN or partial ARN), the event, and where."""

    function: str
    qualifier: str | None
    payload_text: str
    account_id: str
    region: str
    client_context: Any = None
    request_id: str | None = None


@dataclass
class InvocationResult:
    """The payload and, for a failed invocation, AWS's ``FunctionError`` kind."""

    request_id: str
    payload: bytes
    function_error: str | None
    executed_version: str
    log_tail: str = ""
    duration_ms: float = 0.0
    max_rss_mb: int = 0

    def error_document(self) -> dict[str, Any] | None:
        if self.function_error is None:
            return None
        try:
            doc = json.loads(self.payload)
        except ValueError:
            return {"errorMessage": self.payload.decode("utf-8", "replace")}
        return doc if isinstance(doc, dict) else {"errorMessage": str(doc)}


def function_error_payload(doc: dict[str, Any]) -> bytes:
    """AWS's error payload: errorMessage, errorType, requestId?, stackTrace (that order)."""
    ordered: dict[str, Any] = {"errorMessage": doc.get("errorMessage", "")}
    for key in ("errorType", "requestId", "stackTrace"):
        if key in doc:
            ordered[key] = doc[key]
    return json.dumps(ordered).encode("utf-8")


def report_line(
    request_id: str,
    duration_ms: float,
    memory_mb: int,
    max_memory_mb: int,
    init_ms: float | None,
    status: str = "",
) -> str:
    """``REPORT RequestId: ...`` as AWS writes it (tab-separated figures)."""
    parts = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {max(1, math.ceil(duration_ms))} ms",
        f"Memory Size: {memory_mb} MB",
        f"Max Memory Used: {max_memory_mb} MB",
    ]
    if init_ms is not None:
        parts.append(f"Init Duration: {init_ms:.2f} ms")
    if status:
        parts.append(status)
    return "\t".join(parts)
