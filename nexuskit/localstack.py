"""The optional LocalStack engine: LocalStack in Docker (through testcontainers), then ``stacks/platform``.

``nexuskit up --local --engine localstack`` calls :func:`up`, which

1. checks, in order, each with a one-line error: ``LOCALSTACK_AUTH_TOKEN`` set (LocalStack
   needs a token since March 2026; the embedded engine needs none), a Docker engine that
   answers the ``docker`` SDK's ping (else: use the embedded engine, ``nexuskit up --local``),
   and ``terraform`` on PATH;
2. starts LocalStack with ``testcontainers``: the image of ``docker-compose.yml``'s
   ``localstack`` service (pinned there; ``:latest`` or an untagged image is refused), its
   ``SERVICES`` loaded eagerly, port 4566 published on ``127.0.0.1:<port>`` only (``--port``,
   default 4566), the token passed from the environment, the Docker socket mounted (Lambda
   runs its functions in sibling containers), then waits until ``/_localstack/health`` says
   each of those services is ``running``. The container (``nexuskit-localstack-<port>``,
   labelled ``dev.nexuskit.engine=localstack``) outlives the command: testcontainers' reaper is
   off for it, and ``nexuskit down --engine localstack`` removes it. A healthy container of
   the same image already on that port is reused;
3. writes the provider override (:mod:`nexuskit.tfoverride`) pointing at
   ``http://127.0.0.1:<port>`` and runs ``terraform init`` and ``terraform apply`` of
   ``terraform/stacks/platform`` with ``envs/<env>/terraform.tfvars.json`` (what ``tflocal``
   does, with nexuskit's own override file).

The access key is the environment's first allowed account id: LocalStack uses a 12-digit
access key as the account id, so the provider's ``allowed_account_ids`` check passes.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import yaml

from emulation.kind import DockerEngineUnavailableError, docker_engine
from nexuskit.errors import ConfigError, EngineError, ToolMissingError
from nexuskit.params import load_stack, params_path
from nexuskit.promote.commands import CommandRunner
from nexuskit.tfoverride import write_override

if TYPE_CHECKING:
    import docker
    from docker.models.containers import Container

COMPOSE_FILE = "docker-compose.yml"
SERVICE = "localstack"
EDGE_PORT = 4566
DEFAULT_PORT = 4566
ENDPOINT = f"http://127.0.0.1:{DEFAULT_PORT}"
TOKEN_VAR = "LOCALSTACK_AUTH_TOKEN"
ENGINE_LABEL = "dev.nexuskit.engine"
PORT_LABEL = "dev.nexuskit.port"
HEALTH_PATH = "/_localstack/health"
EMBEDDED_HINT = "use the embedded engine instead, token-free: nexuskit up --local"


def endpoint_for(port: int = DEFAULT_PORT) -> str:
    return f"http://127.0.0.1:{port}"


def container_name(port: int = DEFAULT_PORT) -> str:
    return f"nexuskit-localstack-{port}"


@dataclass
class LocalStackReport:
    """What ``up --engine localstack`` did."""

    image: str
    endpoint: str
    override: str
    applied: bool
    container: str = ""
    reused: bool = False
    services: dict[str, str] = field(default_factory=dict)
    commands: list[list[str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "engine": "localstack",
            "image": self.image,
            "endpoint": self.endpoint,
            "container": self.container,
            "reused": self.reused,
            "services": self.services,
            "override": self.override,
            "applied": self.applied,
            "commands": [" ".join(c) for c in self.commands],
        }


def _service(root: Path) -> dict[str, Any]:
    path = root / COMPOSE_FILE
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path} not found: the LocalStack engine is defined there") from None
    service = ((doc or {}).get("services") or {}).get(SERVICE)
    return service if isinstance(service, dict) else {}


def pinned_image(root: Path) -> str:
    """The LocalStack image of docker-compose.yml; refused unless pinned to a version."""
    image = str(_service(root).get("image") or "")
    name, _, tag = image.rpartition(":")
    if not image or not name or "/" in tag or tag in {"", "latest"}:
        path = root / COMPOSE_FILE
        raise ConfigError(f"{path}: services.{SERVICE}.image {image!r} is not pinned to a version")
    return image


def needed_services(root: Path) -> list[str]:
    """The ``SERVICES`` docker-compose.yml's localstack service runs (what ``up`` waits for)."""
    environment = _service(root).get("environment") or {}
    if isinstance(environment, list):
        environment = dict(str(item).partition("=")[::2] for item in environment)
    raw = str(environment.get("SERVICES") or "")
    return [s.strip() for s in raw.split(",") if s.strip()]


