"""The HTTP API v2 data plane: routing, the 2.0 event, response mapping, stage updates."""

from __future__ import annotations

import base64
import json
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.edge.conftest import EdgeStack, http

ECHO = """
import base64, json
def handler(event, context):
    if event.get("rawPath", "").endswith("/shape"):
        return {"statusCode": 201, "headers": {"x-kind": "shaped", "content-type": "text/plain"},
                "cookies": ["a=1; Path=/", "b=2"], "body": "made"}
    if event.get("rawPath", "").endswith("/binary"):
        return {"statusCode": 200, "headers": {"content-type": "application/octet-stream"},
                "isBase64Encoded": True, "body": base64.b64encode(bytes(range(8))).decode()}
    if event.get("rawPath", "").endswith("/plain"):
        return "just a string"
    if event.get("rawPath", "").endswith("/broken"):
        return {"statusCode": "teapot"}
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(event)}
"""


@dataclass
class EchoApi:
    url: str
    api_id: str


@pytest.fixture(scope="module")
def echo(edge: EdgeStack, make_function: Callable[..., str]) -> EchoApi:
    """An API whose routes all go to a function that echoes its event."""
    arn = make_function("echo", {"app.py": ECHO})
    apis = edge.client("apigatewayv2")
    api_id = apis.create_api(Name="echo", ProtocolType="HTTP")["ApiId"]
    integration = apis.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=arn, PayloadFormatVersion="2.0"
    )["IntegrationId"]
    for key in ("GET /items/{id}", "GET /items/special", "ANY /files/{path+}", "POST /echo", "$default"):
        apis.create_route(ApiId=api_id, RouteKey=key, Target=f"integrations/{integration}")
    apis.create_stage(ApiId=api_id, StageName="v1", StageVariables={"tier": "gold"})
    edge.client("lambda").add_permission(
        FunctionName="echo",
        StatementId="apigw",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{edge.spec.region}:{edge.target.account_id}:{api_id}/*/*",
    )
    return EchoApi(f"{edge.engine.endpoint}/_aws/execute-api/{api_id}/v1", api_id)


def _event(answer: Any) -> dict[str, Any]:
    assert answer.status == 200, answer.body
    return dict(json.loads(answer.body))


def test_event_has_the_payload_2_0_fields(echo: EchoApi) -> None:
    """version, routeKey, rawPath (with the stage), raw query, lower-case headers, context."""
    event = _event(
        http(
            f"{echo.url}/echo?a=1&a=2&b=x",
            b'{"hello": "world"}',
            X_Custom="Yes",
            Cookie="s=1; t=2",
            content_type="application/json",
        )
    )
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /echo"
    assert event["rawPath"] == "/v1/echo"
    assert event["rawQueryString"] == "a=1&a=2&b=x"
    assert event["queryStringParameters"] == {"a": "1,2", "b": "x"}
    assert event["headers"]["x-custom"] == "Yes"
    assert "cookie" not in event["headers"]
    assert event["cookies"] == ["s=1", "t=2"]
    assert event["body"] == '{"hello": "world"}' and event["isBase64Encoded"] is False
    assert event["stageVariables"] == {"tier": "gold"}
    ctx = event["requestContext"]
    assert ctx["apiId"] == echo.api_id and ctx["stage"] == "v1" and ctx["routeKey"] == "POST /echo"
    assert ctx["http"]["method"] == "POST" and ctx["http"]["path"] == "/v1/echo"
    assert ctx["http"]["sourceIp"] == "127.0.0.1" and ctx["http"]["protocol"].startswith("HTTP/1")
    assert ctx["accountId"] == "123456789012" and ctx["requestId"] and ctx["timeEpoch"] > 0


def test_binary_request_body_is_base64_encoded(echo: EchoApi) -> None:
    """A non-text body reaches the function base64-encoded with isBase64Encoded."""
    event = _event(http(f"{echo.url}/echo", bytes([0, 255, 1]), content_type="application/octet-stream"))
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == bytes([0, 255, 1])


@pytest.mark.parametrize(
    ("method", "path", "route", "params"),
    [
        ("GET", "/items/42", "GET /items/{id}", {"id": "42"}),
        ("GET", "/items/special", "GET /items/special", None),
        ("PUT", "/files/a/b/c.txt", "ANY /files/{path+}", {"path": "a/b/c.txt"}),
        ("DELETE", "/nowhere/else", "$default", None),
    ],
)
def test_routes_are_selected_as_aws_does(
    echo: EchoApi, method: str, path: str, route: str, params: dict[str, str] | None
) -> None:
    """Exact path beats {var}, {var} beats {greedy+}, $default catches the rest."""
    event = _event(http(f"{echo.url}{path}", b"" if method in ("PUT", "DELETE") else None, method=method))
    assert event["routeKey"] == route
    assert event.get("pathParameters") == params


def test_structured_response_maps_status_headers_and_cookies(echo: EchoApi) -> None:
    """statusCode, headers and cookies (one Set-Cookie each) reach the client."""
    answer = http(f"{echo.url}/shape")
    assert answer.status == 201
    assert answer.headers["x-kind"] == "shaped"
    assert answer.body == b"made"
    with urllib.request.urlopen(f"{echo.url}/shape") as raw:
        assert raw.headers.get_all("Set-Cookie") == ["a=1; Path=/", "b=2"]


def test_base64_response_body_is_decoded(echo: EchoApi) -> None:
    """isBase64Encoded responses are decoded to bytes for the client."""
    answer = http(f"{echo.url}/binary")
    assert answer.body == bytes(range(8))
    assert answer.headers["content-type"] == "application/octet-stream"


def test_plain_return_value_is_a_200_json_body(echo: EchoApi) -> None:
    """A return value without statusCode becomes a 200 application/json body."""
    answer = http(f"{echo.url}/plain")
    assert answer.status == 200
    assert answer.headers["content-type"] == "application/json"
    assert json.loads(answer.body) == "just a string"


def test_malformed_function_response_is_500(echo: EchoApi) -> None:
    """A statusCode that is not a status: API Gateway's 500."""
    answer = http(f"{echo.url}/broken")
    assert answer.status == 500
    assert json.loads(answer.body) == {"message": "Internal Server Error"}


def test_unknown_api_is_not_found(edge: EdgeStack) -> None:
    """An API id that does not exist: 404 Not Found."""
    answer = http(f"{edge.engine.endpoint}/_aws/execute-api/doesnotexist/v1/x")
    assert answer.status == 404
    assert json.loads(answer.body) == {"message": "Not Found"}


def test_update_stage_changes_access_log_settings(edge: EdgeStack, echo: EchoApi) -> None:
    """UpdateStage (absent in moto) works, and the new access log format is used."""
    apis = edge.client("apigatewayv2")
    group = "/aws/apigateway/echo-test"
    edge.client("logs").create_log_group(logGroupName=group)
    arn = f"arn:aws:logs:{edge.spec.region}:{edge.target.account_id}:log-group:{group}"
    updated = apis.update_stage(
        ApiId=echo.api_id,
        StageName="v1",
        AccessLogSettings={
            "DestinationArn": arn,
            "Format": "$context.requestId $context.routeKey $context.status",
        },
    )
    assert updated["AccessLogSettings"]["DestinationArn"] == arn
    answer = http(f"{echo.url}/items/7")
    request_id = answer.headers["apigw-requestid"]
    assert f"{request_id} GET /items/{{id}} 200" in edge.log_messages(group)


def test_access_log_format_without_request_id_is_refused(edge: EdgeStack, echo: EchoApi) -> None:
    """AWS requires $context.requestId (or extendedRequestId) in an access log format."""
    with pytest.raises(ClientError) as refused:
        edge.client("apigatewayv2").update_stage(
            ApiId=echo.api_id,
            StageName="v1",
            AccessLogSettings={
                "DestinationArn": "arn:aws:logs:us-west-2:123456789012:log-group:x",
                "Format": "$context.status",
            },
        )
    assert refused.value.response["Error"]["Code"] == "BadRequestException"
