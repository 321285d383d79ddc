"""The parts of a running agent-core (:class:`AgentState`) and how they start and stop.

Nothing happens at import. :meth:`AgentState.build` makes the AWS clients (botocore's,
with the standard configuration, all from one session per process so the endpoint and
service data botocore loads are held once: :mod:`services.common.awssession`; the Bedrock
client on its first call, so an idle replica does not load its model) and wires the
parts; :meth:`AgentState.bootstrap` makes sure the
runs and checkpoint tables exist (retrying while AWS is unreachable: the service answers
meanwhile and ``/health`` says why it is not ready) and then starts the stream consumer;
:meth:`AgentState.shutdown` lets the consumer checkpoint and hand its leases back, gives
runs in flight a grace period and closes the MCP sessions.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from fastapi import Request

from services.agent_core.clients.bedrock import BedrockClient
from services.agent_core.clients.mcp import McpPool
from services.agent_core.consumer.consumer import StreamConsumer, worker_id
from services.agent_core.consumer.leases import LeaseTable
from services.agent_core.metrics import AgentMetrics
from services.agent_core.settings import AgentSettings
from services.agent_core.workflow.engine import WorkflowEngine
from services.agent_core.workflow.model import Catalog
from services.agent_core.workflow.runs import RunStore
from services.common import awssession
from services.common.servicetoken import ServiceToken

log = logging.getLogger(__name__)


def version() -> str:
    try:
        return metadata.version("nexuskit")
    except metadata.PackageNotFoundError:
        return "0.1.0"


def aws_client(service: str, settings: AgentSettings) -> Any:
    """A client of ``service`` from the process's shared botocore session."""
    config = Config(
        region_name=settings.region,
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=5,
        read_timeout=60,
        max_pool_connections=32,
    )
    return awssession.new_client(service, config=config)


class LazyClient:
    """An AWS client made on first use (by whichever thread calls it first)."""

    def __init__(self, service: str, settings: AgentSettings) -> None:
        self._service = service
        self._settings = settings
        self._client: Any = None
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        with self._lock:
            if self._client is None:
                self._client = aws_client(self._service, self._settings)
        return getattr(self._client, name)


@dataclass
class AgentState:
    """Everything the routers use, built once per app."""

    settings: AgentSettings
    catalog: Catalog
    metrics: AgentMetrics
    mcp: McpPool
    runs: RunStore
    engine: WorkflowEngine
    consumer: StreamConsumer | None
    routes: dict[str, str]
    #: event types whose workflow needs more than the consumer's role -> why
    refused_routes: dict[str, str] = field(default_factory=dict)
    tables_ready: bool = False
    bootstrap_error: str | None = None
    aws_unreachable: bool = True  # until the first answer from AWS
    started_at: float = field(default_factory=time.time)
    _health_cache: tuple[float, dict[str, Any]] | None = None

    @classmethod
    def build(cls, settings: AgentSettings, catalog: Catalog, metrics: AgentMetrics) -> AgentState:
        dynamodb = aws_client("dynamodb", settings)
        token = ServiceToken(settings.service_token_file) if settings.service_token_file else None
        if token is None and settings.mcp_urls():
            log.warning("NEXUS_SERVICE_TOKEN_FILE is not set: the MCP services are called without a token")
        mcp = McpPool(settings.mcp_urls(), metrics, settings.mcp_connect_timeout_seconds, token)
        bedrock = BedrockClient(LazyClient("bedrock-runtime", settings), settings.models(), metrics)
        runs = RunStore(
            dynamodb, settings.runs_table_name, settings.runs_in_memory, settings.run_retention_days
        )
        engine = WorkflowEngine(settings, catalog, mcp, bedrock, runs, metrics)
        routes, refused = catalog.stream_routes(settings.consumer_role, settings.consumer_routes)
        consumer = None
        if settings.consumer_enabled:
            for event_type, why in sorted(refused.items()):
                log.warning("stream events of type %r are not run: %s", event_type, why)
            leases = LeaseTable(
                dynamodb,
                settings.checkpoint_table_name,
                settings.stream_name,
                worker_id(settings.pod_name),
                settings.consumer_lease_seconds,
            )
            consumer = StreamConsumer(
                settings, engine, runs, aws_client("kinesis", settings), leases, routes, metrics, refused
            )
        return cls(settings, catalog, metrics, mcp, runs, engine, consumer, routes, refused)

    async def bootstrap(self) -> None:
        """Make sure the tables exist (retrying), then start consuming."""
        delay = 0.5
        while True:
            try:
                await asyncio.to_thread(self.runs.ensure_table)
                if self.consumer is not None:
                    await asyncio.to_thread(self.consumer.leases.ensure_table)
                break
            except (ClientError, BotoCoreError) as exc:
                # ClientError: AWS answered but refused (e.g. the role lacks DynamoDB): runs stay
                # in memory, the consumer waits; BotoCoreError: AWS cannot be reached at all
                self.aws_unreachable = not isinstance(exc, ClientError)
                self.bootstrap_error = f"{type(exc).__name__}: {exc}"
                log.warning("runs/checkpoint tables not available (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
        self.tables_ready = True
        self.aws_unreachable = False
        self.bootstrap_error = None
        if self.consumer is not None:
            self.consumer.start()

    async def shutdown(self) -> None:
        if self.consumer is not None and self.consumer.started:
            await self.consumer.stop()
        await self.engine.shutdown()
        await self.mcp.close()


def state_of(request: Request) -> AgentState:
    """The app's :class:`AgentState` (a FastAPI dependency)."""
    agent: AgentState = request.app.state.agent
    return agent
