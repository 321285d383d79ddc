"""Workflows screen: launch a workflow, see its steps and its result.

Skips with the precise reason while ``nexuskit.workflows`` lacks what the screen calls.
"""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Static, TextArea

from tests.tui.conftest import wait_for
from tui.widgets import NotAvailable as NotAvailableNotice
from tui.workflow_runs import CoreNotAvailableError, WorkflowRuns

pytestmark = pytest.mark.e2e


@pytest.mark.asyncio
async def test_missing_core_is_said_plainly(make_app, tui_stack) -> None:  # type: ignore[no-untyped-def]
    """Without the workflows core the screen says "not available: <reason>" and launches nothing."""
    try:
        WorkflowRuns(tui_stack.settings).check()
        pytest.skip("nexuskit.workflows is available")
    except CoreNotAvailableError as exc:
        reason = exc.reason
    app = make_app(start="workflows")
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        notice = await wait_for(
            pilot, lambda: next(iter(app.screen.query(NotAvailableNotice)), None), what="notice"
        )
        assert str(notice.render()) == f"not available: {reason}"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen.query_one("#timeline", DataTable).row_count == 0


@pytest.mark.asyncio
async def test_launch_a_workflow_see_steps_and_result(make_app, tui_stack) -> None:  # type: ignore[no-untyped-def]
    """ops-triage on aws-mcp: launched from the catalogue, its steps fill the timeline, the result shows."""
    try:
        WorkflowRuns(tui_stack.settings).check()
    except CoreNotAvailableError as exc:
        pytest.skip(exc.reason)
    app = make_app(start="workflows")
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        screen = app.screen
        catalogue = screen.query_one("#catalogue", DataTable)
        await wait_for(pilot, lambda: catalogue.row_count, what="the catalogue")
        catalogue.focus()
        catalogue.move_cursor(row=catalogue.get_row_index("ops-triage"))
        await pilot.pause()
        assert (
            '"pod"' in screen.query_one("#workflow-input", TextArea).text
        )  # the input form, from the schema
        screen.query_one("#workflow-input", TextArea).text = '{"pod": "aws-mcp"}'
        await pilot.press("ctrl+s")
        await wait_for(
            pilot,
            lambda: screen.current.get("status") in {"succeeded", "failed"},
            timeout=60,  # type: ignore[attr-defined]
            what="the run to finish",
        )
        assert screen.current["status"] == "succeeded"  # type: ignore[attr-defined]
        assert screen.query_one("#timeline", DataTable).row_count == len(screen.current["steps"]) > 0  # type: ignore[attr-defined]
        assert screen.current["result"]["pod"].startswith("aws-mcp")  # type: ignore[attr-defined]
        assert "diagnosis" in screen.query_one("#result", Static).content.code
        await wait_for(
            pilot, lambda: screen.query_one("#past-runs", DataTable).row_count >= 1, what="past runs"
        )
