"""One botocore session per process, shared by the clients a service makes.

Each session has its own loader, so every session loads (and holds) the endpoint data
and service models again: two sessions with a DynamoDB and a Kinesis client hold about
twice the memory of one session with both. The clients are botocore's own (what
``boto3.session.Session().client`` returns too) without importing boto3 and s3transfer
(their resources and transfer managers, some 2 MB, are used by no service). The
session here is made again when the process's ``AWS_*`` environment has changed since (a
test that points a second app at other credentials gets a session of its own), and
clients are made under a lock (a boto3 session is not thread-safe; its clients are).
"""

from __future__ import annotations

import os
import threading
from typing import Any

_lock = threading.Lock()
_current: tuple[tuple[tuple[str, str], ...], Any] | None = None


def _aws_environment() -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_")))


def new_client(service: str, **kwargs: Any) -> Any:
    """A client of ``service`` (``create_client`` keyword arguments) from the shared session."""
    global _current
    import botocore.session

    environment = _aws_environment()
    with _lock:
        if _current is None or _current[0] != environment:
            _current = (environment, botocore.session.Session())
        return _current[1].create_client(service, **kwargs)
