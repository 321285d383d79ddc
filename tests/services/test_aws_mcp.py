"""aws-mcp over streamable HTTP: lake tiers, Glue jobs, Bedrock, read-only by default."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from tests.services.conftest import McpServers
from tests.services.support import BUCKETS, error_text, http_json, mcp_call, mcp_session, mcp_tools

ROLE = "nexus-dev-glue"
SCRIPTS = "nexus-dev-glue-scripts-us-west-2"


def test_lists_its_tools_with_annotations(mcp_servers: McpServers) -> None:
    """tools/list names every tool; reads are readOnlyHint, writes destructiveHint or not read-only."""
    tools = {t.name: t for t in mcp_tools(mcp_servers.aws_ro.mcp_url)}
    assert {
        "lake_inventory",
        "lake_read_object",
        "lake_write_json",
        "glue_list_jobs",
        "glue_start_job_run",
        "glue_get_job_run",
        "bedrock_invoke_model",
        "disseminate",
    } <= set(tools)
    assert tools["lake_read_object"].annotations.read_only_hint is True
    assert tools["lake_write_json"].annotations.read_only_hint is False
    assert tools["lake_write_json"].annotations.destructive_hint is True


def test_health_says_read_only(mcp_servers: McpServers) -> None:
    """GET /health answers anyone 200 with the status, whether writes are on and the auth mode only."""
    code, body = http_json("GET", mcp_servers.aws_ro.url + "/health", account=None)
    assert code == 200
    assert body == {"status": "ok", "service": "aws-mcp", "read_only": True, "auth": "on"}


def test_writes_json_to_a_tier_and_reads_it_back(mcp_servers: McpServers) -> None:
    """lake_write_json puts a JSON document in gold; lake_read_object returns it parsed."""
    key = f"tests/{uuid.uuid4().hex}.json"
    written, read = mcp_session(
        mcp_servers.aws_rw.mcp_url,
        ("lake_write_json", {"tier": "gold", "key": key, "document": {"answer": 42}}),
        ("lake_read_object", {"tier": "gold", "key": key}),
    )
    assert not written.is_error, error_text(written)
    assert written.structured_content["bucket"] == BUCKETS["gold"]
    assert read.structured_content["json"] == {"answer": 42}
    assert read.structured_content["version_id"] == written.structured_content["version_id"]


def test_read_only_server_refuses_write_tools(mcp_servers: McpServers, aws: Any) -> None:
    """Without --allow-write, lake_write_json is a tool error naming the flag, and nothing is written."""
    key = f"tests/{uuid.uuid4().hex}.json"
    result = mcp_call(
        mcp_servers.aws_ro.mcp_url, "lake_write_json", {"tier": "gold", "key": key, "document": {}}
    )
    message = error_text(result)
    assert "read-only" in message and "--allow-write" in message
    assert aws("s3").list_objects_v2(Bucket=BUCKETS["gold"], Prefix=key).get("KeyCount") == 0


def test_refuses_to_write_bronze(mcp_servers: McpServers) -> None:
    """Bronze is Firehose's: a write there is refused even in write mode."""
    result = mcp_call(
        mcp_servers.aws_rw.mcp_url, "lake_write_json", {"tier": "bronze", "key": "x.json", "document": {}}
    )
    assert "bronze" in error_text(result)


def test_inventory_counts_objects_per_tier(mcp_servers: McpServers, aws: Any) -> None:
    """lake_inventory reports a tier's object count, bytes and prefixes."""
    prefix = f"inv-{uuid.uuid4().hex[:8]}"
    for n in range(3):
        aws("s3").put_object(Bucket=BUCKETS["vibranium"], Key=f"{prefix}/{n}.json", Body=b"{}")
    result = mcp_call(mcp_servers.aws_ro.mcp_url, "lake_inventory", {"tiers": ["vibranium"]})
    tier = result.structured_content["tiers"][0]
    assert tier["tier"] == "vibranium" and tier["exists"] is True
    assert tier["prefixes"][f"{prefix}/"] == 3
    assert tier["objects"] >= 3


