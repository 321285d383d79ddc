"""database-mcp settings: where the database lives and the limits of one call (rows, bytes, time)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field

from services.mcp.common import McpServiceSettings


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class DatabaseMcpSettings(McpServiceSettings):
    service_name: str = Field(default="database-mcp", validation_alias=_env("SERVICE_NAME"))
    database_path: Path = Field(default=Path("nexus.db"), validation_alias=_env("DATABASE_PATH"))
    row_limit: int = Field(default=1000, ge=1, validation_alias=_env("DATABASE_ROW_LIMIT"))
    max_row_limit: int = Field(default=10_000, ge=1, validation_alias=_env("DATABASE_MAX_ROW_LIMIT"))
    statement_timeout_seconds: float = Field(
        default=5.0, gt=0, validation_alias=_env("DATABASE_STATEMENT_TIMEOUT")
    )
    max_timeout_seconds: float = Field(default=30.0, gt=0, validation_alias=_env("DATABASE_MAX_TIMEOUT"))
    max_result_bytes: int = Field(
        default=1 << 20, ge=1024, validation_alias=_env("DATABASE_MAX_RESULT_BYTES")
    )
    max_value_bytes: int = Field(default=1 << 20, ge=1024, validation_alias=_env("DATABASE_MAX_VALUE_BYTES"))
    max_memory_bytes: int = Field(
        default=64 << 20, ge=1 << 20, validation_alias=_env("DATABASE_MAX_MEMORY_BYTES")
    )
