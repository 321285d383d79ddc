"""agent-core over HTTP: running workflows, their records, errors, health and metrics.

Two replicas share the runs table (as the Deployment's two pods do). Their k8s-mcp URL
points at a port nothing listens on: a workflow that needs k8s-mcp fails at that step.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.services.support import BUCKETS, ServiceProcess, http_json, http_text

TELEMETRY = {
    "type": "telemetry",
    "device_id": "dev-0007",
    "ts": "2026-11-26T10:00:00.000Z",
    "lat": 45.52,
    "lon": -122.68,
    "readings": {"temperature_c": 23.5, "humidity_pct": 41.0, "pressure_hpa": 1012.0},
    "battery_pct": 88.0,
}


def _run(agent: ServiceProcess, name: str, data: dict[str, Any], **extra: Any) -> tuple[int, dict[str, Any]]:
    code, body = http_json("POST", agent.url + "/workflow/execute", {"name": name, "input": data, **extra})
    return code, body


def _metrics(agent: ServiceProcess) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    samples = {}
    for family in text_string_to_metric_families(http_text(agent.url + "/metrics")):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_catalogue_lists_the_four_workflows(agents: tuple[ServiceProcess, ServiceProcess]) -> None:
    """GET /workflows: the shipped workflows with their steps and the event types that start them."""
    code, body = http_json("GET", agents[0].url + "/workflows")
    assert code == 200
    names = {w["name"]: w for w in body["workflows"]}
    assert set(names) == {"enrich-telemetry", "curate-insight", "lake-inventory", "ops-triage"}
    assert body["routes"]["telemetry"] == "enrich-telemetry"
    assert names["curate-insight"]["steps"][-1]["call"] == "aws.disseminate"


def test_enrich_telemetry_runs_every_step_and_lands_in_gold(
    agents: tuple[ServiceProcess, ServiceProcess], aws: Any
) -> None:
    """A synchronous run succeeds; each step shows its call, duration and result; the insight is in gold."""
    code, run = _run(agents[0], "enrich-telemetry", {**TELEMETRY, "id": f"rec-{uuid.uuid4().hex[:8]}"})
    assert code == 200 and run["status"] == "succeeded", run["error"]
    steps = {s["id"]: s for s in run["steps"]}
    assert list(steps) == ["weather", "window", "summary", "assess", "finding", "insight"]
    assert steps["weather"]["call"] == {
        "service": "custom",
        "tool": "weather_enrich",
        "args": {"lat": 45.52, "lon": -122.68, "time": TELEMETRY["ts"]},
    }
    assert steps["summary"]["call"]["model"].startswith("anthropic.claude-3")
    assert all(s["status"] == "succeeded" and s["duration_ms"] >= 0 for s in steps.values())
    assert 0 < run["result"]["confidence"] <= 1
    gold = aws("s3").get_object(Bucket=BUCKETS["gold"], Key=run["result"]["gold"]["key"])
    assert b'"kind": "telemetry_summary"' in gold["Body"].read()
    assert run["result"]["silver"]["files"][0].startswith("enrichment/date=2026-11-26/")


def test_async_run_answers_at_once_and_is_polled(agents: tuple[ServiceProcess, ServiceProcess]) -> None:
    """async: true answers 202 with a run id; GET /workflow/runs/{id} shows it finish."""
    code, run = _run(agents[0], "lake-inventory", {}, **{"async": True})
    assert code == 202 and run["status"] == "running"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        _, polled = http_json("GET", f"{agents[0].url}/workflow/runs/{run['run_id']}")
        if polled["status"] != "running":
            break
        time.sleep(0.1)
    assert polled["status"] == "succeeded", polled["error"]
    assert {t["tier"] for t in polled["result"]["tiers"]} == {"bronze", "silver", "gold", "vibranium"}


def test_a_run_is_readable_from_the_other_replica(agents: tuple[ServiceProcess, ServiceProcess]) -> None:
    """A run executed on one replica is answered by the other (the runs table is shared)."""
    _, run = _run(agents[0], "lake-inventory", {"tiers": ["gold"]})
    code, other = http_json("GET", f"{agents[1].url}/workflow/runs/{run['run_id']}")
    assert code == 200
    assert (other["status"], [s["id"] for s in other["steps"]]) == ("succeeded", ["inventory", "glue"])


def test_unknown_workflow_is_404(agents: tuple[ServiceProcess, ServiceProcess]) -> None:
    """An unknown workflow name is 404 with the known names in the message."""
    code, body = _run(agents[0], "no-such-workflow", {})
    assert code == 404 and "enrich-telemetry" in body["detail"]


def test_unknown_run_is_404(agents: tuple[ServiceProcess, ServiceProcess]) -> None:
    """GET /workflow/runs/{id} of an id nobody ran is 404."""
    code, _ = http_json("GET", f"{agents[0].url}/workflow/runs/run-nope")
    assert code == 404


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"input": {}}, ["body", "name"]),
        ({"name": "enrich-telemetry", "input": {**TELEMETRY, "lat": 123.0}}, ["body", "input", "lat"]),
        ({"name": "enrich-telemetry", "input": {"lat": 1.0, "lon": 2.0}}, ["body", "input", "device_id"]),
        ({"name": "lake-inventory", "input": {}, "asynk": True}, ["body", "asynk"]),
    ],
)
def test_invalid_request_is_422_naming_the_field(
    agents: tuple[ServiceProcess, ServiceProcess], body: dict[str, Any], loc: list[str]
) -> None:
    """A missing field, an out-of-range input value or an unknown field: 422 with that field's location."""
    code, answer = http_json("POST", agents[0].url + "/workflow/execute", body)
    assert code == 422
    assert loc in [d["loc"] for d in answer["detail"]]


