"""Workflows screen: launch a workflow, see its steps and its result."""

from __future__ import annotations

import json
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static, TextArea

from tests.tui.conftest import notifications, wait_for
from tui.widgets import WorkflowInputForm
from tui.widgets.workflow_form import InputRow

pytestmark = pytest.mark.e2e


async def _choose(pilot: Pilot[Any], screen: Any, name: str) -> WorkflowInputForm:
    """Highlight ``name`` in the catalogue; its input form."""
    catalogue = screen.query_one("#catalogue", DataTable)
    await wait_for(pilot, lambda: catalogue.row_count, what="the catalogue")
    catalogue.focus()
    catalogue.move_cursor(row=catalogue.get_row_index(name))
    form = screen.query_one("#workflow-form", WorkflowInputForm)
    await wait_for(pilot, lambda: [r.field.name for r in form.rows()], what="the form")
    await pilot.pause()
    return form


def _row(form: WorkflowInputForm, name: str) -> InputRow:
    return next(row for row in form.rows() if row.field.name == name)


async def _type(pilot: Pilot[Any], row: InputRow, text: str) -> None:
    field = row.query_one(Input)
    field.focus()
    field.value = ""
    await pilot.press(*text)


@pytest.mark.asyncio
async def test_launch_a_workflow_see_steps_and_result(make_app, tui_stack) -> None:  # type: ignore[no-untyped-def]
    """ops-triage on aws-mcp, typed in the form built from its inputs: steps fill the timeline, a result."""
    app = make_app(start="workflows")
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        screen = app.screen
        form = await _choose(pilot, screen, "ops-triage")
        assert [r.field.name for r in form.rows()] == ["pod", "namespace", "tail_lines"]
        assert _row(form, "namespace").value_text() == "nexus-mcp"  # the declared default
        assert not screen.query_one("#workflow-input", TextArea).display  # the form, not raw JSON
        await _type(pilot, _row(form, "pod"), "aws-mcp")
        await pilot.press("ctrl+s")
        await wait_for(
            pilot,
            lambda: screen.current.get("status") in {"succeeded", "failed"},  # type: ignore[attr-defined]
            timeout=60,
            what="the run to finish",
        )
        assert screen.current["status"] == "succeeded"  # type: ignore[attr-defined]
        assert screen.query_one("#timeline", DataTable).row_count == len(screen.current["steps"]) > 0  # type: ignore[attr-defined]
        assert screen.current["result"]["pod"].startswith("aws-mcp")  # type: ignore[attr-defined]
        assert screen.current["result"]["namespace"] == "nexus-mcp"  # type: ignore[attr-defined]
        assert "diagnosis" in screen.query_one("#result", Static).content.code
        await wait_for(
            pilot, lambda: screen.query_one("#past-runs", DataTable).row_count >= 1, what="past runs"
        )


@pytest.mark.asyncio
async def test_the_form_refuses_a_missing_and_an_out_of_range_input(make_app, tui_stack) -> None:  # type: ignore[no-untyped-def]
    """No pod and 900 tail lines (0-500): each field says what is wrong, and nothing is launched."""
    app = make_app(start="workflows")
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        screen = app.screen
        form = await _choose(pilot, screen, "ops-triage")
        await _type(pilot, _row(form, "tail_lines"), "900")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert _row(form, "pod").problem == "↳ pod: Field required"  # agent-core's own messages
        assert _row(form, "tail_lines").problem == "↳ tail_lines: Input should be less than or equal to 500"
        assert _row(form, "namespace").problem == ""
        assert any("the input has 2 problems" in n for n in notifications(app))
        await pilot.pause(1.0)
        assert screen.current == {}  # type: ignore[attr-defined]
        assert str(screen.query_one("#run-status", Static).render()) == "no run yet"
        await _type(pilot, _row(form, "tail_lines"), "50")
        await pilot.pause()
        assert _row(form, "tail_lines").problem == ""  # right again: the message goes at once


@pytest.mark.asyncio
async def test_raw_json_toggle_keeps_what_was_typed(make_app, tui_stack) -> None:  # type: ignore[no-untyped-def]
    """F2: the form's values as JSON; edited JSON goes back into the form; bad JSON stays to be fixed."""
    app = make_app(start="workflows")
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        screen = app.screen
        form = await _choose(pilot, screen, "ops-triage")
        await _type(pilot, _row(form, "pod"), "aws-mcp")
        await pilot.press("f2")
        await pilot.pause()
        area = screen.query_one("#workflow-input", TextArea)
        assert area.display and not form.display
        assert json.loads(area.text) == {"pod": "aws-mcp", "namespace": "nexus-mcp", "tail_lines": 30}
        area.text = '{"pod": "aws-mcp", "tail_lines": 7}'
        await pilot.press("f2")
        await pilot.pause()
        assert form.display and not area.display
        assert (_row(form, "tail_lines").value_text(), _row(form, "namespace").value_text()) == ("7", "")
        await pilot.press("f2")
        await pilot.pause()
        area.text = '{"pod": '
        await pilot.press("f2")
        await pilot.pause()
        assert area.display and area.text == '{"pod": '  # nothing lost
        assert any("the input is not JSON" in n for n in notifications(app))
