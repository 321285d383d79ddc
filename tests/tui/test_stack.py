"""Stack screen: live Deployments and resources, drill-down, scale with confirmation, read-only."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable

from nexuskit.controlplane import cluster
from tests.tui.conftest import notifications, wait_for
from tui.screens.confirm import ConfirmScreen
from tui.screens.detail import DetailScreen
from tui.screens.prompt import PromptScreen

pytestmark = pytest.mark.e2e


def _replicas(settings, name: str) -> int:  # type: ignore[no-untyped-def]
    return next(int(d["replicas"]) for d in cluster.deployments(settings) if d["name"] == name)


async def _select(pilot, table: DataTable, key: str) -> None:  # type: ignore[no-untyped-def]
    table.focus()
    table.move_cursor(row=table.get_row_index(key))
    await pilot.pause()


@pytest.mark.asyncio
async def test_stack_lists_deployments_and_resources(make_app) -> None:  # type: ignore[no-untyped-def]
    """Every Deployment (ready, replicas, endpoint) and the AWS resources appear."""
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        deployments = app.screen.query_one("#deployments", DataTable)
        resources = app.screen.query_one("#resources", DataTable)
        await wait_for(pilot, lambda: deployments.row_count >= 6 and resources.row_count > 20, what="rows")
        row = deployments.get_row("nexus-mcp/aws-mcp")
        assert str(row[1]) == "running" and row[2] == "1/1" and row[6].startswith("127.0.0.1:")
        assert "kinesis.stream|nexus-dev-intake" in {str(k.value) for k in resources.rows}


@pytest.mark.asyncio
async def test_drill_down_shows_configuration_and_activity(make_app) -> None:  # type: ignore[no-untyped-def]
    """Enter on a Deployment opens its configuration, pods, events and logs."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one("#deployments", DataTable)
        await wait_for(pilot, lambda: table.row_count >= 6, what="deployments")
        await _select(pilot, table, "nexus-mcp/custom-mcp")
        await pilot.press("enter")
        screen = await wait_for(
            pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen, what="detail"
        )
        assert screen.detail["name"] == "nexus-mcp/custom-mcp"
        assert screen.detail["configuration"]["image"].startswith("nexus/custom-mcp")
        assert screen.detail["pods"] and screen.detail["events"]
        await pilot.press("escape")


@pytest.mark.asyncio
async def test_scale_asks_then_scales(make_app, tui_stack) -> None:  # type: ignore[no-untyped-def]
    """`s` asks for a count; Enter scales the Deployment for real (then back)."""
    app = make_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        table = app.screen.query_one("#deployments", DataTable)
        await wait_for(pilot, lambda: table.row_count >= 6, what="deployments")
        await _select(pilot, table, "nexus-mcp/k8s-mcp")
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen), what="prompt")
        await pilot.press("backspace", "2", "enter")
        await wait_for(pilot, lambda: _replicas(tui_stack.settings, "k8s-mcp") == 2, what="scaled to 2")
        await wait_for(pilot, lambda: any("scaled to 2" in n for n in notifications(app)), what="notice")
    cluster.scale(tui_stack.settings, "k8s-mcp", 1)


@pytest.mark.asyncio
async def test_restart_needs_confirmation(make_app) -> None:  # type: ignore[no-untyped-def]
    """`r` asks first; answering no changes nothing."""
    app = make_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        table = app.screen.query_one("#deployments", DataTable)
        await wait_for(pilot, lambda: table.row_count >= 6, what="deployments")
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirmation")
        await pilot.press("n")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert not any("restarting" in n for n in notifications(app))


@pytest.mark.asyncio
async def test_read_only_refuses_scale(make_app, tui_stack) -> None:  # type: ignore[no-untyped-def]
    """With --read-only, `s` opens no dialog, says why, and the replicas stay."""
    before = _replicas(tui_stack.settings, "aws-mcp")
    app = make_app(read_only=True)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        table = app.screen.query_one("#deployments", DataTable)
        await wait_for(pilot, lambda: table.row_count >= 6, what="deployments")
        await _select(pilot, table, "nexus-mcp/aws-mcp")
        await pilot.press("s")
        await pilot.pause()
        assert not isinstance(app.screen, PromptScreen)
        assert any("read-only" in n and "Scale deployment" in n for n in notifications(app))
        await pilot.press("r")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
    assert _replicas(tui_stack.settings, "aws-mcp") == before
