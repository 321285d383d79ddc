"""Workflows: agent-core's catalogue, an input form, launch, a live step timeline, the result.

Calls :mod:`nexuskit.workflows` (``nexuskit workflow list / check / run / show``).
The input form is built from the inputs the workflow declares
(:mod:`tui.workflow_inputs`); a workflow that declares none, or "raw JSON" (F2), gives the
JSON editor instead.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from rich.syntax import Syntax
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Checkbox, DataTable, Label, Static, TextArea

from nexuskit import workflows
from tui.actions import bindings_for
from tui.screens.base import NexusScreen
from tui.widgets import WorkflowInputForm
from tui.workflow_inputs import (
    InputField,
    form_texts,
    input_fields,
    loose_value,
    read_form,
    starting_texts,
)

POLL_S = 0.5


def _call(step: dict[str, Any]) -> str:
    call = step.get("call")
    if isinstance(call, dict):
        if call.get("service"):
            return f"{call['service']}.{call.get('tool', '')}"
        if call.get("model"):
            return f"bedrock {call['model']}"
        return ", ".join(str(k) for k in call) or str(step.get("kind", ""))
    return str(call or step.get("kind", ""))


def _input_template(item: dict[str, Any]) -> dict[str, Any]:
    """The workflow's input fields with their defaults (required ones first, empty)."""
    schema = item.get("input") or {}
    properties = schema.get("properties") or {}
    required = list(schema.get("required") or [])
    doc: dict[str, Any] = {name: properties.get(name, {}).get("default") for name in required}
    for name, spec in properties.items():
        if name not in doc and "default" in spec:
            doc[name] = spec["default"]
    return doc


def _duration(step: dict[str, Any]) -> str:
    for key in ("duration_ms", "duration_s", "duration"):
        if step.get(key) is not None:
            value = float(step[key])
            return f"{value:.0f} ms" if key == "duration_ms" else f"{value * 1000:.0f} ms"
    return "-"


