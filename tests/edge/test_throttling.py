"""Throttling of HTTP API stages: the limits a route gets, the token buckets, the 429.

The buckets are driven by a fake clock (no sleeping, no wall time); the data plane is
checked with limits that make the answer independent of time (a burst of 0).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from emulation.apigatewayv2.throttling import (
    ACCOUNT_BURST_LIMIT,
    ACCOUNT_RATE_LIMIT,
    Limits,
    StageThrottle,
    route_limits,
)
from tests.edge.conftest import EdgeStack, http

WHERE = ("123456789012", "us-west-2", "api1", "prod")
ECHO = "def handler(event, context):\n    return {'statusCode': 200, 'body': event['routeKey']}\n"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _admitted(throttle: StageThrottle, count: int, limits: Limits, route: str = "POST /auth") -> int:
    return sum(throttle.admit(WHERE, route, limits) for _ in range(count))


def test_unset_limits_are_the_accounts() -> None:
    """A stage without throttling settings gets AWS's account limits (10,000/s, 5,000)."""
    assert route_limits({"detailedMetricsEnabled": True}, None) == Limits(
        ACCOUNT_RATE_LIMIT, ACCOUNT_BURST_LIMIT
    )
    assert (ACCOUNT_RATE_LIMIT, ACCOUNT_BURST_LIMIT) == (10_000, 5_000)


def test_route_settings_override_the_stage_defaults_field_by_field() -> None:
    """A route's own burst wins; its rate falls back to the stage's default."""
    defaults = {"throttlingRateLimit": 50.0, "throttlingBurstLimit": 100}
    assert route_limits(defaults, {"throttlingBurstLimit": 3}) == Limits(50.0, 3)


def test_limits_above_the_account_are_capped() -> None:
    """Stage limits above the account's are cut down to them, as in AWS."""
    assert route_limits({"throttlingRateLimit": 1e9, "throttlingBurstLimit": 10**9}, None) == Limits(
        10_000, 5_000
    )


def test_bucket_admits_its_burst_then_the_rate() -> None:
    """A full bucket of 5 admits 5; two seconds at 1/s later, 2 more, then none."""
    clock = FakeClock()
    throttle = StageThrottle(clock)
    limits = Limits(rate=1.0, burst=5)
    assert _admitted(throttle, 8, limits) == 5
    clock.now += 2
    assert _admitted(throttle, 8, limits) == 2


def test_a_quiet_bucket_never_holds_more_than_its_burst() -> None:
    """An hour without requests refills the bucket to its burst, not beyond."""
    clock = FakeClock()
    throttle = StageThrottle(clock)
    limits = Limits(rate=10.0, burst=4)
    _admitted(throttle, 4, limits)
    clock.now += 3600
    assert _admitted(throttle, 100, limits) == 4


def test_routes_have_buckets_of_their_own() -> None:
    """Emptying POST /auth's bucket leaves the JWKS route's untouched."""
    throttle = StageThrottle(FakeClock())
    limits = Limits(rate=0.0, burst=2)
    assert _admitted(throttle, 5, limits) == 2
    assert _admitted(throttle, 5, limits, route="GET /.well-known/jwks.json") == 2


def test_the_account_bucket_is_shared_by_every_route() -> None:
    """Routes with generous limits still stop at the account's burst of 5,000 together."""
    throttle = StageThrottle(FakeClock())
    generous = Limits(rate=10_000.0, burst=5_000)
    assert _admitted(throttle, 3_000, generous, route="GET /a") == 3_000
    assert _admitted(throttle, 3_000, generous, route="GET /b") == 2_000


def test_a_lowered_burst_drops_the_tokens_above_it() -> None:
    """After UpdateStage lowers the burst from 10 to 2, at most 2 requests get through."""
    throttle = StageThrottle(FakeClock())
    assert _admitted(throttle, 1, Limits(0.0, 10)) == 1
    assert _admitted(throttle, 10, Limits(0.0, 2)) == 2


def test_reset_refills_every_bucket() -> None:
    """The engine's reset gives every route a full bucket again."""
    throttle = StageThrottle(FakeClock())
    limits = Limits(rate=0.0, burst=1)
    _admitted(throttle, 1, limits)
    throttle.reset()
    assert _admitted(throttle, 3, limits) == 1


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
