"""A workflow's declared inputs as a form: one row per input, its message right under it."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import Input, Label, Select, Static

from tui.workflow_inputs import InputField, read_value, to_text


class InputRow(Widget):
    """One input: its name (``*`` when required), a field, and the line that says what is wrong."""

    DEFAULT_CSS = """
    InputRow { height: auto; }
    InputRow > Horizontal { height: 1; }
    InputRow .input-name { width: 16; color: $text-muted; }
    InputRow .input-name.-required { color: $text; text-style: bold; }
    InputRow Input, InputRow Select { width: 1fr; }
    InputRow .input-hint { height: auto; color: $text-muted; padding-left: 2; }
    InputRow .input-error { height: auto; color: $error; padding-left: 2; }
    InputRow .input-error.-empty { display: none; }
    """

    def __init__(
        self, field: InputField, text: str, index: int, *, id: str | None = None, cursor_blink: bool = True
    ) -> None:
        super().__init__(id=id)
        self.field = field
        self.text = text
        self.index = index
        self.cursor_blink = cursor_blink

    def compose(self) -> ComposeResult:
        field = self.field
        with Horizontal():
            name = f"{field.name} *" if field.required else field.name
            yield Label(name, classes="input-name" + (" -required" if field.required else ""))
            if field.kind == "choice":
                choices = [(to_text(choice), choice) for choice in field.choices]
                current = next((c for c in field.choices if to_text(c) == self.text), Select.NULL)
                yield Select[Any](
                    choices,
                    value=current,
                    allow_blank=not field.required or current is Select.NULL,
                    prompt="(not sent)" if not field.required else "choose",
                    compact=True,
                    id=f"input-{self.index}",
                )
            else:
                field_input = Input(
                    self.text,
                    placeholder=field.placeholder(),
                    compact=True,
                    id=f"input-{self.index}",
                )
                field_input.cursor_blink = self.cursor_blink
                field_input.tooltip = field.description or None
                yield field_input
        # the hint on a line of its own: at 80 columns a hint beside the field leaves it no room
        yield Static(field.hint(), classes="input-hint", markup=False)
        yield Static("", classes="input-error -empty", id=f"input-error-{self.index}", markup=False)

    def value_text(self) -> str:
        """What the field holds, as text (``""``: nothing)."""
        widget = self.query_one(f"#input-{self.index}")
        if isinstance(widget, Select):
            value = widget.value
            return "" if value is Select.NULL else to_text(value)
        assert isinstance(widget, Input)
        return widget.value

    def show_problem(self, problem: str | None) -> None:
        line = self.query_one(f"#input-error-{self.index}", Static)
        line.update(f"↳ {self.field.name}: {problem}" if problem else "")
        line.set_class(not problem, "-empty")

    @property
    def problem(self) -> str:
        return str(self.query_one(f"#input-error-{self.index}", Static).render())

    def check(self) -> str | None:
        """Check what the field holds now, show what is wrong (or nothing); the message."""
        try:
            read_value(self.field, self.value_text())
        except ValueError as exc:
            self.show_problem(str(exc))
            return str(exc)
        self.show_problem(None)
        return None

    @on(Input.Changed)
    @on(Select.Changed)
    def _changed(self) -> None:
        if "-empty" not in self.query_one(f"#input-error-{self.index}").classes:
            self.check()  # a field that was wrong says at once when it is right

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.check()


class WorkflowInputForm(VerticalScroll):
    """The form of a workflow's input: :meth:`show_fields`, then :meth:`texts` and :meth:`show_problems`."""

    DEFAULT_CSS = """
    WorkflowInputForm { height: auto; max-height: 14; }
    """

    def __init__(self, *, id: str | None = None, cursor_blink: bool = True) -> None:
        super().__init__(id=id)
        self.fields: list[InputField] = []
        self.cursor_blink = cursor_blink
        self._generation = 0  # the rows of a new workflow get new ids (the old ones may not be gone yet)

    def show_fields(self, fields: list[InputField], texts: dict[str, str]) -> None:
        """A row per field, holding ``texts`` (by field name)."""
        self.fields = list(fields)
        self._generation += 1
        self.remove_children()
        self.mount_all(
            InputRow(
                field,
                texts.get(field.name, ""),
                index,
                id=f"input-row-{self._generation}-{index}",
                cursor_blink=self.cursor_blink,
            )
            for index, field in enumerate(fields)
        )

    def rows(self) -> list[InputRow]:
        current = f"input-row-{self._generation}-"
        return [row for row in self.query(InputRow) if (row.id or "").startswith(current)]

    def texts(self) -> dict[str, str]:
        """What each field holds (by field name)."""
        return {row.field.name: row.value_text() for row in self.rows()}

    def show_problems(self, problems: dict[str, str]) -> None:
        """Each field's message (and none for the fields that are right)."""
        for row in self.rows():
            row.show_problem(problems.get(row.field.name))
