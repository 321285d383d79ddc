"""agent-core over HTTP: running workflows, their records, errors, health and metrics.

Two replicas share the runs table (as the Deployment's two pods do). Their k8s-mcp URL
points at a port nothing listens on: a workflow that needs k8s-mcp fails at that step.
Requests go as the operator (``http_json``'s default); the callers and their roles are
``AGENT_CALLERS`` (tests/services/conftest.py).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import EngineProcess
from tests.services.conftest import AGENT_CALLERS, READER, WRITER, McpServers
from tests.services.support import BUCKETS, ServiceProcess, auth_headers, aws_env, http_json, lake_env
from tests.services.support import issuer as session_issuer
from tests.services.tokens import OPERATOR, ORCHESTRATOR, UI, TestIssuer

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


def _metrics_text(agent: ServiceProcess) -> str:
    request = urllib.request.Request(agent.url + "/metrics", headers=auth_headers())
    with urllib.request.urlopen(request, timeout=10) as resp:
        return str(resp.read().decode())


def _metrics(agent: ServiceProcess) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    samples = {}
    for family in text_string_to_metric_families(_metrics_text(agent)):
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
    code, run = _run(agents[0], "lake-inventory", {}, run_async=True)
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
    """/health/checks: AWS and the reachable MCP services ok, the dead k8s-mcp named, degraded (200)."""
    code, body = http_json("GET", agents[0].url + "/health/checks", account=READER)
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
    aws("s3").put_object(Bucket=BUCKETS["gold"], Key=key, Body=json.dumps(document).encode())
    _, run = _run(agents[0], "curate-insight", {"key": key})
    assert run["status"] == "succeeded", run["error"]
    assert (run["trigger"], run["caller"]) == ("api", "nexus-agent-core/nexus-operator")
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


# -- who may do what ---------------------------------------------------------------------------
def test_health_answers_anyone_with_the_status_only(agents: tuple[ServiceProcess, ServiceProcess]) -> None:
    """/health and /health/live need no token and disclose nothing but the status."""
    code, body = http_json("GET", agents[0].url + "/health", account=None)
    assert code == 200 and body == {"status": "degraded", "service": "agent-core", "auth": "on"}
    assert http_json("GET", agents[0].url + "/health/live", account=None) == (200, {"status": "ok"})


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/workflows"),
        ("GET", "/workflows/lake-inventory"),
        ("GET", "/workflow/runs"),
        ("GET", "/workflow/runs/run-1"),
        ("GET", "/health/checks"),
        ("GET", "/metrics"),
        ("GET", "/openapi.json"),
        ("POST", "/workflow/execute"),
    ],
)
def test_every_route_but_health_needs_a_token(
    agents: tuple[ServiceProcess, ServiceProcess], method: str, path: str
) -> None:
    """Without a bearer token every route but /health answers 401 with a Bearer challenge."""
    body = {"name": "lake-inventory", "input": {}} if method == "POST" else None
    request = urllib.request.Request(
        agents[0].url + path,
        data=json.dumps(body).encode() if body else None,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        urllib.request.urlopen(request, timeout=10)
    except urllib.error.HTTPError as exc:
        assert exc.code == 401 and exc.headers["WWW-Authenticate"].startswith("Bearer")
        assert "bearer token is required" in json.loads(exc.read())["detail"]
    else:
        raise AssertionError(f"{method} {path} answered without a token")


def test_a_reader_lists_but_does_not_run(agents: tuple[ServiceProcess, ServiceProcess]) -> None:
    """A read-only caller reads the catalogue and the metrics; running is 403 naming the write role."""
    assert http_json("GET", agents[0].url + "/workflows", account=READER)[0] == 200
    code, body = http_json(
        "POST", agents[0].url + "/workflow/execute", {"name": "lake-inventory"}, account=READER
    )
    assert code == 403
    assert body["detail"].startswith(f"{READER} may not run workflows: it needs the 'write' role")


def test_a_writer_runs_but_does_not_curate(agents: tuple[ServiceProcess, ServiceProcess], aws: Any) -> None:
    """A read-write caller runs lake-inventory; curate-insight is 403 naming curate, and no run starts."""
    code, run = _run_as(agents[0], WRITER, "lake-inventory", {"tiers": ["gold"]})
    assert (code, run["status"], run["caller"]) == (200, "succeeded", WRITER)
    before = _vibranium_keys(aws)
    insight = {"insight_id": f"forged-{uuid.uuid4().hex[:8]}", "confidence": 0.99, "summary": "forged"}
    code, body = _run_as(agents[0], WRITER, "curate-insight", {"insight": insight})
    assert code == 403
    assert body["detail"] == (
        f"{WRITER} may not run workflow 'curate-insight': it needs the 'curate' role "
        "(it has read, write); grant it in NEXUS_AUTH_CALLERS"
    )
    _, runs = http_json("GET", agents[0].url + "/workflow/runs?workflow=curate-insight&limit=1000")
    assert all(r["caller"] != WRITER for r in runs["runs"])
    assert _vibranium_keys(aws) == before


def test_the_ui_account_launches_but_does_not_curate(agents: tuple[ServiceProcess, ServiceProcess]) -> None:
    """nexus-ui's ServiceAccount (read, write) may start enrichment, never curation."""
    code, body = _run_as(agents[0], UI, "curate-insight", {"insight": {"confidence": 1.0}}, run_async=True)
    assert code == 403 and "needs the 'curate' role" in body["detail"]
    code, run = _run_as(agents[0], UI, "lake-inventory", {}, run_async=True)
    assert code == 202 and run["caller"] == UI


