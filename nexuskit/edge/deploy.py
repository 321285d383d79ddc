"""Deploying a Lambda function behind an HTTP API, through the real AWS APIs.

Everything goes through boto3 calls that AWS answers the same way (``CreateFunction``,
``UpdateFunctionCode``, ``UpdateFunctionConfiguration``, ``AddPermission``, ``CreateApi``,
``CreateIntegration``, ``CreateRoute``/``UpdateRoute``, ``CreateStage``/``UpdateStage``), so
the same code deploys to the local engine and to AWS. Each step is idempotent and reports
a resource state: ``created``, ``exists`` or ``updated`` (code, configuration, integration,
route target or authorization, access-log settings or the stage's default route
settings, throttling included, that drifted are corrected).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from nexuskit.aws import AwsTarget
from nexuskit.edge.package import Package
from nexuskit.provision.context import aws_call, error_code, partition_of
from nexuskit.provision.resources import CREATED, EXISTS, UPDATED, ResourceState

log = logging.getLogger(__name__)

FUNCTION_TYPE = "lambda.function"
PERMISSION_TYPE = "lambda.permission"
API_TYPE = "apigatewayv2.api"
INTEGRATION_TYPE = "apigatewayv2.integration"
ROUTE_TYPE = "apigatewayv2.route"
STAGE_TYPE = "apigatewayv2.stage"

#: The stage's access log line (JSON; every field AWS documents for HTTP APIs that matters here).
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "routeKey": "$context.routeKey",
        "path": "$context.path",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "responseLatency": "$context.responseLatency",
        "integrationLatency": "$context.integrationLatency",
        "integrationStatus": "$context.integrationStatus",
        "errorMessage": "$context.error.message",
        "integrationError": "$context.integrationErrorMessage",
    },
    separators=(",", ":"),
)


@dataclass(frozen=True)
class FunctionSpec:
    """What a Lambda function should look like."""

    name: str
    role_arn: str
    package: Package
    handler: str
    environment: dict[str, str]
    runtime: str = "python3.11"
    timeout: int = 10
    memory_mb: int = 256
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    #: the function's reserved concurrency (None: none reserved)
    reserved_concurrency: int | None = None


@dataclass(frozen=True)
class HttpApiSpec:
    """An HTTP API whose routes all go to one Lambda function, with one stage.

    ``route_authorization`` maps route keys to their ``AuthorizationType`` (``NONE`` for
    routes it does not name). ``throttling_rate_limit``/``throttling_burst_limit`` are the
    stage's default route settings (None: the account's limits apply, as in AWS).
    """

    name: str
    routes: tuple[str, ...]
    stage: str
    access_log_group_arn: str | None
    access_log_format: str = ACCESS_LOG_FORMAT
    integration_timeout_ms: int = 15000
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    route_authorization: dict[str, str] = field(default_factory=dict)
    throttling_rate_limit: float | None = None
    throttling_burst_limit: int | None = None

    def authorization(self, route_key: str) -> str:
        return self.route_authorization.get(route_key, "NONE")

    def default_route_settings(self) -> dict[str, Any]:
        """The stage's ``DefaultRouteSettings``, as Terraform's ``default_route_settings``."""
        settings: dict[str, Any] = {"DetailedMetricsEnabled": True}
        if self.throttling_burst_limit is not None:
            settings["ThrottlingBurstLimit"] = self.throttling_burst_limit
        if self.throttling_rate_limit is not None:
            settings["ThrottlingRateLimit"] = float(self.throttling_rate_limit)
        return settings


def _wait(client: Any, waiter: str, name: str) -> None:
    client.get_waiter(waiter).wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})


def _configuration_drift(current: dict[str, Any], fn: FunctionSpec) -> list[str]:
    drift = []
    wanted = {
        "Runtime": fn.runtime,
        "Handler": fn.handler,
        "Role": fn.role_arn,
        "Timeout": fn.timeout,
        "MemorySize": fn.memory_mb,
        "Description": fn.description,
    }
    for key, value in wanted.items():
        if current.get(key) != value:
            drift.append(key)
    if (current.get("Environment") or {}).get("Variables", {}) != fn.environment:
        drift.append("Environment")
    return drift


def deploy_function(target: AwsTarget, fn: FunctionSpec) -> tuple[ResourceState, str]:
    """Create or correct the function; returns its state and ARN."""
    client = target.client("lambda")
    detail = (
        f"{fn.runtime}, {fn.handler}, {fn.timeout} s, {fn.memory_mb} MB, code {fn.package.sha256_b64[:12]}"
    )
    with aws_call(FUNCTION_TYPE, fn.name):
        try:
            current = client.get_function(FunctionName=fn.name)["Configuration"]
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
            current = None
        if current is None:
            created = client.create_function(
                FunctionName=fn.name,
                Runtime=fn.runtime,
                Role=fn.role_arn,
                Handler=fn.handler,
                Code={"ZipFile": fn.package.data},
                Description=fn.description,
                Timeout=fn.timeout,
                MemorySize=fn.memory_mb,
                Environment={"Variables": fn.environment},
                Tags=fn.tags,
                Architectures=["x86_64"],
            )
            _wait(client, "function_active_v2", fn.name)
            if fn.reserved_concurrency is not None:
                client.put_function_concurrency(
                    FunctionName=fn.name, ReservedConcurrentExecutions=fn.reserved_concurrency
                )
            log.info("created function %s", fn.name)
            return ResourceState(FUNCTION_TYPE, fn.name, CREATED, detail), str(created["FunctionArn"])
        changed = []
        drift = _configuration_drift(current, fn)
        if drift:
            client.update_function_configuration(
                FunctionName=fn.name,
                Runtime=fn.runtime,
                Role=fn.role_arn,
                Handler=fn.handler,
                Description=fn.description,
                Timeout=fn.timeout,
                MemorySize=fn.memory_mb,
                Environment={"Variables": fn.environment},
            )
            _wait(client, "function_updated_v2", fn.name)
            changed.append("configuration (" + ", ".join(drift) + ")")
        if fn.reserved_concurrency is not None:
            reserved = client.get_function_concurrency(FunctionName=fn.name).get(
                "ReservedConcurrentExecutions"
            )
            if reserved != fn.reserved_concurrency:
                client.put_function_concurrency(
                    FunctionName=fn.name, ReservedConcurrentExecutions=fn.reserved_concurrency
                )
                changed.append("reserved concurrency")
        if current.get("CodeSha256") != fn.package.sha256_b64:
            client.update_function_code(FunctionName=fn.name, ZipFile=fn.package.data)
            _wait(client, "function_updated_v2", fn.name)
            changed.append("code")
    arn = str(current["FunctionArn"])
    if changed:
        log.info("updated function %s: %s", fn.name, ", ".join(changed))
        return ResourceState(FUNCTION_TYPE, fn.name, UPDATED, f"{detail}; updated {', '.join(changed)}"), arn
    return ResourceState(FUNCTION_TYPE, fn.name, EXISTS, detail), arn


def find_api(target: AwsTarget, name: str) -> dict[str, Any] | None:
    """The HTTP API called ``name`` (None when there is none)."""
    client = target.client("apigatewayv2")
    for page in client.get_paginator("get_apis").paginate():
        for api in page.get("Items", []):
            if api.get("Name") == name and api.get("ProtocolType") == "HTTP":
                return dict(api)
    return None


def _api(target: AwsTarget, api: HttpApiSpec) -> tuple[ResourceState, dict[str, Any]]:
    client = target.client("apigatewayv2")
    with aws_call(API_TYPE, api.name):
        found = find_api(target, api.name)
        if found is not None:
            return ResourceState(API_TYPE, api.name, EXISTS, f"HTTP API {found['ApiId']}"), found
        created = dict(
            client.create_api(Name=api.name, ProtocolType="HTTP", Description=api.description, Tags=api.tags)
        )
    log.info("created HTTP API %s (%s)", api.name, created["ApiId"])
    return ResourceState(API_TYPE, api.name, CREATED, f"HTTP API {created['ApiId']}"), created


def _integration(
    target: AwsTarget, api_id: str, api: HttpApiSpec, function_arn: str
) -> tuple[ResourceState, str]:
    client = target.client("apigatewayv2")
    name = f"{api.name}:{function_arn.rsplit(':', 1)[-1]}"
    detail = f"AWS_PROXY, payload 2.0, {api.integration_timeout_ms} ms"
    with aws_call(INTEGRATION_TYPE, name):
        for page in client.get_paginator("get_integrations").paginate(ApiId=api_id):
            for item in page.get("Items", []):
                if item.get("IntegrationType") != "AWS_PROXY" or item.get("IntegrationUri") != function_arn:
                    continue
                integration_id = str(item["IntegrationId"])
                if (
                    item.get("PayloadFormatVersion") != "2.0"
                    or item.get("TimeoutInMillis") != api.integration_timeout_ms
                ):
                    client.update_integration(
                        ApiId=api_id,
                        IntegrationId=integration_id,
                        PayloadFormatVersion="2.0",
                        TimeoutInMillis=api.integration_timeout_ms,
                    )
                    return ResourceState(INTEGRATION_TYPE, name, UPDATED, detail), integration_id
                return ResourceState(INTEGRATION_TYPE, name, EXISTS, detail), integration_id
        created = client.create_integration(
            ApiId=api_id,
            IntegrationType="AWS_PROXY",
            IntegrationUri=function_arn,
            IntegrationMethod="POST",
            PayloadFormatVersion="2.0",
            TimeoutInMillis=api.integration_timeout_ms,
        )
    return ResourceState(INTEGRATION_TYPE, name, CREATED, detail), str(created["IntegrationId"])


def _routes(target: AwsTarget, api_id: str, api: HttpApiSpec, integration_id: str) -> list[ResourceState]:
    client = target.client("apigatewayv2")
    wanted_target = f"integrations/{integration_id}"
    states = []
    with aws_call(ROUTE_TYPE, api.name):
        existing = {
            str(item["RouteKey"]): item
            for page in client.get_paginator("get_routes").paginate(ApiId=api_id)
            for item in page.get("Items", [])
        }
        for route_key in api.routes:
            name = f"{api.name} {route_key}"
            authorization = api.authorization(route_key)
            detail = f"{wanted_target}, authorization {authorization}"
            item = existing.get(route_key)
            if item is None:
                client.create_route(
                    ApiId=api_id, RouteKey=route_key, Target=wanted_target, AuthorizationType=authorization
                )
                states.append(ResourceState(ROUTE_TYPE, name, CREATED, detail))
                continue
            fixed = []
            if item.get("Target") != wanted_target:
                fixed.append("target")
            if (item.get("AuthorizationType") or "NONE") != authorization:
                fixed.append("authorization")
            if fixed:
                client.update_route(
                    ApiId=api_id,
                    RouteId=item["RouteId"],
                    Target=wanted_target,
                    AuthorizationType=authorization,
                )
                log.info("route %s: fixed %s", name, ", ".join(fixed))
                states.append(ResourceState(ROUTE_TYPE, name, UPDATED, f"{detail}; fixed {', '.join(fixed)}"))
            else:
                states.append(ResourceState(ROUTE_TYPE, name, EXISTS, detail))
    return states


def _permission(target: AwsTarget, api_id: str, api: HttpApiSpec, function_name: str) -> ResourceState:
    """Let API Gateway invoke the function from this API (AWS answers 500 without it)."""
    client = target.client("lambda")
    statement_id = f"{api.name}-invoke"
    sts = target.client("sts")
    account = str(sts.get_caller_identity()["Account"])
    partition = partition_of(target.region)
    source_arn = f"arn:{partition}:execute-api:{target.region}:{account}:{api_id}/*/*"
    name = f"{function_name}:{statement_id}"
    with aws_call(PERMISSION_TYPE, name):
        try:
            policy = json.loads(client.get_policy(FunctionName=function_name)["Policy"])
            statements = policy.get("Statement", [])
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
            statements = []
        for statement in statements:
            if statement.get("Sid") != statement_id:
                continue
            condition = statement.get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn")
            if condition == source_arn:
                return ResourceState(PERMISSION_TYPE, name, EXISTS, f"apigateway.amazonaws.com from {api_id}")
            client.remove_permission(FunctionName=function_name, StatementId=statement_id)
            break
        client.add_permission(
            FunctionName=function_name,
            StatementId=statement_id,
            Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com",
            SourceArn=source_arn,
        )
    return ResourceState(PERMISSION_TYPE, name, CREATED, f"apigateway.amazonaws.com from {api_id}")


def _same_route_settings(current: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """Whether the stage's route settings hold every wanted value (numbers compared as numbers)."""
    for key, value in wanted.items():
        have = current.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            if have != value:
                return False
        elif not isinstance(have, int | float) or float(have) != float(value):
            return False
    return True


