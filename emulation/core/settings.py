"""Settings of one engine process (from the command line of ``python -m emulation``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

FirehoseBuffering = Literal["fast", "aws"]
KinesisLimits = Literal["aws", "off"]
IamMode = Literal["enforce", "log", "off"]


@dataclass(frozen=True)
class EngineSettings:
    """How the engine runs: where, with what state, and which fidelity switches."""

    host: str = "127.0.0.1"
    port: int = 4566
    state_dir: Path | None = None
    persist: bool = True
    snapshot_interval: float = 1.0
    firehose_buffering: FirehoseBuffering = "fast"
    kinesis_limits: KinesisLimits = "aws"
    iam: IamMode = "off"
    admin_access_key: str = "test"
    admin_secret_key: str = "test"
    #: serve moto's ``/moto-api`` (admin-authenticated requests only); off by default
    moto_api: bool = False
    #: Host names accepted besides the built-in ones (``*.suffix`` accepts subdomains)
    allowed_hosts: tuple[str, ...] = field(default_factory=tuple)
    extensions: tuple[str, ...] = field(default_factory=tuple)

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"
