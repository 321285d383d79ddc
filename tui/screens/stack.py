"""Stack: the engine, every Deployment and every AWS resource, refreshed live.

Calls :func:`nexuskit.overview.stack_overview` (``nexuskit overview``),
:func:`~nexuskit.overview.deployment_detail` / ``resource_detail`` for the drill-down and
:func:`nexuskit.controlplane.cluster.restart` / ``scale`` (``nexuskit restart`` / ``scale``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from nexuskit import overview
from nexuskit.controlplane import cluster
from nexuskit.textfmt import age
from tui.actions import bindings_for
from tui.format import sync_rows
from tui.screens.base import NexusScreen
from tui.screens.confirm import ConfirmScreen
from tui.screens.detail import DetailScreen
from tui.screens.prompt import PromptScreen

STATE_STYLE = {
    "running": "green",
    "ready": "green",
    "waiting": "yellow",
    "progressing": "yellow",
    "scaled to 0": "dim",
    "missing": "red",
}
RESOURCES_EVERY = 5  # refresh the AWS inventory every Nth tick (it takes ~0.8 s)


def _endpoint(url: str | None) -> str:
    return (url or "-").removeprefix("http://")


def _name(name: str, width: int = 40) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def _state(state: str) -> Text:
    style = STATE_STYLE.get(state, "yellow" if state.startswith("emulated") else "")
    return Text(state, style=style)


class StackScreen(NexusScreen):
    """Engine line, a Deployments table and a resources table; Enter drills down."""

    AUTO_FOCUS = "#deployments"
    MODE = "stack"
    BINDINGS: ClassVar[list[BindingType]] = bindings_for("stack")

    def __init__(self) -> None:
        super().__init__()
        self.overview: dict[str, Any] = {}
        self._tick_count = 0
        self._busy = False

    def compose_body(self) -> ComposeResult:
        with Vertical(id="stack-body"):
            yield Static("engine: …", id="engine-line", markup=False)
            deployments: DataTable[Any] = DataTable(id="deployments", cursor_type="row", zebra_stripes=True)
            deployments.border_title = "Deployments"
            yield deployments
            resources: DataTable[Any] = DataTable(id="resources", cursor_type="row", zebra_stripes=True)
            resources.border_title = "AWS resources"
            yield resources

    def on_mount(self) -> None:
        super().on_mount()
        deployments = self.query_one("#deployments", DataTable)
        for label, key in (
            ("deployment", "name"),
            ("state", "state"),
            ("ready", "health"),
            ("repl", "replicas"),
            ("rst", "restarts"),
            ("up", "uptime"),
            ("endpoint", "endpoint"),
        ):
            deployments.add_column(label, key=key)
        resources = self.query_one("#resources", DataTable)
        for label, key in (
            ("name", "name"),
            ("type", "type"),
            ("state", "state"),
            ("health", "health"),
            ("up", "uptime"),
            ("endpoint / detail", "endpoint"),
        ):
            resources.add_column(label, key=key)
        self.load(resources=False)  # Deployments first (fast), the AWS inventory right after
        self.call_after_refresh(self.load, True)
        self.while_shown(self.nexus.refresh_s, self._refresh_tick)

    def _refresh_tick(self) -> None:
        self._tick_count += 1
        self.load(resources=self._tick_count % RESOURCES_EVERY == 0)

    @work(thread=True, exit_on_error=False, group="stack-refresh")
    def load(self, resources: bool = False) -> None:
        if self._busy and not resources:
            return
        self._busy = True
        try:
            with self.reporting("refresh"):
                data = overview.stack_overview(self.nexus.settings, resources=resources)
                self.ui(self.show, data, resources)
        finally:
            self._busy = False

    def show(self, data: dict[str, Any], resources: bool) -> None:
        self.overview = data
        engine = data["engine"]
        control = data["control_plane"]
        parts = [f"engine {engine.get('state')} at {engine.get('endpoint')}"]
        if engine.get("uptime_s") is not None:
            parts.append(f"up {age(engine['uptime_s'])}")
        parts.append(f"control plane: {control['error'] or 'running'}")
        self.query_one("#engine-line", Static).update(" · ".join(parts))
        rows = {
            d["name"]: (
                d["name"],
                _state(d["state"]),
                d["health"],
                str(d["replicas"]),
                str(d["restarts"]),
                age(d["uptime_s"]),
                _endpoint(d["endpoint"]),
            )
            for d in data["deployments"]
        }
        table = self.query_one("#deployments", DataTable)
        sync_rows(table, rows)
        table.border_subtitle = f"{len(rows)} deployments"
        if resources or engine.get("state") != "running":
            res_rows = {
                f"{r['type']}|{r['name']}": (
                    _name(r["name"]),
                    r["type"],
                    _state(r["state"]),
                    r["health"],
                    age(r["uptime_s"]),
                    _endpoint(r["endpoint"]),
                )
                for r in data["resources"]
            }
            res_table = self.query_one("#resources", DataTable)
            sync_rows(res_table, res_rows)
            res_table.border_subtitle = f"{len(res_rows)} resources"

    # -- selection ------------------------------------------------------------------------
    def _selected_deployment(self) -> str | None:
        table = self.query_one("#deployments", DataTable)
        if table.row_count == 0:
            self.notify("no Deployment to act on (is the control plane up?)", severity="warning")
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def _replicas(self, name: str) -> int:
        found = next((d for d in self.overview.get("deployments", []) if d["name"] == name), None)
        return int(found["replicas"]) if found else 1

    # -- actions --------------------------------------------------------------------------
    def action_refresh_now(self) -> None:
        self.load(resources=True)

    def action_details(self) -> None:
        focused = self.focused
        if isinstance(focused, DataTable) and focused.id == "resources" and focused.row_count:
            key = str(focused.coordinate_to_cell_key(focused.cursor_coordinate).row_key.value)
            type_, _, name = key.partition("|")
            self.fetch_detail("resource", name, type_)
            return
        selected = self._selected_deployment()
        if selected:
            self.fetch_detail("deployment", selected, "")

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        key = str(event.row_key.value)
        if event.data_table.id == "resources":
            type_, _, name = key.partition("|")
            self.fetch_detail("resource", name, type_)
        else:
            self.fetch_detail("deployment", key, "")

    @work(thread=True, exit_on_error=False, group="stack-detail", exclusive=True)
    def fetch_detail(self, kind: str, name: str, type_: str) -> None:
        with self.reporting(f"details of {name}"):
            if kind == "deployment":
                detail = overview.deployment_detail(self.nexus.settings, name)
            else:
                detail = overview.resource_detail(self.nexus.settings, type_, name)
            self.ui(self.app.push_screen, DetailScreen(detail, self.nexus.syntax_theme))

    def action_restart(self) -> None:
        if not self.allowed("restart"):
            return
        name = self._selected_deployment()
        if not name:
            return

        def confirmed(answer: bool | None) -> None:
            if answer:
                self.run_restart(name)

        self.app.push_screen(
            ConfirmScreen(
                f"Restart deployment {name}? New pods start first; the Service keeps answering.",
                yes="Restart",
            ),
            confirmed,
        )

    def action_scale(self) -> None:
        if not self.allowed("scale"):
            return
        name = self._selected_deployment()
        if not name:
            return
        current = self._replicas(name)

        def answered(value: str | None) -> None:
            if value is None:
                return
            try:
                replicas = int(value)
            except ValueError:
                self.notify(f"{value!r} is not a number of replicas", severity="error")
                return
            self.run_scale(name, replicas)

        self.app.push_screen(
            PromptScreen(
                f"Scale {name} from {current} to how many replicas? (Enter confirms)",
                str(current),
                ok="Scale",
                restrict=r"[0-9]*",
                cursor_blink=self.nexus.cursor_blink,
            ),
            answered,
        )

    @work(thread=True, exit_on_error=False, group="stack-change")
    def run_restart(self, name: str) -> None:
        with self.reporting(f"restart {name}"):
            result = cluster.restart(self.nexus.settings, name)
            self.ui(
                self.notify, f"deployment {result['namespace']}/{result['name']} restarting", title="restart"
            )
            self.ui(self.load)

    @work(thread=True, exit_on_error=False, group="stack-change")
    def run_scale(self, name: str, replicas: int) -> None:
        with self.reporting(f"scale {name}"):
            result = cluster.scale(self.nexus.settings, name, replicas)
            self.ui(
                self.notify,
                f"deployment {result['namespace']}/{result['name']} scaled to {result['replicas']}",
                title="scale",
            )
            self.ui(self.load)
