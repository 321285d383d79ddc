"""boto3 clients for nexus-ui: the pod's own credentials (IRSA) and ``AWS_ENDPOINT_URL``."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

CONFIG = Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=3, read_timeout=10)


def client(service: str, region: str) -> Any:
    """A client of ``service`` in ``region`` (empty: the environment's ``AWS_REGION``)."""
    return boto3.client(service, region_name=region or None, config=CONFIG)
