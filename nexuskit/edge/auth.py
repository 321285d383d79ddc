"""The edge of spec §2.5: the auth Lambda ``${prefix}-auth`` behind the HTTP API ``${prefix}-ui``.

:func:`deploy_edge` deploys both through the real AWS APIs (to the engine or to AWS):

* the function from ``services/auth`` (runtime python3.11, the one its package is built for;
  handler ``handler.handler``),
  run by the execution role ``${prefix}-auth-lambda-exec``, configured through its
  environment: the signing secret, the bearer role, the TTL bounds of the parameter file,
  the token's issuer and audience, and the names and ARNs of the client streams;
* the HTTP API with a Lambda proxy integration (payload 2.0), the routes
  ``POST /auth`` (authorization ``auth_route_authorization_type``: ``NONE``, or
  ``AWS_IAM`` for SigV4 callers with ``execute-api:Invoke``) and
  ``GET /.well-known/jwks.json``, the permission for API Gateway to invoke the function,
  and the stage ``prod`` with access logs to ``/aws/apigateway/${prefix}-ui`` and the
  default route throttling ``auth_throttling_rate_limit``/``auth_throttling_burst_limit``
  (requests over it get 429 ``{"message":"Too Many Requests"}``, locally as in AWS).

The roles, the signing secret, the streams and the log groups come from provisioning
(:func:`nexuskit.provision.provisioner.provision`), which must have run first.

Locally the stage answers at ``http://127.0.0.1:<port>/_aws/execute-api/<api-id>/prod``
(see :func:`auth_url`); in AWS at the API's ``execute-api`` endpoint.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from nexuskit.aws import AwsTarget
from nexuskit.config import KitSettings
from nexuskit.edge.deploy import (
    API_TYPE,
    FUNCTION_TYPE,
    STAGE_TYPE,
    FunctionSpec,
    HttpApiSpec,
    deploy_function,
    deploy_http_api,
    find_api,
    invoke_url,
)
from nexuskit.edge.errors import EdgeError
from nexuskit.edge.package import LAMBDA_TARGET, auth_source_dir, build_package
from nexuskit.params import StackSpec
from nexuskit.provision.context import aws_call, error_code, partition_of, stack_tags
from nexuskit.provision.resources import MISSING, READY, ResourceState

__all__ = [
    "AUTH_ROUTE",
    "AUTH_ROUTES",
    "auth_api_spec",
    "auth_environment",
    "auth_route_authorization",
    "auth_url",
    "deploy_edge",
    "edge_endpoints",
    "inventory_edge",
    "jwks_url",
    "local_auth_url",
    "token_audience",
    "token_issuer",
]

log = logging.getLogger(__name__)

AUTH_RUNTIME = LAMBDA_TARGET.runtime  # the runtime the package is built for (Terraform: the same)
AUTH_HANDLER = "handler.handler"
AUTH_TIMEOUT_S = 10
#: reserved concurrency of the auth function (Terraform's auth_reserved_concurrency): caps STS calls
AUTH_RESERVED_CONCURRENCY = 50
AUTH_MEMORY_MB = 256
AUTH_ROUTE = "POST /auth"
AUTH_ROUTES = (AUTH_ROUTE, "GET /.well-known/jwks.json")
AUTH_PATH = "/auth"
JWKS_PATH = "/.well-known/jwks.json"


def token_issuer(spec: StackSpec) -> str:
    """The ``iss`` of the stack's tokens."""
    return f"urn:nexus:{spec.prefix}:auth"


def token_audience(spec: StackSpec) -> str:
    """The ``aud`` of the stack's tokens: the client streams they grant access to."""
    return f"urn:nexus:{spec.prefix}:client-streams"


def _account(target: AwsTarget) -> str:
    with aws_call("sts.caller_identity", target.endpoint_url or "AWS"):
        return str(target.client("sts").get_caller_identity()["Account"])


def _role_arn(target: AwsTarget, role_name: str) -> str:
    with aws_call("iam.role", role_name):
        try:
            return str(target.client("iam").get_role(RoleName=role_name)["Role"]["Arn"])
        except ClientError as exc:
            if error_code(exc) in {"NoSuchEntity", "NoSuchEntityException"}:
                raise EdgeError(
                    f"IAM role {role_name} does not exist", "provision the stack first (`nexuskit up`)"
                ) from None
            raise


