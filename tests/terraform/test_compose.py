"""docker-compose.yml: LocalStack (pinned, auth token required) and the service containers.

Docker is absent here, so the file is checked as YAML: what `docker compose config` would
need and what the issue asks for.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from tfstatic import REPO_ROOT

SERVICES = {
    "agent-core": "services/agent_core",
    "aws-mcp": "services/mcp/aws_mcp",
    "custom-mcp": "services/mcp/custom_mcp",
    "database-mcp": "services/mcp/database_mcp",
    "k8s-mcp": "services/mcp/k8s_mcp",
    "nexus-ui": "services/nexus_ui",
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_localstack_image_is_pinned(compose: dict[str, Any]) -> None:
    """The LocalStack image names an explicit version tag, never latest."""
    image = compose["services"]["localstack"]["image"]
    assert re.fullmatch(r"localstack/localstack(-pro)?:\d+(\.\d+)+", image), image


def test_localstack_auth_token_is_required_with_a_message(compose: dict[str, Any]) -> None:
    """LOCALSTACK_AUTH_TOKEN is passed through; compose stops with a message when it is unset."""
    token = compose["services"]["localstack"]["environment"]["LOCALSTACK_AUTH_TOKEN"]
    match = re.fullmatch(r"\$\{LOCALSTACK_AUTH_TOKEN:\?(.+)\}", token)
    assert match and "auth token" in match[1]


def test_every_service_is_built_from_its_folder(compose: dict[str, Any]) -> None:
    """agent-core, the four MCP services and nexus-ui build with their folder's Dockerfile
    from the repository root (they share services/ code), and that Dockerfile exists."""
    built = {
        name: svc["build"]["dockerfile"].removesuffix("/Dockerfile")
        for name, svc in compose["services"].items()
        if "build" in svc
    }
    assert built == SERVICES
    for name, svc in compose["services"].items():
        if "build" in svc:
            assert svc["build"]["context"] == ".", name
            assert (REPO_ROOT / svc["build"]["dockerfile"]).is_file(), name


ONE_SHOT = {"nexus-tokens"}  # runs to completion before the services start


def test_every_container_has_a_healthcheck(compose: dict[str, Any]) -> None:
    """LocalStack and each service declare a healthcheck test (one-shot jobs excepted)."""
    for name, service in compose["services"].items():
        if name not in ONE_SHOT:
            assert service.get("healthcheck", {}).get("test"), name


def test_services_wait_for_healthy_dependencies(compose: dict[str, Any]) -> None:
    """Services start after LocalStack is healthy; agent-core after the MCPs; the UI after agent-core."""
    services = compose["services"]
    for name in SERVICES:
        depends = services[name]["depends_on"]
        assert depends["localstack"] == {"condition": "service_healthy"}, name
        for dependency, condition in depends.items():
            wanted = "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
            assert condition == {"condition": wanted}, (name, dependency)
    assert {"aws-mcp", "custom-mcp", "database-mcp", "k8s-mcp"} <= set(services["agent-core"]["depends_on"])
    assert {"agent-core", "aws-mcp"} <= set(services["nexus-ui"]["depends_on"])


def test_the_ui_reads_the_streams_the_platform_stack_names(compose: dict[str, Any]) -> None:
    """nexus-ui's stream, delivery and video names are the stack's (default project and env)."""
    from nexuskit.params import load_stack

    spec = load_stack(REPO_ROOT / "terraform" / "envs" / "local" / "terraform.tfvars.json")
    env = {
        key: re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(value))
        for key, value in compose["services"]["nexus-ui"]["environment"].items()
    }
    videos = spec.as_dict()["video_streams"]
    assert (env["PRIMARY_STREAM"], env["CLIENT_STREAM"]) == (spec.primary_stream, spec.client_stream)
    assert (env["PRIMARY_FIREHOSE"], env["CLIENT_FIREHOSE"]) == (spec.primary_firehose, spec.client_firehose)
    assert (env["PRIMARY_VIDEO_STREAM"], env["CLIENT_VIDEO_STREAM"]) == (
        videos["telemetry"],
        videos["client_telemetry"],
    )
    assert env["AWS_MCP_URL"] == "http://aws-mcp:8000/mcp"


def test_services_talk_to_localstack_through_the_standard_endpoint(compose: dict[str, Any]) -> None:
    """Each service gets AWS_ENDPOINT_URL (the one knob that makes emulator and AWS the same)."""
    for name in SERVICES:
        assert compose["services"][name]["environment"]["AWS_ENDPOINT_URL"] == "http://localstack:4566"


def test_published_ports_bind_to_loopback(compose: dict[str, Any]) -> None:
    """Nothing is published beyond 127.0.0.1."""
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: {port}"


def test_services_authenticate_with_tokens_of_their_own(compose: dict[str, Any]) -> None:
    """Every service trusts the nexus-tokens issuer's keys and lists its callers; a caller
    mounts its own token folder only (never another account's, never the private key)."""
    services = compose["services"]
    tokens = services["nexus-tokens"]
    assert "services.common.devtokens" in tokens["entrypoint"]
    for name in SERVICES:
        svc = services[name]
        env = svc["environment"]
        assert env["NEXUS_AUTH_ISSUER"] in tokens["entrypoint"], name
        assert "nexus-tokens" in svc["depends_on"], name
        mounts = [
            m for m in svc.get("volumes", []) if isinstance(m, dict) and m.get("source") == "nexus-auth"
        ]
        subpaths = {m["volume"]["subpath"] for m in mounts}
        assert all(m.get("read_only") for m in mounts), name
        assert not any("private" in sub for sub in subpaths), name
        if name != "nexus-ui":  # nexus-ui authenticates its users with the auth service's JWTs
            assert env["NEXUS_AUTH_JWKS"].startswith("/var/run/nexus-auth/") and "public" in subpaths, name
            assert env["NEXUS_AUTH_CALLERS"], name
        if "NEXUS_SERVICE_TOKEN_FILE" in env:
            issued = {
                arg
                for flag, arg in zip(tokens["entrypoint"], tokens["entrypoint"][1:], strict=False)
                if flag == "--account"
            }
            own = subpaths - {"public"}
            assert len(own) == 1 and own <= issued, name
