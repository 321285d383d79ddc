"""The nexuskit dashboard: wires the six screens, the keys and the command palette.

Everything else lives in the screens (:mod:`tui.screens`), which call ``nexuskit``
functions in workers. Run it with ``nexuskit tui``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, ClassVar

from textual.app import App
from textual.binding import BindingType
from textual.theme import Theme
from textual.widgets import Input, TextArea

from nexuskit.config import KitSettings
from tui.actions import SCREENS, Action, bindings_for
from tui.commands import NexusCommands
from tui.screens import LakeScreen, LogsScreen, ProducersScreen, StackScreen, TokensScreen, WorkflowsScreen
from tui.screens.help import HelpScreen

DARK = Theme(
    name="nexus-dark",
    primary="#4EA8DE",
    secondary="#7FB069",
    accent="#F4A259",
    warning="#F4C95D",
    error="#E85D75",
    success="#7FB069",
    foreground="#E6E6E6",
    background="#16181D",
    surface="#1E2128",
    panel="#272B33",
    dark=True,
)
LIGHT = Theme(
    name="nexus-light",
    primary="#0B5D91",
    secondary="#2F6B2F",
    accent="#9C4A00",
    warning="#8A5A00",
    error="#B00020",
    success="#2F6B2F",
    foreground="#1A1A1A",
    background="#FAFAF7",
    surface="#F0F0EA",
    panel="#E2E2DA",
    dark=False,
)


class NexusApp(App[None]):
    """``settings`` picks the stack; ``read_only`` refuses every state-changing action."""

    CSS_PATH = "app.tcss"
    TITLE = "nexuskit"
    MODES: ClassVar[dict[str, Any]] = {
        "stack": StackScreen,
        "tokens": TokensScreen,
        "producers": ProducersScreen,
        "workflows": WorkflowsScreen,
        "lake": LakeScreen,
        "logs": LogsScreen,
    }
    DEFAULT_MODE = "stack"
    COMMANDS = App.COMMANDS | {NexusCommands}
    BINDINGS: ClassVar[list[BindingType]] = bindings_for("")

    def __init__(
        self,
        settings: KitSettings,
        *,
        read_only: bool = False,
        theme: str = "dark",
        clock: Callable[[], float] = time.time,
        refresh_s: float = 2.0,
        cursor_blink: bool = True,
        start: str = "stack",
    ) -> None:
        # Textual starts in DEFAULT_MODE: start on the screen asked for, so that no other
        # screen is built (and refreshes in the background) before it is visited.
        self.DEFAULT_MODE = start if start in self.MODES else "stack"  # type: ignore[misc]
        super().__init__()
        self.settings = settings
        self.read_only = read_only
        self.clock = clock
        self.refresh_s = refresh_s
        self.cursor_blink = cursor_blink
        self.start_mode = start
        self.register_theme(DARK)
        self.register_theme(LIGHT)
        self.theme = LIGHT.name if theme == "light" else DARK.name
        self.sub_title = f"{settings.endpoint} · {settings.state_dir}" + (" · read-only" if read_only else "")

    @property
    def syntax_theme(self) -> str:
        return "ansi_dark" if self.current_theme.dark else "ansi_light"

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        mode = self.current_mode
        title = next((t for m, t, _ in SCREENS if m == mode), mode)
        self.push_screen(HelpScreen(mode, title, self.read_only))

    def action_leave_field(self) -> None:
        """Escape: leave a text field, so that single keys (1-6, ?) work again."""
        if isinstance(self.focused, Input | TextArea):
            self.screen.set_focus(None)

    def action_toggle_theme(self) -> None:
        self.theme = LIGHT.name if self.theme == DARK.name else DARK.name

    async def run_palette_action(self, action: Action) -> None:
        """Run a palette choice: switch to its screen first, then run it there."""
        if action.screen:
            if self.current_mode != action.screen:
                await self.switch_mode(action.screen)
            await self.screen.run_action(action.name)
        else:
            await self.run_action(action.name)