def _stream_arns(spec: StackSpec, target: AwsTarget) -> dict[str, str]:
    """ARNs of the client data stream, client video stream and client Firehose."""
    arns: dict[str, str] = {}
    hint = "provision the stack first (`nexuskit up`)"
    with aws_call("kinesis.stream", spec.client_stream):
        try:
            summary = target.client("kinesis").describe_stream_summary(StreamName=spec.client_stream)
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                raise EdgeError(f"Kinesis stream {spec.client_stream} does not exist", hint) from None
            raise
        arns["data_stream"] = str(summary["StreamDescriptionSummary"]["StreamARN"])
    with aws_call("firehose.delivery_stream", spec.client_firehose):
        try:
            described = target.client("firehose").describe_delivery_stream(
                DeliveryStreamName=spec.client_firehose
            )
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                raise EdgeError(f"Firehose stream {spec.client_firehose} does not exist", hint) from None
            raise
        arns["firehose"] = str(described["DeliveryStreamDescription"]["DeliveryStreamARN"])
    if spec.params.enable_video_streams:
        name = spec.client_telemetry_video_stream
        with aws_call("kinesisvideo.stream", name):
            try:
                info = target.client("kinesisvideo").describe_stream(StreamName=name)["StreamInfo"]
            except ClientError as exc:
                if error_code(exc) == "ResourceNotFoundException":
                    raise EdgeError(f"Kinesis video stream {name} does not exist", hint) from None
                raise
            arns["video_stream"] = str(info["StreamARN"])
    return arns


def auth_environment(spec: StackSpec, target: AwsTarget, account_id: str) -> dict[str, str]:
    """The auth function's environment variables (its whole configuration)."""
    params = spec.params
    partition = partition_of(spec.region)
    arns = _stream_arns(spec, target)
    video_name = spec.client_telemetry_video_stream if params.enable_video_streams else ""
    return {
        "SIGNING_SECRET_ID": spec.token_signing_secret,
        "BEARER_ROLE_ARN": f"arn:{partition}:iam::{account_id}:role/{spec.roles['kinesis_bearer']}",
        "TOKEN_TTL_MIN": str(params.token_ttl_min_minutes),
        "TOKEN_TTL_MAX": str(params.token_ttl_max_minutes),
        "TOKEN_TTL_DEFAULT": str(params.token_ttl_default_minutes),
        "TOKEN_ISSUER": token_issuer(spec),
        "TOKEN_AUDIENCE": token_audience(spec),
        "CLIENT_DATA_STREAM_NAME": spec.client_stream,
        "CLIENT_DATA_STREAM_ARN": arns["data_stream"],
        "CLIENT_VIDEO_STREAM_NAME": video_name,
        "CLIENT_VIDEO_STREAM_ARN": arns.get("video_stream", ""),
        "CLIENT_FIREHOSE_NAME": spec.client_firehose,
        "CLIENT_FIREHOSE_ARN": arns["firehose"],
        "SIGNING_KEY_CACHE_SECONDS": "60",
    }


def auth_api_spec(spec: StackSpec, account_id: str) -> HttpApiSpec:
    """The HTTP API as Terraform's edge module declares it, from the stack's parameters."""
    partition = partition_of(spec.region)
    params = spec.params
    return HttpApiSpec(
        name=spec.http_api,
        routes=AUTH_ROUTES,
        stage=spec.http_api_stage,
        access_log_group_arn=f"arn:{partition}:logs:{spec.region}:{account_id}:log-group:{spec.api_log_group}",
        description="Nexus edge: token service (POST /auth) and its JWKS",
        tags=stack_tags(spec),
        route_authorization={AUTH_ROUTE: params.auth_route_authorization_type},
        throttling_rate_limit=params.auth_throttling_rate_limit,
        throttling_burst_limit=params.auth_throttling_burst_limit,
    )


