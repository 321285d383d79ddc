"""Producers screen: start a producer, counters move, the bronze count rises, delivery proof.

Skips with the precise reason while ``nexuskit.producers`` lacks what the screen calls.
"""

from __future__ import annotations

import pytest
from textual.widgets import Input, Static

from tests.tui.conftest import wait_for
from tui.producer_runs import CoreNotAvailableError, ProducerRuns
from tui.widgets import NotAvailable as NotAvailableNotice
from tui.widgets import ProducerPanel

pytestmark = pytest.mark.e2e


def _require_producers(settings) -> None:  # type: ignore[no-untyped-def]
    try:
        ProducerRuns(settings).check()
    except CoreNotAvailableError as exc:
        pytest.skip(exc.reason)


@pytest.mark.asyncio
async def test_missing_core_is_said_plainly(make_app, tui_stack) -> None:  # type: ignore[no-untyped-def]
    """Without the producers core the screen says "not available: <reason>" and shows no data."""
    try:
        ProducerRuns(tui_stack.settings).check()
        pytest.skip("nexuskit.producers is available")
    except CoreNotAvailableError as exc:
        reason = exc.reason
    app = make_app(start="producers")
    async with app.run_test(size=(120, 40)) as pilot:
        notice = await wait_for(
            pilot, lambda: next(iter(app.screen.query(NotAvailableNotice)), None), what="notice"
        )
        assert str(notice.render()) == f"not available: {reason}"
        assert not app.screen.query(ProducerPanel)


@pytest.mark.asyncio
async def test_start_a_producer_counters_move_bronze_rises(make_app, tui_stack) -> None:  # type: ignore[no-untyped-def]
    """A 5 s client producer at 50/s: its counters move, bronze grows, the proof shows 0 missing."""
    _require_producers(tui_stack.settings)
    app = make_app(start="producers")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.bronze, what="bronze count")  # type: ignore[attr-defined]
        before = int(screen.bronze.get("objects") or 0)  # type: ignore[attr-defined]
        screen.query_one("#rate", Input).value = "50"
        screen.query_one("#duration", Input).value = "5"
        await pilot.press("ctrl+s")
        panel = await wait_for(pilot, lambda: next(iter(screen.query(ProducerPanel)), None), what="a run")
        await wait_for(pilot, lambda: int(panel.counters.get("sent") or 0) > 0, what="sent to move")
        await wait_for(
            pilot,
            lambda: int(screen.bronze.get("objects") or 0) > before,
            timeout=30,  # type: ignore[attr-defined]
            what="bronze to rise",
        )
        proof = await wait_for(
            pilot,
            lambda: str(panel.query_one("#proof-text", Static).render()),
            timeout=30,
            what="the delivery proof",
        )
        assert "missing 0" in proof
