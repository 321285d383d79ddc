"""Lambda proxy integration formats of HTTP APIs: the event sent, the response read back.

Payload format 2.0 (the one nexuskit deploys) is built field for field as AWS documents it
(and SAM CLI's event constructor does): ``version``, ``routeKey``, ``rawPath`` (with the
stage for a named stage), ``rawQueryString``, ``cookies``, lower-case ``headers`` (repeated
headers joined with commas), ``queryStringParameters``, ``pathParameters``,
``stageVariables``, ``requestContext`` and ``body``/``isBase64Encoded``. Format 1.0 is
built too, as REST APIs' proxy event.

Responses: 2.0 accepts ``{"statusCode", "headers", "cookies", "body", "isBase64Encoded"}``
and otherwise treats the function's whole JSON answer as a 200 ``application/json`` body;
1.0 requires ``statusCode``. A response that does not fit is AWS's 500.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

TEXT_TYPES = (
    "text/",
    "application/json",
    "application/xml",
    "application/javascript",
    "application/x-www-form-urlencoded",
    "application/x-ndjson",
    "+json",
    "+xml",
)


class MalformedLambdaResponseError(Exception):
    """The function's answer is not a valid proxy response (API Gateway answers 500)."""


@dataclass(frozen=True)
class HttpRequestView:
    """The parts of the client's request the events are made of."""

    method: str
    path: str  # as requested, after the stage (``/auth``)
    raw_path: str  # as API Gateway reports it (``/prod/auth`` for a named stage)
    raw_query: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    source_ip: str
    protocol: str


@dataclass(frozen=True)
class RequestContextView:
    """Where the request landed: API, stage, route, ids and time."""

    account_id: str
    api_id: str
    stage: str
    route_key: str
    request_id: str
    domain_name: str
    domain_prefix: str
    path_parameters: dict[str, str]
    stage_variables: dict[str, str]
    time_epoch_ms: int = field(default_factory=lambda: int(time.time() * 1000))

    @property
    def time_text(self) -> str:
        return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(self.time_epoch_ms / 1000))


def is_text(content_type: str) -> bool:
    content_type = content_type.split(";", 1)[0].strip().lower()
    return any(content_type.startswith(t) or content_type.endswith(t) for t in TEXT_TYPES)


def _body_fields(request: HttpRequestView) -> dict[str, Any]:
    if not request.body:
        return {"isBase64Encoded": False}
    content_type = request.headers.get("content-type", "")
    if is_text(content_type) or not content_type:
        try:
            return {"body": request.body.decode("utf-8"), "isBase64Encoded": False}
        except UnicodeDecodeError:
            pass
    return {"body": base64.b64encode(request.body).decode("ascii"), "isBase64Encoded": True}


def _query_map(raw_query: str) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        values.setdefault(key, []).append(value)
    return values


def event_v2(request: HttpRequestView, ctx: RequestContextView) -> dict[str, Any]:
    """The payload format 2.0 event."""
    headers = {k: v for k, v in request.headers.items() if k != "cookie"}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": ctx.route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
    }
    cookie_header = request.headers.get("cookie")
    if cookie_header:
        event["cookies"] = [c.strip() for c in cookie_header.replace(",", ";").split(";") if c.strip()]
    event["headers"] = headers
    query = _query_map(request.raw_query)
    if query:
        event["queryStringParameters"] = {k: ",".join(v) for k, v in query.items()}
    event["requestContext"] = {
        "accountId": ctx.account_id,
        "apiId": ctx.api_id,
        "domainName": ctx.domain_name,
        "domainPrefix": ctx.domain_prefix,
        "http": {
            "method": request.method,
            "path": request.raw_path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": request.headers.get("user-agent", ""),
        },
        "requestId": ctx.request_id,
        "routeKey": ctx.route_key,
        "stage": ctx.stage,
        "time": ctx.time_text,
        "timeEpoch": ctx.time_epoch_ms,
    }
    if ctx.path_parameters:
        event["pathParameters"] = dict(ctx.path_parameters)
    if ctx.stage_variables:
        event["stageVariables"] = dict(ctx.stage_variables)
    event.update(_body_fields(request))
    return event


