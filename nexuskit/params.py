"""The stack's parameters and every name derived from them.

One source: the parameter files under ``terraform/envs/<env>/terraform.tfvars.json`` are
read by Terraform (as variable values) and by :func:`load_stack` here. Every resource
name is derived from the prefix ``${project}-${environment}`` exactly as Terraform does.
"""

from __future__ import annotations

import json
import re
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from nexuskit.errors import ConfigError

PARAMS_FILENAME = "terraform.tfvars.json"
TIERS = ("bronze", "silver", "gold", "vibranium")
_NAME_RE = re.compile(r"^[a-z][a-z0-9]{1,15}$")
_REGION_RE = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_PRINCIPAL_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/.+$")


class NodeGroup(BaseModel):
    """Sizing of one EKS managed node group."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    instance_types: list[str] = Field(min_length=1)
    min_size: int = Field(ge=0, le=100)
    max_size: int = Field(ge=1, le=100)
    desired_size: int = Field(ge=0, le=100)

    @model_validator(mode="after")
    def _sizes_ordered(self) -> NodeGroup:
        if not self.min_size <= self.desired_size <= self.max_size:
            raise ValueError("must satisfy min_size <= desired_size <= max_size")
        return self


class BedrockModels(BaseModel):
    """The Bedrock model IDs the workloads use."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reasoning: str = Field(min_length=3)
    text: str = Field(min_length=3)
    embedding: str = Field(min_length=3)


