"""`nexuskit scenario run --engine localstack`: the checks, and what is skipped on LocalStack and why.

Runs here: the real CLI's refusals (no LocalStack answering; with --fresh, no token or no
Docker engine), the skip reasons over the shipped scenarios, and the provider's choices
against a real HTTP server answering LocalStack's ``/_localstack/health``. The run of a
scenario on a real LocalStack needs a Docker engine and a token, and skips without them.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from emulation.kind import docker_unavailable
from nexuskit.cli import app
from nexuskit.config import KitSettings
from nexuskit.scenarios.loader import load_all
from nexuskit.scenarios.model import Scenario
from nexuskit.scenarios.stacks import LocalStackHandle, LocalStackStacks, localstack_lacks
from tests.promote.support import MAIN, free_port

SHIPPED = {item.scenario.name: item.scenario for item in load_all([MAIN / "scenarios"])}
NO_ENGINE = docker_unavailable()


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


@pytest.fixture
def no_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    host = f"unix://{tmp_path / 'no-engine.sock'}"
    monkeypatch.setenv("DOCKER_HOST", host)
    return host


def test_without_localstack_the_run_stops_before_anything_runs() -> None:
    """Nothing answers /_localstack/health on --port: one error line, and how to start LocalStack."""
    port = free_port()
    result = CliRunner().invoke(app, ["scenario", "run", "--engine", "localstack", "--port", str(port)])
    assert result.exit_code == 1
    lines = _lines(result.stderr)
    assert lines[0] == f"error: no LocalStack answers on http://127.0.0.1:{port}/_localstack/health"
    assert "nexuskit up --local --engine localstack" in lines[1] and "--fresh" in lines[1]


def test_fresh_without_token_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOCALSTACK_AUTH_TOKEN", raising=False)
    result = CliRunner().invoke(app, ["scenario", "run", "--engine", "localstack", "--fresh"])
    assert result.exit_code != 0
    (line,) = _lines(result.stderr)
    assert "LOCALSTACK_AUTH_TOKEN is not set" in line and "nexuskit up --local" in line


def test_fresh_without_docker_engine_is_one_line(no_engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALSTACK_AUTH_TOKEN", "ls-test-token")
    result = CliRunner().invoke(app, ["scenario", "run", "--engine", "localstack", "--fresh"])
    assert result.exit_code == 1
    (line,) = _lines(result.stderr)
    assert f"no Docker engine answers the docker SDK ({no_engine}: no such socket)" in line
    assert "token-free: nexuskit up --local" in line


def test_unknown_engine_is_refused() -> None:
    result = CliRunner().invoke(app, ["scenario", "run", "--engine", "podman"])
    assert result.exit_code == 1 and "unknown engine 'podman'" in result.stderr


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("orchestration", "needs the control plane (agent-core, MCP services)"),
        ("mcp-read-only-refuses-writes", "needs the control plane (agent-core, MCP services)"),
        ("engine-restart-no-loss", "needs an engine restart"),
        ("bearer-denied-internal", "needs IAM enforcement"),
        ("internal-ingest-to-bronze", "needs the embedded engine's producers"),
    ],
)
def test_what_localstack_lacks_is_the_skip_reason(name: str, why: str) -> None:
    reason = localstack_lacks(SHIPPED[name])
    assert reason is not None and reason.startswith(why)


class _LocalStackHealth:
    """A real HTTP server answering /_localstack/health as LocalStack (or the embedded engine) does."""

    def __init__(self, edition: str) -> None:
        port = free_port()
        self.port = port

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                body = json.dumps({"services": {"s3": "running"}, "edition": edition}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def pro() -> Iterator[_LocalStackHealth]:
    served = _LocalStackHealth("pro")
    yield served
    served.close()


def _scenario(profile: dict[str, Any]) -> Scenario:
    return Scenario.model_validate(
        {
            "schema_version": 1,
            "name": "on-localstack",
            "stack": profile,
            "steps": [{"aws": {"service": "s3", "operation": "ListBuckets"}}],
        }
    )


def test_a_scenario_localstack_can_run_gets_the_account_identity(pro: _LocalStackHealth) -> None:
    """On the LocalStack of --port, the admin identity is the env's account with key <account>/test."""
    provider = LocalStackStacks(KitSettings(port=pro.port))
    provider.check()
    handle = provider.stack_for(_scenario({}))
    assert isinstance(handle, LocalStackHandle)
    spec = handle.spec
    account = (spec.params.allowed_account_ids or ["000000000000"])[0]
    target = handle.target
    assert (target.access_key_id, target.secret_access_key) == (account, "test")
    assert target.endpoint_url == f"http://127.0.0.1:{pro.port}" and target.account_id == account
    assert provider.describe()[0]["label"] == "current LocalStack"
    provider.close()  # not started here: nothing to remove


def test_a_profile_localstack_does_not_match_is_skipped(pro: _LocalStackHealth) -> None:
    provider = LocalStackStacks(KitSettings(port=pro.port))
    reason = provider.stack_for(_scenario({"iam": "enforce"}))
    assert reason == "needs a stack with iam=enforce (LocalStack has off); run it on the embedded engine"


def test_the_embedded_engine_is_not_taken_for_localstack() -> None:
    embedded = _LocalStackHealth("nexuskit")
    try:
        result = CliRunner().invoke(
            app, ["scenario", "run", "--engine", "localstack", "--port", str(embedded.port)]
        )
    finally:
        embedded.close()
    assert result.exit_code == 1
    assert "is nexuskit's embedded engine, not LocalStack" in _lines(result.stderr)[0]


def test_scenarios_on_a_fresh_localstack(tmp_path: Path) -> None:  # pragma: no cover - needs Docker
    """With Docker and a token: a fresh LocalStack (testcontainers, platform applied) runs an AWS-only
    scenario, and the container is removed afterwards."""
    if NO_ENGINE:
        pytest.skip(f"no Docker engine answers: {NO_ENGINE}")
    if not os.environ.get("LOCALSTACK_AUTH_TOKEN", "").strip():
        pytest.skip("LOCALSTACK_AUTH_TOKEN is not set: LocalStack needs a token since March 2026")
    from emulation.kind import docker_engine
    from nexuskit import localstack

    (tmp_path / "buckets.yaml").write_text(
        "schema_version: 1\nname: buckets-on-localstack\n"
        "steps:\n  - aws: {service: s3, operation: ListBuckets}\n"
    )
    files = [str(tmp_path / "buckets.yaml"), str(MAIN / "scenarios" / "orchestration.yaml")]
    result = CliRunner().invoke(
        app, ["scenario", "run", *files, "--engine", "localstack", "--fresh", "--json"]
    )
    suite = json.loads(result.stdout)
    status = {s["name"]: (s["status"], s.get("message", "")) for s in suite["scenarios"]}
    assert status["buckets-on-localstack"][0] == "passed", status
    assert status["orchestration"][0] == "skipped" and "control plane" in status["orchestration"][1]
    port = int(suite["stacks"][0]["endpoint"].rsplit(":", 1)[1])
    assert localstack.find_containers(docker_engine(), port) == []
