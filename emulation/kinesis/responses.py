"""Parsing Kinesis data-plane requests and rendering AWS's answers (JSON 1.1 protocol).

botocore's Kinesis model speaks only ``json`` (``application/x-amz-json-1.1``). The AWS
SDKs for Java also offer CBOR (``application/x-amz-cbor-1.1``); moto reads no CBOR at all,
so such requests are left to moto untouched (Java clients run with CBOR disabled).
"""

from __future__ import annotations

import calendar
import datetime
import json
import uuid
from typing import Any

from werkzeug.wrappers import Response

from emulation.core.request import AwsRequest
from emulation.kinesis.models import PutOutcome, ReadResult

TARGET_PREFIX = "Kinesis_20131202."
JSON_CONTENT_TYPE = "application/x-amz-json-1.1"

_DUMPS = json.JSONEncoder(separators=(",", ":")).encode


def operation_of(request: AwsRequest) -> str | None:
    """The Kinesis operation of a JSON request (None for anything else)."""
    target = request.target
    if not target or not target.startswith(TARGET_PREFIX) or request.method != "POST":
        return None
    content_type = request.headers.get("content-type", "")
    if content_type and not content_type.startswith("application/x-amz-json"):
        return None
    return target[len(TARGET_PREFIX) :]


def read_params(request: AwsRequest) -> dict[str, Any] | None:
    """The request's JSON members (parsed once, shared with other extensions)."""
    params = request.json()
    return params if isinstance(params, dict) else None


def _headers() -> dict[str, str]:
    return {"Content-Type": JSON_CONTENT_TYPE, "x-amzn-RequestId": str(uuid.uuid4())}


def result_response(payload: dict[str, Any]) -> Response:
    return Response(_DUMPS(payload), status=200, headers=_headers())


def put_record_result(outcome: PutOutcome) -> dict[str, Any]:
    result = outcome.results[0]
    assert isinstance(result, tuple), "PutRecord answers throttling with an error"
    sequence, shard_id = result
    payload: dict[str, Any] = {"SequenceNumber": sequence, "ShardId": shard_id}
    if outcome.stream.encryption_type == "KMS":
        payload["EncryptionType"] = "KMS"
    return payload


def put_records_result(outcome: PutOutcome) -> dict[str, Any]:
    """AWS's answer: one entry per request entry, in order; failures carry their error."""
    entries: list[dict[str, str]] = []
    failures: dict[str, dict[str, str]] = {}
    for result in outcome.results:
        if isinstance(result, tuple):
            entries.append({"SequenceNumber": result[0], "ShardId": result[1]})
            continue
        failure = failures.get(result)
        if failure is None:
            failure = failures[result] = {
                "ErrorCode": "ProvisionedThroughputExceededException",
                "ErrorMessage": result,
            }
        entries.append(failure)
    payload: dict[str, Any] = {"FailedRecordCount": outcome.failed, "Records": entries}
    if outcome.stream.encryption_type == "KMS":
        payload["EncryptionType"] = "KMS"
    return payload


def get_records_body(response: Response) -> dict[str, Any] | None:
    try:
        body = json.loads(response.get_data())
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _unix_timestamp(value: datetime.datetime) -> int | float:
    """A naive UTC datetime as moto's serializer writes it (milliseconds, truncated)."""
    base = calendar.timegm(value.timetuple())
    if value.microsecond:
        return base + (value.microsecond // 1000) / 1000.0
    return base


def get_records_response(read: ReadResult) -> Response:
    """GetRecords' answer, field for field what moto's serializer writes for these records
    (plus ``EncryptionType`` on records of an encrypted stream, as AWS answers)."""
    from moto.kinesis.utils import compose_shard_iterator

    encrypted = read.stream.encryption_type == "KMS"
    stamps: dict[int, int | float] = {}
    entries = []
    for record in read.records:
        when = record.created_at_datetime
        stamp = stamps.get(id(when))
        if stamp is None:  # the records of one put share one arrival time
            stamp = stamps[id(when)] = _unix_timestamp(when)
        data = record.data
        entry = {
            "SequenceNumber": str(record.sequence_number),
            "ApproximateArrivalTimestamp": stamp,
            "Data": data if isinstance(data, str) else data.decode("ascii"),
            "PartitionKey": record.partition_key,
        }
        if encrypted:
            entry["EncryptionType"] = "KMS"
        entries.append(entry)
    payload = {
        "Records": entries,
        "NextShardIterator": compose_shard_iterator(read.stream.stream_name, read.shard, read.last_sequence),
        "MillisBehindLatest": read.millis_behind,
    }
    return Response(_DUMPS(payload), status=200, headers=_headers())