def test_catalogue_names_the_role_each_workflow_needs(agents: tuple[ServiceProcess, ServiceProcess]) -> None:
    """GET /workflows says which workflows take curate, and that the stream may not start curation."""
    _, body = http_json("GET", agents[0].url + "/workflows", account=READER)
    assert {w["name"]: w["requires"] for w in body["workflows"]}["curate-insight"] == "curate"
    assert "insight.curate" not in body["routes"] and "insight.curate" in body["refused_routes"]


def test_a_foreign_host_is_refused(agents: tuple[ServiceProcess, ServiceProcess]) -> None:
    """A request naming another host (DNS rebinding) is 403 even with a valid token."""
    code, body = http_json(
        "GET", agents[0].url + "/workflows", headers={"Host": f"rebind.attacker.test:{agents[0].port}"}
    )
    assert code == 403 and "is not a name of this service" in body["detail"]


def test_the_service_names_are_accepted(agents: tuple[ServiceProcess, ServiceProcess]) -> None:
    """Its cluster names (agent-core.nexus-agent-core.svc.cluster.local) are agent-core's own."""
    host = "agent-core.nexus-agent-core.svc.cluster.local"
    assert http_json("GET", agents[0].url + "/workflows", headers={"Host": host})[0] == 200


def test_a_foreign_origin_is_refused(agents: tuple[ServiceProcess, ServiceProcess]) -> None:
    """A request from another site's page (Origin) is 403 even with a valid token."""
    code, body = _run_as(
        agents[0], OPERATOR, "lake-inventory", {}, headers={"Origin": "https://evil.example"}
    )
    assert code == 403 and "cross-origin" in body["detail"]


def test_duplicate_keys_are_refused(agents: tuple[ServiceProcess, ServiceProcess]) -> None:
    """A JSON body with a key twice is 400 naming the key (parsers disagree on which one wins)."""
    request = urllib.request.Request(
        agents[0].url + "/workflow/execute",
        data=b'{"name": "lake-inventory", "name": "curate-insight", "input": {}}',
        method="POST",
        headers={"Content-Type": "application/json", **auth_headers(WRITER)},
    )
    try:
        urllib.request.urlopen(request, timeout=10)
    except urllib.error.HTTPError as exc:
        assert exc.code == 400 and "duplicate key 'name'" in json.loads(exc.read())["detail"]
    else:
        raise AssertionError("a body with a duplicate key was accepted")


