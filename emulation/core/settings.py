"""Settings of one engine process (from the command line of ``python -m emulation``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

FirehoseBuffering = Literal["fast", "aws"]
KinesisLimits = Literal["aws", "off"]
IamMode = Literal["enforce", "log", "off"]
#: ``aws``: Lake Formation governs what it governs in AWS (its catalog and the credentials it
#: vends), never a direct S3 call IAM allows. ``strict``: a local rehearsal mode, stricter
#: than AWS: direct S3 data calls on registered locations also need a Lake Formation grant.
LakeFormationMode = Literal["aws", "strict"]
#: ``lazy``: moto's way (and LocalStack's default): a service is imported on its first
#: request. ``platform``: the platform's services are imported in the background right after
#: start, as ``nexuskit up`` wants them (it is about to provision every one of them).
WarmUp = Literal["lazy", "platform"]
#: Glue job timeouts are enforced times this (tests shorten them); read by ``parse_args``
GLUE_TIMEOUT_SCALE_ENV = "NEXUSKIT_GLUE_TIMEOUT_SCALE"
#: seconds IAM's credential-expiry clock runs ahead of real time (for rehearsing expiry)
CLOCK_SKEW_ENV = "NEXUSKIT_CLOCK_SKEW_SECONDS"
#: Kinesis retention periods are enforced times this (tests shorten them); read by ``parse_args``
KINESIS_RETENTION_SCALE_ENV = "NEXUSKIT_KINESIS_RETENTION_SCALE"


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
    lake_formation: LakeFormationMode = "aws"
    admin_access_key: str = "test"
    admin_secret_key: str = "test"
    #: serve moto's ``/moto-api`` (admin-authenticated requests only); off by default
    moto_api: bool = False
    #: Host names accepted besides the built-in ones (``*.suffix`` accepts subdomains)
    allowed_hosts: tuple[str, ...] = field(default_factory=tuple)
    extensions: tuple[str, ...] = field(default_factory=tuple)
    #: writes are refused while the state dir's file system has less free space than this
    disk_reserve_mb: int = 64
    #: when moto's services are imported (see ``WarmUp``)
    warm_up: WarmUp = "lazy"
    #: Glue job timeouts are enforced times this (``NEXUSKIT_GLUE_TIMEOUT_SCALE``)
    glue_timeout_scale: float = 1.0
    #: IAM judges credential expiry this far ahead of real time (``NEXUSKIT_CLOCK_SKEW_SECONDS``)
    clock_skew_seconds: float = 0.0
    #: MiB of memory for caches of stored data (the newest Kinesis records)
    memory_budget_mb: int = 64
    #: Kinesis retention periods are enforced times this (``NEXUSKIT_KINESIS_RETENTION_SCALE``)
    kinesis_retention_scale: float = 1.0

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"
