"""The stage and routes the deploy makes carry the parameter file's throttling and
authorization, exactly as Terraform's edge module sets them, and drift is put back."""

from __future__ import annotations

from typing import Any

from nexuskit.edge.auth import AUTH_ROUTE, auth_api_spec, auth_route_authorization, deploy_edge
from tests.edge.conftest import EdgeStack


def _api_id(edge: EdgeStack) -> str:
    apis = edge.client("apigatewayv2").get_apis()["Items"]
    return str(next(a["ApiId"] for a in apis if a["Name"] == edge.spec.http_api))


def _stage(edge: EdgeStack) -> dict[str, Any]:
    return dict(edge.client("apigatewayv2").get_stage(ApiId=_api_id(edge), StageName="prod"))


def _routes(edge: EdgeStack) -> dict[str, dict[str, Any]]:
    items = edge.client("apigatewayv2").get_routes(ApiId=_api_id(edge))["Items"]
    return {str(r["RouteKey"]): r for r in items}


def test_stage_throttling_is_the_parameter_files(edge: EdgeStack) -> None:
    """DefaultRouteSettings: detailed metrics on, rate and burst from auth_throttling_*."""
    params = edge.spec.params
    assert _stage(edge)["DefaultRouteSettings"] == {
        "DetailedMetricsEnabled": True,
        "ThrottlingBurstLimit": params.auth_throttling_burst_limit,
        "ThrottlingRateLimit": params.auth_throttling_rate_limit,
    }


def test_routes_have_the_parameter_files_authorization(edge: EdgeStack) -> None:
    """POST /auth has auth_route_authorization_type (NONE locally); the JWKS is public."""
    routes = _routes(edge)
    assert routes[AUTH_ROUTE]["AuthorizationType"] == edge.spec.params.auth_route_authorization_type == "NONE"
    assert routes["GET /.well-known/jwks.json"]["AuthorizationType"] == "NONE"
    assert auth_route_authorization(edge.spec, edge.target) == "NONE"


def test_local_limits_are_finite_and_above_prods() -> None:
    """envs/local is generous but finite; envs/prod keeps the module's 50/s, burst 100."""
    from nexuskit.params import load_stack

    local, prod = (auth_api_spec(load_stack(env=e), "123456789012") for e in ("local", "prod"))
    assert (prod.throttling_rate_limit, prod.throttling_burst_limit) == (50, 100)
    assert local.throttling_rate_limit is not None and local.throttling_burst_limit is not None
    assert prod.throttling_rate_limit < local.throttling_rate_limit < 10_000
    assert prod.throttling_burst_limit < local.throttling_burst_limit < 5_000


def test_drifted_throttling_and_authorization_are_put_back(edge: EdgeStack) -> None:
    """Someone loosened the stage and locked the route: the next deploy restores both and
    reports what it fixed."""
    apis = edge.client("apigatewayv2")
    api_id = _api_id(edge)
    apis.update_stage(
        ApiId=api_id,
        StageName="prod",
        DefaultRouteSettings={"ThrottlingBurstLimit": 5000, "ThrottlingRateLimit": 10000.0},
    )
    apis.update_route(ApiId=api_id, RouteId=_routes(edge)[AUTH_ROUTE]["RouteId"], AuthorizationType="AWS_IAM")
    states = {s["name"]: s for s in deploy_edge(edge.spec, edge.target)}
    stage = states[f"{edge.spec.http_api}/prod"]
    route = states[f"{edge.spec.http_api} {AUTH_ROUTE}"]
    assert stage["state"] == "updated" and "default route settings" in stage["detail"]
    assert route["state"] == "updated" and route["detail"].endswith("fixed authorization")
    assert (
        _stage(edge)["DefaultRouteSettings"]["ThrottlingBurstLimit"]
        == edge.spec.params.auth_throttling_burst_limit
    )
    assert _routes(edge)[AUTH_ROUTE]["AuthorizationType"] == "NONE"
