"""aws-mcp settings: the Deployment's environment (bucket names, models, dissemination)."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from services.mcp.common import McpServiceSettings

TIERS = ("bronze", "silver", "gold", "vibranium")


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class AwsMcpSettings(McpServiceSettings):
    """Names come from the manifest (rendered from the stack's parameter file)."""

    service_name: str = Field(default="aws-mcp", validation_alias=_env("SERVICE_NAME"))
    prefix: str | None = Field(default=None, validation_alias=_env("NEXUS_PREFIX"))
    bronze_bucket: str | None = Field(default=None, validation_alias=_env("LAKE_BRONZE_BUCKET"))
    silver_bucket: str | None = Field(default=None, validation_alias=_env("LAKE_SILVER_BUCKET"))
    gold_bucket: str | None = Field(default=None, validation_alias=_env("LAKE_GOLD_BUCKET"))
    vibranium_bucket: str | None = Field(default=None, validation_alias=_env("LAKE_VIBRANIUM_BUCKET"))
    reasoning_model: str = Field(
        default="anthropic.claude-3-sonnet-20240229-v1:0", validation_alias=_env("BEDROCK_REASONING_MODEL")
    )
    text_model: str = Field(
        default="amazon.titan-text-express-v1", validation_alias=_env("BEDROCK_TEXT_MODEL")
    )
    max_read_bytes: int = Field(default=1 << 20, ge=1, validation_alias=_env("LAKE_MAX_READ_BYTES"))
    inventory_max_objects: int = Field(
        default=50_000, ge=1, validation_alias=_env("LAKE_INVENTORY_MAX_OBJECTS")
    )
    dissemination_topic: str | None = Field(default=None, validation_alias=_env("DISSEMINATION_TOPIC"))
    webhooks: str = Field(default="", validation_alias=_env("DISSEMINATION_WEBHOOKS"))
    webhook_secret: str | None = Field(default=None, validation_alias=_env("DISSEMINATION_WEBHOOK_SECRET"))
    max_attempts: int = Field(default=5, ge=1, le=50, validation_alias=_env("DISSEMINATION_MAX_ATTEMPTS"))
    backoff_seconds: float = Field(default=1.0, gt=0, validation_alias=_env("DISSEMINATION_BACKOFF_SECONDS"))
    backoff_max_seconds: float = Field(
        default=60.0, gt=0, validation_alias=_env("DISSEMINATION_BACKOFF_MAX_SECONDS")
    )
    webhook_timeout_seconds: float = Field(
        default=5.0, gt=0, validation_alias=_env("DISSEMINATION_WEBHOOK_TIMEOUT")
    )

    def bucket(self, tier: str) -> str | None:
        return {
            "bronze": self.bronze_bucket,
            "silver": self.silver_bucket,
            "gold": self.gold_bucket,
            "vibranium": self.vibranium_bucket,
        }.get(tier)

    @property
    def resolved_prefix(self) -> str:
        """``NEXUS_PREFIX``, else read off the bronze bucket (``nexus-dev-bronze-us-west-2``)."""
        if self.prefix:
            return self.prefix
        if self.bronze_bucket and "-bronze-" in self.bronze_bucket:
            return self.bronze_bucket.split("-bronze-", 1)[0]
        return "nexus-dev"

    @property
    def topic_name(self) -> str:
        return self.dissemination_topic or f"{self.resolved_prefix}-dissemination"

    @property
    def webhook_urls(self) -> list[str]:
        return [url.strip() for url in self.webhooks.split(",") if url.strip()]
