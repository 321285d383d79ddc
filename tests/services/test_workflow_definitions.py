"""Workflows as data: the shipped files load, bad files are refused with the place named, and
the expression language renders values with their types (in-process; no services)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from services.agent_core.settings import WORKFLOWS_DIR, AgentSettings
from services.agent_core.workflow.expressions import ExpressionError, render
from services.agent_core.workflow.model import Catalog, DefinitionError, load_workflow

CONTEXT: dict[str, Any] = {
    "input": {"lat": 45.5, "device": "dev-1", "tags": ["a", "b"]},
    "steps": {"summary": {"result": {"confidence": 0.91, "nested": {"x": 1}}, "status": "succeeded"}},
    "run": {"id": "run-1", "started_at": "2026-11-26T10:00:00.000Z"},
    "config": {"prefix": "nexus-dev"},
    "now": "2026-11-26T10:00:01.000Z",
}


def test_shipped_workflows_load() -> None:
    """The four shipped workflows load and route their event types."""
    catalog = Catalog.load(WORKFLOWS_DIR)
    assert catalog.names() == ["curate-insight", "enrich-telemetry", "lake-inventory", "ops-triage"]
    assert catalog.routes()["telemetry"] == "enrich-telemetry"


def _write(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(body)
    return path


def test_reference_to_a_later_step_is_refused(tmp_path: Path) -> None:
    """A step reading a step that runs after it is an error of the file, naming both."""
    path = _write(
        tmp_path,
        "bad",
        "name: bad\nsteps:\n  - id: a\n    set: {x: '${{ steps.b.result }}'}\n  - id: b\n    set: {y: 1}\n",
    )
    with pytest.raises(DefinitionError, match=r"step 'a'.*steps \['b'\]"):
        load_workflow(path)


def test_needs_must_cover_what_a_step_reads(tmp_path: Path) -> None:
    """A step that runs alongside another (needs) may not read it: only what it waits for."""
    body = (
        "name: bad\nsteps:\n  - id: a\n    set: {x: 1}\n  - id: b\n    needs: [a]\n    set: {y: 2}\n"
        "  - id: c\n    needs: [a]\n    set: {z: '${{ steps.b.result.y }}'}\n"
    )
    with pytest.raises(DefinitionError, match=r"step 'c'.*steps \['b'\]"):
        load_workflow(_write(tmp_path, "bad", body))


def test_enrich_telemetry_writes_silver_and_gold_together() -> None:
    """In enrich-telemetry the gold insight waits only for the assessment, not the silver finding."""
    workflow = Catalog.load(WORKFLOWS_DIR).workflows["enrich-telemetry"]
    assert workflow.dependencies()["insight"] == {"assess"} == workflow.dependencies()["finding"]


def test_unknown_root_is_refused(tmp_path: Path) -> None:
    """An expression may only read input, steps, run, config and now."""
    path = _write(tmp_path, "bad", "name: bad\nsteps:\n  - id: a\n    set: {x: '${{ secrets.token }}'}\n")
    with pytest.raises(DefinitionError, match="secrets"):
        load_workflow(path)


def test_step_needs_exactly_one_kind(tmp_path: Path) -> None:
    """A step with both an MCP call and a set is refused."""
    body = "name: bad\nsteps:\n  - id: a\n    set: {x: 1}\n    mcp: {service: aws, tool: lake_tiers}\n"
    with pytest.raises(DefinitionError, match="exactly one of"):
        load_workflow(_write(tmp_path, "bad", body))


def test_unknown_mcp_service_is_refused(tmp_path: Path) -> None:
    """An MCP step names one of the four services."""
    body = "name: bad\nsteps:\n  - id: a\n    mcp: {service: weather, tool: x}\n"
    with pytest.raises(DefinitionError, match="service"):
        load_workflow(_write(tmp_path, "bad", body))


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("${{ input.lat }}", 45.5),
        ("${{ steps.summary.result.confidence >= 0.8 }}", True),
        ("lat=${{ input.lat }}", "lat=45.5"),
        ("${{ input.missing }}", None),
        ("${{ input.missing.deeper[3] }}", None),
        ("${{ default(input.missing, 'x') }}", "x"),
        ("${{ to_json({'a': {'b': input.tags[1]}}) }}", '{"a": {"b": "b"}}'),
        ("${{ date(run.started_at) }}", "2026-11-26"),
        ("${{ 'hot' if steps.summary.result.nested.x == 1 else 'cold' }}", "hot"),
        ({"k": ["${{ input.device }}", 2]}, {"k": ["dev-1", 2]}),
    ],
)
def test_templates_render_with_types(template: Any, expected: Any) -> None:
    """A whole-string expression keeps its type; embedded ones become text; missing keys are null."""
    assert render(template, CONTEXT) == expected


@pytest.mark.parametrize(
    "source",
    ["${{ __import__('os') }}", "${{ input.__class__ }}", "${{ [x for x in input] }}", "${{ 'a' * 10 }}"],
)
def test_unsafe_expressions_are_refused(source: str) -> None:
    """Calls outside the function list, dunder names, comprehensions and string repetition are errors."""
    with pytest.raises(ExpressionError):
        render(source, CONTEXT)


def test_settings_yaml_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """settings.yaml fills the fields; an environment variable wins over the file."""
    path = tmp_path / "settings.yaml"
    path.write_text(
        "project: nexus\nenvironment: qa\nregion: us-west-2\n"
        "bedrock: {models: {reasoning: anthropic.claude-3-haiku-20240307-v1:0}}\n"
        "pipelines: {primary: {stream: nexus-qa-intake}}\n"
        "lake: {gold: nexus-qa-gold-us-west-2}\n"
        "mcp: {aws: http://aws-mcp.nexus-mcp.svc.cluster.local/mcp, custom: http://from-file/mcp}\n"
    )
    monkeypatch.setenv("CUSTOM_MCP_URL", "http://from-env/mcp")
    settings = AgentSettings(settings_file=path)
    assert (settings.prefix, settings.stream_name, settings.gold_bucket) == (
        "nexus-qa",
        "nexus-qa-intake",
        "nexus-qa-gold-us-west-2",
    )
    assert settings.reasoning_model == "anthropic.claude-3-haiku-20240307-v1:0"
    assert settings.mcp_urls()["custom"] == "http://from-env/mcp"
    assert settings.checkpoint_table_name == "nexus-qa-agent-checkpoints"


# -- the role a workflow needs ----------------------------------------------------------------
def test_shipped_workflows_need_write_and_curate_insight_curate() -> None:
    """Running any shipped workflow takes write; curate-insight (vibranium, SNS) takes curate too."""
    catalog = Catalog.load(WORKFLOWS_DIR)
    roles = {name: catalog.workflows[name].required_roles for name in catalog.names()}
    assert roles == {
        "curate-insight": ("write", "curate"),
        "enrich-telemetry": ("write",),
        "lake-inventory": ("write",),
        "ops-triage": ("write",),
    }
    assert catalog.workflows["curate-insight"].summary()["requires"] == "curate"


@pytest.mark.parametrize(
    ("step", "named"),
    [
        ("    mcp: {service: aws, tool: disseminate}\n    args: {insight: {}}\n", "aws.disseminate"),
        ("    mcp: {service: aws, tool: dissemination_redeliver}\n", "aws.dissemination_redeliver"),
        (
            "    mcp: {service: aws, tool: lake_write_json}\n    args: {tier: vibranium, key: k}\n",
            "tier='vibranium'",
        ),
        (
            "    mcp: {service: aws, tool: lake_write_json}\n    args: {tier: '${{ input.tier }}', key: k}\n",
            "tier from an expression",
        ),
        (
            "    mcp: {service: aws, tool: glue_start_job_run}\n    args: {job_name: gold-to-vibranium}\n",
            "job_name='gold-to-vibranium'",
        ),
    ],
)
def test_curation_without_requires_curate_does_not_load(tmp_path: Path, step: str, named: str) -> None:
    """A workflow whose step writes vibranium or disseminates must declare requires: curate;
    without it the file is refused, naming the step, the call and the declaration to add."""
    path = _write(tmp_path, "sneaky", f"name: sneaky\nsteps:\n  - id: push\n{step}")
    with pytest.raises(DefinitionError, match=r"step 'push'.*requires: curate") as caught:
        load_workflow(path)
    assert named in str(caught.value)
    declared = _write(tmp_path, "declared", f"name: declared\nrequires: curate\nsteps:\n  - id: push\n{step}")
    assert load_workflow(declared).required_roles == ("write", "curate")


def test_gold_write_needs_no_curate(tmp_path: Path) -> None:
    """lake_write_json to gold (a literal tier) is a write: the workflow loads without requires."""
    step = "    mcp: {service: aws, tool: lake_write_json}\n    args: {tier: gold}\n"
    body = f"name: gold\nsteps:\n  - id: w\n{step}"
    assert load_workflow(_write(tmp_path, "gold", body)).required_roles == ("write",)


def test_unknown_tool_is_refused(tmp_path: Path) -> None:
    """A step calling a tool its MCP service does not have is an error naming the known tools."""
    body = "name: bad\nsteps:\n  - id: a\n    mcp: {service: aws, tool: lake_delete_everything}\n"
    with pytest.raises(DefinitionError, match=r"aws\.lake_delete_everything.*lake_write_json"):
        load_workflow(_write(tmp_path, "bad", body))


def _tool_annotations() -> dict[str, dict[str, bool]]:
    """service -> tool -> readOnlyHint, from the four MCP servers' own tool listings."""
    import asyncio

    from services.mcp.aws_mcp.server import create_server as aws_server
    from services.mcp.aws_mcp.settings import AwsMcpSettings
    from services.mcp.custom_mcp.server import create_server as custom_server
    from services.mcp.custom_mcp.settings import CustomMcpSettings
    from services.mcp.database_mcp.server import create_server as database_server
    from services.mcp.database_mcp.settings import DatabaseMcpSettings
    from services.mcp.database_mcp.sql import SqlExecutor
    from services.mcp.k8s_mcp.server import create_server as k8s_server
    from services.mcp.k8s_mcp.settings import K8sMcpSettings

    servers = {
        "aws": aws_server(AwsMcpSettings()),
        "custom": custom_server(CustomMcpSettings()),
        "database": database_server(DatabaseMcpSettings(), SqlExecutor(Path("unused.db"))),
        "k8s": k8s_server(K8sMcpSettings(), None),
    }

    async def listing() -> dict[str, dict[str, bool]]:
        out = {}
        for name, server in servers.items():
            tools = await server.list_tools()
            out[name] = {t.name: bool(t.annotations and t.annotations.read_only_hint) for t in tools}
        return out

    return asyncio.run(listing())