def test_failing_mcp_service_fails_the_run_at_its_step(agents: tuple[ServiceProcess, ServiceProcess]) -> None:
    """k8s-mcp is down: ops-triage fails naming its triage step; agent-core stays up and runs others."""
    code, run = _run(agents[0], "ops-triage", {"namespace": "nexus-mcp", "pod": "anything"})
    assert code == 200 and run["status"] == "failed"
    assert run["error"]["step"] == "triage"
    assert "cannot reach" in run["error"]["message"]
    assert run["steps"][0]["attempts"] == 2  # the step's retry policy ran
    assert http_json("GET", agents[0].url + "/health/live")[0] == 200
    code, other = _run(agents[0], "lake-inventory", {"tiers": ["bronze"]})
    assert other["status"] == "succeeded"


def test_health_checks_dependencies(agents: tuple[ServiceProcess, ServiceProcess]) -> None:
    """/health: AWS and the reachable MCP services ok, the dead k8s-mcp named, overall degraded (200)."""
    code, body = http_json("GET", agents[0].url + "/health")
    assert code == 200 and body["status"] == "degraded"
    checks = body["checks"]
    assert checks["aws"]["status"] == "ok"
    assert checks["mcp:aws"]["status"] == checks["mcp:custom"]["status"] == "ok"
    assert checks["mcp:k8s"]["status"] == "unreachable"


def test_metrics_parse_and_counters_move(agents: tuple[ServiceProcess, ServiceProcess]) -> None:
    """/metrics parses as Prometheus text; a run moves the run, MCP, Bedrock and request counters."""
    before = _metrics(agents[0])
    _run(agents[0], "enrich-telemetry", {**TELEMETRY, "id": f"rec-{uuid.uuid4().hex[:8]}"})
    after = _metrics(agents[0])

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert delta("nexus_agent_workflow_runs_total", workflow="enrich-telemetry", outcome="succeeded") == 1
    assert delta("nexus_agent_mcp_calls_total", service="custom", tool="weather_enrich") == 1
    assert (
        delta(
            "nexus_agent_bedrock_tokens_total",
            model="anthropic.claude-3-sonnet-20240229-v1:0",
            direction="out",
        )
        > 0
    )
    assert (
        delta(
            "nexus_agent_step_duration_seconds_count",
            workflow="enrich-telemetry",
            step="summary",
            kind="bedrock",
        )
        == 1
    )
    assert (
        delta("nexus_agent_http_requests_total", method="POST", route="/workflow/execute", status="200") == 1
    )


