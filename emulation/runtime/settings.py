"""Settings of one runtime daemon (from ``python -m emulation.runtime`` arguments)."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Taint:
    key: str
    value: str
    effect: str  # NoSchedule | PreferNoSchedule | NoExecute


@dataclass(frozen=True)
class Node:
    """A virtual node: where pods are "scheduled" (labels and taints only; no capacity)."""

    name: str
    labels: dict[str, str] = field(default_factory=dict)
    taints: tuple[Taint, ...] = ()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Node:
        taints = tuple(
            Taint(str(t["key"]), str(t.get("value", "")), str(t["effect"])) for t in data.get("taints", [])
        )
        labels = {str(k): str(v) for k, v in (data.get("labels") or {}).items()}
        return cls(str(data["name"]), {"kubernetes.io/hostname": str(data["name"]), **labels}, taints)


DEFAULT_NODES = (Node("local", {"kubernetes.io/hostname": "local"}),)


@dataclass(frozen=True)
class RuntimeSettings:
    state_dir: Path
    manifests_dir: Path
    engine_endpoint: str | None = None
    region: str = "us-west-2"
    oidc_issuer: str = "https://oidc.local.nexuskit.dev"
    service_port_base: int = 4666
    api_port: int = 0
    workdir: Path = field(default_factory=Path.cwd)
    nodes: tuple[Node, ...] = DEFAULT_NODES
    backoff_base: float = 10.0
    backoff_max: float = 300.0
    credential_seconds: int = 3600
    refresh_credentials: bool = True
    min_token_seconds: int = 600  # the shortest projected token (Kubernetes: 600; tests go lower)
    kube_api_port: int | None = 0  # the Kubernetes API's port (0: a free one; None: no API)
    bookmark_seconds: float = 30.0  # how often a watch that allows bookmarks gets one
    python: str = sys.executable

    @property
    def runtime_dir(self) -> Path:
        return self.state_dir / "runtime"

    @property
    def logs_dir(self) -> Path:
        return self.runtime_dir / "logs"

    @property
    def pods_dir(self) -> Path:
        return self.runtime_dir / "pods"

    @property
    def info_file(self) -> Path:
        return self.runtime_dir / "api.json"

    @property
    def processes_file(self) -> Path:
        return self.runtime_dir / "processes.json"

    @property
    def signing_key_file(self) -> Path:
        return signing_key_file(self.state_dir)

    @property
    def admin_token_file(self) -> Path:
        return self.runtime_dir / "admin-token"


def signing_key_file(state_dir: Path) -> Path:
    """Where the runtime of ``state_dir`` keeps its service-account signing key."""
    return state_dir / "runtime" / "sa-signing-key.pem"