def deploy_edge(
    spec: StackSpec,
    target: AwsTarget,
    *,
    vendor_dir: Path | None = None,
    environment: dict[str, str] | None = None,
) -> list[dict[str, str]]:
    """Deploy the auth function and the HTTP API (idempotent); one state dict per resource.

    ``environment`` overrides single variables of the function (for tests and drills).
    Against AWS (no endpoint URL) the package needs ``vendor_dir`` (see
    :mod:`nexuskit.edge.package`).
    """
    if target.endpoint_url is None and vendor_dir is None:
        raise EdgeError(
            "the auth function needs its dependencies vendored into the zip to run in AWS",
            "pip install --platform manylinux2014_x86_64 --only-binary=:all: -t DIR "
            "-r services/auth/requirements.txt, then pass vendor_dir=DIR",
        )
    account_id = _account(target)
    env = auth_environment(spec, target, account_id)
    env.update(environment or {})
    function = FunctionSpec(
        name=spec.auth_function,
        role_arn=_role_arn(target, spec.roles["lambda_exec"]),
        package=build_package(auth_source_dir(), vendor_dir),
        handler=AUTH_HANDLER,
        environment=env,
        runtime=AUTH_RUNTIME,
        timeout=AUTH_TIMEOUT_S,
        reserved_concurrency=AUTH_RESERVED_CONCURRENCY,
        memory_mb=AUTH_MEMORY_MB,
        description="Nexus auth token service: bearer tokens for client producers",
        tags=stack_tags(spec),
    )
    function_state, function_arn = deploy_function(target, function)
    api_states, _ = deploy_http_api(target, auth_api_spec(spec, account_id), function.name, function_arn)
    return [state.as_dict() for state in [function_state, *api_states]]


def stage_url(spec: StackSpec, target: AwsTarget) -> str | None:
    """The base URL of the stage (``.../_aws/execute-api/<id>/prod``), None when not deployed."""
    try:
        api = find_api(target, spec.http_api)
        if api is None:
            return None
        stages = target.client("apigatewayv2").get_stages(ApiId=api["ApiId"]).get("Items", [])
    except (ClientError, BotoCoreError) as exc:
        log.debug("no stage URL for %s: %s", spec.http_api, exc)
        return None
    if not any(s.get("StageName") == spec.http_api_stage for s in stages):
        return None
    return invoke_url(target, api, spec.http_api_stage)


def auth_route_authorization(spec: StackSpec, target: AwsTarget) -> str | None:
    """The ``AuthorizationType`` of ``POST /auth`` as deployed (None when not deployed)."""
    try:
        api = find_api(target, spec.http_api)
        if api is None:
            return None
        client = target.client("apigatewayv2")
        for page in client.get_paginator("get_routes").paginate(ApiId=api["ApiId"]):
            for route in page.get("Items", []):
                if route.get("RouteKey") == AUTH_ROUTE:
                    return str(route.get("AuthorizationType") or "NONE")
    except (ClientError, BotoCoreError) as exc:
        log.debug("no route %s on %s: %s", AUTH_ROUTE, spec.http_api, exc)
    return None


def auth_url(spec: StackSpec, target: AwsTarget) -> str | None:
    """``POST`` here for a token (``endpoints.auth_url`` of ``nexuskit status --json``)."""
    base = stage_url(spec, target)
    return f"{base}{AUTH_PATH}" if base else None


def local_auth_url(settings: KitSettings) -> str | None:
    """:func:`auth_url` of a local stack, or None while its engine does not answer."""
    from nexuskit.engine import EmbeddedEngine

    engine = EmbeddedEngine(settings)
    if engine.health() is None:
        return None
    spec = settings.stack()
    return auth_url(spec, engine.target(spec.region))


def jwks_url(auth: str) -> str:
    """The JWKS URL next to an auth URL."""
    return auth.removesuffix(AUTH_PATH) + JWKS_PATH


def edge_endpoints(spec: StackSpec, target: AwsTarget) -> dict[str, Any]:
    """``{"auth_url", "jwks_url"}`` (None while the edge is not deployed)."""
    url = auth_url(spec, target)
    return {"auth_url": url, "jwks_url": jwks_url(url) if url else None}


def inventory_edge(spec: StackSpec, target: AwsTarget) -> list[dict[str, str]]:
    """The edge's resources as ``ready``/``missing`` (for ``nexuskit status``)."""
    states = []
    try:
        config = target.client("lambda").get_function(FunctionName=spec.auth_function)["Configuration"]
        detail = f"{config.get('Runtime')}, {config.get('Handler')}"
        states.append(ResourceState(FUNCTION_TYPE, spec.auth_function, READY, detail))
    except ClientError:
        states.append(ResourceState(FUNCTION_TYPE, spec.auth_function, MISSING))
    base = stage_url(spec, target)
    api = find_api(target, spec.http_api)
    states.append(
        ResourceState(API_TYPE, spec.http_api, READY if api else MISSING, api["ApiId"] if api else "")
    )
    states.append(
        ResourceState(
            STAGE_TYPE, f"{spec.http_api}/{spec.http_api_stage}", READY if base else MISSING, base or ""
        )
    )
    return [state.as_dict() for state in states]