def test_role_table_covers_every_tool_of_the_mcp_services() -> None:
    """agent-core's role table names exactly the tools each MCP service lists; a read-only tool
    is never curate and a tool that changes state is never read."""
    from services.agent_core.workflow.roles import TOOL_ROLES

    listed = _tool_annotations()
    assert {s: set(t) for s, t in TOOL_ROLES.items()} == {s: set(t) for s, t in listed.items()}
    for service, tools in listed.items():
        for tool, read_only in tools.items():
            role = TOOL_ROLES[service][tool]
            assert role in (("read", "write") if read_only else ("write", "curate")), (service, tool, role)


def test_stream_events_do_not_start_curation_by_default() -> None:
    """With the default consumer_role (write), insight.curate events are refused, saying how to allow them."""
    catalog = Catalog.load(WORKFLOWS_DIR)
    routes, refused = catalog.stream_routes("write")
    assert "insight.curate" not in routes and routes["telemetry"] == "enrich-telemetry"
    assert "consumer_role: curate" in refused["insight.curate"]
    assert catalog.stream_routes("curate")[0]["insight.curate"] == "curate-insight"


def test_configured_route_to_curation_is_an_error() -> None:
    """consumer_routes sending an event to a curate workflow under consumer_role write stops the start."""
    catalog = Catalog.load(WORKFLOWS_DIR)
    with pytest.raises(DefinitionError, match="curate-insight needs the 'curate' role"):
        catalog.stream_routes("write", {"promote": "curate-insight"})
    with pytest.raises(DefinitionError, match="not a workflow"):
        catalog.stream_routes("write", {"x": "nope"})
