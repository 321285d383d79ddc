"""Lake screen: promote with progress, browse the tree to a vibranium object, preview it; SQL; grants."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Static, Tree

from nexuskit import overview
from nexuskit.lake import sample
from tests.tui.conftest import wait_for
from tui.screens.confirm import ConfirmScreen

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def bronze_data(tui_stack):  # type: ignore[no-untyped-def]
    """400 records in bronze, written as Firehose writes them, on a lake with its catalogue and grants."""
    applied = tui_stack.cli("lake", "grants", "--apply", "--json")
    assert applied.returncode == 0, applied.stderr
    lake = overview.open_lake(tui_stack.settings)
    return sample.put_bronze(
        lake.client("s3"), lake.bucket("bronze"), sample.encode(sample.iter_records(400, seed=11))
    )


def _node(tree: Tree, tier: str):  # type: ignore[no-untyped-def]
    return next(n for n in tree.root.children if n.data and n.data["what"] == tier)


@pytest.mark.asyncio
async def test_promote_then_preview_a_vibranium_object(make_app, bronze_data) -> None:  # type: ignore[no-untyped-def]
    """`p`+`y` promotes with progress; vibranium → insights → the object → Parquet rows."""
    app = make_app(start="lake")
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        screen = app.screen
        tree = screen.query_one("#tiers", Tree)
        await wait_for(pilot, lambda: len(tree.root.children) == 4, what="the tiers")
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirmation")
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: "vibranium  0 obj" not in str(_node(tree, "vibranium").label),
            timeout=60,
            what="vibranium objects",
        )
        assert "promotion" in str(screen.query_one("#promotion-label", Static).render())
        vibranium = _node(tree, "vibranium")
        tree.focus()
        tree.move_cursor(vibranium)
        await pilot.press("enter")
        objects = screen.query_one("#objects", DataTable)
        await wait_for(
            pilot,
            lambda: (
                objects.row_count and "dataset:vibranium.insights" in {str(k.value) for k in objects.rows}
            ),
            timeout=60,
            what="vibranium datasets",
        )
        objects.focus()
        objects.move_cursor(row=objects.get_row_index("dataset:vibranium.insights"))
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: objects.row_count and str(next(iter(objects.rows)).value).startswith("object:vibranium/"),
            what="vibranium objects",
        )
        objects.move_cursor(row=0)
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.preview, what="a preview")  # type: ignore[attr-defined]
        preview = screen.preview  # type: ignore[attr-defined]
        assert preview["tier"] == "vibranium" and preview["format"] == "parquet" and preview["rows"]
        rows = screen.query_one("#preview-rows", DataTable)
        assert rows.row_count == len(preview["rows"]) and rows.display
        assert "parquet" in str(screen.query_one("#preview-text", Static).render())


@pytest.mark.asyncio
async def test_sql_prompt_and_grants(make_app, bronze_data) -> None:  # type: ignore[no-untyped-def]
    """SQL over silver answers in a table; the grants tab shows the admin with rw on every tier."""
    from nexuskit.lake.tiers import promote

    promote(overview.open_lake(make_app().settings), "silver")
    app = make_app(start="lake")
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        screen = app.screen
        await pilot.press("e")
        await pilot.pause()
        await pilot.press(*"SELECT count(*) AS n FROM silver.telemetry", "enter")
        result = screen.query_one("#sql-result", DataTable)
        await wait_for(pilot, lambda: result.row_count == 1, what="the answer")
        assert int(result.get_row_at(0)[0]) > 0
        screen.query_one("#sql-result").focus()
        await pilot.press("g")
        grants = screen.query_one("#grants-table", DataTable)
        await wait_for(pilot, lambda: grants.row_count > 1, what="grants")
        admin = next(
            grants.get_row_at(i) for i in range(grants.row_count) if grants.get_row_at(i)[0] == "admin"
        )
        assert admin[1:5] == ["rw", "rw", "rw", "rw"]
