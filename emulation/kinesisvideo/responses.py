"""Parsing Kinesis Video requests and rendering AWS's answers (REST-JSON, media payloads).

Every Kinesis Video API is signed for ``kinesisvideo`` and addressed by path: the control
plane (``/getDataEndpoint``, ``/updateDataRetention``), the media API (``/putMedia``,
``/getMedia``) and the archived-media API (``/listFragments``,
``/getMediaForFragmentList``). PutMedia takes its parameters from ``x-amzn-*`` headers.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from werkzeug.wrappers import Response

from emulation.core.request import AwsRequest
from emulation.kinesisvideo.exceptions import InvalidArgumentException
from emulation.kinesisvideo.models import PutMediaParams

SIGNING_NAME = "kinesisvideo"
MKV_CONTENT_TYPE = "video/x-matroska"
#: path -> operation, for the operations this extension answers
OPERATIONS = {
    "/putMedia": "PutMedia",
    "/getMedia": "GetMedia",
    "/listFragments": "ListFragments",
    "/getMediaForFragmentList": "GetMediaForFragmentList",
    "/getDataEndpoint": "GetDataEndpoint",
    "/updateDataRetention": "UpdateDataRetention",
    "/listTagsForStream": "ListTagsForStream",
    "/tagStream": "TagStream",
    "/untagStream": "UntagStream",
    "/updateStream": "UpdateStream",
}
#: control-plane operations moto lacks, answered from moto's stream (see :mod:`.control`)
CONTROL_OPERATIONS = frozenset({"ListTagsForStream", "TagStream", "UntagStream", "UpdateStream"})
TIMECODE_TYPES = ("ABSOLUTE", "RELATIVE")
SELECTOR_TYPES = ("PRODUCER_TIMESTAMP", "SERVER_TIMESTAMP")


def operation_of(request: AwsRequest) -> str | None:
    """The Kinesis Video operation this extension answers (None for anything else)."""
    if request.method != "POST" or request.signing_service != SIGNING_NAME:
        return None
    return OPERATIONS.get(request.path.rstrip("/"))


def _headers(content_type: str = "application/json") -> dict[str, str]:
    return {"Content-Type": content_type, "x-amzn-RequestId": str(uuid.uuid4())}


def json_response(payload: dict[str, Any]) -> Response:
    return Response(json.dumps(payload), status=200, headers=_headers())


def media_response(payload: bytes) -> Response:
    return Response(payload, status=200, headers=_headers(MKV_CONTENT_TYPE))


def acks_response(acks: list[dict[str, Any]]) -> Response:
    """PutMedia's answer: one JSON acknowledgement per line."""
    body = "".join(json.dumps(ack, separators=(",", ":")) + "\n" for ack in acks)
    return Response(body, status=200, headers=_headers())


def body_params(request: AwsRequest) -> dict[str, Any]:
    params = request.json()
    if request.body and not isinstance(params, dict):
        raise InvalidArgumentException("The request body is not a JSON object.")
    return params if isinstance(params, dict) else {}


def stream_identity(params: dict[str, Any]) -> tuple[str | None, str | None]:
    """``(StreamName, StreamARN)``: exactly one must be given."""
    name, arn = params.get("StreamName"), params.get("StreamARN")
    if (name is None) == (arn is None):
        raise InvalidArgumentException("Specify either StreamName or StreamARN, not both.")
    if not isinstance(name or arn, str):
        raise InvalidArgumentException("StreamName and StreamARN must be strings.")
    return name, arn


def put_media_request(request: AwsRequest) -> tuple[tuple[str | None, str | None], PutMediaParams]:
    headers = request.headers
    identity = stream_identity(
        {
            key: value
            for key, value in (
                ("StreamName", headers.get("x-amzn-stream-name")),
                ("StreamARN", headers.get("x-amzn-stream-arn")),
            )
            if value is not None
        }
    )
    kind = headers.get("x-amzn-fragment-timecode-type")
    if kind not in TIMECODE_TYPES:
        raise InvalidArgumentException(
            f"x-amzn-fragment-timecode-type must be ABSOLUTE or RELATIVE (got {kind!r})."
        )
    raw_start = headers.get("x-amzn-producer-start-timestamp")
    start: float | None = None
    if raw_start is not None:
        try:
            start = float(raw_start)
        except ValueError:
            raise InvalidArgumentException(
                f"x-amzn-producer-start-timestamp {raw_start!r} is not a timestamp in seconds."
            ) from None
        if start < 0:
            raise InvalidArgumentException("x-amzn-producer-start-timestamp must not be negative.")
    if not request.body:
        if "chunked" in request.headers.get("transfer-encoding", "").lower():
            raise InvalidArgumentException(
                "This engine reads PutMedia bodies whole: send complete fragments with a Content-Length "
                "(one request per fragment or group of fragments), not a chunked stream."
            )
        raise InvalidArgumentException("PutMedia needs a body (an MKV stream).")
    return identity, PutMediaParams(kind, start)


def fragment_selector(params: dict[str, Any]) -> tuple[str, float, float] | None:
    selector = params.get("FragmentSelector")
    if selector is None:
        return None
    if not isinstance(selector, dict):
        raise InvalidArgumentException("FragmentSelector must be an object.")
    kind = selector.get("FragmentSelectorType")
    if kind not in SELECTOR_TYPES:
        raise InvalidArgumentException("FragmentSelectorType must be PRODUCER_TIMESTAMP or SERVER_TIMESTAMP.")
    bounds = selector.get("TimestampRange") or {}
    start, end = bounds.get("StartTimestamp"), bounds.get("EndTimestamp")
    if not isinstance(start, int | float) or not isinstance(end, int | float):
        raise InvalidArgumentException("TimestampRange needs StartTimestamp and EndTimestamp.")
    if start > end:
        raise InvalidArgumentException("StartTimestamp must not be after EndTimestamp.")
    return str(kind), float(start), float(end)


def optional_int(params: dict[str, Any], name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentException(f"{name} must be an integer.")
    return value
