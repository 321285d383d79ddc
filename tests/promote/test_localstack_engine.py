"""`nexuskit up --local --engine localstack`: LocalStack through testcontainers.

What runs everywhere: the checks in order, each refused in one line by the real CLI (no
token; no Docker engine answering the docker SDK, with ``DOCKER_HOST`` at a socket nothing
listens on), the image pin, the services waited for, and the health wait against a real HTTP
server answering LocalStack's ``/_localstack/health`` document.

What needs a Docker engine (and LOCALSTACK_AUTH_TOKEN) is written for real - LocalStack
started through testcontainers, health, terraform apply, ``down`` removing the container - and
skips with the reason where the docker SDK cannot ping an engine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from emulation.kind import docker_engine, docker_unavailable
from nexuskit import localstack
from nexuskit.cli import app
from nexuskit.errors import ConfigError, EngineError
from tests.promote.support import LOCAL_PARAMS, MAIN, free_port

NO_ENGINE = docker_unavailable()


def _needs_localstack() -> None:
    if NO_ENGINE:
        pytest.skip(f"no Docker engine answers: {NO_ENGINE}")
    if not os.environ.get("LOCALSTACK_AUTH_TOKEN", "").strip():
        pytest.skip("LOCALSTACK_AUTH_TOKEN is not set: LocalStack needs a token since March 2026")


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A checkout with docker-compose.yml, the local parameters and the platform stack; the cwd."""
    root = tmp_path / "checkout"
    (root / "terraform/stacks/platform").mkdir(parents=True)
    (root / LOCAL_PARAMS).parent.mkdir(parents=True)
    shutil.copy(MAIN / LOCAL_PARAMS, root / LOCAL_PARAMS)
    shutil.copy(MAIN / "docker-compose.yml", root / "docker-compose.yml")
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def no_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """DOCKER_HOST at a socket nothing listens on: the docker SDK really finds no engine."""
    host = f"unix://{tmp_path / 'no-engine.sock'}"
    monkeypatch.setenv("DOCKER_HOST", host)
    return host


def _one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


