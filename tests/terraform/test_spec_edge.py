"""Spec §2.5 edge and §2.6 observability: HTTP API, auth Lambda, stage logs, log groups."""

from __future__ import annotations

import re

from conftest import module_config
from tfstatic import Scope, expression, literal, module_scope


def test_post_auth_routes_to_the_lambda() -> None:
    """Route POST /auth -> AWS_PROXY integration (payload 2.0) -> the auth Lambda."""
    edge = module_config("edge")
    route = edge.resource("aws_apigatewayv2_route", "auth")
    assert literal(route["route_key"]) == "POST /auth"
    assert literal(route["target"]) == "integrations/${aws_apigatewayv2_integration.auth.id}"
    integration = edge.resource("aws_apigatewayv2_integration", "auth")
    assert literal(integration["integration_type"]) == "AWS_PROXY"
    assert literal(integration["payload_format_version"]) == "2.0"
    assert expression(integration["integration_uri"]) == "aws_lambda_function.auth.invoke_arn"
    permission = edge.resource("aws_lambda_permission", "api")
    assert literal(permission["principal"]) == "apigateway.amazonaws.com"
    assert literal(permission["source_arn"]) == "${aws_apigatewayv2_api.ui.execution_arn}/*/*"


def test_api_is_an_http_api() -> None:
    """The API is API Gateway v2 of protocol HTTP."""
    api = module_config("edge").resource("aws_apigatewayv2_api", "ui")
    assert literal(api["protocol_type"]) == "HTTP"


def test_prod_stage_writes_access_logs_to_the_api_log_group(platform) -> None:
    """Stage prod auto-deploys and logs every request to /aws/apigateway/PREFIX-ui."""
    stage = module_config("edge").resource("aws_apigatewayv2_stage", "prod")
    assert literal(stage["auto_deploy"]) is True
    settings = stage["access_log_settings"][0]
    assert expression(settings["destination_arn"]) == "var.api_log_group.arn"
    assert "$context.requestId" in settings["format"]
    assert expression(platform.module("edge")["api_log_group"]) == "module.observability.api_log_group"


def test_lambda_takes_the_package_nexuskit_builds(stack: Scope) -> None:
    """No archive provider: the zip's path and base64 SHA-256 come in as stack variables."""
    edge = module_scope(stack, "edge")
    assert "archive_file" not in edge.config.data
    edge_call = stack.config.module("edge")
    assert expression(edge_call["auth_package_path"]) == "var.auth_package_path"
    assert expression(edge_call["auth_package_sha256"]) == "var.auth_package_sha256"
    function = edge.config.resource("aws_lambda_function", "auth")
    assert expression(function["filename"]) == "var.auth_package_path"
    assert expression(function["source_code_hash"]) == "var.auth_package_sha256"


def test_lambda_runtime_is_the_one_the_package_is_built_for() -> None:
    """Terraform's runtime and architecture are those nexuskit installs the wheels for."""
    from nexuskit.edge.package import LAMBDA_TARGET

    variables = module_config("edge").variables
    assert literal(variables["auth_runtime"]["default"]) == LAMBDA_TARGET.runtime
    assert literal(variables["auth_architecture"]["default"]) == LAMBDA_TARGET.architecture
    function = module_config("edge").resource("aws_lambda_function", "auth")
    assert function["architectures"] == ["${var.auth_architecture}"]


def test_ttl_bounds_are_passed_to_the_lambda(stack: Scope) -> None:
    """TOKEN_TTL_MIN/MAX/DEFAULT carry the tfvars' 15/60/30 minutes."""
    edge = module_scope(stack, "edge")
    variables = edge.config.resource("aws_lambda_function", "auth")["environment"][0]["variables"]
    ttl = {
        name: edge.resolve(variables[name])
        for name in ("TOKEN_TTL_MIN", "TOKEN_TTL_MAX", "TOKEN_TTL_DEFAULT")
    }
    assert ttl == {"TOKEN_TTL_MIN": "15", "TOKEN_TTL_MAX": "60", "TOKEN_TTL_DEFAULT": "30"}


def test_lambda_environment_matches_the_local_deploy(stack: Scope, env: str) -> None:
    """Terraform sets exactly the variables the auth handler reads (as the local deploy does)."""
    import inspect

    from nexuskit.edge.auth import auth_environment, token_audience, token_issuer
    from nexuskit.params import load_stack

    edge = module_scope(stack, "edge")
    variables = edge.config.resource("aws_lambda_function", "auth")["environment"][0]["variables"]
    local_keys = set(re.findall(r'"([A-Z][A-Z_]+)":', inspect.getsource(auth_environment)))
    assert set(variables) == local_keys
    spec = load_stack(env=env)
    assert edge.resolve(variables["TOKEN_ISSUER"]) == token_issuer(spec)
    assert edge.resolve(variables["TOKEN_AUDIENCE"]) == token_audience(spec)


def test_ttl_bounds_stay_within_15_to_60_minutes(platform) -> None:
    """The stack's TTL variables reject values outside 15-60 and an unordered triple."""
    conditions = {
        name: " ".join(expression(v["condition"]) for v in platform.variables[name]["validation"])
        for name in ("token_ttl_min_minutes", "token_ttl_max_minutes")
    }
    for name, condition in conditions.items():
        assert f"var.{name} >= 15" in condition and f"var.{name} <= 60" in condition
    default = expression(platform.variables["token_ttl_default_minutes"]["validation"][0]["condition"])
    assert "var.token_ttl_min_minutes <= var.token_ttl_default_minutes" in default
    assert "var.token_ttl_default_minutes <= var.token_ttl_max_minutes" in default


def test_bearer_session_covers_the_longest_token() -> None:
    """The bearer role's session cap (3600 s) is the 60-minute TTL maximum."""
    role = module_config("edge").resource("aws_iam_role", "kinesis_bearer")
    assert literal(role["max_session_duration"]) == 60 * 60


def test_custom_domain_is_optional_with_acm() -> None:
    """The custom domain, its ACM certificate and mapping exist only with enable_custom_domain."""
    edge = module_config("edge")
    for rtype, name in [
        ("aws_acm_certificate", "custom"),
        ("aws_acm_certificate_validation", "custom"),
        ("aws_apigatewayv2_domain_name", "custom"),
        ("aws_apigatewayv2_api_mapping", "custom"),
    ]:
        assert expression(edge.resource(rtype, name)["count"]) == "var.enable_custom_domain ? 1 : 0"
    domain = edge.resource("aws_apigatewayv2_domain_name", "custom")["domain_name_configuration"][0]
    assert literal(domain["security_policy"]) == "TLS_1_2"


def test_the_four_log_groups_keep_logs_for_log_retention_days(stack: Scope) -> None:
    """Firehose (x2), Lambda and API log groups exist with retention = log_retention_days."""
    observability = module_scope(stack, "observability")
    groups = observability.config.resources["aws_cloudwatch_log_group"]
    assert set(groups) == {"primary_firehose", "client_firehose", "lambda", "api"}
    for group in groups.values():
        assert observability.resolve(group["retention_in_days"]) == stack.variables["log_retention_days"]


def test_lambda_logs_into_its_spec_log_group(platform) -> None:
    """The Lambda writes to the observability module's /aws/lambda/PREFIX-auth group."""
    function = module_config("edge").resource("aws_lambda_function", "auth")
    assert expression(function["logging_config"][0]["log_group"]) == "var.lambda_log_group.name"
    assert expression(platform.module("edge")["lambda_log_group"]) == "module.observability.lambda_log_group"
