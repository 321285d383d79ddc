"""The optional LocalStack engine: LocalStack in Docker, then ``stacks/platform`` applied to it.

``nexuskit up --local --engine localstack`` calls :func:`up`, which

1. checks, in order, each with a one-line error: ``docker`` on PATH,
   ``LOCALSTACK_AUTH_TOKEN`` set (LocalStack needs a token since March 2026), a Docker
   engine that answers, the ``docker compose`` plugin, and ``terraform`` on PATH;
2. starts the ``localstack`` service of ``docker-compose.yml`` (its image is pinned there;
   ``:latest`` or an untagged image is refused) with ``docker compose up -d --wait``, the
   token passed through from the environment;
3. writes the provider override (:mod:`nexuskit.tfoverride`) pointing at
   ``http://127.0.0.1:4566`` and runs ``terraform init`` and ``terraform apply`` of
   ``terraform/stacks/platform`` with ``envs/<env>/terraform.tfvars.json`` (what ``tflocal``
   does, with nexuskit's own override file).

The access key is the environment's first allowed account id: LocalStack uses a 12-digit
access key as the account id, so the provider's ``allowed_account_ids`` check passes.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from nexuskit.errors import ConfigError, EngineError, ToolMissingError
from nexuskit.params import load_stack, params_path
from nexuskit.promote.commands import CommandRunner
from nexuskit.tfoverride import write_override

COMPOSE_FILE = "docker-compose.yml"
SERVICE = "localstack"
ENDPOINT = "http://127.0.0.1:4566"
TOKEN_VAR = "LOCALSTACK_AUTH_TOKEN"


@dataclass
class LocalStackReport:
    """What ``up --engine localstack`` did."""

    image: str
    endpoint: str
    override: str
    applied: bool
    commands: list[list[str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "engine": "localstack",
            "image": self.image,
            "endpoint": self.endpoint,
            "override": self.override,
            "applied": self.applied,
            "commands": [" ".join(c) for c in self.commands],
        }


def pinned_image(root: Path) -> str:
    """The LocalStack image of docker-compose.yml; refused unless pinned to a version."""
    path = root / COMPOSE_FILE
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path} not found: the LocalStack engine is defined there") from None
    image = str(((doc or {}).get("services") or {}).get(SERVICE, {}).get("image") or "")
    name, _, tag = image.rpartition(":")
    if not image or not name or "/" in tag or tag in {"", "latest"}:
        raise ConfigError(f"{path}: services.{SERVICE}.image {image!r} is not pinned to a version")
    return image


def _compose_cmd(*args: str) -> list[str]:
    return ["docker", "compose", "-f", COMPOSE_FILE, *args]


def preflight(runner: CommandRunner, apply: bool = True) -> None:
    """Every tool and setting LocalStack needs; the first one missing raises in one line."""
    path = runner.env.get("PATH")
    if shutil.which("docker", path=path) is None:
        raise ToolMissingError(
            "docker is not installed (not on PATH): the localstack engine runs in Docker; "
            "use the embedded engine (nexuskit up --local) without it"
        )
    if not runner.env.get(TOKEN_VAR, "").strip():
        raise ConfigError(
            f"{TOKEN_VAR} is not set: LocalStack needs an auth token since March 2026 (free account "
            "at localstack.cloud); export it, or use the embedded engine (nexuskit up --local)"
        )
    info = runner.run(["docker", "info", "--format", "{{.ServerVersion}}"], timeout=30)
    if info.returncode != 0 or not info.stdout.strip():
        raise ToolMissingError(f"no Docker engine answers (`docker info`: {info.error_line()})")
    compose = runner.run(["docker", "compose", "version"], timeout=30)
    if compose.returncode != 0:
        raise ToolMissingError("the docker compose plugin is not installed (`docker compose version` failed)")
    if apply and shutil.which("terraform", path=path) is None:
        raise ToolMissingError(
            "terraform is not installed (not on PATH): the localstack engine applies "
            "terraform/stacks/platform with it"
        )


def up(env: str = "local", root: Path | None = None, apply: bool = True) -> LocalStackReport:
    """Start LocalStack and apply the platform stack to it (see the module docstring).

    ``root`` is the checkout (default: the nearest folder at or above the current directory
    that holds terraform/envs).
    """
    from nexuskit.promote.pipeline import find_root

    root = (root or find_root()).resolve()
    spec = load_stack(params_path(env, root))
    image = pinned_image(root)
    runner = CommandRunner(root, log_file=root / ".nexus" / "localstack" / "up.log")
    preflight(runner, apply=apply)
    started = runner.run(_compose_cmd("up", "-d", "--wait", SERVICE), timeout=600)
    if started.returncode != 0:
        raise EngineError(f"LocalStack did not start: {started.error_line()}", f"see {runner.log_file}")
    account = (spec.params.allowed_account_ids or ["000000000000"])[0]
    override = write_override(
        endpoint=ENDPOINT,
        region=spec.region,
        access_key=account,
        secret_key="test",
        env=env,
        root=root,
        stack="platform",
    )
    report = LocalStackReport(image, ENDPOINT, str(override.path), applied=False)
    if apply:
        from nexuskit.edge.package import build_auth_package

        chdir = "-chdir=terraform/stacks/platform"
        var_file = f"-var-file=../../envs/{env}/terraform.tfvars.json"
        # LocalStack runs the function in a Lambda container: the package is built for the
        # Lambda runtime's platform (wheels from the cache, downloaded when missing).
        package = build_auth_package(
            root / ".nexus" / "localstack" / "build", function_name=spec.auth_function, allow_download=True
        )
        package_vars = [f"-var={k}={v}" for k, v in package.terraform_vars().items()]
        for argv in (
            ["terraform", chdir, "init", "-input=false", "-no-color"],
            [
                "terraform",
                chdir,
                "apply",
                "-input=false",
                "-no-color",
                "-auto-approve",
                var_file,
                *package_vars,
            ],
        ):
            result = runner.run(argv)
            if result.returncode != 0:
                raise EngineError(
                    f"`terraform {argv[2]}` against LocalStack failed: {result.error_line()}",
                    f"see {runner.log_file}",
                )
        report.applied = True
    report.commands = runner.trail
    return report