def engine_unavailable_message(reason: str) -> str:
    return (
        f"no Docker engine answers the docker SDK ({reason}): the localstack engine runs in Docker; "
        f"{EMBEDDED_HINT}"
    )


def token_missing_message() -> str:
    return (
        f"{TOKEN_VAR} is not set: LocalStack needs an auth token since March 2026 (free account at "
        "localstack.cloud); export it, or use the embedded engine, which needs none: nexuskit up --local"
    )


def connect() -> docker.DockerClient:
    """The Docker engine's SDK client; ToolMissingError (one line) when no engine answers."""
    try:
        return docker_engine()
    except DockerEngineUnavailableError as exc:
        raise ToolMissingError(engine_unavailable_message(str(exc))) from None


def preflight(env: Mapping[str, str] | None = None, apply: bool = True) -> docker.DockerClient:
    """Every tool and setting LocalStack needs, in order; the first one missing raises in one line.

    Returns the Docker engine's client.
    """
    env = os.environ if env is None else env
    if not env.get(TOKEN_VAR, "").strip():
        raise ConfigError(token_missing_message())
    client = connect()
    if apply and shutil.which("terraform", path=env.get("PATH")) is None:
        client.close()
        raise ToolMissingError(
            "terraform is not installed (not on PATH): the localstack engine applies "
            "terraform/stacks/platform with it"
        )
    return client


def pending_services(health: Mapping[str, Any], needed: list[str]) -> dict[str, str]:
    """The needed services ``/_localstack/health`` does not report ``running`` (name: state)."""
    states = health.get("services") or {}
    return {name: str(states.get(name, "absent")) for name in needed if states.get(name) != "running"}


def read_health(endpoint: str, timeout: float = 5.0) -> dict[str, Any] | None:
    """``/_localstack/health`` of ``endpoint`` (None when it does not answer with JSON)."""
    try:
        with urllib.request.urlopen(endpoint + HEALTH_PATH, timeout=timeout) as response:
            doc = json.loads(response.read().decode("utf-8"))
    except (OSError, ValueError, urllib.error.URLError):
        return None
    return doc if isinstance(doc, dict) else None


