"""Throttling of HTTP API stages through the data plane: the 429.

Checked with limits that make the answer independent of time (a burst of 0); the limits
and the buckets themselves are ``tests/emulation/apigatewayv2/test_throttling.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from tests.edge.conftest import EdgeStack, http

ECHO = "def handler(event, context):\n    return {'statusCode': 200, 'body': event['routeKey']}\n"


# -- through the data plane ----------------------------------------------------------------
@dataclass
class ThrottledApi:
    url: str
    api_id: str


@pytest.fixture(scope="module")
def api(edge: EdgeStack, make_function: Callable[..., str]) -> Iterator[ThrottledApi]:
    """An API with ``GET /open`` and ``GET /closed`` on a stage ``t`` (account limits)."""
    arn = make_function("throttle-echo", {"app.py": ECHO})
    apis = edge.client("apigatewayv2")
    api_id = apis.create_api(Name="throttle", ProtocolType="HTTP")["ApiId"]
    integration = apis.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=arn, PayloadFormatVersion="2.0"
    )["IntegrationId"]
    for key in ("GET /open", "GET /closed"):
        apis.create_route(ApiId=api_id, RouteKey=key, Target=f"integrations/{integration}")
    apis.create_stage(ApiId=api_id, StageName="t")
    edge.client("lambda").add_permission(
        FunctionName="throttle-echo",
        StatementId="apigw",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{edge.spec.region}:{edge.target.account_id}:{api_id}/*/*",
    )
    yield ThrottledApi(f"{edge.engine.endpoint}/_aws/execute-api/{api_id}/t", api_id)
    apis.delete_api(ApiId=api_id)


def test_a_route_with_burst_zero_answers_429_and_others_pass(edge: EdgeStack, api: ThrottledApi) -> None:
    """RouteSettings of one route (burst 0: every request over the limit) give that route
    API Gateway's 429; the stage's other route still reaches the function."""
    edge.client("apigatewayv2").update_stage(
        ApiId=api.api_id,
        StageName="t",
        RouteSettings={"GET /closed": {"ThrottlingBurstLimit": 0, "ThrottlingRateLimit": 0.0}},
    )
    closed = http(f"{api.url}/closed")
    assert closed.status == 429
    assert json.loads(closed.body) == {"message": "Too Many Requests"}
    assert closed.headers["x-amzn-errortype"] == "TooManyRequestsException"
    opened = http(f"{api.url}/open")
    assert (opened.status, opened.body) == (200, b"GET /open")
