"""``nexuskit doctor``: versions, port, state dir, external tools and the engines they enable.

``docker_paths`` says, one line each, whether the Docker engine answers (the docker SDK's
ping), whether LocalStack can start through testcontainers, and whether the kind runtime can
run, and why not.
"""

from __future__ import annotations

import os
import platform
import shutil
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


def docker_paths(tools: dict[str, str | None]) -> dict[str, dict[str, Any]]:
    """Which Docker paths work here, and why not: the engine (the docker SDK's ping), LocalStack
    through testcontainers (engine, token, pinned image, terraform) and the kind runtime (engine,
    kind, kubectl). Each is ``{"usable": bool, "why": one line}``."""
    from emulation.kind import docker_unavailable
    from nexuskit import localstack
    from nexuskit.errors import ConfigError
    from nexuskit.params import repo_root

    no_engine = docker_unavailable()
    engine_why = f"no Docker engine answers the docker SDK ({no_engine})" if no_engine else ""
    paths: dict[str, dict[str, Any]] = {
        "docker engine": {
            "usable": no_engine is None,
            "why": engine_why or "a Docker engine answers the docker SDK's ping",
        }
    }
    blockers = ["no Docker engine answers"] if no_engine else []
    if not os.environ.get(localstack.TOKEN_VAR, "").strip():
        blockers.append(f"{localstack.TOKEN_VAR} is not set (LocalStack needs a token since March 2026)")
    image = None
    try:
        image = localstack.pinned_image(repo_root())
    except ConfigError as exc:
        blockers.append(exc.message)
    if not (tools.get("terraform") or shutil.which("terraform")):
        blockers.append("terraform is not on PATH")
    paths["localstack (testcontainers)"] = {
        "usable": not blockers,
        "image": image,
        "why": "; ".join(blockers) + "; use the embedded engine (nexuskit up --local), token-free"
        if blockers
        else f"{image} through testcontainers: nexuskit up --local --engine localstack",
    }
    blockers = ["no Docker engine answers"] if no_engine else []
    blockers += [f"{tool} is not on PATH" for tool in ("kind", "kubectl") if not tools.get(tool)]
    paths["kind runtime"] = {
        "usable": not blockers,
        "why": "; ".join(blockers) + "; the process runtime (the default) needs none of them"
        if blockers
        else "NEXUSKIT_K8S=kind nexuskit up --local",
    }
    return paths


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
    paths = docker_paths(tools)
    docker_engine = bool(paths["docker engine"]["usable"])
    running = engine.pid() is not None
    localstack = paths["localstack (testcontainers)"]
    kind = paths["kind runtime"]
    engines = {
        "embedded": {"available": True, "why": "built in (moto + nexuskit extensions), token-free"},
        "localstack": {
            "available": bool(localstack["usable"]),
            "why": "needs a Docker engine, LOCALSTACK_AUTH_TOKEN, a pinned image and terraform",
        },
        "process runtime": {
            "available": True,
            "why": "built in (manifests run as local processes)",
        },
        "kind runtime": {
            "available": bool(kind["usable"]),
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
        "docker_paths": paths,
        "engines": engines,
    }