def wait_healthy(
    endpoint: str, needed: list[str], timeout: float = 300.0, interval: float = 1.0
) -> dict[str, str]:
    """Poll ``/_localstack/health`` until every needed service is running; its services' states.

    EngineError (one line: what is still pending) after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    health: dict[str, Any] | None = None
    while True:
        health = read_health(endpoint)
        if health is not None and not pending_services(health, needed):
            return {str(k): str(v) for k, v in (health.get("services") or {}).items()}
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    if health is None:
        said = f"{endpoint}{HEALTH_PATH} never answered"
    else:
        pending = pending_services(health, needed)
        said = "not running: " + ", ".join(f"{k}={v}" for k, v in sorted(pending.items()))
    raise EngineError(f"LocalStack was not healthy within {timeout:.0f} s ({said})")


def _docker_socket() -> str:
    host = os.environ.get("DOCKER_HOST", "")
    return host.removeprefix("unix://") if host.startswith("unix://") else "/var/run/docker.sock"


def find_containers(client: docker.DockerClient, port: int | None = None) -> list[Container]:
    """The LocalStack containers nexuskit started (those on ``port`` only, when given)."""
    labels = [f"{ENGINE_LABEL}=localstack"] + ([f"{PORT_LABEL}={port}"] if port is not None else [])
    return list(client.containers.list(all=True, filters={"label": labels}))


def start_container(
    client: docker.DockerClient,
    *,
    image: str,
    port: int,
    token: str,
    region: str,
    services: list[str],
    keep: bool = True,
    timeout: float = 300.0,
) -> tuple[str, bool, dict[str, str]]:
    """LocalStack on ``127.0.0.1:port`` through testcontainers; (container name, reused, service states).

    ``keep``: the container outlives this process (testcontainers' reaper off), as ``up`` needs.
    """
    from docker.errors import DockerException
    from testcontainers.core.config import testcontainers_config
    from testcontainers.core.container import DockerContainer

    name = container_name(port)
    endpoint = endpoint_for(port)
    for existing in find_containers(client, port):
        if existing.status == "running" and (existing.attrs.get("Config") or {}).get("Image") == image:
            return name, True, wait_healthy(endpoint, services, timeout=timeout)
        existing.remove(force=True, v=True)
    if keep:
        testcontainers_config.ryuk_disabled = True
    container = DockerContainer(
        image,
        name=name,
        labels={ENGINE_LABEL: "localstack", PORT_LABEL: str(port)},
    )
    container.with_envs(
        LOCALSTACK_AUTH_TOKEN=token,
        AWS_DEFAULT_REGION=region,
        SERVICES=",".join(services),
        EAGER_SERVICE_LOADING="1",
        PERSISTENCE=os.environ.get("LOCALSTACK_PERSISTENCE", "0"),
    )
    # 127.0.0.1 only: testcontainers' with_bind_ports takes no address, the SDK does.
    cast(dict[str, Any], container.ports)[f"{EDGE_PORT}/tcp"] = ("127.0.0.1", port)
    container.with_volume_mapping(_docker_socket(), "/var/run/docker.sock", "rw")
    try:
        container.start()
    except DockerException as exc:
        message = " ".join(str(exc).split())[:300]
        raise EngineError(f"LocalStack did not start ({image} on 127.0.0.1:{port}): {message}") from None
    try:
        states = wait_healthy(endpoint, services, timeout=timeout)
    except EngineError:
        if not keep:
            container.stop()
        raise
    return name, False, states


def down(port: int | None = None) -> list[str]:
    """Stop and remove the LocalStack containers ``up`` started (on ``port`` only, when given)."""
    client = connect()
    try:
        removed = []
        for found in find_containers(client, port):
            found.remove(force=True, v=True)
            removed.append(str(found.name))
        return removed
    finally:
        client.close()


def up(
    env: str = "local",
    root: Path | None = None,
    apply: bool = True,
    port: int | None = None,
    timeout: float = 300.0,
) -> LocalStackReport:
    """Start LocalStack and apply the platform stack to it (see the module docstring).

    ``root`` is the checkout (default: the nearest folder at or above the current directory
    that holds terraform/envs).
    """
    from nexuskit.promote.pipeline import find_root

    root = (root or find_root()).resolve()
    spec = load_stack(params_path(env, root))
    image = pinned_image(root)
    port = port or DEFAULT_PORT
    endpoint = endpoint_for(port)
    runner = CommandRunner(root, log_file=root / ".nexus" / "localstack" / "up.log")
    client = preflight(runner.env, apply=apply)
    try:
        name, reused, states = start_container(
            client,
            image=image,
            port=port,
            token=runner.env[TOKEN_VAR].strip(),
            region=spec.region,
            services=needed_services(root),
            timeout=timeout,
        )
    finally:
        client.close()
    account = (spec.params.allowed_account_ids or ["000000000000"])[0]
    override = write_override(
        endpoint=endpoint,
        region=spec.region,
        access_key=account,
        secret_key="test",
        env=env,
        root=root,
        stack="platform",
    )
    report = LocalStackReport(
        image, endpoint, str(override.path), applied=False, container=name, reused=reused, services=states
    )
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