class WorkflowsScreen(NexusScreen):
    """Catalogue and input on the left; the running run's timeline and result on the right."""

    AUTO_FOCUS = "#catalogue"
    MODE = "workflows"
    BINDINGS: ClassVar[list[BindingType]] = bindings_for("workflows")

    def __init__(self) -> None:
        super().__init__()
        self.catalogue: list[dict[str, Any]] = []
        self.current: dict[str, Any] = {}
        self.watching: str | None = None
        self.input_for = ""
        self.fields: list[InputField] = []
        self.raw_json = False
        self.session_runs: dict[str, dict[str, Any]] = {}

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="workflows-body"):
            with Vertical(id="workflow-left"):
                catalogue: DataTable[Any] = DataTable(id="catalogue", cursor_type="row")
                catalogue.border_title = "catalogue"
                yield catalogue
                with Horizontal(id="input-bar"):
                    yield Label("input", id="input-title")
                    yield Static("", id="input-required", markup=False)
                    yield Checkbox("raw JSON F2", id="raw-json", compact=True)
                yield WorkflowInputForm(id="workflow-form", cursor_blink=self.nexus.cursor_blink)
                area = TextArea("{}", id="workflow-input", language="json", soft_wrap=True)
                area.border_title = "input (JSON)"
                yield area
                yield Button("Launch ^s", id="launch", variant="primary", compact=True)
            with Vertical(id="workflow-right"):
                yield Static("no run yet", id="run-status", markup=False)
                timeline: DataTable[Any] = DataTable(id="timeline", cursor_type="row", zebra_stripes=True)
                timeline.border_title = "steps"
                yield timeline
                with VerticalScroll(id="result-box") as box:
                    box.border_title = "result"
                    yield Static("", id="result")
        runs: DataTable[Any] = DataTable(id="past-runs", cursor_type="row", zebra_stripes=True)
        runs.border_title = "past runs (Enter shows one)"
        yield runs

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#catalogue", DataTable).add_columns("workflow", "description")
        self.query_one("#timeline", DataTable).add_columns("#", "step", "call", "status", "took")
        self.query_one("#past-runs", DataTable).add_columns("run", "workflow", "status", "started")
        self._show_input_mode()
        self.load_catalogue()
        self.set_interval(POLL_S, self.poll)

    def action_refresh_catalogue(self) -> None:
        self.load_catalogue()

    @work(thread=True, exit_on_error=False, group="workflows-catalogue", exclusive=True)
    def load_catalogue(self) -> None:
        with self.reporting("workflow catalogue"):
            self.ui(self.show_catalogue, workflows.list_workflows(self.nexus.settings))

    def show_catalogue(self, items: list[dict[str, Any]]) -> None:
        self.catalogue = items
        table = self.query_one("#catalogue", DataTable)
        table.clear()
        for item in items:
            name = str(item.get("name"))
            table.add_row(name, str(item.get("description", "")), key=name)
        self.show_past()

    def show_past(self) -> None:
        """The runs launched here, newest first."""
        past = self.query_one("#past-runs", DataTable)
        past.clear()
        for run in reversed(list(self.session_runs.values())):
            past.add_row(
                str(run.get("run_id")),
                str(run.get("workflow", run.get("name", ""))),
                str(run.get("status")),
                str(run.get("started_at", "")),
                key=str(run.get("run_id")),
            )

    @on(DataTable.RowHighlighted, "#catalogue")
    def _workflow_highlighted(self, event: DataTable.RowHighlighted) -> None:
        item = next((i for i in self.catalogue if str(i.get("name")) == str(event.row_key.value)), None)
        if item is not None and str(item.get("name")) != self.input_for:
            self.input_for = str(item.get("name"))
            self.fields = input_fields(item)
            self.query_one("#workflow-form", WorkflowInputForm).show_fields(
                self.fields, starting_texts(self.fields)
            )
            self.query_one("#workflow-input", TextArea).text = json.dumps(_input_template(item), indent=1)
            required = ", ".join((item.get("input") or {}).get("required") or []) or "none"
            self.query_one("#workflow-input").border_subtitle = f"required: {required}"
            self.query_one("#input-required", Static).update(
                f" · required: {required}" if self.fields else " · declares no inputs: JSON"
            )
            self._show_input_mode()

    # -- the input: a form, or raw JSON ---------------------------------------------------
    @property
    def uses_form(self) -> bool:
        """The form is shown (the workflow declares inputs and raw JSON is off)."""
        return bool(self.fields) and not self.raw_json

    def _show_input_mode(self) -> None:
        self.query_one("#workflow-form").display = self.uses_form
        self.query_one("#workflow-input").display = not self.uses_form
        checkbox = self.query_one("#raw-json", Checkbox)
        checkbox.display = bool(self.fields)
        with checkbox.prevent(Checkbox.Changed):
            checkbox.value = self.raw_json

    @on(Checkbox.Changed, "#raw-json")
    def _raw_json_toggled(self, event: Checkbox.Changed) -> None:
        if event.value != self.raw_json:
            self.action_toggle_raw_input()

    def action_toggle_raw_input(self) -> None:
        """Form -> JSON (what the form holds, nothing typed is lost), or JSON -> form."""
        if not self.fields:
            self.raw_json = False
            self.notify("this workflow declares no inputs: its input is JSON", severity="warning")
            self._show_input_mode()
            return
        form = self.query_one("#workflow-form", WorkflowInputForm)
        area = self.query_one("#workflow-input", TextArea)
        if not self.raw_json:
            texts = form.texts()
            document, problems = read_form(self.fields, texts)
            for field in self.fields:  # kept as typed, for the JSON editor to fix
                if field.name in problems and texts.get(field.name, "").strip():
                    document[field.name] = loose_value(field, texts[field.name])
            area.text = json.dumps(document, indent=1)
            self.raw_json = True
        else:
            try:
                document = json.loads(area.text or "{}")
            except ValueError as exc:
                self.notify(f"the input is not JSON ({exc}): fix it to go back to the form", severity="error")
                self._show_input_mode()
                return
            if not isinstance(document, dict):
                self.notify("the input must be a JSON object to go back to the form", severity="error")
                self._show_input_mode()
                return
            texts, extra = form_texts(self.fields, document)
            if extra:
                self.notify(
                    f"the form has no field for {', '.join(extra)}: remove them, or launch from raw JSON",
                    severity="error",
                )
                self._show_input_mode()
                return
            form.show_fields(self.fields, texts)
            self.raw_json = False
        self._show_input_mode()

    def input_document(self) -> dict[str, Any] | None:
        """The input to launch with, or None (and the problems shown) when it is not right."""
        if self.uses_form:
            form = self.query_one("#workflow-form", WorkflowInputForm)
            document, problems = read_form(self.fields, form.texts())
            form.show_problems(problems)
            if "" in problems:  # the input as a whole, not one field
                self.notify(f"the input cannot be checked: {problems['']}", severity="error")
                return None
            if problems:
                count = len(problems)
                self.notify(
                    f"the input has {count} problem{'s' if count > 1 else ''}: see the marked field"
                    f"{'s' if count > 1 else ''}",
                    severity="error",
                )
                return None
            return document
        try:
            payload = json.loads(self.query_one("#workflow-input", TextArea).text or "{}")
        except ValueError as exc:
            self.notify(f"the input is not JSON: {exc}", severity="error")
            return None
        if not isinstance(payload, dict):
            self.notify("the input must be a JSON object", severity="error")
            return None
        return payload

    # -- launch ---------------------------------------------------------------------------
    @on(Button.Pressed, "#launch")
    def _launch_pressed(self) -> None:
        self.action_launch()

    def action_launch(self) -> None:
        if not self.allowed("launch"):
            return
        table = self.query_one("#catalogue", DataTable)
        if table.row_count == 0:
            self.notify("the catalogue is empty", severity="warning")
            return
        name = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        payload = self.input_document()
        if payload is not None:
            self.launch_run(name, payload)

    @work(thread=True, exit_on_error=False, group="workflows-launch")
    def launch_run(self, name: str, payload: dict[str, Any]) -> None:
        with self.reporting(f"launch {name}"):
            started = workflows.run_workflow(self.nexus.settings, name, payload, wait=False)
            self.ui(self._launched, started)

    def _launched(self, run: dict[str, Any]) -> None:
        self.watching = str(run["run_id"])
        self.show_run(run)

    def poll(self) -> None:
        if self.watching:
            self.fetch_run(self.watching)

    @work(thread=True, exit_on_error=False, group="workflows-poll", exclusive=True)
    def fetch_run(self, run_id: str) -> None:
        with self.reporting(f"run {run_id}"):
            self.ui(self.show_run, workflows.get_run(self.nexus.settings, run_id))

    def show_run(self, run: dict[str, Any]) -> None:
        self.current = run
        if run.get("run_id"):
            self.session_runs[str(run["run_id"])] = run
        status = str(run.get("status", "running"))
        self.query_one("#run-status", Static).update(
            f"run {run.get('run_id')} · {run.get('workflow', run.get('name', ''))} · {status}"
        )
        table = self.query_one("#timeline", DataTable)
        table.clear()
        for index, step in enumerate(run.get("steps") or [], start=1):
            table.add_row(
                str(index),
                str(step.get("name", step.get("id", ""))),
                _call(step),
                str(step.get("status", "")),
                _duration(step),
            )
        self.query_one("#result-box").border_title = "result"
        if run.get("result") is not None or run.get("error"):
            body = json.dumps(
                run.get("result") if run.get("result") is not None else {"error": run.get("error")},
                indent=1,
                default=str,
            )
            self.query_one("#result", Static).update(
                Syntax(
                    body, "json", theme=self.nexus.syntax_theme, word_wrap=True, background_color="default"
                )
            )
        if status in workflows.FINISHED and self.watching == run.get("run_id"):
            self.watching = None
            self.notify(
                f"{run.get('workflow', 'workflow')} {status}",
                title=f"run {run.get('run_id')}",
                severity="information" if status == "succeeded" else "error",
            )
            self.load_catalogue()

    @on(DataTable.RowSelected, "#past-runs")
    def _past_selected(self, event: DataTable.RowSelected) -> None:
        self.fetch_run(str(event.row_key.value))

    @on(DataTable.RowSelected, "#timeline")
    def _step_selected(self, event: DataTable.RowSelected) -> None:
        steps = self.current.get("steps") or []
        index = event.cursor_row
        if 0 <= index < len(steps):
            body = json.dumps(steps[index], indent=1, default=str)
            self.query_one("#result", Static).update(
                Syntax(
                    body, "json", theme=self.nexus.syntax_theme, word_wrap=True, background_color="default"
                )
            )
            self.query_one("#result-box").border_title = f"step {index + 1}: input and output"
