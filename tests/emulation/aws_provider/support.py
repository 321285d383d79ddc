"""Small builders shared by the provider-fidelity tests."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

ACCOUNT = "123456789012"


def trust(principal: dict[str, Any], action: str = "sts:AssumeRole") -> str:
    statement = {"Effect": "Allow", "Principal": principal, "Action": action}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def allow_all(actions: str) -> str:
    statement = {"Effect": "Allow", "Action": actions, "Resource": "*"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def python_zip() -> bytes:
    """A deployment package with ``handler.handler``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return {'ok': True}\n")
    return buffer.getvalue()
