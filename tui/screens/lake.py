"""Lake: the medallion tiers as a tree, objects, previews, promotion, SQL and grants.

Calls :func:`nexuskit.overview.open_lake` and the lake's functions behind ``nexuskit
lake``: ``list_lake`` (ls), ``inspect``, ``promote`` (with its progress callback),
``run_query`` (query) and ``grants_matrix`` (grants).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar

from rich.syntax import Syntax
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Input, ProgressBar, Static, TabbedContent, TabPane, Tree

from nexuskit import overview
from nexuskit.textfmt import cell_text as cell
from nexuskit.textfmt import human_size as size
from tui.actions import bindings_for
from tui.screens.base import NexusScreen
from tui.screens.confirm import ConfirmScreen

if TYPE_CHECKING:
    from nexuskit.lake.access import Lake

PREVIEW_ROWS = 20
TIER_ORDER = ("bronze", "silver", "gold", "vibranium")


def _short_time(value: Any) -> str:
    text = str(value or "")
    return text[11:19] if len(text) >= 19 else text or "-"


def _tier_label(tier: dict[str, Any]) -> str:
    if tier.get("denied"):
        return f"{tier['tier']}  denied"
    label = f"{tier['tier']}  {tier.get('objects', 0)} obj · {tier.get('rows', 0)} rows"
    if tier.get("pending"):
        label += f" · {tier['pending']} pending"
    if tier.get("freshness"):
        label += f" · {_short_time(tier['freshness'])}"
    return label


class LakeScreen(NexusScreen):
    """Tabs: Browse (tree, objects, preview), SQL (prompt, results), Grants (matrix)."""

    AUTO_FOCUS = "#tiers"
    MODE = "lake"
    BINDINGS: ClassVar[list[BindingType]] = bindings_for("lake")

    def __init__(self) -> None:
        super().__init__()
        self.lake: Lake | None = None
        self.listing: dict[str, Any] = {}
        self.preview: dict[str, Any] = {}
        self.promoting = False

    def compose_body(self) -> ComposeResult:
        with TabbedContent(id="lake-tabs", initial="browse"):
            with TabPane("Browse (b)", id="browse"):
                with Horizontal(id="promotion", classes="-hidden"):
                    yield Static("", id="promotion-label", markup=False)
                    yield ProgressBar(id="promotion-bar", show_eta=False)
                with Horizontal(id="lake-browse"):
                    tree: Tree[dict[str, Any]] = Tree("lake", id="tiers")
                    tree.show_root = False
                    yield tree
                    with Vertical(id="lake-right"):
                        objects: DataTable[Any] = DataTable(
                            id="objects", cursor_type="row", zebra_stripes=True
                        )
                        objects.border_title = "objects (Enter previews)"
                        yield objects
                        with VerticalScroll(id="preview-box") as box:
                            box.border_title = "preview"
                            yield Static("select an object", id="preview-text")
                            rows: DataTable[Any] = DataTable(id="preview-rows", zebra_stripes=True)
                            yield rows
            with TabPane("SQL (e)", id="sql"):
                yield Input(
                    placeholder="SELECT device_id, count(*) FROM silver.telemetry GROUP BY 1",
                    id="sql-input",
                    compact=True,
                )
                yield Static(
                    "tables are tier.dataset; Enter runs the query (DuckDB over committed Parquet)",
                    id="sql-status",
                    markup=False,
                )
                yield DataTable(id="sql-result", zebra_stripes=True)
            with TabPane("Grants (g)", id="grants"):
                yield Static("Lake Formation grants: r read, w write", id="grants-status", markup=False)
                yield DataTable(id="grants-table", zebra_stripes=True, cursor_type="row")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#preview-rows", DataTable).display = False
        self.load_tiers()

    # -- tiers ----------------------------------------------------------------------------
    def _lake(self) -> Lake:
        if self.lake is None:
            self.lake = overview.open_lake(self.nexus.settings)
        return self.lake

    def action_refresh_lake(self) -> None:
        self.load_tiers()

    @work(thread=True, exit_on_error=False, group="lake-tiers", exclusive=True)
    def load_tiers(self) -> None:
        from nexuskit.lake.browse import list_lake

        with self.reporting("read the lake"):
            lake = self._lake()
            lake.refresh()
            data = list_lake(lake)
            self.ui(self.show_tiers, data)

    def show_tiers(self, data: dict[str, Any]) -> None:
        tree = self.query_one("#tiers", Tree)
        expanded = {str(n.data.get("what")) for n in tree.root.children if n.data and n.is_expanded}
        tree.clear()
        for tier in data["tiers"]:
            node = tree.root.add(
                _tier_label(tier), data={"what": tier["tier"]}, expand=tier["tier"] in expanded
            )
            for name, dataset in (tier.get("datasets") or {}).items():
                node.add_leaf(
                    f"{name.partition('.')[2]}  {dataset['files']} files · {dataset['rows']} rows",
                    data={"what": name},
                )
        tree.root.expand()

    @on(Tree.NodeSelected, "#tiers")
    def _node_selected(self, event: Tree.NodeSelected[dict[str, Any]]) -> None:
        if event.node.data:
            self.load_objects(str(event.node.data["what"]))

    @work(thread=True, exit_on_error=False, group="lake-objects", exclusive=True)
    def load_objects(self, what: str) -> None:
        from nexuskit.lake.browse import list_lake

        with self.reporting(f"list {what}"):
            data = list_lake(self._lake(), what)
            self.ui(self.show_objects, what, data)

    def show_objects(self, what: str, data: dict[str, Any]) -> None:
        self.listing = data
        table = self.query_one("#objects", DataTable)
        table.clear(columns=True)
        tier = what.partition(".")[0]
        if "datasets" in data:
            table.add_columns("dataset", "files", "rows", "size", "last commit")
            for name, dataset in data["datasets"].items():
                table.add_row(
                    name,
                    str(dataset["files"]),
                    str(dataset["rows"]),
                    size(dataset["bytes"]),
                    _short_time(dataset["last_commit"]),
                    key=f"dataset:{name}",
                )
            table.border_title = f"{what}: datasets (Enter lists files)"
            return
        table.add_columns("key", "rows", "size", "time")
        for obj in data.get("objects", []):
            location = f"{tier}/{obj['key']}?versionId={obj['version_id']}"
            table.add_row(
                obj["key"],
                cell(obj.get("rows", "")),
                size(obj.get("bytes")),
                _short_time(obj.get("committed_at") or obj.get("last_modified")),
                key=f"object:{location}",
            )
        total = data.get("total", data.get("files", len(data.get("objects", []))))
        table.border_title = f"{what}: {total} objects (Enter previews)"

    @on(DataTable.RowSelected, "#objects")
    def _object_selected(self, event: DataTable.RowSelected) -> None:
        kind, _, value = str(event.row_key.value).partition(":")
        if kind == "dataset":
            self.load_objects(value)
        else:
            self.query_one("#preview-text", Static).update(f"reading {value.partition('?')[0]}…")
            self.load_preview(value)

    @work(thread=True, exit_on_error=False, group="lake-preview", exclusive=True)
    def load_preview(self, location: str) -> None:
        from nexuskit.lake.browse import inspect

        with self.reporting("preview"):
            data = inspect(self._lake(), location, PREVIEW_ROWS)
            self.ui(self.show_preview, data)

    def show_preview(self, data: dict[str, Any]) -> None:
        self.preview = data
        head = (
            f"s3://{data['bucket']}/{data['key']}\n{data['format']} · {size(data['bytes'])} · "
            f"{data.get('total_rows', 0)} rows"
        )
        text = self.query_one("#preview-text", Static)
        rows = self.query_one("#preview-rows", DataTable)
        rows.clear(columns=True)
        if data["format"] == "parquet":
            schema = ", ".join(f"{f['name']}:{f['type']}" for f in data["schema"])
            text.update(f"{head}\nschema: {schema}")
            if data["rows"]:
                rows.add_columns(*data["rows"][0].keys())
                for row in data["rows"]:
                    rows.add_row(*(cell(v) for v in row.values()))
            rows.display = True
            return
        rows.display = False
        if data["format"] == "json":
            body = json.dumps(data["document"], indent=1, default=str)
        else:
            body = "\n".join(json.dumps(row, default=str) for row in data["rows"])
        text.update(
            Syntax(
                f"{body}", "json", theme=self.nexus.syntax_theme, word_wrap=True, background_color="default"
            )
        )
        self.query_one("#preview-box").border_title = head.replace("\n", " · ")

    # -- promotion ------------------------------------------------------------------------
    def action_promote(self) -> None:
        if not self.allowed("promote"):
            return
        if self.promoting:
            self.notify("a promotion is already running", severity="warning")
            return

        def confirmed(answer: bool | None) -> None:
            if answer:
                self.run_promotion()

        self.app.push_screen(
            ConfirmScreen(
                "Promote bronze → silver → gold → vibranium now? Each step takes only what is new.",
                yes="Promote",
            ),
            confirmed,
        )

    @work(thread=True, exit_on_error=False, group="lake-promote")
    def run_promotion(self) -> None:
        from nexuskit.lake.tiers import promote

        self.promoting = True
        self.ui(self._promotion_event, {"job": "promotion", "phase": "start", "total": None})
        try:
            with self.reporting("promotion"):
                report = promote(
                    self._lake(), "vibranium", progress=lambda e: self.ui(self._promotion_event, e)
                )
                self.ui(self._promoted, report.as_dict())
        finally:
            self.promoting = False
            self.ui(self._promotion_finished)

    def _promotion_event(self, event: dict[str, Any]) -> None:
        box = self.query_one("#promotion")
        box.remove_class("-hidden")
        bar = self.query_one("#promotion-bar", ProgressBar)
        label = self.query_one("#promotion-label", Static)
        phase = event.get("phase")
        if phase in {"object", "partition"}:
            bar.update(total=event.get("total"), progress=event.get("done", 0))
        elif phase == "start":
            bar.update(total=event.get("total"), progress=0)
        elif phase == "done":
            bar.update(total=bar.total or 1, progress=bar.total or 1)
        state = f" [{event['state']}]" if "state" in event else ""
        label.update(f"{event.get('job')}: {phase}{state} ")

    def _promotion_finished(self) -> None:
        self.query_one("#promotion-label", Static).update("promotion finished ")

    def _promoted(self, report: dict[str, Any]) -> None:
        parts = []
        for step in report["steps"]:
            if step.get("skipped"):
                parts.append(f"{step['step']}: nothing new")
            else:
                rows = ", ".join(f"{k} {v}" for k, v in (step.get("rows") or {}).items())
                parts.append(f"{step['step']}: {rows or 'done'}")
        self.notify("\n".join(parts), title=f"promoted in {report['seconds']:.1f} s")
        self.load_tiers()

    # -- SQL and grants -------------------------------------------------------------------
    def action_show_tab(self, tab: str) -> None:
        self.query_one("#lake-tabs", TabbedContent).active = tab
        if tab == "grants":
            self.load_grants()
        elif tab == "sql":
            self.query_one("#sql-input", Input).focus()

    @on(TabbedContent.TabActivated, "#lake-tabs")
    def _tab(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "grants":
            self.load_grants()

    @on(Input.Submitted, "#sql-input")
    def _sql(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.query_one("#sql-status", Static).update("running…")
            self.run_sql(event.value.strip())

    @work(thread=True, exit_on_error=False, group="lake-sql", exclusive=True)
    def run_sql(self, sql: str) -> None:
        from nexuskit.lake.query import run_query

        with self.reporting("query"):
            result = run_query(self._lake(), sql, max_rows=1000)
            self.ui(self.show_result, result.as_dict())

    def show_result(self, result: dict[str, Any]) -> None:
        table = self.query_one("#sql-result", DataTable)
        table.clear(columns=True)
        table.add_columns(*(c["name"] if isinstance(c, dict) else str(c) for c in result["columns"]))
        for row in result["rows"]:
            table.add_row(*(cell(v) for v in (row.values() if isinstance(row, dict) else row)))
        note = " (truncated)" if result.get("truncated") else ""
        self.query_one("#sql-status", Static).update(
            f"{len(result['rows'])} rows in {result['seconds']:.2f} s{note}"
        )

    @work(thread=True, exit_on_error=False, group="lake-grants", exclusive=True)
    def load_grants(self) -> None:
        from nexuskit.lake.grants import grants_matrix

        with self.reporting("grants"):
            lake = self._lake()
            self.ui(self.show_grants, grants_matrix(lake.spec, lake.target, lake.account_id))

    def show_grants(self, data: dict[str, Any]) -> None:
        table = self.query_one("#grants-table", DataTable)
        table.clear(columns=True)
        tiers = list(data["principals"][0]["tiers"]) if data["principals"] else list(TIER_ORDER)
        table.add_columns("principal", *tiers, "datasets")
        for row in data["principals"]:
            extra = ", ".join(f"{k} {v}" for k, v in row["datasets"].items())
            table.add_row(row["name"], *(row["tiers"][t] for t in tiers), extra or "-", key=row["principal"])
        self.query_one("#grants-status", Static).update(
            f"Lake Formation grants (r read, w write) · governed: {', '.join(data.get('governed', []))}"
        )