class LakeGrant(BaseModel):
    """What one role may do in the lake: tiers it reads, tiers it writes, single datasets it writes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    read: list[Literal["bronze", "silver", "gold", "vibranium"]] = Field(default_factory=list)
    write: list[Literal["bronze", "silver", "gold", "vibranium"]] = Field(default_factory=list)
    write_datasets: dict[Literal["bronze", "silver", "gold", "vibranium"], list[str]] = Field(
        default_factory=dict
    )


#: role keys lake_grants may name (StackSpec.roles plus the medallion jobs' Glue role)
LakeGrantKey = Literal[
    "agent_irsa", "aws_mcp_irsa", "ui_irsa", "lambda_exec", "kinesis_bearer", "firehose", "medallion_glue"
]


class StackParams(BaseModel):
    """The parameter file, field for field (Terraform variable names)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    project: str
    environment: str
    region: str
    allowed_account_ids: list[str] = Field(default_factory=list)
    vpc_cidr: str = "10.0.0.0/16"
    availability_zones: list[str] = Field(min_length=3, max_length=3)
    primary_stream_shards: int = Field(ge=1, le=500)
    primary_stream_retention_hours: int = Field(ge=24, le=8760)
    client_stream_shards: int = Field(ge=1, le=500)
    client_stream_retention_hours: int = Field(ge=24, le=8760)
    telemetry_video_retention_hours: int = Field(ge=1, le=87600)
    client_telemetry_video_retention_hours: int = Field(ge=1, le=87600)
    firehose_buffering_size_mb: int = Field(ge=1, le=128)
    firehose_buffering_interval_seconds: int = Field(ge=0, le=900)
    firehose_compression: Literal["GZIP", "UNCOMPRESSED", "Snappy", "ZIP", "HADOOP_SNAPPY"]
    client_firehose_prefix: str
    bucket_tiers: list[Literal["bronze", "silver", "gold", "vibranium"]]
    token_ttl_min_minutes: int = Field(ge=15, le=60)
    token_ttl_max_minutes: int = Field(ge=15, le=60)
    token_ttl_default_minutes: int = Field(ge=15, le=60)
    # the HTTP API stage's default route throttling (POST /auth, the JWKS); AWS caps both at
    # the account's 10,000 requests/s and 5,000 burst
    auth_throttling_rate_limit: float = Field(default=50, ge=0, le=10000)
    auth_throttling_burst_limit: int = Field(default=100, ge=0, le=5000)
    auth_route_authorization_type: Literal["NONE", "AWS_IAM"] = "NONE"
    token_signing_key_admins: list[str] = Field(default_factory=list)
    bedrock_model_ids: BedrockModels
    lakeformation_admins: list[str] = Field(default_factory=list)
    # Lake Formation tier grants (Terraform's modules/lake; nexuskit.lake.grants)
    lake_grants: dict[LakeGrantKey, LakeGrant] = Field(default_factory=dict)
    log_retention_days: Literal[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731]
    eks_cluster_version: str = Field(pattern=r"^1\.\d{2}$")
    node_groups: dict[Literal["general", "mcp"], NodeGroup]
    enable_eks: bool
    enable_karpenter: bool
    enable_video_streams: bool
    enable_lake_formation: bool
    enable_custom_domain: bool
    custom_domain_name: str = ""
    tags: dict[str, str] = Field(default_factory=dict)

    @field_validator("project", "environment")
    @classmethod
    def _dns_label(cls, value: str) -> str:
        if not _NAME_RE.match(value):
            raise ValueError("must be 2-16 lowercase letters or digits, starting with a letter")
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not _REGION_RE.match(value):
            raise ValueError("must be an AWS region name such as us-west-2")
        return value

    @field_validator("token_signing_key_admins")
    @classmethod
    def _admin_arns(cls, value: list[str]) -> list[str]:
        for arn in value:
            if not _PRINCIPAL_ARN_RE.match(arn):
                raise ValueError(f"{arn!r} is not an IAM role or user ARN")
        return value

    @field_validator("client_firehose_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not value or not value.endswith("/") or value.startswith("/"):
            raise ValueError("must be a non-empty S3 prefix ending in '/', such as client/")
        return value

    @field_validator("bucket_tiers")
    @classmethod
    def _tiers(cls, value: list[str]) -> list[str]:
        if sorted(value, key=TIERS.index) != list(TIERS):
            raise ValueError(f"must list each of {', '.join(TIERS)} once")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> StackParams:
        if not (self.token_ttl_min_minutes <= self.token_ttl_default_minutes <= self.token_ttl_max_minutes):
            raise ValueError(
                "token TTL bounds must satisfy token_ttl_min_minutes <= "
                "token_ttl_default_minutes <= token_ttl_max_minutes"
            )
        for zone in self.availability_zones:
            if not zone.startswith(self.region):
                raise ValueError(f"availability zone {zone!r} is not in region {self.region}")
        if set(self.node_groups) != {"general", "mcp"}:
            raise ValueError("node_groups must define exactly 'general' and 'mcp'")
        if self.enable_custom_domain and not self.custom_domain_name:
            raise ValueError("enable_custom_domain needs custom_domain_name")
        return self


class StackSpec:
    """Typed parameters plus every derived resource name (one source for all tools)."""

    def __init__(self, params: StackParams, source: Path | None = None) -> None:
        self.params = params
        self.source = source

    # -- identity -------------------------------------------------------------------------
    @property
    def prefix(self) -> str:
        return f"{self.params.project}-{self.params.environment}"

    @property
    def region(self) -> str:
        return self.params.region

    # -- streaming ------------------------------------------------------------------------
    @property
    def primary_stream(self) -> str:
        return f"{self.prefix}-intake"

    @property
    def client_stream(self) -> str:
        return f"{self.prefix}-client-intake"

    @property
    def telemetry_video_stream(self) -> str:
        return f"{self.prefix}-telemetry"

    @property
    def client_telemetry_video_stream(self) -> str:
        return f"{self.prefix}-client-telemetry"

    @property
    def primary_firehose(self) -> str:
        return f"{self.prefix}-to-lake"

    @property
    def client_firehose(self) -> str:
        return f"{self.prefix}-client-to-lake"

    # -- storage --------------------------------------------------------------------------
    def bucket(self, tier: str) -> str:
        if tier not in TIERS:
            raise ConfigError(f"unknown medallion tier {tier!r}", f"use one of {', '.join(TIERS)}")
        return f"{self.prefix}-{tier}-{self.region}"

    @cached_property
    def buckets(self) -> dict[str, str]:
        return {tier: self.bucket(tier) for tier in self.params.bucket_tiers}

    # -- edge -----------------------------------------------------------------------------
    @property
    def auth_function(self) -> str:
        return f"{self.prefix}-auth"

    @property
    def http_api(self) -> str:
        return f"{self.prefix}-ui"

    http_api_stage = "prod"

    @property
    def token_signing_secret(self) -> str:
        return f"{self.prefix}/token-signing-key"

    # -- identity and access -------------------------------------------------------------
    @cached_property
    def roles(self) -> dict[str, str]:
        """Terraform resource name -> IAM role name."""
        return {
            "agent_irsa": f"{self.prefix}-agent-irsa",
            "aws_mcp_irsa": f"{self.prefix}-aws-mcp-irsa",
            "ui_irsa": f"{self.prefix}-ui-irsa",
            "lambda_exec": f"{self.prefix}-auth-lambda-exec",
            "kinesis_bearer": f"{self.prefix}-kinesis-bearer",
            "firehose": f"{self.prefix}-firehose",
            "eks_cluster": f"{self.prefix}-eks-cluster",
            "eks_nodes": f"{self.prefix}-eks-nodes",
        }

    # -- observability --------------------------------------------------------------------
    @property
    def primary_firehose_log_group(self) -> str:
        return f"/aws/kinesisfirehose/{self.prefix}-firehose"

    @property
    def client_firehose_log_group(self) -> str:
        return f"/aws/kinesisfirehose/{self.prefix}-client-firehose"

    @property
    def lambda_log_group(self) -> str:
        return f"/aws/lambda/{self.auth_function}"

    @property
    def api_log_group(self) -> str:
        return f"/aws/apigateway/{self.http_api}"

    @cached_property
    def log_groups(self) -> list[str]:
        return [
            self.primary_firehose_log_group,
            self.client_firehose_log_group,
            self.lambda_log_group,
            self.api_log_group,
        ]

    # -- network and cluster --------------------------------------------------------------
    @property
    def vpc_name(self) -> str:
        return f"{self.prefix}-vpc"

    @property
    def cluster_name(self) -> str:
        return f"{self.prefix}-eks"

    namespaces = ("nexus-agent-core", "nexus-mcp", "nexus-data")

    def as_dict(self) -> dict[str, Any]:
        """Every derived name, for ``--json`` output and templating."""
        return {
            "prefix": self.prefix,
            "region": self.region,
            "streams": {"primary": self.primary_stream, "client": self.client_stream},
            "video_streams": {
                "telemetry": self.telemetry_video_stream,
                "client_telemetry": self.client_telemetry_video_stream,
            },
            "firehose": {"primary": self.primary_firehose, "client": self.client_firehose},
            "buckets": dict(self.buckets),
            "roles": dict(self.roles),
            "log_groups": list(self.log_groups),
            "auth_function": self.auth_function,
            "http_api": self.http_api,
            "http_api_stage": self.http_api_stage,
            "cluster": self.cluster_name,
            "namespaces": list(self.namespaces),
        }


def repo_root() -> Path:
    """The folder that holds ``terraform/`` (the checkout, or the current directory)."""
    here = Path(__file__).resolve().parent.parent
    if (here / "terraform" / "envs").is_dir():
        return here
    return Path.cwd()


def params_path(env: str, root: Path | None = None) -> Path:
    return (root or repo_root()) / "terraform" / "envs" / env / PARAMS_FILENAME


def _describe_error(err: dict[str, Any]) -> str:
    loc = ".".join(str(part) for part in err.get("loc", ())) or "(file)"
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        allowed = ", ".join(sorted(StackParams.model_fields))
        return f"key {loc!r} is not a known parameter (allowed: {allowed})"
    if kind == "missing":
        return f"key {loc!r} is missing"
    message = str(err.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    return f"key {loc!r}: {message} (got {err.get('input')!r})"


def load_stack(path: Path | str | None = None, env: str = "local") -> StackSpec:
    """Load and validate a parameter file; a bad file raises ConfigError naming the key."""
    file = Path(path) if path else params_path(env)
    try:
        raw = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{file}: parameter file not found",
            f"create it, or choose an environment under {file.parent.parent}",
        ) from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{file}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: must hold a JSON object of Terraform variables")
    try:
        params = StackParams.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(_describe_error(dict(e)) for e in exc.errors())
        raise ConfigError(f"{file}: {problems}") from None
    return StackSpec(params, source=file)