def event_v1(request: HttpRequestView, ctx: RequestContextView) -> dict[str, Any]:
    """The payload format 1.0 event (REST API proxy shape)."""
    query = _query_map(request.raw_query)
    resource = ctx.route_key.partition(" ")[2] or "$default"
    event: dict[str, Any] = {
        "version": "1.0",
        "resource": resource,
        "path": request.raw_path,
        "httpMethod": request.method,
        "headers": dict(request.headers),
        "multiValueHeaders": {k: v.split(",") for k, v in request.headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "requestContext": {
            "accountId": ctx.account_id,
            "apiId": ctx.api_id,
            "domainName": ctx.domain_name,
            "domainPrefix": ctx.domain_prefix,
            "extendedRequestId": ctx.request_id,
            "httpMethod": request.method,
            "identity": {"sourceIp": request.source_ip, "userAgent": request.headers.get("user-agent", "")},
            "path": request.raw_path,
            "protocol": request.protocol,
            "requestId": ctx.request_id,
            "requestTime": ctx.time_text,
            "requestTimeEpoch": ctx.time_epoch_ms,
            "resourcePath": resource,
            "stage": ctx.stage,
        },
        "pathParameters": dict(ctx.path_parameters) or None,
        "stageVariables": dict(ctx.stage_variables) or None,
        "body": None,
        "isBase64Encoded": False,
    }
    event.update(_body_fields(request))
    return event


@dataclass
class HttpResponseView:
    """What goes back to the client."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


def _header_items(doc: dict[str, Any]) -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    headers = doc.get("headers") or {}
    if not isinstance(headers, dict):
        raise MalformedLambdaResponseError("headers must be an object")
    for name, value in headers.items():
        items.append((str(name), _scalar(value)))
    multi = doc.get("multiValueHeaders") or {}
    if not isinstance(multi, dict):
        raise MalformedLambdaResponseError("multiValueHeaders must be an object")
    for name, values in multi.items():
        for value in values if isinstance(values, list) else [values]:
            items.append((str(name), _scalar(value)))
    return items


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise MalformedLambdaResponseError(f"header value {value!r} is not a string")


def _status(value: Any) -> int:
    try:
        status = int(value)
    except (TypeError, ValueError):
        raise MalformedLambdaResponseError(f"statusCode {value!r} is not a number") from None
    if not 100 <= status <= 599:
        raise MalformedLambdaResponseError(f"statusCode {status} is not an HTTP status")
    return status


def _body(doc: dict[str, Any]) -> bytes:
    body = doc.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise MalformedLambdaResponseError("body must be a string")
    if doc.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedLambdaResponseError("body is not valid base64") from None
    return body.encode("utf-8")


def response_v2(payload: bytes) -> HttpResponseView:
    """Map a format 2.0 Lambda answer to the HTTP response."""
    try:
        doc = json.loads(payload)
    except ValueError:
        raise MalformedLambdaResponseError("the function's answer is not JSON") from None
    if not isinstance(doc, dict) or "statusCode" not in doc:
        return HttpResponseView(200, [("Content-Type", "application/json")], payload)
    headers = _header_items(doc)
    cookies = doc.get("cookies") or []
    if not isinstance(cookies, list):
        raise MalformedLambdaResponseError("cookies must be a list")
    headers += [("Set-Cookie", _scalar(cookie)) for cookie in cookies]
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "text/plain; charset=utf-8"))
    return HttpResponseView(_status(doc["statusCode"]), headers, _body(doc))


def response_v1(payload: bytes) -> HttpResponseView:
    """Map a format 1.0 Lambda answer (``statusCode`` required)."""
    try:
        doc = json.loads(payload)
    except ValueError:
        raise MalformedLambdaResponseError("the function's answer is not JSON") from None
    if not isinstance(doc, dict) or "statusCode" not in doc:
        raise MalformedLambdaResponseError("format 1.0 needs a statusCode")
    headers = _header_items(doc)
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return HttpResponseView(_status(doc["statusCode"]), headers, _body(doc))
