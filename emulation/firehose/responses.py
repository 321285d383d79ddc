"""Parsing the Firehose API calls the engine answers itself (awsJson 1.1)."""

from __future__ import annotations

from typing import Any

from emulation.core.request import AwsRequest

TARGET_PREFIX = "Firehose_20150804."
#: operations that write records directly into a delivery stream
DIRECT_PUTS = frozenset({"PutRecord", "PutRecordBatch"})


def operation_of(request: AwsRequest) -> str | None:
    target = request.target
    if request.method != "POST" or not target or not target.startswith(TARGET_PREFIX):
        return None
    return target[len(TARGET_PREFIX) :]


def delivery_stream_name(request: AwsRequest) -> str | None:
    params: Any = request.json()
    name = params.get("DeliveryStreamName") if isinstance(params, dict) else None
    return name if isinstance(name, str) else None
