"""Producers screen: start a producer, counters move, the bronze count rises, delivery proof."""

from __future__ import annotations

import pytest
from textual.widgets import Input, Select, Static

from tests.tui.conftest import notifications, wait_for
from tui.widgets import ProducerPanel

pytestmark = pytest.mark.e2e


@pytest.mark.asyncio
async def test_start_a_producer_counters_move_bronze_rises(make_app, tui_stack) -> None:  # type: ignore[no-untyped-def]
    """A client producer "until stopped" at 50/s: counters move, bronze grows, `x` stops it, proof 0 missing.

    The run is a producer child process; stopping it sends SIGINT, and the
    child still reports what it sent, which the delivery proof then finds in bronze.
    """
    app = make_app(start="producers")
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.bronze, what="bronze count")  # type: ignore[attr-defined]
        before = int(screen.bronze.get("objects") or 0)  # type: ignore[attr-defined]
        screen.query_one("#rate", Input).value = "50"
        screen.query_one("#duration", Input).value = ""  # until stopped
        await pilot.press("ctrl+s")
        panel = await wait_for(pilot, lambda: next(iter(screen.query(ProducerPanel)), None), what="a run")
        await wait_for(pilot, lambda: int(panel.counters.get("sent") or 0) > 0, what="sent to move")
        await wait_for(
            pilot,
            lambda: int(screen.bronze.get("objects") or 0) > before,  # type: ignore[attr-defined]
            timeout=30,
            what="bronze to rise",
        )
        screen.query_one("#runs").focus()
        await pilot.press("x")
        await wait_for(pilot, lambda: panel.counters.get("state") == "stopped", what="the run to stop")
        counters = panel.counters
        assert counters["error"] is None and int(counters["sent"]) > 0 and int(counters["failed"]) == 0
        assert "stopped · sent" in str(panel.query_one("#counters", Static).render())
        proof = await wait_for(
            pilot,
            lambda: str(panel.query_one("#proof-text", Static).render()),
            timeout=40,
            what="the delivery proof",
        )
        assert f"sent {counters['sent']} · delivered {counters['sent']} · missing 0 · duplicated 0" in proof


@pytest.mark.asyncio
async def test_a_producer_that_cannot_start_says_why(make_app, tui_stack) -> None:  # type: ignore[no-untyped-def]
    """A template that does not exist: the run ends "failed" and the panel and a notification say why."""
    app = make_app(start="producers")
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = app.screen
        screen.query_one("#template", Select).set_options([("no-such-template", "no-such-template")])
        await pilot.press("ctrl+s")
        panel = await wait_for(pilot, lambda: next(iter(screen.query(ProducerPanel)), None), what="a run")
        await wait_for(pilot, lambda: panel.counters.get("state") == "failed", timeout=40, what="failure")
        error = str(panel.query_one("#error-text", Static).render())
        assert "no-such-template" in error
        await wait_for(
            pilot, lambda: any("no-such-template" in n for n in notifications(app)), what="notification"
        )
