"""agent-core's Prometheus metrics, in a registry of their own (one per app).

=============================================  ======================================
metric                                         labels
=============================================  ======================================
nexus_agent_http_requests_total                method, route, status
nexus_agent_http_request_duration_seconds      method, route
nexus_agent_workflow_runs_total                workflow, outcome (succeeded, failed)
nexus_agent_workflow_runs_in_progress          workflow
nexus_agent_workflow_duration_seconds          workflow
nexus_agent_step_duration_seconds              workflow, step, kind
nexus_agent_mcp_calls_total                    service, tool
nexus_agent_mcp_errors_total                   service, tool, reason
nexus_agent_mcp_call_duration_seconds          service, tool
nexus_agent_bedrock_invocations_total          model
nexus_agent_bedrock_errors_total               model
nexus_agent_bedrock_tokens_total               model, direction (in, out)
nexus_agent_consumer_records_total             shard, outcome (started, skipped, ignored, refused, invalid)
nexus_agent_consumer_lag_milliseconds          shard (Kinesis MillisBehindLatest)
nexus_agent_consumer_checkpoints_total         shard
nexus_agent_consumer_leases_held               -
nexus_agent_info                               pod, version
=============================================  ======================================

``route`` is the route's path template (``/workflow/runs/{run_id}``), never the raw path.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response

DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
FAST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
CONTENT_TYPE = CONTENT_TYPE_LATEST


class AgentMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        p = "nexus_agent_"
        self.http_requests = Counter(
            p + "http_requests", "HTTP requests served", ["method", "route", "status"], registry=r
        )
        self.http_duration = Histogram(
            p + "http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            buckets=FAST_BUCKETS,
            registry=r,
        )
        self.workflow_runs = Counter(
            p + "workflow_runs", "Finished workflow runs", ["workflow", "outcome"], registry=r
        )
        self.workflow_in_progress = Gauge(
            p + "workflow_runs_in_progress", "Runs in progress", ["workflow"], registry=r
        )
        self.workflow_duration = Histogram(
            p + "workflow_duration_seconds",
            "Workflow run duration",
            ["workflow"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.step_duration = Histogram(
            p + "step_duration_seconds",
            "Step duration",
            ["workflow", "step", "kind"],
            buckets=FAST_BUCKETS,
            registry=r,
        )
        self.mcp_calls = Counter(p + "mcp_calls", "MCP tool calls", ["service", "tool"], registry=r)
        self.mcp_errors = Counter(
            p + "mcp_errors", "Failed MCP tool calls", ["service", "tool", "reason"], registry=r
        )
        self.mcp_duration = Histogram(
            p + "mcp_call_duration_seconds",
            "MCP tool call latency",
            ["service", "tool"],
            buckets=FAST_BUCKETS,
            registry=r,
        )
        self.bedrock_invocations = Counter(
            p + "bedrock_invocations", "Bedrock invocations", ["model"], registry=r
        )
        self.bedrock_errors = Counter(
            p + "bedrock_errors", "Failed Bedrock invocations", ["model"], registry=r
        )
        self.bedrock_tokens = Counter(
            p + "bedrock_tokens", "Bedrock tokens", ["model", "direction"], registry=r
        )
        self.consumer_records = Counter(
            p + "consumer_records", "Stream records handled", ["shard", "outcome"], registry=r
        )
        self.consumer_lag = Gauge(
            p + "consumer_lag_milliseconds",
            "How far the consumer is behind the tip of each shard",
            ["shard"],
            registry=r,
        )
        self.consumer_checkpoints = Counter(
            p + "consumer_checkpoints", "Checkpoints written", ["shard"], registry=r
        )
        self.consumer_leases = Gauge(
            p + "consumer_leases_held", "Shard leases this replica holds", registry=r
        )
        self.info = Gauge(p + "info", "agent-core build and pod", ["pod", "version"], registry=r)

    def render(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE)

    async def middleware(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = request.scope.get("route")
            path = getattr(route, "path", None) or "(unmatched)"
            self.http_requests.labels(request.method, path, str(status)).inc()
            self.http_duration.labels(request.method, path).observe(time.perf_counter() - started)
