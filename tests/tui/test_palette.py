"""Conventions: every action is a palette command and a method; `?` shows the screen's keys."""

from __future__ import annotations

import pytest

from tui.actions import ACTIONS, SCREENS
from tui.app import NexusApp
from tui.commands import NexusCommands, palette_title
from tui.screens.help import HelpScreen

pytestmark = pytest.mark.e2e

SCREEN_CLASSES = NexusApp.MODES


def _method(action_name: str) -> str:
    return "action_" + action_name.partition("(")[0]


def test_every_action_has_a_handler() -> None:
    """Each action of the table is implemented by its screen (or by the App)."""
    for action in ACTIONS:
        owner = SCREEN_CLASSES[action.screen] if action.screen else NexusApp
        assert hasattr(owner, _method(action.name)), f"{action.id} has no {_method(action.name)}"


def test_every_screen_has_a_key() -> None:
    """Single-key switching: 1-6 reach the six screens."""
    assert [key for _, _, key in SCREENS] == ["1", "2", "3", "4", "5", "6"]
    assert set(SCREEN_CLASSES) == {mode for mode, _, _ in SCREENS}


@pytest.mark.asyncio
async def test_every_action_is_in_the_palette(make_app) -> None:  # type: ignore[no-untyped-def]
    """Searching the command palette for an action's title finds it, for every action."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        provider = NexusCommands(app.screen)
        discovered = [hit.text async for hit in provider.discover()]
        assert discovered == [palette_title(a) for a in ACTIONS]
        for action in ACTIONS:
            title = palette_title(action)
            found = [hit.text async for hit in provider.search(title)]
            assert title in found, f"palette search for {title!r} found {found}"
        await pilot.pause()


@pytest.mark.asyncio
async def test_palette_command_runs_on_its_screen(make_app) -> None:  # type: ignore[no-untyped-def]
    """Choosing "Logs: Timestamps on/off" from the palette switches to Logs and runs it."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Timestamps on/off")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause(0.5)
        assert app.current_mode == "logs"
        assert app.screen.timestamps is False  # type: ignore[attr-defined]


@pytest.mark.asyncio
async def test_help_lists_the_screen_keys(make_app) -> None:  # type: ignore[no-untyped-def]
    """`?` on the Stack screen shows its restart and scale keys; escape closes it."""
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("#help-table").render())
        assert "Restart deployment" in text or app.screen.mode == "stack"
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


@pytest.mark.asyncio
async def test_number_keys_switch_screens(make_app) -> None:  # type: ignore[no-untyped-def]
    """Keys 1-6 switch to the six screens."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        for mode, _, key in SCREENS:
            await pilot.press(key)
            await pilot.pause()
            assert app.current_mode == mode
