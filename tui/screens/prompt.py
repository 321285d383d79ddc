"""Ask for one value (a replica count, a file name) and confirm it in the same dialog."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static


class PromptScreen(ModalScreen[str | None]):
    """Dismisses with the text entered (Enter or OK), or None (``escape`` or Cancel)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self,
        question: str,
        value: str = "",
        ok: str = "OK",
        *,
        restrict: str | None = None,
        cursor_blink: bool = True,
    ) -> None:
        super().__init__()
        self.question = question
        self.value = value
        self.ok = ok
        self.restrict = restrict
        self.cursor_blink = cursor_blink

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.question, id="question", markup=False)
            yield Input(self.value, id="answer", restrict=self.restrict, select_on_focus=True)
            with Horizontal(id="dialog-buttons"):
                yield Button(self.ok, id="ok", variant="primary")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        answer = self.query_one("#answer", Input)
        answer.cursor_blink = self.cursor_blink
        answer.focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(self.query_one("#answer", Input).value if event.button.id == "ok" else None)
