"""nexuskit's own settings (where the engine listens, where state lives, fidelity switches).

Read from ``NEXUSKIT_*`` environment variables and overridden by CLI options; built by
the caller and passed in (never at import).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from nexuskit.params import StackSpec, load_stack


class KitSettings(BaseSettings):
    """Settings of one local stack (one engine, one state dir)."""

    model_config = SettingsConfigDict(env_prefix="NEXUSKIT_", extra="ignore")

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

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stack(self) -> StackSpec:
        return load_stack(self.params_file, env=self.env)

    def resolved_state_dir(self) -> Path:
        return self.state_dir.expanduser().resolve()
