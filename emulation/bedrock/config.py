"""The Bedrock runtime's switches (read at engine start: a bad one fails the start) and
which requests are the runtime's, without the runtime's modules (loaded on the first)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from emulation.core.request import AwsRequest

Mode = Literal["local", "replay", "record"]
DEFAULT_CASSETTES = Path("scenarios") / "cassettes" / "bedrock"


@dataclass(frozen=True)
class BedrockConfig:
    """The runtime's switches, read from the environment once at engine start."""

    mode: Mode = "local"
    cassettes: Path = DEFAULT_CASSETTES
    #: requests per minute per model: "*" is every model without its own entry
    rpm: dict[str, int] = field(default_factory=dict)
    record_endpoint: str | None = None
    record_profile: str | None = None
    responder_plugins: str = ""

    @classmethod
    def from_environ(cls, environ: dict[str, str] | None = None) -> BedrockConfig:
        env = dict(os.environ if environ is None else environ)
        mode = env.get("NEXUSKIT_BEDROCK", "local").strip().lower() or "local"
        if mode not in {"local", "replay", "record"}:
            raise ValueError(f"NEXUSKIT_BEDROCK must be local, replay or record, not {mode!r}")
        return cls(
            mode=mode,  # type: ignore[arg-type]
            cassettes=Path(env.get("NEXUSKIT_BEDROCK_CASSETTES") or DEFAULT_CASSETTES),
            rpm=parse_rpm(env.get("NEXUSKIT_BEDROCK_RPM", "")),
            record_endpoint=env.get("NEXUSKIT_BEDROCK_RECORD_ENDPOINT") or None,
            record_profile=env.get("NEXUSKIT_BEDROCK_RECORD_PROFILE") or None,
            responder_plugins=env.get("NEXUSKIT_BEDROCK_RESPONDERS", ""),
        )


def parse_rpm(spec: str) -> dict[str, int]:
    """``"60"`` (every model) or ``"model=10,*=100"``; empty, ``0`` or ``off`` is no quota."""
    spec = spec.strip()
    if not spec or spec.lower() == "off":
        return {}
    limits: dict[str, int] = {}
    for entry in filter(None, (part.strip() for part in spec.split(","))):
        model, sep, value = entry.rpartition("=")
        limit = int(value)
        if limit > 0:
            limits[model if sep else "*"] = limit
    return limits


def may_be_runtime_call(request: AwsRequest) -> bool:
    """Whether the request may be one the runtime answers (an invocation, or the model list
    and a model): cheap, and true of every request the responses match."""
    if request.signing_service not in {None, "bedrock"}:
        return False
    if request.method == "POST":
        return request.path.startswith("/model/")
    return request.method == "GET" and request.path.startswith("/foundation-models")


def health_of(
    config: BedrockConfig,
    cassette_count: int | None = None,
    invocations: dict[str, int] | None = None,
    throttled: int = 0,
) -> dict[str, Any]:
    """The runtime's figures for ``/_nexus/health``."""
    return {
        "mode": config.mode,
        "cassettes": str(config.cassettes) if config.mode != "local" else None,
        "cassette_count": cassette_count,
        "rpm": config.rpm or None,
        "invocations": invocations or {},
        "throttled": throttled,
    }
