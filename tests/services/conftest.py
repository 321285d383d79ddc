"""One engine for the service tests, a provisioned slice of the stack, and the MCP services.

The engine is the same ``python -m emulation`` process as ``engine_factory`` starts
(:class:`tests.helpers.EngineProcess`), shared by the whole session so each service
starts once; tests use their own keys, namespaces and ids so they do not collide.
Every service trusts the session's token ``issuer`` (see :mod:`tests.services.support`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import EngineProcess, free_port
from tests.services.support import ServiceProcess, aws_env, issuer, lake_env, provision, start_all
from tests.services.tokens import OPERATOR, ORCHESTRATOR, UI, TestIssuer


@pytest.fixture(scope="session", name="issuer")
def issuer_fixture() -> TestIssuer:
    """Signs the ServiceAccount tokens every service of the session trusts."""
    return issuer()


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    process = EngineProcess(tmp_path_factory.mktemp("services-engine")).start()
    provision(process)
    yield process
    process.stop()


@pytest.fixture(scope="session")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("service-logs")


@pytest.fixture(scope="session")
def aws(engine: EngineProcess) -> Any:
    """``aws("s3")``: a boto3 client on the engine as the admin."""
    clients: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in clients:
            clients[service] = engine.target().client(service)
        return clients[service]

    return client


class McpServers:
    """The MCP services of the session: each read-write and read-only."""

    def __init__(self, engine: EngineProcess, log_dir: Path) -> None:
        env = aws_env(engine) | lake_env()
        self.aws_rw = ServiceProcess("services.mcp.aws_mcp", log_dir, env, "--allow-write", name="aws-rw")
        self.aws_ro = ServiceProcess("services.mcp.aws_mcp", log_dir, env, name="aws-ro")
        # the tests of the session share one cache: room for every test's own namespaces
        cache = {"KV_MAX_NAMESPACES_PER_CALLER": "100"}
        self.custom_rw = ServiceProcess(
            "services.mcp.custom_mcp", log_dir, cache, "--allow-write", name="custom-rw"
        )
        self.custom_ro = ServiceProcess("services.mcp.custom_mcp", log_dir, cache, name="custom-ro")

    @property
    def all(self) -> list[ServiceProcess]:
        return [self.aws_rw, self.aws_ro, self.custom_rw, self.custom_ro]


@pytest.fixture(scope="session")
def mcp_servers(engine: EngineProcess, log_dir: Path) -> Iterator[McpServers]:
    servers = McpServers(engine, log_dir)
    start_all(servers.all)
    yield servers
    for server in servers.all:
        server.stop()


#: test accounts agent-core allows besides its manifest's callers: read only, read and write
READER = "nexus-test/reader"
WRITER = "nexus-test/writer"
#: agent-core's callers: as in its manifest (operator: everything; nexus-ui: no curation), plus those
AGENT_CALLERS = f"{OPERATOR}=read,write,curate {UI}=read,write {READER}=read {WRITER}=read,write"


def agent_auth_env(issuer: TestIssuer, folder: Path) -> dict[str, str]:
    """agent-core's auth: it trusts ``issuer`` for :data:`AGENT_CALLERS` and calls the MCP
    services with its own token (``agent-orchestrator``'s, in a file as a projected volume)."""
    folder.mkdir(parents=True, exist_ok=True)
    own = issuer.token_file(folder, ORCHESTRATOR)
    return issuer.env(AGENT_CALLERS) | {"NEXUS_SERVICE_TOKEN_FILE": str(own)}


@pytest.fixture(scope="session")
def agents(
    engine: EngineProcess, mcp_servers: McpServers, log_dir: Path, issuer: TestIssuer
) -> Iterator[tuple[ServiceProcess, ServiceProcess]]:
    """Two agent-core replicas sharing the runs table; k8s-mcp points at a dead port."""
    env = (
        aws_env(engine)
        | lake_env()
        | agent_auth_env(issuer, log_dir / "agent-tokens")
        | {
            "AWS_MCP_URL": mcp_servers.aws_rw.mcp_url,
            "CUSTOM_MCP_URL": mcp_servers.custom_rw.mcp_url,
            "K8S_MCP_URL": f"http://127.0.0.1:{free_port()}/mcp",
            "AGENT_CONSUMER_ENABLED": "false",
        }
    )
    first = ServiceProcess("services.agent_core", log_dir, env, name="agent-a")
    second = ServiceProcess("services.agent_core", log_dir, env, name="agent-b")
    start_all([first, second])
    yield first, second
    first.stop()
    second.stop()
