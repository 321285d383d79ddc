"""nexuskit's own settings (where the engine listens, where state lives, fidelity switches).

Read from ``NEXUSKIT_*`` environment variables and overridden by CLI options; built by
the caller and passed in (never at import).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nexuskit.params import StackSpec, load_stack

ENV_PREFIX = "NEXUSKIT_"


class KitSettings(BaseModel):
    """Settings of one local stack (one engine, one state dir).

    A field not given is read from ``NEXUSKIT_<FIELD>`` (any case), else its default, and
    validated either way. A plain pydantic model rather than pydantic-settings' BaseSettings:
    importing pydantic-settings (its sources, dotenv, asyncio) cost every CLI call 60-70 ms
    before it did anything, for this one lookup."""

    model_config = ConfigDict(extra="ignore")

    port: int = Field(default=4566, ge=1, le=65535)
    state_dir: Path = Path(".nexus")
    env: str = "local"
    params_file: Path | None = None
    firehose_buffering: Literal["fast", "aws"] = "fast"
    kinesis_limits: Literal["aws", "off"] = "aws"
    iam: Literal["enforce", "log", "off"] = "enforce"
    k8s: Literal["process", "kind"] | None = None
    #: who creates the AWS resources on `up`: nexuskit's embedded provisioner (fast, the
    #: default) or the real terraform applying terraform/stacks/platform to the engine
    provisioner: Literal["embedded", "terraform"] = "embedded"
    #: False: `up` provisions the AWS resources only (no agent-core, MCP services or UI)
    control_plane: bool = True
    #: serve moto's /moto-api on the engine (admin-signed requests only; for debugging)
    moto_api: bool = False
    start_timeout: float = 30.0
    #: where the control plane's Services get their local ports (default: engine port + 100)
    service_port_base: int | None = None
    #: seconds `up` waits for every Deployment of the process runtime to be ready
    runtime_ready_timeout: float = 60.0

    @model_validator(mode="before")
    @classmethod
    def _environment(cls, given: Any) -> Any:
        if not isinstance(given, dict):
            return given
        found = {key.upper(): value for key, value in os.environ.items()}
        merged: dict[str, Any] = {}
        for name in cls.model_fields:
            if (variable := ENV_PREFIX + name.upper()) in found:
                merged[name] = found[variable]
        merged.update(given)
        return merged

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stack(self) -> StackSpec:
        return load_stack(self.params_file, env=self.env)

    def resolved_state_dir(self) -> Path:
        return self.state_dir.expanduser().resolve()
