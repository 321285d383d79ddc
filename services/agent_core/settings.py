"""agent-core settings: ``settings.yaml`` (the ``agent-core-config`` ConfigMap) and the environment.

Precedence, highest first: arguments (tests, the command line), environment variables
(the Deployment's ``env``), ``settings.yaml``, defaults. The file is
``NEXUS_SETTINGS_FILE`` (or ``settings_file=``); its sections map to fields::

    project / environment / region                  -> project, environment, region
    bedrock.models.{reasoning,text,embedding}        -> reasoning_model, text_model, embedding_model
    pipelines.primary.stream                         -> primary_stream
    lake.{bronze,silver,gold,vibranium}              -> <tier>_bucket
    mcp.{aws,custom,database,k8s}                    -> <name>_mcp_url
    agent.<field>                                    -> any field below (agent-core's own knobs)

Nothing is read at import: :class:`AgentSettings` is built by ``main`` or a test and
passed to ``create_app``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import AliasChoices, Field
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

WORKFLOWS_DIR = Path(__file__).resolve().parent / "workflows"
MCP_SERVICES = ("aws", "custom", "database", "k8s")


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


def flatten_settings_yaml(doc: dict[str, Any]) -> dict[str, Any]:
    """The fields a ``settings.yaml`` document sets (see the module docstring)."""
    out: dict[str, Any] = {}
    for key in ("project", "environment", "region"):
        if doc.get(key) is not None:
            out[key] = doc[key]
    models = ((doc.get("bedrock") or {}).get("models")) or {}
    for role in ("reasoning", "text", "embedding"):
        if models.get(role):
            out[f"{role}_model"] = models[role]
    primary = ((doc.get("pipelines") or {}).get("primary")) or {}
    if primary.get("stream"):
        out["primary_stream"] = primary["stream"]
    for tier, bucket in (doc.get("lake") or {}).items():
        if bucket:
            out[f"{tier}_bucket"] = bucket
    for name, url in (doc.get("mcp") or {}).items():
        if name in MCP_SERVICES and url:
            out[f"{name}_mcp_url"] = url
    out.update(doc.get("agent") or {})
    return out


class _YamlSource(PydanticBaseSettingsSource):
    """``settings.yaml``: below the environment, above the defaults."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | None) -> None:
        super().__init__(settings_cls)
        self.path = path

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # __call__ answers for all fields at once

    def __call__(self) -> dict[str, Any]:
        if self.path is None:
            return {}
        try:
            doc = yaml.safe_load(self.path.read_text(encoding="utf-8")) or {}
        except FileNotFoundError:
            raise ValueError(f"settings file {self.path} does not exist") from None
        except yaml.YAMLError as exc:
            raise ValueError(f"settings file {self.path} is not valid YAML: {exc}") from None
        if not isinstance(doc, dict):
            raise ValueError(f"settings file {self.path} must hold a mapping")
        known = set(self.settings_cls.model_fields)
        return {k: v for k, v in flatten_settings_yaml(doc).items() if k in known}