def _stage(target: AwsTarget, api_id: str, api: HttpApiSpec) -> ResourceState:
    client = target.client("apigatewayv2")
    name = f"{api.name}/{api.stage}"
    wanted_logs = (
        {"DestinationArn": api.access_log_group_arn, "Format": api.access_log_format}
        if api.access_log_group_arn
        else None
    )
    wanted_routes = api.default_route_settings()
    parts = []
    if api.access_log_group_arn:
        parts.append("access logs to " + api.access_log_group_arn.rsplit(":", 1)[-1])
    if api.throttling_rate_limit is not None and api.throttling_burst_limit is not None:
        parts.append(f"throttling {api.throttling_rate_limit:g}/s, burst {api.throttling_burst_limit}")
    detail = ", ".join(parts)
    with aws_call(STAGE_TYPE, name):
        stages = {
            str(item["StageName"]): item
            for page in client.get_paginator("get_stages").paginate(ApiId=api_id)
            for item in page.get("Items", [])
        }
        current = stages.get(api.stage)
        if current is None:
            kwargs: dict[str, Any] = {
                "ApiId": api_id,
                "StageName": api.stage,
                "AutoDeploy": True,
                "DefaultRouteSettings": wanted_routes,
                "Tags": api.tags,
            }
            if wanted_logs:
                kwargs["AccessLogSettings"] = wanted_logs
            client.create_stage(**kwargs)
            return ResourceState(STAGE_TYPE, name, CREATED, detail)
        drift = []
        if wanted_logs and current.get("AccessLogSettings") != wanted_logs:
            drift.append("access logs")
        if not current.get("AutoDeploy"):
            drift.append("auto deploy")
        if not _same_route_settings(current.get("DefaultRouteSettings") or {}, wanted_routes):
            drift.append("default route settings")
        if drift:
            kwargs = {
                "ApiId": api_id,
                "StageName": api.stage,
                "AutoDeploy": True,
                "DefaultRouteSettings": wanted_routes,
            }
            if wanted_logs:
                kwargs["AccessLogSettings"] = wanted_logs
            client.update_stage(**kwargs)
            return ResourceState(STAGE_TYPE, name, UPDATED, f"{detail}; fixed {', '.join(drift)}")
    return ResourceState(STAGE_TYPE, name, EXISTS, detail)


def deploy_http_api(
    target: AwsTarget, api: HttpApiSpec, function_name: str, function_arn: str
) -> tuple[list[ResourceState], str]:
    """Create or correct the API, its Lambda integration, routes, permission and stage.

    Returns the states and the API id.
    """
    api_state, found = _api(target, api)
    api_id = str(found["ApiId"])
    states = [api_state]
    integration_state, integration_id = _integration(target, api_id, api, function_arn)
    states.append(integration_state)
    states += _routes(target, api_id, api, integration_id)
    states.append(_permission(target, api_id, api, function_name))
    states.append(_stage(target, api_id, api))
    return states, api_id


def invoke_url(target: AwsTarget, api: dict[str, Any], stage: str) -> str:
    """The base URL of a stage: the engine's ``/_aws/execute-api`` path, or AWS's endpoint."""
    if target.endpoint_url:
        base = f"{target.endpoint_url.rstrip('/')}/_aws/execute-api/{api['ApiId']}"
    else:
        base = str(api["ApiEndpoint"]).rstrip("/")
    return base if stage == "$default" else f"{base}/{stage}"