def test_without_token_up_says_so_in_one_line(checkout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """LOCALSTACK_AUTH_TOKEN unset: one line - a token since March 2026; the embedded engine needs none."""
    monkeypatch.delenv("LOCALSTACK_AUTH_TOKEN", raising=False)
    result = CliRunner().invoke(app, ["up", "--local", "--engine", "localstack"])
    assert result.exit_code != 0
    line = _one_line(result.stderr)
    assert "LOCALSTACK_AUTH_TOKEN is not set" in line and "since March 2026" in line
    assert "embedded engine, which needs none: nexuskit up --local" in line


def test_token_is_checked_before_the_docker_engine(
    checkout: Path, no_engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No token and no engine: the token is named first (the checks' order)."""
    monkeypatch.delenv("LOCALSTACK_AUTH_TOKEN", raising=False)
    result = CliRunner().invoke(app, ["up", "--local", "--engine", "localstack"])
    assert "LOCALSTACK_AUTH_TOKEN is not set" in _one_line(result.stderr)


def test_without_docker_engine_up_says_so_in_one_line(
    checkout: Path, no_engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Token set, no engine answering the docker SDK: one line saying so, pointing at the embedded one."""
    monkeypatch.setenv("LOCALSTACK_AUTH_TOKEN", "ls-test-token")
    result = CliRunner().invoke(app, ["up", "--local", "--engine", "localstack"])
    assert result.exit_code != 0
    line = _one_line(result.stderr)
    assert f"no Docker engine answers the docker SDK ({no_engine}: no such socket)" in line
    assert "use the embedded engine instead, token-free: nexuskit up --local" in line
    assert not (checkout / "terraform/stacks/platform/nexuskit_override.tf").exists()


def test_the_real_cli_without_docker_engine_exits_with_one_line(checkout: Path, no_engine: str) -> None:
    """The installed command, in a process of its own: the same one line, exit status 1."""
    env = {**os.environ, "LOCALSTACK_AUTH_TOKEN": "ls-test-token", "DOCKER_HOST": no_engine}
    result = subprocess.run(
        [sys.executable, "-m", "nexuskit.cli", "up", "--local", "--engine", "localstack"],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert "no Docker engine answers the docker SDK" in _one_line(result.stderr)


def test_down_without_docker_engine_says_so_in_one_line(no_engine: str) -> None:
    """`down --engine localstack` needs the engine too: one line when none answers."""
    result = CliRunner().invoke(app, ["down", "--engine", "localstack"])
    assert result.exit_code != 0
    assert "no Docker engine answers the docker SDK" in _one_line(result.stderr)


def test_unknown_engine_is_refused() -> None:
    result = CliRunner().invoke(app, ["up", "--local", "--engine", "podman"])
    assert result.exit_code != 0 and "unknown engine 'podman'" in result.stderr


@pytest.mark.parametrize("image", ["localstack/localstack-pro:latest", "localstack/localstack-pro", ""])
def test_unpinned_localstack_image_is_refused(tmp_path: Path, image: str) -> None:
    """A compose file with localstack :latest, no tag or no image is refused."""
    doc = yaml.safe_load((MAIN / "docker-compose.yml").read_text())
    doc["services"]["localstack"]["image"] = image
    (tmp_path / "docker-compose.yml").write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError, match="not pinned"):
        localstack.pinned_image(tmp_path)


def test_the_pinned_image_and_services_come_from_compose() -> None:
    """The image is docker-compose.yml's pin; up waits for the services it lists."""
    assert localstack.pinned_image(MAIN) == "localstack/localstack-pro:4.9"
    services = localstack.needed_services(MAIN)
    assert {"s3", "kinesis", "firehose", "iam", "sts", "lambda", "apigateway"} <= set(services)


class _Health:
    """A real HTTP server answering /_localstack/health with LocalStack's document."""

    def __init__(self) -> None:
        self.states: dict[str, str] = {}
        port = free_port()
        self.endpoint = f"http://127.0.0.1:{port}"
        states = self.states

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                body = json.dumps({"services": states, "edition": "pro", "version": "4.9"}).encode()
                self.send_response(200 if self.path == "/_localstack/health" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def health() -> Iterator[_Health]:
    served = _Health()
    yield served
    served.server.shutdown()
    served.server.server_close()


def test_health_wait_returns_once_every_needed_service_runs(health: _Health) -> None:
    """Services go from available to running; the wait returns when all needed ones run."""
    health.states.update({"s3": "running", "kinesis": "available", "sqs": "disabled"})
    timer = threading.Timer(0.5, lambda: health.states.update({"kinesis": "running"}))
    timer.start()
    states = localstack.wait_healthy(health.endpoint, ["s3", "kinesis"], timeout=20, interval=0.1)
    timer.join()
    assert states["kinesis"] == "running" and states["sqs"] == "disabled"


def test_health_wait_names_what_is_not_running_in_one_line(health: _Health) -> None:
    health.states.update({"s3": "running", "lambda": "error"})
    with pytest.raises(EngineError) as err:
        localstack.wait_healthy(health.endpoint, ["s3", "lambda", "iam"], timeout=0.3, interval=0.1)
    message = str(err.value)
    assert "\n" not in message
    assert "not running: iam=absent, lambda=error" in message


def test_health_wait_on_nothing_says_it_never_answered() -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(EngineError, match="never answered"):
        localstack.wait_healthy(endpoint, ["s3"], timeout=0.2, interval=0.1)


# -- with a Docker engine ---------------------------------------------------------------------
def test_localstack_starts_through_testcontainers_and_down_removes_it(checkout: Path) -> None:
    """LocalStack from the pinned image on 127.0.0.1 only, healthy; down removes the container."""
    _needs_localstack()
    port = free_port()
    report = localstack.up(env="local", root=checkout, apply=False, port=port)
    try:
        assert report.image == "localstack/localstack-pro:4.9"
        assert report.endpoint == f"http://127.0.0.1:{port}"
        assert not localstack.pending_services(
            {"services": report.services}, localstack.needed_services(MAIN)
        )
        client = docker_engine()
        (container,) = localstack.find_containers(client, port)
        bindings = container.attrs["HostConfig"]["PortBindings"]["4566/tcp"]
        assert bindings == [{"HostIp": "127.0.0.1", "HostPort": str(port)}]
        assert (
            "LOCALSTACK_AUTH_TOKEN=" + os.environ["LOCALSTACK_AUTH_TOKEN"].strip()
            in (container.attrs["Config"]["Env"])
        )
        again = localstack.up(env="local", root=checkout, apply=False, port=port)
        assert again.reused and again.container == report.container
    finally:
        removed = localstack.down(port)
    assert removed == [localstack.container_name(port)]
    assert localstack.find_containers(docker_engine(), port) == []


def test_up_applies_the_platform_to_localstack(tmp_path: Path) -> None:
    """The real CLI: LocalStack up through testcontainers, terraform/stacks/platform applied, down."""
    _needs_localstack()
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not on PATH")
    root = tmp_path / "checkout"
    shutil.copytree(MAIN / "terraform", root / "terraform", ignore=shutil.ignore_patterns(".terraform*"))
    shutil.copy(MAIN / "docker-compose.yml", root / "docker-compose.yml")
    port = str(free_port())

    def nexuskit(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "nexuskit.cli", *args],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )

    try:
        result = nexuskit("up", "--local", "--engine", "localstack", "--port", port, "--json")
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        assert report["applied"] and report["endpoint"] == f"http://127.0.0.1:{port}"
        assert localstack.read_health(report["endpoint"]) is not None
    finally:
        down = nexuskit("down", "--engine", "localstack", "--port", port, "--json")
    assert json.loads(down.stdout)["removed"] == [f"nexuskit-localstack-{port}"]
