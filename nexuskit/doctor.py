"""``nexuskit doctor``: versions, port, state dir, external tools and the engines they enable."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from importlib import metadata
from typing import Any

from nexuskit.config import KitSettings
from nexuskit.engine import EmbeddedEngine, port_is_free

TOOLS = ("docker", "kind", "kubectl", "terraform", "tflocal", "tofu", "node", "npx", "chromium")


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _docker_engine_running(docker: str) -> bool:
    try:
        result = subprocess.run(
            [docker, "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0 and bool(result.stdout.strip())


def terraform_report() -> dict[str, Any]:
    """terraform's version, every provider mirror found (with its providers' versions), and
    whether each stack's providers are there (nexuskit.terraform.mirrors)."""
    from nexuskit.params import repo_root
    from nexuskit.terraform import discover_mirrors, terraform_binary, terraform_version
    from nexuskit.terraform.mirrors import current_platform
    from nexuskit.terraform.workspace import STACKS, required_providers

    search = discover_mirrors()
    stacks: dict[str, Any] = {}
    stacks_dir = repo_root() / "terraform" / "stacks"
    for stack in STACKS:
        if not (stacks_dir / stack).is_dir():
            continue
        needed = required_providers(stacks_dir / stack)
        missing = [a for a in needed if not search.holding(a, current_platform())]
        stacks[stack] = {"providers": needed, "missing": missing}
    return {
        "binary": shutil.which(terraform_binary()),
        "version": terraform_version(),
        **search.as_dict(),
        "stacks": stacks,
    }


def diagnose(settings: KitSettings) -> dict[str, Any]:
    """Everything ``doctor`` reports, as data."""
    engine = EmbeddedEngine(settings)
    tools = {name: shutil.which(name) for name in TOOLS}
    docker_engine = bool(tools["docker"]) and _docker_engine_running(str(tools["docker"]))
    running = engine.pid() is not None
    token = bool(os.environ.get("LOCALSTACK_AUTH_TOKEN"))
    engines = {
        "embedded": {"available": True, "why": "built in (moto + nexuskit extensions)"},
        "localstack": {
            "available": docker_engine and token,
            "why": "needs a Docker engine and LOCALSTACK_AUTH_TOKEN"
            + ("" if docker_engine else "; no Docker engine answers")
            + ("" if token else "; LOCALSTACK_AUTH_TOKEN is not set"),
        },
        "process runtime": {
            "available": True,
            "why": "built in (manifests run as local processes)",
        },
        "kind runtime": {
            "available": docker_engine and bool(tools["kind"]) and bool(tools["kubectl"]),
            "why": "needs a Docker engine, kind and kubectl",
        },
        "terraform promote": {
            "available": bool(tools["terraform"] or tools["tofu"]),
            "why": "needs terraform (or tofu) on PATH",
        },
    }
    return {
        "versions": {
            "python": platform.python_version(),
            "nexuskit": _version("nexuskit"),
            "moto": _version("moto"),
            "boto3": _version("boto3"),
        },
        "port": {
            "number": settings.port,
            "state": "used by this stack's engine"
            if running
            else ("free" if port_is_free(settings.port) else "in use by another process"),
        },
        "state_dir": {"path": str(engine.state_dir), "exists": engine.state_dir.exists()},
        "tools": {name: path for name, path in tools.items()},
        "terraform": terraform_report(),
        "docker_engine": docker_engine,
        "engines": engines,
    }
