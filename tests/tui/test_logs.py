"""Logs screen: merged tail, `/` regex filter with highlighting, toggles, save."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from textual.widgets import RichLog

from tests.tui.conftest import notifications, wait_for
from tui.screens.prompt import PromptScreen

pytestmark = pytest.mark.e2e


@pytest.mark.asyncio
async def test_filter_logs(make_app) -> None:  # type: ignore[no-untyped-def]
    """`/placeholder listening` keeps only matching lines, from several Deployments."""
    app = make_app(start="logs")
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = app.screen
        await wait_for(
            pilot, lambda: len({line.source for line in screen.buffer}) >= 4, what="merged sources"
        )  # type: ignore[attr-defined]
        await pilot.press("slash")
        await pilot.press(*"listening on")
        await pilot.press("enter")
        await pilot.pause()
        shown = screen.visible_lines  # type: ignore[attr-defined]
        assert shown and all("listening on" in line.text for line in shown)
        assert len({line.source for line in shown}) >= 3
        log = screen.query_one("#log", RichLog)
        assert len(log.lines) >= len(shown)  # long lines wrap
        highlighted = [seg.text for strip in log.lines for seg in strip if seg.style and seg.style.bgcolor]
        assert "listening on" in highlighted
        assert "filter /listening on/" in str(screen.query_one("#logs-status").render())


@pytest.mark.asyncio
async def test_bad_filter_is_a_notification(make_app) -> None:  # type: ignore[no-untyped-def]
    """An invalid regex is reported as an error notification; the view is unchanged."""
    app = make_app(start="logs")
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.buffer, what="lines")  # type: ignore[attr-defined]
        await pilot.press("slash", *"([", "enter")
        await pilot.pause()
        assert any("not a regular expression" in n for n in notifications(app))
        assert screen.regex is None  # type: ignore[attr-defined]


@pytest.mark.asyncio
async def test_toggles_and_save(make_app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`t` drops timestamps, `f` stops following, `w` writes the lines shown to a file."""
    app = make_app(start="logs")
    target = tmp_path / "saved.log"
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.buffer, what="lines")  # type: ignore[attr-defined]
        screen.query_one("#log").focus()
        await pilot.press("t", "f")
        await pilot.pause()
        assert screen.timestamps is False and screen.follow is False  # type: ignore[attr-defined]
        assert screen.query_one("#log", RichLog).auto_scroll is False
        await pilot.press("w")
        prompt = await wait_for(
            pilot, lambda: isinstance(app.screen, PromptScreen) and app.screen, what="prompt"
        )
        prompt.query_one("#answer").value = str(target)
        await pilot.press("enter")
        await wait_for(pilot, target.exists, what="the file")
        lines = target.read_text().splitlines()
        assert lines and not lines[0][:2].isdigit()  # no timestamps, as shown


@pytest.mark.asyncio
async def test_lines_that_arrive_while_hidden_appear_when_shown_again(make_app, tui_stack) -> None:  # type: ignore[no-untyped-def]
    """Hidden behind another screen, Logs keeps taking lines but draws none; shown again, they are there."""
    app = make_app(start="logs")
    marker = f"hidden-marker-{uuid.uuid4().hex[:8]}"
    engine_log = tui_stack.settings.resolved_state_dir() / "logs" / "engine.log"
    async with app.run_test(size=(120, 40)) as pilot:
        shown = app.screen
        await wait_for(pilot, lambda: shown.follower is not None and shown.buffer, what="lines")  # type: ignore[attr-defined]
        log = shown.query_one("#log", RichLog)

        def drawn() -> bool:
            return any(marker in seg.text for strip in log.lines for seg in strip)

        await pilot.press("1")
        await wait_for(pilot, lambda: app.screen is not shown, what="the stack screen")
        with engine_log.open("a", encoding="utf-8") as fh:
            fh.write(f"nexus test line {marker}\n")
        await wait_for(
            pilot,
            lambda: any(marker in line.text for line in shown.buffer),  # type: ignore[attr-defined]
            what="the line taken while hidden",
        )
        assert not drawn()
        await pilot.press("6")
        await wait_for(pilot, drawn, what="the line drawn once shown")
