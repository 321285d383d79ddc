"""The one-line bar of screens (``1 Stack 2 Tokens ...``) at the top of every screen."""

from __future__ import annotations

from rich.markup import escape
from textual.widgets import Static

from tui.actions import SCREENS


class ScreenTabs(Static):
    """Screen names with their keys; the current one highlighted; a click switches."""

    DEFAULT_CSS = """
    ScreenTabs {
        height: 1;
        width: 1fr;
        background: $panel;
        color: $text-muted;
        padding: 0 1;
    }
    """

    def __init__(self, active: str, note: str = "") -> None:
        self.active = active
        self.note = note
        super().__init__(self._tabs_markup(), id="screen-tabs", markup=True)

    def _tabs_markup(self) -> str:
        parts = []
        for mode, title, key in SCREENS:
            if mode == self.active:
                parts.append(f"[b reverse] {key} {title} [/]")
            else:
                parts.append(f"[@click=app.switch_mode('{mode}')] [b]{key}[/b] {title} [/]")
        text = "".join(parts)
        if self.note:
            text += f"  [b $warning]{escape(self.note)}[/]"
        return text
