"""agent-core and the four MCP services as the runtime runs them in ``nexuskit up --local``.

They run on the session's shared stack, as a user gets it: IAM enforced, each service with
its IRSA role's credentials (the role policies grant agent-core its DynamoDB tables and
aws-mcp the lake-commit and SNS rights, see services/mcp/README.md, "IAM").
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def agent_stack(stack: Stack) -> Stack:
    return stack


def _json(result: Any) -> Any:
    assert result.returncode == 0, result.stderr + result.stdout
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    ("service", "tool"),
    [
        ("aws", "lake_inventory"),
        ("custom", "weather_enrich"),
        ("database", "query"),
        ("k8s", "troubleshoot_pod"),
    ],
)
def test_each_mcp_service_lists_its_tools_through_the_stack(
    agent_stack: Stack, service: str, tool: str
) -> None:
    """`nexuskit mcp tools SERVICE` finds the service at the URL the stack publishes."""
    tools = _json(agent_stack.cli("mcp", "tools", service, "--json"))
    assert tool in {t["name"] for t in tools}


def test_database_and_k8s_run_read_only(agent_stack: Stack) -> None:
    """As deployed, database-mcp refuses execute and k8s-mcp refuses scaling (no --allow-write)."""
    for args in (
        ("database", "execute", "--arg", "sql=CREATE TABLE x (a)"),
        (
            "k8s",
            "scale_deployment",
            "--arg",
            "namespace=nexus-mcp",
            "--arg",
            "name=custom-mcp",
            "--arg",
            "replicas=2",
        ),
    ):
        result = agent_stack.cli("mcp", "call", *args)
        assert result.returncode == 1 and "read-only" in result.stderr


def test_event_on_the_primary_stream_lands_in_the_lake(agent_stack: Stack) -> None:
    """A telemetry event on nexus-dev-intake is consumed by agent-core: insight in gold, run shown."""
    event = {
        "id": f"e2e-{uuid.uuid4().hex[:8]}",
        "type": "telemetry",
        "device_id": "dev-e2e",
        "ts": "2026-11-26T10:00:00.000Z",
        "lat": 45.5,
        "lon": -122.6,
        "readings": {"temperature_c": 31.0, "humidity_pct": 30.0, "pressure_hpa": 1009.0},
    }
    agent_stack.client("kinesis").put_record(
        StreamName="nexus-dev-intake", Data=json.dumps(event).encode() + b"\n", PartitionKey="dev-e2e"
    )
    key = f"agent-insights/date=2026-11-26/dev-e2e-{event['id']}.json"
    s3 = agent_stack.client("s3")
    deadline = time.monotonic() + 60
    while s3.list_objects_v2(Bucket="nexus-dev-gold-us-west-2", Prefix=key).get("KeyCount", 0) == 0:
        assert time.monotonic() < deadline, "the insight did not reach gold"
        time.sleep(0.2)
    insight = json.loads(s3.get_object(Bucket="nexus-dev-gold-us-west-2", Key=key)["Body"].read())
    run_id = insight["provenance"]["run_id"]
    while True:
        run = _json(agent_stack.cli("workflow", "show", run_id, "--json"))
        if run["status"] != "running" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert run["status"] == "succeeded", run["error"]
    assert [s["id"] for s in run["steps"]] == ["weather", "window", "summary", "assess", "finding", "insight"]


def test_workflow_run_through_the_cli(agent_stack: Stack) -> None:
    """`nexuskit workflow run lake-inventory --json` succeeds against the stack's agent-core."""
    run = _json(agent_stack.cli("workflow", "run", "lake-inventory", "--json"))
    assert run["status"] == "succeeded"
    assert {t["tier"] for t in run["result"]["tiers"]} == {"bronze", "silver", "gold", "vibranium"}


def test_ops_triage_examines_a_pod_of_the_stack(agent_stack: Stack) -> None:
    """ops-triage asks k8s-mcp (through the runtime's control API) about the database-mcp pod."""
    run = _json(
        agent_stack.cli(
            "workflow",
            "run",
            "ops-triage",
            "--input",
            '{"namespace": "nexus-mcp", "pod": "database-mcp"}',
            "--json",
        )
    )
    assert run["status"] == "succeeded", run["error"]
    assert run["result"]["pod"].startswith("database-mcp-") and run["result"]["status"] == "Running"


def _agent_get(stack: Stack, path: str, token: str | None) -> tuple[int, bytes]:
    url = str(stack.up_report["endpoints"]["agent_core"]) + path
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as resp:
            return int(resp.status), resp.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()


def test_agent_core_health_and_metrics_through_its_service(agent_stack: Stack) -> None:
    """agent-core's Service answers anyone /health ok (the status only) and the operator
    /health/checks (every MCP service reachable) and /metrics in Prometheus text."""
    from nexuskit.controlplane.tokens import service_token

    code, health = _agent_get(agent_stack, "/health", None)
    assert code == 200 and json.loads(health) == {"status": "ok", "service": "agent-core", "auth": "on"}
    token = service_token(agent_stack.settings)
    code, checks = _agent_get(agent_stack, "/health/checks", token)
    assert code == 200 and json.loads(checks)["status"] == "ok", checks
    code, metrics = _agent_get(agent_stack, "/metrics", token)
    names = {f.name for f in text_string_to_metric_families(metrics.decode())}
    assert {"nexus_agent_workflow_runs", "nexus_agent_consumer_lag_milliseconds"} <= names


def test_agent_core_answers_nothing_else_without_a_token(agent_stack: Stack) -> None:
    """Without the operator's token agent-core's catalogue and metrics are 401."""
    for path in ("/workflows", "/metrics", "/health/checks"):
        assert _agent_get(agent_stack, path, None)[0] == 401, path


def test_the_operator_may_curate_through_the_cli(agent_stack: Stack) -> None:
    """`nexuskit workflow run curate-insight` passes agent-core's curate check (the CLI acts as
    the operator); an insight below the threshold is left alone, so the stack is unchanged."""
    insight = json.dumps({"insight": {"insight_id": "e2e-low", "confidence": 0.1}})
    run = _json(agent_stack.cli("workflow", "run", "curate-insight", "--input", insight, "--json"))
    assert run["status"] == "succeeded" and run["result"]["promoted"] is False, run


def test_workflow_list_through_the_cli(agent_stack: Stack) -> None:
    """`nexuskit workflow list --json` shows the four shipped workflows."""
    workflows = _json(agent_stack.cli("workflow", "list", "--json"))
    assert {w["name"] for w in workflows} == {
        "enrich-telemetry",
        "curate-insight",
        "lake-inventory",
        "ops-triage",
    }