def test_curate_insight_promotes_with_provenance_and_disseminates(
    agents: tuple[ServiceProcess, ServiceProcess], aws: Any
) -> None:
    """A 0.9-confidence gold insight lands in vibranium with a provenance record and is disseminated."""
    insight_id = f"ins-{uuid.uuid4().hex[:8]}"
    key = f"agent-insights/date=2026-11-26/{insight_id}.json"
    document = {
        "insight_id": insight_id,
        "confidence": 0.9,
        "summary": "dev-0001 runs hot",
        "device_id": "dev-0001",
        "ts": "2026-11-26T10:00:00Z",
    }
    aws("s3").put_object(Bucket=BUCKETS["gold"], Key=key, Body=__import__("json").dumps(document).encode())
    _, run = _run(agents[0], "curate-insight", {"key": key})
    assert run["status"] == "succeeded", run["error"]
    assert run["result"]["promoted"] is True
    assert [s["id"] for s in run["steps"]][-1] == "disseminate"
    provenance = (
        aws("s3").get_object(Bucket=BUCKETS["vibranium"], Key=run["result"]["provenance_key"])["Body"].read()
    )
    assert f'"key": "{key}"'.encode() in provenance
    assert any(d["kind"] == "sns" and d["status"] == "delivered" for d in run["result"]["deliveries"])


def test_curate_insight_leaves_low_confidence_alone(
    agents: tuple[ServiceProcess, ServiceProcess], aws: Any
) -> None:
    """Below the threshold nothing is written to vibranium and the result says why."""
    insight = {"insight_id": f"ins-{uuid.uuid4().hex[:8]}", "confidence": 0.4, "summary": "maybe"}
    _, run = _run(agents[0], "curate-insight", {"insight": insight})
    assert run["status"] == "succeeded" and run["result"]["promoted"] is False
    assert "below the threshold" in run["result"]["reason"]
    skipped = {s["id"] for s in run["steps"] if s["status"] == "skipped"}
    assert {"curated", "provenance", "disseminate"} <= skipped


def test_recent_runs_are_listed(agents: tuple[ServiceProcess, ServiceProcess]) -> None:
    """GET /workflow/runs lists this replica's runs, newest first, filterable by workflow."""
    _, run = _run(agents[0], "lake-inventory", {"tiers": ["silver"]})
    code, body = http_json("GET", f"{agents[0].url}/workflow/runs?workflow=lake-inventory&limit=5")
    assert code == 200
    assert body["runs"][0]["run_id"] == run["run_id"]
    assert {r["workflow"] for r in body["runs"]} == {"lake-inventory"}


def test_one_workflow_definition(agents: tuple[ServiceProcess, ServiceProcess]) -> None:
    """GET /workflows/{name} gives the summary and the full definition (steps with their args)."""
    code, body = http_json("GET", f"{agents[0].url}/workflows/curate-insight")
    assert code == 200
    steps = {s["id"]: s for s in body["definition"]["steps"]}
    assert steps["disseminate"]["mcp"] == {"service": "aws", "tool": "disseminate"}
    assert http_json("GET", f"{agents[0].url}/workflows/nope")[0] == 404


def test_synchronous_run_past_its_timeout_answers_202(agents: tuple[ServiceProcess, ServiceProcess]) -> None:
    """A synchronous run still going at timeout_seconds answers 202 with its id; it goes on and finishes."""
    code, run = _run(agents[0], "enrich-telemetry", {**TELEMETRY, "id": "slow"}, timeout_seconds=0.001)
    assert (code, run["status"]) == (202, "running")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        _, polled = http_json("GET", f"{agents[0].url}/workflow/runs/{run['run_id']}")
        if polled["status"] != "running":
            break
        time.sleep(0.1)
    assert polled["status"] == "succeeded"