class AgentSettings(BaseSettings):
    """Everything agent-core reads; built once and passed in."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    # the process
    service_name: str = Field(default="agent-core", validation_alias=_env("SERVICE_NAME", "service_name"))
    port: int = Field(default=8000, ge=0, le=65535, validation_alias=_env("PORT", "port"))
    bind_host: str | None = Field(default=None, validation_alias=_env("AGENT_BIND_HOST", "bind_host"))
    log_level: str = Field(default="INFO", validation_alias=_env("LOG_LEVEL", "log_level"))
    settings_file: Path | None = Field(
        default=None, validation_alias=_env("NEXUS_SETTINGS_FILE", "settings_file")
    )
    workflows_dir: Path = Field(
        default=WORKFLOWS_DIR, validation_alias=_env("AGENT_WORKFLOWS_DIR", "workflows_dir")
    )
    pod_name: str | None = Field(default=None, validation_alias=_env("POD_NAME", "HOSTNAME", "pod_name"))
    service_token_file: Path | None = Field(
        default=None, validation_alias=_env("NEXUS_SERVICE_TOKEN_FILE", "service_token_file")
    )
    namespace: str = Field(
        default="nexus-agent-core", validation_alias=_env("POD_NAMESPACE", "NEXUSKIT_NAMESPACE", "namespace")
    )

    # the stack (settings.yaml)
    project: str = Field(default="nexus", validation_alias=_env("NEXUS_PROJECT", "project"))
    environment: str = Field(default="dev", validation_alias=_env("NEXUS_ENVIRONMENT", "environment"))
    region: str = Field(default="us-west-2", validation_alias=_env("AWS_REGION", "region"))
    reasoning_model: str = Field(
        default="anthropic.claude-3-sonnet-20240229-v1:0",
        validation_alias=_env("BEDROCK_REASONING_MODEL", "reasoning_model"),
    )
    text_model: str = Field(
        default="amazon.titan-text-express-v1", validation_alias=_env("BEDROCK_TEXT_MODEL", "text_model")
    )
    embedding_model: str = Field(
        default="amazon.titan-embed-text-v2:0",
        validation_alias=_env("BEDROCK_EMBEDDING_MODEL", "embedding_model"),
    )
    primary_stream: str | None = Field(
        default=None, validation_alias=_env("AGENT_PRIMARY_STREAM", "primary_stream")
    )
    bronze_bucket: str | None = Field(
        default=None, validation_alias=_env("LAKE_BRONZE_BUCKET", "bronze_bucket")
    )
    silver_bucket: str | None = Field(
        default=None, validation_alias=_env("LAKE_SILVER_BUCKET", "silver_bucket")
    )
    gold_bucket: str | None = Field(default=None, validation_alias=_env("LAKE_GOLD_BUCKET", "gold_bucket"))
    vibranium_bucket: str | None = Field(
        default=None, validation_alias=_env("LAKE_VIBRANIUM_BUCKET", "vibranium_bucket")
    )
    aws_mcp_url: str | None = Field(default=None, validation_alias=_env("AWS_MCP_URL", "aws_mcp_url"))
    custom_mcp_url: str | None = Field(
        default=None, validation_alias=_env("CUSTOM_MCP_URL", "custom_mcp_url")
    )
    database_mcp_url: str | None = Field(
        default=None, validation_alias=_env("DATABASE_MCP_URL", "database_mcp_url")
    )
    k8s_mcp_url: str | None = Field(default=None, validation_alias=_env("K8S_MCP_URL", "k8s_mcp_url"))

    # agent-core's own knobs (settings.yaml "agent:" or AGENT_* variables)
    sync_timeout_seconds: float = Field(
        default=30.0, gt=0, validation_alias=_env("AGENT_SYNC_TIMEOUT", "sync_timeout_seconds")
    )
    max_sync_timeout_seconds: float = Field(
        default=300.0, gt=0, validation_alias=_env("AGENT_MAX_SYNC_TIMEOUT", "max_sync_timeout_seconds")
    )
    mcp_connect_timeout_seconds: float = Field(
        default=5.0, gt=0, validation_alias=_env("AGENT_MCP_CONNECT_TIMEOUT", "mcp_connect_timeout_seconds")
    )
    runs_table: str | None = Field(default=None, validation_alias=_env("AGENT_RUNS_TABLE", "runs_table"))
    checkpoint_table: str | None = Field(
        default=None, validation_alias=_env("AGENT_CHECKPOINT_TABLE", "checkpoint_table")
    )
    runs_in_memory: int = Field(
        default=1000, ge=10, validation_alias=_env("AGENT_RUNS_IN_MEMORY", "runs_in_memory")
    )
    run_retention_days: int = Field(
        default=7, ge=1, validation_alias=_env("AGENT_RUN_RETENTION_DAYS", "run_retention_days")
    )
    consumer_enabled: bool = Field(
        default=True, validation_alias=_env("AGENT_CONSUMER_ENABLED", "consumer_enabled")
    )
    consumer_routes: dict[str, str] | None = Field(
        default=None, validation_alias=_env("AGENT_CONSUMER_ROUTES", "consumer_routes")
    )
    consumer_role: Literal["write", "curate"] = Field(
        default="write", validation_alias=_env("AGENT_CONSUMER_ROLE", "consumer_role")
    )
    consumer_event_field: str = Field(
        default="type", validation_alias=_env("AGENT_CONSUMER_EVENT_FIELD", "consumer_event_field")
    )
    consumer_batch_size: int = Field(
        default=100, ge=1, le=10_000, validation_alias=_env("AGENT_CONSUMER_BATCH", "consumer_batch_size")
    )
    consumer_concurrency: int = Field(
        default=4, ge=1, le=64, validation_alias=_env("AGENT_CONSUMER_CONCURRENCY", "consumer_concurrency")
    )
    consumer_idle_poll_seconds: float = Field(
        default=0.3, gt=0, validation_alias=_env("AGENT_CONSUMER_IDLE_POLL", "consumer_idle_poll_seconds")
    )
    # an idle shard is read less and less often, down to once a second (the Kinesis Client
    # Library's idleTimeBetweenReadsInMillis); records bring the shorter wait back
    consumer_idle_poll_max_seconds: float = Field(
        default=1.0,
        gt=0,
        validation_alias=_env("AGENT_CONSUMER_IDLE_POLL_MAX", "consumer_idle_poll_max_seconds"),
    )
    consumer_lease_seconds: float = Field(
        default=10.0, ge=1, validation_alias=_env("AGENT_CONSUMER_LEASE_SECONDS", "consumer_lease_seconds")
    )
    consumer_max_runs_per_second: float = Field(
        default=20.0,
        ge=0,
        validation_alias=_env("AGENT_CONSUMER_MAX_RUNS_PER_SECOND", "consumer_max_runs_per_second"),
    )
    consumer_initial_position: Literal["TRIM_HORIZON", "LATEST"] = Field(
        default="TRIM_HORIZON",
        validation_alias=_env("AGENT_CONSUMER_INITIAL_POSITION", "consumer_initial_position"),
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        init_kwargs = getattr(init_settings, "init_kwargs", {}) or {}  # keyed by alias
        given = init_kwargs.get("settings_file") or init_kwargs.get("NEXUS_SETTINGS_FILE")
        path = given or os.environ.get("NEXUS_SETTINGS_FILE")
        return (init_settings, env_settings, _YamlSource(settings_cls, Path(path) if path else None))

    # -- derived ----------------------------------------------------------------------------
    @property
    def host(self) -> str:
        if self.bind_host:
            return self.bind_host
        return "0.0.0.0" if os.environ.get("KUBERNETES_SERVICE_HOST") else "127.0.0.1"

    @property
    def prefix(self) -> str:
        return f"{self.project}-{self.environment}"

    @property
    def runs_table_name(self) -> str:
        return self.runs_table or f"{self.prefix}-agent-runs"

    @property
    def checkpoint_table_name(self) -> str:
        return self.checkpoint_table or f"{self.prefix}-agent-checkpoints"

    @property
    def stream_name(self) -> str:
        return self.primary_stream or f"{self.prefix}-intake"

    def mcp_urls(self) -> dict[str, str]:
        urls = {
            "aws": self.aws_mcp_url,
            "custom": self.custom_mcp_url,
            "database": self.database_mcp_url,
            "k8s": self.k8s_mcp_url,
        }
        return {name: url for name, url in urls.items() if url}

    def lake(self) -> dict[str, str | None]:
        return {
            "bronze": self.bronze_bucket,
            "silver": self.silver_bucket,
            "gold": self.gold_bucket,
            "vibranium": self.vibranium_bucket,
        }

    def models(self) -> dict[str, str]:
        return {"reasoning": self.reasoning_model, "text": self.text_model, "embedding": self.embedding_model}
