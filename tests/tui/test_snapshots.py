"""Layout snapshots at 80x24 (clock frozen, cursor blink off, a stack that is not running).

Only screens whose content does not depend on a live stack's ports, ids and ages are
snapshotted; the Pilot tests cover the live content. `--snapshot-update` rewrites them.
"""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input

from nexuskit.config import KitSettings
from tests.tui.conftest import FROZEN_NOW
from tui.app import NexusApp


def _app(settings: KitSettings, **options: Any) -> NexusApp:
    return NexusApp(settings, clock=lambda: FROZEN_NOW, cursor_blink=False, refresh_s=3600, **options)


def test_stack_screen_without_a_stack(snap_compare, offline_settings) -> None:  # type: ignore[no-untyped-def]
    """The Stack screen when nothing runs: the engine line says so, tables are empty."""

    async def settle(pilot: Pilot[Any]) -> None:
        await pilot.pause(1.5)

    assert snap_compare(_app(offline_settings), run_before=settle)


def test_tokens_form(snap_compare, offline_settings) -> None:  # type: ignore[no-untyped-def]
    """The Tokens screen before a token: the form with the 15-60 clamp, empty panels."""

    async def fill(pilot: Pilot[Any]) -> None:
        pilot.app.screen.query_one("#user", Input).value = "alice"
        await pilot.pause()

    assert snap_compare(_app(offline_settings, start="tokens"), run_before=fill)


def test_help_on_stack_read_only(snap_compare, offline_settings) -> None:  # type: ignore[no-untyped-def]
    """`?` on the Stack screen in read-only mode: keys, and the state-changing ones marked disabled."""
    assert snap_compare(_app(offline_settings, read_only=True), press=["question_mark"])
