"""AWS clients with the standard configuration (``AWS_ENDPOINT_URL``, region, credentials).

Nothing here knows whether it talks to the embedded engine or to AWS: the pod's
environment decides (the runtime injects the engine endpoint and IRSA credentials; EKS
injects the web-identity token). Clients are created once per process and shared by the
tool threads (botocore clients are thread-safe), all from the process's one botocore session
(:mod:`services.common.awssession`), so the endpoint and service data are loaded once.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from botocore.config import Config

from services.common import awssession

_lock = threading.Lock()
_clients: dict[str, Any] = {}


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-west-2"


def client(service: str) -> Any:
    """The process's shared client for ``service`` (what ``boto3.client`` would make)."""
    with _lock:
        found = _clients.get(service)
        if found is None:
            config = Config(
                region_name=region(),
                retries={"mode": "standard", "max_attempts": 3},
                connect_timeout=5,
                read_timeout=60,
            )
            found = awssession.new_client(service, config=config)
            _clients[service] = found
        return found


def error_code(exc: Exception) -> str:
    """The AWS error code of a botocore ClientError (or the exception's class name)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", type(exc).__name__))
    return type(exc).__name__


def describe(exc: Exception) -> str:
    """One line for a tool error: the AWS code and message."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        err = response.get("Error", {})
        return f"{err.get('Code', type(exc).__name__)}: {err.get('Message', str(exc))}"
    return f"{type(exc).__name__}: {exc}"
