"""``nexuskit workflow`` and ``nexuskit mcp`` against the running services.

One test runs the installed CLI as a subprocess, as a user does; the others invoke the
same Typer app in-process (the HTTP and MCP traffic is real either way), which keeps the
suite fast. There is no control plane here to issue the operator's token, so the tests
give it as a user would on EKS: ``NEXUSKIT_MCP_TOKEN`` / ``NEXUSKIT_AGENT_CORE_TOKEN``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.services.conftest import McpServers
from tests.services.support import REPO, ServiceProcess, issuer
from tests.services.tokens import OPERATOR, UI

TOKEN_VARIABLES = ("NEXUSKIT_MCP_TOKEN", "NEXUSKIT_AGENT_CORE_TOKEN")


@pytest.fixture(autouse=True)
def operator_token(monkeypatch: pytest.MonkeyPatch) -> str:
    """The operator's token in the variables the CLI reads (what `kubectl create token` gives)."""
    token = issuer().token(OPERATOR)
    for name in TOKEN_VARIABLES:
        monkeypatch.setenv(name, token)
    return token


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in-process, its outcome shaped like a finished subprocess."""
    from typer.testing import CliRunner

    from nexuskit.cli import app

    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return subprocess.CompletedProcess(list(args), result.exit_code, result.stdout, result.stderr)


def nexuskit(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "NEXUSKIT_"))}
    env.update({name: os.environ[name] for name in TOKEN_VARIABLES if name in os.environ})
    return subprocess.run(
        [sys.executable, "-m", "nexuskit.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=REPO,
        check=False,
    )


def test_workflow_list(agents: tuple[ServiceProcess, ServiceProcess]) -> None:
    """`workflow list --json` gives the catalogue."""
    out = cli("workflow", "list", "--json", "--url", agents[0].url)
    assert out.returncode == 0, out.stderr
    assert {w["name"] for w in json.loads(out.stdout)} >= {"enrich-telemetry", "ops-triage"}


def test_workflow_run_json_from_a_file(agents: tuple[ServiceProcess, ServiceProcess], tmp_path: Path) -> None:
    """`workflow run NAME --input FILE --json`: run_id, status succeeded, steps, result."""
    source = tmp_path / "event.json"
    source.write_text(
        json.dumps(
            {
                "id": f"cli-{uuid.uuid4().hex[:6]}",
                "device_id": "dev-cli",
                "lat": 10.0,
                "lon": 20.0,
                "ts": "2026-11-26T12:00:00Z",
            }
        )
    )
    out = nexuskit(
        "workflow", "run", "enrich-telemetry", "--input", str(source), "--json", "--url", agents[0].url
    )
    assert out.returncode == 0, out.stderr
    run = json.loads(out.stdout)
    assert run["status"] == "succeeded" and run["run_id"].startswith("run-")
    assert run["steps"][0]["id"] == "weather"
    assert run["result"]["device_id"] == "dev-cli"


def test_workflow_run_async(agents: tuple[ServiceProcess, ServiceProcess]) -> None:
    """`--async` answers at once with status running and the run id."""
    out = cli(
        "workflow", "run", "lake-inventory", "--input", "{}", "--async", "--json", "--url", agents[0].url
    )
    run = json.loads(out.stdout)
    assert (out.returncode, run["status"]) == (0, "running") and run["run_id"]


def test_workflow_run_invalid_input_is_one_line(agents: tuple[ServiceProcess, ServiceProcess]) -> None:
    """An invalid input is one error line naming the field, exit 1."""
    out = cli(
        "workflow",
        "run",
        "enrich-telemetry",
        "--input",
        '{"lat": 999, "lon": 0, "device_id": "d"}',
        "--url",
        agents[0].url,
    )
    assert out.returncode == 1
    assert "input.lat" in out.stderr and "Traceback" not in out.stderr


def test_workflow_check_says_what_agent_core_would_refuse(
    agents: tuple[ServiceProcess, ServiceProcess],
) -> None:
    """`workflow check` runs nothing and gives, per input, the message agent-core refuses the run with."""
    bad = '{"lat": 999, "lon": 0}'
    out = cli("workflow", "check", "enrich-telemetry", "--input", bad, "--json", "--url", agents[0].url)
    assert out.returncode == 1
    problems = json.loads(out.stdout)["problems"]
    assert problems == {
        "device_id": "Field required",
        "lat": "Input should be less than or equal to 90",
    }
    refused = cli("workflow", "run", "enrich-telemetry", "--input", bad, "--url", agents[0].url)
    assert refused.returncode == 1
    for name, message in problems.items():  # the same words as agent-core's own refusal
        assert f"input.{name}: {message}" in refused.stderr

    good = '{"lat": 9, "lon": 0, "device_id": "d"}'
    out = cli("workflow", "check", "enrich-telemetry", "--input", good, "--url", agents[0].url)
    assert out.returncode == 0, out.stderr
    assert "ok" in out.stdout
    out = cli("workflow", "check", "no-such-workflow", "--url", agents[0].url)
    assert out.returncode == 1 and "unknown workflow 'no-such-workflow'" in out.stderr


def test_mcp_tools(mcp_servers: McpServers) -> None:
    """`mcp tools custom --json` lists the tools with read-only flags."""
    out = cli("mcp", "tools", "custom", "--json", "--url", mcp_servers.custom_ro.mcp_url)
    tools = {t["name"]: t for t in json.loads(out.stdout)}
    assert tools["kv_get"]["read_only"] is True and tools["kv_set"]["read_only"] is False


def test_mcp_call_with_args(mcp_servers: McpServers) -> None:
    """`mcp call custom weather_enrich --arg lat=45.5 ...` prints the result (values parsed as JSON)."""
    out = cli(
        "mcp",
        "call",
        "custom",
        "weather_enrich",
        "--arg",
        "lat=45.5",
        "--arg",
        "lon=-122.6",
        "--arg",
        "time=2026-11-26T10:00:00Z",
        "--json",
        "--url",
        mcp_servers.custom_ro.mcp_url,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["result"]["hour"] == "2026-11-26T10:00:00Z"


def test_mcp_call_tool_error_exits_1(mcp_servers: McpServers) -> None:
    """A refused write is one line on stderr with the tool's message, exit 1."""
    out = cli(
        "mcp",
        "call",
        "custom",
        "kv_set",
        "--arg",
        "namespace=x",
        "--arg",
        "key=k",
        "--arg",
        "value=1",
        "--url",
        mcp_servers.custom_ro.mcp_url,
    )
    assert out.returncode == 1
    assert "--allow-write" in out.stderr


def test_mcp_call_without_a_token_is_refused_in_one_line(
    mcp_servers: McpServers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no token to be had, the server's refusal is one line saying why no token was sent."""
    monkeypatch.delenv("NEXUSKIT_MCP_TOKEN")
    out = cli("mcp", "tools", "custom", "--url", mcp_servers.custom_ro.mcp_url)
    assert out.returncode == 1
    assert "refused the call: a bearer token is required" in out.stderr
    assert "no token was sent" in out.stderr and "Traceback" not in out.stderr


def test_mcp_call_with_a_read_only_account_names_the_role(
    mcp_servers: McpServers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token of a read-only caller (nexus-ui) makes kv_set a tool error naming the write role."""
    monkeypatch.setenv("NEXUSKIT_MCP_TOKEN", issuer().token(UI))
    args = ["--arg", "namespace=cli-ui", "--arg", "key=k", "--arg", "value=1"]
    out = cli("mcp", "call", "custom", "kv_set", *args, "--url", mcp_servers.custom_rw.mcp_url)
    assert out.returncode == 1
    assert "needs the 'write' role" in out.stderr
