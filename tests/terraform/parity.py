"""What Terraform would name and size, next to what nexuskit's StackSpec says.

:func:`terraform_view` resolves the name and size expressions of the platform stack and its
modules for one environment's parameter file; :func:`nexuskit_view` builds the same shape
from :func:`nexuskit.params.load_stack`. The parity test asserts the two are equal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tfstatic import TF_ROOT, Scope, expression, module_scope, stack_scope

from nexuskit.edge.auth import AUTH_ROUTE, auth_api_spec
from nexuskit.params import StackSpec

# StackSpec.roles key -> module holding aws_iam_role.<key>
ROLE_MODULES = {
    "agent_irsa": "irsa",
    "aws_mcp_irsa": "irsa",
    "ui_irsa": "irsa",
    "lambda_exec": "edge",
    "kinesis_bearer": "edge",
    "firehose": "streaming",
    "eks_cluster": "eks",
    "eks_nodes": "eks",
}


def _attr(scope: Scope, rtype: str, name: str, attribute: str) -> Any:
    return scope.resolve(scope.config.resource(rtype, name)[attribute])


def _block_attr(scope: Scope, rtype: str, name: str, block: str, attribute: str) -> Any:
    body = scope.config.resource(rtype, name)[block][0]
    return scope.resolve(body[attribute])


def terraform_view(env: str, root: Path = TF_ROOT) -> dict[str, Any]:
    """Names and sizes as the HCL derives them from ``envs/<env>/terraform.tfvars.json``."""
    stack = stack_scope(env, root)
    streaming = module_scope(stack, "streaming")
    datalake = module_scope(stack, "datalake")
    edge = module_scope(stack, "edge")
    observability = module_scope(stack, "observability")
    network = module_scope(stack, "network")
    eks = module_scope(stack, "eks")
    modules = {
        "irsa": module_scope(stack, "irsa"),
        "edge": edge,
        "streaming": streaming,
        "eks": eks,
    }

    bucket = datalake.config.resource("aws_s3_bucket", "tier")
    tiers = datalake.reference(expression(bucket["for_each"]))
    firehose_s3 = "extended_s3_configuration"
    lambda_env = edge.config.resource("aws_lambda_function", "auth")["environment"][0]["variables"]
    stage_routes = edge.config.resource("aws_apigatewayv2_stage", "prod")["default_route_settings"][0]

    def node_group(name: str) -> dict[str, Any]:
        scaling = eks.config.resource("aws_eks_node_group", name)["scaling_config"][0]
        return {
            "instance_types": _attr(eks, "aws_eks_node_group", name, "instance_types"),
            **{key: eks.resolve(scaling[key]) for key in ("min_size", "max_size", "desired_size")},
        }

    return {
        "prefix": stack.reference("local.prefix"),
        "streams": {
            "primary": _attr(streaming, "aws_kinesis_stream", "primary", "name"),
            "client": _attr(streaming, "aws_kinesis_stream", "client", "name"),
        },
        "shards": {
            "primary": _attr(streaming, "aws_kinesis_stream", "primary", "shard_count"),
            "client": _attr(streaming, "aws_kinesis_stream", "client", "shard_count"),
        },
        "stream_retention_hours": {
            "primary": _attr(streaming, "aws_kinesis_stream", "primary", "retention_period"),
            "client": _attr(streaming, "aws_kinesis_stream", "client", "retention_period"),
        },
        "video_streams": {
            "telemetry": _attr(streaming, "aws_kinesis_video_stream", "telemetry", "name"),
            "client_telemetry": _attr(streaming, "aws_kinesis_video_stream", "client_telemetry", "name"),
        },
        "video_retention_hours": {
            "telemetry": _attr(streaming, "aws_kinesis_video_stream", "telemetry", "data_retention_in_hours"),
            "client_telemetry": _attr(
                streaming,
                "aws_kinesis_video_stream",
                "client_telemetry",
                "data_retention_in_hours",
            ),
        },
        "firehose": {
            "primary": _attr(streaming, "aws_kinesis_firehose_delivery_stream", "primary", "name"),
            "client": _attr(streaming, "aws_kinesis_firehose_delivery_stream", "client", "name"),
        },
        "firehose_delivery": {
            channel: {
                "buffering_size_mb": _block_attr(
                    streaming,
                    "aws_kinesis_firehose_delivery_stream",
                    channel,
                    firehose_s3,
                    "buffering_size",
                ),
                "buffering_interval_seconds": _block_attr(
                    streaming,
                    "aws_kinesis_firehose_delivery_stream",
                    channel,
                    firehose_s3,
                    "buffering_interval",
                ),
                "compression": _block_attr(
                    streaming,
                    "aws_kinesis_firehose_delivery_stream",
                    channel,
                    firehose_s3,
                    "compression_format",
                ),
            }
            for channel in ("primary", "client")
        },
        "client_firehose_prefix": _block_attr(
            streaming, "aws_kinesis_firehose_delivery_stream", "client", firehose_s3, "prefix"
        ),
        "buckets": {tier: datalake.with_each(tier).resolve(bucket["bucket"]) for tier in tiers},
        "roles": {
            key: _attr(modules[module], "aws_iam_role", key, "name") for key, module in ROLE_MODULES.items()
        },
        "log_groups": [
            _attr(observability, "aws_cloudwatch_log_group", name, "name")
            for name in ("primary_firehose", "client_firehose", "lambda", "api")
        ],
        "log_retention_days": {
            _attr(observability, "aws_cloudwatch_log_group", name, "retention_in_days")
            for name in ("primary_firehose", "client_firehose", "lambda", "api")
        },
        "auth_function": _attr(edge, "aws_lambda_function", "auth", "function_name"),
        "token_signing_secret": _attr(edge, "aws_secretsmanager_secret", "token_signing", "name"),
        "token_ttl_minutes": {
            bound: int(edge.resolve(lambda_env[f"TOKEN_TTL_{bound.upper()}"]))
            for bound in ("min", "max", "default")
        },
        "http_api": _attr(edge, "aws_apigatewayv2_api", "ui", "name"),
        "http_api_stage": _attr(edge, "aws_apigatewayv2_stage", "prod", "name"),
        "http_api_throttling": {
            key: edge.resolve(stage_routes[f"throttling_{key}_limit"]) for key in ("rate", "burst")
        },
        "auth_route_authorization_type": _attr(edge, "aws_apigatewayv2_route", "auth", "authorization_type"),
        "cluster": _attr(eks, "aws_eks_cluster", "this", "name"),
        "cluster_version": _attr(eks, "aws_eks_cluster", "this", "version"),
        "subnet_cluster_tag": network.reference("var.cluster_name"),
        "vpc": network.reference("local.vpc_name"),
        "vpc_cidr": _attr(network, "aws_vpc", "this", "cidr_block"),
        "availability_zones": network.reference("var.availability_zones"),
        "node_groups": {name: node_group(name) for name in ("general", "mcp")},
    }


def nexuskit_view(spec: StackSpec) -> dict[str, Any]:
    """The same shape, from nexuskit's StackSpec (the embedded provisioner's source)."""
    p = spec.params
    names = spec.as_dict()
    api = auth_api_spec(spec, "123456789012")  # what the embedded provisioner deploys
    return {
        "prefix": spec.prefix,
        "streams": names["streams"],
        "shards": {"primary": p.primary_stream_shards, "client": p.client_stream_shards},
        "stream_retention_hours": {
            "primary": p.primary_stream_retention_hours,
            "client": p.client_stream_retention_hours,
        },
        "video_streams": names["video_streams"],
        "video_retention_hours": {
            "telemetry": p.telemetry_video_retention_hours,
            "client_telemetry": p.client_telemetry_video_retention_hours,
        },
        "firehose": names["firehose"],
        "firehose_delivery": {
            channel: {
                "buffering_size_mb": p.firehose_buffering_size_mb,
                "buffering_interval_seconds": p.firehose_buffering_interval_seconds,
                "compression": p.firehose_compression,
            }
            for channel in ("primary", "client")
        },
        "client_firehose_prefix": p.client_firehose_prefix,
        "buckets": dict(spec.buckets),
        "roles": dict(spec.roles),
        "log_groups": list(spec.log_groups),
        "log_retention_days": {p.log_retention_days},
        "auth_function": spec.auth_function,
        "token_signing_secret": spec.token_signing_secret,
        "token_ttl_minutes": {
            "min": p.token_ttl_min_minutes,
            "max": p.token_ttl_max_minutes,
            "default": p.token_ttl_default_minutes,
        },
        "http_api": spec.http_api,
        "http_api_stage": spec.http_api_stage,
        "http_api_throttling": {
            "rate": api.default_route_settings()["ThrottlingRateLimit"],
            "burst": api.default_route_settings()["ThrottlingBurstLimit"],
        },
        "auth_route_authorization_type": api.authorization(AUTH_ROUTE),
        "cluster": spec.cluster_name,
        "cluster_version": p.eks_cluster_version,
        "subnet_cluster_tag": spec.cluster_name,
        "vpc": spec.vpc_name,
        "vpc_cidr": p.vpc_cidr,
        "availability_zones": list(p.availability_zones),
        "node_groups": {name: group.model_dump() for name, group in sorted(p.node_groups.items())},
    }