def _run_as(
    agent: ServiceProcess,
    account: str,
    name: str,
    data: dict[str, Any],
    headers: dict[str, str] | None = None,
    run_async: bool = False,
) -> tuple[int, dict[str, Any]]:
    body = {"name": name, "input": data, "async": run_async}
    code, answer = http_json("POST", agent.url + "/workflow/execute", body, account=account, headers=headers)
    return code, answer


def _vibranium_keys(aws: Any) -> set[str]:
    pages = aws("s3").get_paginator("list_objects_v2").paginate(Bucket=BUCKETS["vibranium"])
    return {o["Key"] for page in pages for o in page.get("Contents", [])}


def test_mcp_refusing_agent_cores_token_fails_the_step_saying_so(
    engine: EngineProcess, mcp_servers: McpServers, log_dir: Path, issuer: TestIssuer, tmp_path: Path
) -> None:
    """agent-core with a token the MCP services do not trust (another issuer's): the MCP step
    fails naming the refusal (401 and its reason), not as an unreachable service."""
    stranger = TestIssuer(tmp_path / "stranger")
    env = (
        aws_env(engine)
        | lake_env()
        | issuer.env(AGENT_CALLERS)
        | {
            "NEXUS_SERVICE_TOKEN_FILE": str(stranger.token_file(tmp_path, ORCHESTRATOR)),
            "AWS_MCP_URL": mcp_servers.aws_rw.mcp_url,
            "AGENT_CONSUMER_ENABLED": "false",
        }
    )
    agent = ServiceProcess("services.agent_core", log_dir, env, name="agent-untrusted").start()
    try:
        code, run = _run(agent, "lake-inventory", {"tiers": ["gold"]})
    finally:
        agent.stop()
    assert (code, run["status"], run["error"]["step"]) == (200, "failed", "inventory")
    assert "refused agent-core's ServiceAccount token (HTTP 401" in run["error"]["message"], run["error"]


# -- the kit's side (nexuskit.workflows) --------------------------------------------------------
def test_the_kit_sends_the_token_it_is_given(
    agents: tuple[ServiceProcess, ServiceProcess], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NEXUSKIT_AGENT_CORE_TOKEN (a token from `kubectl create token` on EKS) is sent as is."""
    from nexuskit.config import KitSettings
    from nexuskit.workflows import list_workflows

    monkeypatch.setenv("NEXUSKIT_AGENT_CORE_TOKEN", session_issuer().token(OPERATOR))
    names = {w["name"] for w in list_workflows(KitSettings(state_dir=tmp_path), url=agents[0].url)}
    assert "curate-insight" in names


def test_the_kit_without_a_token_says_why_in_one_line(
    agents: tuple[ServiceProcess, ServiceProcess], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No control plane to ask and no NEXUSKIT_AGENT_CORE_TOKEN: a WorkflowError naming the 401 and why."""
    from nexuskit.config import KitSettings
    from nexuskit.workflows import WorkflowError, run_workflow

    monkeypatch.delenv("NEXUSKIT_AGENT_CORE_TOKEN", raising=False)
    with pytest.raises(WorkflowError) as caught:
        run_workflow(KitSettings(state_dir=tmp_path), "lake-inventory", url=agents[0].url)
    assert caught.value.message.startswith("agent-core refused the request (401): a bearer token is required")
    assert "no operator token from the local control plane" in str(caught.value.hint)


def test_the_kit_never_sends_a_local_token_elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """For an agent-core that is not on this machine the local operator token is not even asked for."""
    from nexuskit.config import KitSettings
    from nexuskit.workflows import operator_token

    monkeypatch.delenv("NEXUSKIT_AGENT_CORE_TOKEN", raising=False)
    credential = operator_token(KitSettings(state_dir=tmp_path), "https://agent-core.example.com")
    assert credential.token is None and "NEXUSKIT_AGENT_CORE_TOKEN" in credential.missing
