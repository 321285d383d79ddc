"""Failures behind the HTTP API: a 500 without a stack trace, the trace in the Lambda log."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from nexuskit.edge.auth import auth_api_spec, auth_environment
from nexuskit.edge.deploy import FunctionSpec, HttpApiSpec, deploy_function, deploy_http_api, invoke_url
from nexuskit.edge.package import auth_source_dir, build_package
from tests.edge.conftest import EdgeStack, http, post_json


def _deploy_behind_api(edge: EdgeStack, name: str, source: Path, env: dict[str, str] | None = None) -> str:
    """Deploy ``source`` as function ``name`` behind its own HTTP API; returns the stage URL."""
    function = FunctionSpec(
        name=name,
        role_arn=edge.exec_role_arn,
        package=build_package(source),
        handler="handler.handler",
        environment=env or {},
    )
    _, arn = deploy_function(edge.target, function)
    api = HttpApiSpec(
        name=f"{name}-api", routes=("POST /auth", "ANY /{proxy+}"), stage="prod", access_log_group_arn=None
    )
    _, api_id = deploy_http_api(edge.target, api, name, arn)
    return invoke_url(edge.target, {"ApiId": api_id}, "prod")


def test_raising_handler_gives_500_without_trace_and_logs_it(edge: EdgeStack, tmp_path: Path) -> None:
    """An unhandled exception: the client sees API Gateway's 500, the log group the traceback."""
    (tmp_path / "handler.py").write_text(
        "def handler(event, context):\n    raise RuntimeError('database password is hunter2')\n"
    )
    url = _deploy_behind_api(edge, "nexus-dev-raiser", tmp_path)
    answer = http(f"{url}/anything", b"{}")
    assert answer.status == 500
    assert answer.json() == {"message": "Internal Server Error"}
    assert b"Traceback" not in answer.body and b"hunter2" not in answer.body
    logged = "\n".join(edge.log_messages("/aws/lambda/nexus-dev-raiser"))
    assert "[ERROR] RuntimeError: database password is hunter2" in logged
    assert "Traceback (most recent call last)" in logged


def test_auth_service_failure_gives_500_with_request_id_and_logs_trace(edge: EdgeStack) -> None:
    """The auth handler itself failing (no signing secret): 500 with a request id, trace in its log."""
    env = auth_environment(edge.spec, edge.target, edge.target.account_id)
    env["SIGNING_SECRET_ID"] = "nexus-dev/no-such-secret"
    url = _deploy_behind_api(edge, "nexus-dev-auth-broken", auth_source_dir(), env)
    answer = post_json(f"{url}/auth", {"user": "alice", "ttl_minutes": 15})
    assert answer.status == 500
    doc = answer.json()
    assert doc["message"] == "internal error"
    assert doc["request_id"]
    assert "Traceback" not in answer.body.decode() and "no-such-secret" not in answer.body.decode()
    logged = "\n".join(edge.log_messages("/aws/lambda/nexus-dev-auth-broken"))
    assert f"request {doc['request_id']} failed" in logged
    assert "Traceback (most recent call last)" in logged
    # The execution role may read only the real signing secret, so AWS (and the engine with
    # IAM enforced) answers AccessDenied for another one; without enforcement it is not found.
    assert "ResourceNotFoundException" in logged or "AccessDeniedException" in logged


def test_function_without_invoke_permission_gets_500(
    edge: EdgeStack, make_function: Callable[..., str]
) -> None:
    """Without lambda:AddPermission for API Gateway, AWS answers 500; so does the engine."""
    arn = make_function("nexus-dev-no-permission", {"app.py": "def handler(e, c):\n    return 'ok'\n"})
    apis = edge.client("apigatewayv2")
    api_id = apis.create_api(Name="no-permission", ProtocolType="HTTP")["ApiId"]
    integration = apis.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=arn, PayloadFormatVersion="2.0"
    )
    apis.create_route(
        ApiId=api_id, RouteKey="$default", Target=f"integrations/{integration['IntegrationId']}"
    )
    apis.create_stage(ApiId=api_id, StageName="$default")
    answer = http(f"{edge.engine.endpoint}/_aws/execute-api/{api_id}/hello")
    assert answer.status == 500
    assert answer.json() == {"message": "Internal Server Error"}


def test_auth_api_spec_logs_to_the_stage_log_group(edge: EdgeStack) -> None:
    """The deployed stage's access log settings point at /aws/apigateway/<api> in JSON."""
    spec = auth_api_spec(edge.spec, edge.target.account_id)
    apis = edge.client("apigatewayv2")
    api_id = next(a["ApiId"] for a in apis.get_apis()["Items"] if a["Name"] == edge.spec.http_api)
    stage = apis.get_stage(ApiId=api_id, StageName="prod")
    assert stage["AccessLogSettings"]["DestinationArn"] == spec.access_log_group_arn
    assert json.loads(stage["AccessLogSettings"]["Format"])["requestId"] == "$context.requestId"
