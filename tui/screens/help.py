"""``?``: the keys and actions of the current screen, from the actions table."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.actions import SCREENS, Action, actions_for


def help_table(mode: str, read_only: bool) -> Table:
    table = Table(box=None, expand=True, show_header=False, pad_edge=False)
    table.add_column("key", style="bold", no_wrap=True, width=7)
    table.add_column("action", no_wrap=True)
    table.add_column("what it does", ratio=1)

    def add(action: Action) -> None:
        note = " [dim](disabled: read-only)[/]" if action.mutates and read_only else ""
        table.add_row(action.key_display or action.key or "", action.title, action.help + note)

    for action in actions_for(mode):
        add(action)
    table.add_row("", "", "")
    table.add_row("1-6", "Screens", " · ".join(f"{key} {title}" for _, title, key in SCREENS))
    table.add_row("^p", "Command palette", "Every action of every screen, searchable")
    for action in actions_for(""):
        if not action.name.startswith("switch_mode"):
            add(action)
    return table


class HelpScreen(ModalScreen[None]):
    """A modal with the current screen's keys; ``escape`` or ``?`` closes it."""

    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close", key_display="esc")]

    def __init__(self, mode: str, title: str, read_only: bool) -> None:
        super().__init__()
        self.mode = mode
        self.title_text = title
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = f"{self.title_text} — keys"
            box.border_subtitle = "esc closes"
            yield Static(help_table(self.mode, self.read_only), id="help-table")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
