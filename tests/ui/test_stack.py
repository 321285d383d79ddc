"""nexus-ui as ``nexuskit up --local`` runs it: real tokens from the HTTP API, real data.

The stack runs with the default ``--iam enforce``: nexus-ui with its own read-only role
(ui_irsa), the lake views through aws-mcp with aws_mcp_irsa.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Stack
from tests.ui.conftest import put_telemetry

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def token(ui_url: str) -> str:
    """A real token: the UI's sign-in relay posts to the HTTP API's POST /auth."""
    answer = httpx.post(f"{ui_url}/auth", json={"user": "ui-e2e", "ttl_minutes": 15}, timeout=30)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"token", "token_type", "expires_at", "ttl_minutes", "user"}  # no AWS credentials
    return str(body["token"])


def _get(ui_url: str, path: str, token: str) -> Any:
    answer = httpx.get(f"{ui_url}{path}", headers={"authorization": f"Bearer {token}"}, timeout=60)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _until(found: Callable[[], Any], timeout: float, what: str, every: float = 0.3) -> Any:
    """The first truthy ``found()``; fails saying what it waited for after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = found()
        if value:
            return value
        assert time.monotonic() < deadline, f"waited {timeout:.0f} s for {what}"
        time.sleep(every)


def test_token_from_the_http_api_is_accepted(ui_stack: Stack, ui_url: str) -> None:
    """A token issued directly by the stack's HTTP API (`nexuskit token issue`) opens the API."""
    issued = json.loads(ui_stack.cli("token", "issue", "--user", "direct", "--show-secrets", "--json").stdout)
    assert _get(ui_url, "/api/health", issued["token"])["services"][0]["service"] == "nexus-ui"


def test_expired_and_tampered_real_tokens_are_refused(ui_url: str, token: str) -> None:
    """The real token with its signature's last characters changed, and no token, get 401."""
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for headers in ({"authorization": f"Bearer {tampered}"}, {}):
        assert httpx.get(f"{ui_url}/api/lake", headers=headers, timeout=10).status_code == 401


def test_health_view_lists_every_service(ui_url: str, token: str) -> None:
    """agent-core, the four MCP services and the auth JWKS all answer ok."""
    health = _get(ui_url, "/api/health", token)
    names = {s["service"]: s["ok"] for s in health["services"]}
    assert {
        "nexus-ui",
        "agent-core",
        "aws-mcp",
        "custom-mcp",
        "database-mcp",
        "k8s-mcp",
        "auth (JWKS)",
    } <= set(names)
    assert all(names.values()), health


def test_lake_view_counts_the_four_tiers(ui_url: str, token: str) -> None:
    """The lake view's API has bronze, silver, gold and vibranium with object counts."""
    lake = _get(ui_url, "/api/lake", token)
    assert {t["tier"] for t in lake["tiers"]} == {"bronze", "silver", "gold", "vibranium"}
    assert all(isinstance(t["objects"], int) for t in lake["tiers"])


def test_mappings_view_describes_video_streams_and_counts_lake_tiers(
    ui_stack: Stack, ui_url: str, token: str
) -> None:
    """With the UI's own role both video streams are described (ACTIVE, their retention), and the
    Firehose -> bronze links carry aws-mcp's object count instead of "aws-mcp did not answer"."""
    spec = ui_stack.spec
    mappings = _get(ui_url, "/api/mappings", token)
    assert mappings["errors"] == {}
    sources = {link["source"]["name"]: link["source"] for link in mappings["links"]}
    for video, hours in (
        (spec.telemetry_video_stream, spec.params.telemetry_video_retention_hours),
        (spec.client_telemetry_video_stream, spec.params.client_telemetry_video_retention_hours),
    ):
        assert sources[video]["state"] == "ACTIVE" and sources[video]["ok"] is True, sources[video]
        assert sources[video]["detail"] == f"{hours} h retention"
    bronze = [
        link["destination"]
        for link in mappings["links"]
        if link["source"]["name"] in (spec.client_firehose, spec.primary_firehose)
    ]
    assert len(bronze) == 2
    for tier in bronze:
        assert tier["name"] == "bronze" and tier["state"].endswith(("object", "objects")), tier
        assert tier["detail"].startswith(f"s3://{spec.buckets['bronze']}/"), tier