def test_reads_firehose_gzip_from_bronze(mcp_servers: McpServers, aws: Any) -> None:
    """lake_read_object gunzips a bronze object and parses its JSON lines."""
    import gzip

    key = f"2026/11/26/10/nexus-dev-to-lake-1-2026-11-26-10-00-00-{uuid.uuid4()}.gz"
    lines = b'{"id": "a", "type": "telemetry"}\n{"id": "b", "type": "telemetry"}\n'
    aws("s3").put_object(Bucket=BUCKETS["bronze"], Key=key, Body=gzip.compress(lines))
    result = mcp_call(mcp_servers.aws_ro.mcp_url, "lake_read_object", {"tier": "bronze", "key": key})
    assert result.structured_content["format"] == "jsonl"
    assert [r["id"] for r in result.structured_content["json"]] == ["a", "b"]


@pytest.fixture(scope="module")
def glue_job(aws: Any) -> str:
    """A Python-shell Glue job whose script prints one line."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "glue.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    aws("iam").create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(trust))
    aws("s3").create_bucket(Bucket=SCRIPTS, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    aws("s3").put_object(Bucket=SCRIPTS, Key="hello.py", Body=b"print('hello from glue')\n")
    name = "nexus-dev-hello"
    aws("glue").create_job(
        Name=name, Role=ROLE, Command={"Name": "pythonshell", "ScriptLocation": f"s3://{SCRIPTS}/hello.py"}
    )
    return name


def test_glue_lists_jobs(mcp_servers: McpServers, glue_job: str) -> None:
    """glue_list_jobs names the job, with its type."""
    result = mcp_call(mcp_servers.aws_ro.mcp_url, "glue_list_jobs", {})
    jobs = {j["name"]: j for j in result.structured_content["jobs"]}
    assert jobs[glue_job]["type"] == "pythonshell"


def test_glue_starts_a_run_and_reports_its_state(mcp_servers: McpServers, glue_job: str) -> None:
    """glue_start_job_run (write mode) starts a run that glue_get_job_run sees succeed."""
    started = mcp_call(mcp_servers.aws_rw.mcp_url, "glue_start_job_run", {"job_name": glue_job})
    run_id = started.structured_content["run_id"]
    deadline = time.monotonic() + 30
    state = None
    while time.monotonic() < deadline:
        state = mcp_call(
            mcp_servers.aws_ro.mcp_url, "glue_get_job_run", {"job_name": glue_job, "run_id": run_id}
        )
        if state.structured_content["job_run_state"] in {"SUCCEEDED", "FAILED", "ERROR", "TIMEOUT"}:
            break
        time.sleep(0.2)
    assert state is not None and state.structured_content["job_run_state"] == "SUCCEEDED"


def test_glue_start_refused_read_only(mcp_servers: McpServers, glue_job: str) -> None:
    """Starting a Glue run changes state: refused without --allow-write."""
    result = mcp_call(mcp_servers.aws_ro.mcp_url, "glue_start_job_run", {"job_name": glue_job})
    assert "--allow-write" in error_text(result)


def test_bedrock_invoke_model_answers_with_token_counts(mcp_servers: McpServers) -> None:
    """bedrock_invoke_model calls the model with aws-mcp's credentials and reports tokens."""
    prompt = 'Summarise: {"events": [{"temperature_c": 20}, {"temperature_c": 21}, {"temperature_c": 22}]}'
    result = mcp_call(mcp_servers.aws_ro.mcp_url, "bedrock_invoke_model", {"prompt": prompt})
    body = result.structured_content
    assert body["model_id"].startswith("anthropic.claude-3")
    assert json.loads(body["text"])["event_count"] == 3
    assert body["input_tokens"] > 0 and body["output_tokens"] > 0
