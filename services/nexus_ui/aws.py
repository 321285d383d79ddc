"""boto3 clients for nexus-ui: the pod's own credentials (IRSA) and ``AWS_ENDPOINT_URL``.

boto3 is imported by the first client (a page that reads a stream or the Glue jobs), not
with the app: a UI nobody has opened does not hold it.
"""

from __future__ import annotations

from typing import Any

#: the clients' botocore ``Config`` keyword arguments
CONFIG_ARGS: dict[str, Any] = {
    "retries": {"max_attempts": 2, "mode": "standard"},
    "connect_timeout": 3,
    "read_timeout": 10,
}


def client(service: str, region: str) -> Any:
    """A client of ``service`` in ``region`` (empty: the environment's ``AWS_REGION``)."""
    import boto3
    from botocore.config import Config

    return boto3.client(service, region_name=region or None, config=Config(**CONFIG_ARGS))