def test_mappings_view_reads_the_consumer_with_its_own_token(ui_url: str, token: str) -> None:
    """agent-core's consumer state comes from its /health/checks, which nexus-ui reads as itself."""
    links = _get(ui_url, "/api/mappings", token)["links"]
    (consumer,) = [
        link["destination"] for link in links if link["destination"]["name"] == "agent-core stream consumer"
    ]
    assert consumer["state"] == "running" and consumer["ok"] is True, consumer


def test_curation_through_the_ui_is_refused(ui_url: str, token: str) -> None:
    """curate-insight launched through the UI is refused by agent-core (nexus-ui may not
    curate: anyone can sign in), with the role named; the catalogue says so beforehand."""
    workflows = {w["name"]: w for w in _get(ui_url, "/api/workflows", token)["workflows"]}
    assert workflows["curate-insight"]["requires"] == "curate"
    answer = httpx.post(
        f"{ui_url}/api/workflows/runs",
        json={"workflow": "curate-insight", "input": {"insight": {"confidence": 1.0}}},
        headers={"authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert answer.status_code == 403, answer.text
    assert "nexus-agent-core/nexus-ui may not run workflow 'curate-insight'" in answer.json()["detail"]


def test_workflow_launched_through_the_ui_runs_to_its_result(ui_url: str, token: str) -> None:
    """lake-inventory launched via /api/workflows/runs is followed to succeeded, with its steps."""
    names = {w["name"] for w in _get(ui_url, "/api/workflows", token)["workflows"]}
    assert "lake-inventory" in names
    answer = httpx.post(
        f"{ui_url}/api/workflows/runs",
        json={"workflow": "lake-inventory"},
        headers={"authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert answer.status_code == 202, answer.text
    run_id = answer.json()["run_id"]

    def finished() -> Any:
        run = _get(ui_url, f"/api/workflows/runs/{run_id}", token)
        return run if run["status"] != "running" else None

    run = _until(finished, 120, f"run {run_id} to finish")
    assert run["status"] == "succeeded", run.get("error")
    assert [s["id"] for s in run["steps"]] == ["inventory", "glue"]


def test_telemetry_event_appears_as_a_map_point(ui_stack: Stack, ui_url: str, token: str) -> None:
    """An event on the primary stream is a live ``internal`` point at once, then a ``gold`` one
    when agent-core has made its insight."""
    _get(ui_url, "/api/telemetry", token)  # the page watches: the stream reader starts at LATEST
    _until(
        lambda: _get(ui_url, "/api/telemetry", token)["sources"]["internal"]["state"] == "reading",
        60,
        "the internal stream reader to be reading",
        every=0.2,
    )
    put_telemetry(ui_stack, "dev-ui", -33.9, 18.4)

    def sources() -> set[str]:
        points = _get(ui_url, "/api/telemetry", token)["points"]
        return {p["source"] for p in points if p["device_id"] == "dev-ui" and p["lat"] == -33.9}

    _until(lambda: "internal" in sources(), 30, "the event as a live internal point")
    seen = _until(lambda: (found := sources()) >= {"internal", "gold"} and found, 150, "its gold point")
    assert seen >= {"internal", "gold"}


def test_vibranium_view_answers(ui_url: str, token: str) -> None:
    """The vibranium API answers with a list (the latest curated insights, maybe none yet)."""
    doc = _get(ui_url, "/api/vibranium", token)
    assert isinstance(doc["insights"], list) and doc["count"] == len(doc["insights"])
