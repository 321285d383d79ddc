"""Glue's JSON 1.1 surface for the operations nexuskit overrides.

``X-Amz-Target: AWSGlue.StartJobRun`` and ``AWSGlue.BatchStopJobRun`` are answered here;
every other Glue call (GetJobRun, GetJobRuns, CreateJob, ...) goes on to moto, which
reads the same job run objects.
"""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Response

from emulation.core.request import AwsRequest
from emulation.glue.exceptions import InvalidInputException

OVERRIDDEN = frozenset({"StartJobRun", "BatchStopJobRun"})


def glue_operation(request: AwsRequest) -> str | None:
    """The Glue operation this extension answers, or None."""
    target = request.target or ""
    if not target.startswith("AWSGlue."):
        return None
    operation = target.split(".", 1)[1]
    return operation if operation in OVERRIDDEN else None


def params(request: AwsRequest) -> dict[str, Any]:
    body = request.json()
    if not isinstance(body, dict):
        raise InvalidInputException("The request body must be a JSON object")
    return body


def json_response(payload: Any) -> Response:
    return Response(json.dumps(payload), content_type="application/x-amz-json-1.1")
