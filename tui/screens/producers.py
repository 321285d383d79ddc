"""Producers: start several synthetic producers, watch them live, prove delivery.

Goes through :class:`nexuskit.producers.child.ProducerChildren` (each run is a producer
child process, which runs as ``nexuskit produce --progress jsonl`` does; the screen only
shows its counters); the templates come from :func:`nexuskit.producers.list_templates`
(``nexuskit produce templates``), the bronze count from
:func:`nexuskit.lake.browse.tier_summary` (``nexuskit lake stats``).
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Input, Label, Select, Static

from nexuskit import overview
from nexuskit.producers.child import FINISHED, ChildRequest, ProducerChildren
from tui.actions import bindings_for
from tui.screens.base import NexusScreen
from tui.widgets import ProducerPanel

TICK_S = 1.0
#: count bronze every Nth tick, while a run goes and for a while after (Firehose buffers)
BRONZE_EVERY = 3
BRONZE_AFTER_S = 60.0


class ProducersScreen(NexusScreen):
    """Form → one ProducerPanel per run (counters, sparklines, proof); the bronze count on top."""

    AUTO_FOCUS = "#runs"
    MODE = "producers"
    BINDINGS: ClassVar[list[BindingType]] = bindings_for("producers")

    def __init__(self) -> None:
        super().__init__()
        self.backend: ProducerChildren | None = None  # on mount (needs the app's settings)
        self.bronze: dict[str, Any] = {}
        self.lake: Any = None
        self.runs: dict[str, Any] = {}
        self.proved: set[str] = set()
        self._tick_count = 0
        self._bronze_until = 0.0

    def compose_body(self) -> ComposeResult:
        with Horizontal(classes="form-row"):
            yield Select(
                [("client", "client"), ("internal", "internal")],
                value="client",
                allow_blank=False,
                id="channel",
                compact=True,
            )
            yield Select(
                [(t, t) for t in ("telemetry", "event", "sensor")],
                value="telemetry",
                allow_blank=False,
                id="template",
                compact=True,
            )
            yield Select(
                [(m, m) for m in ("constant", "periodic", "burst")],
                value="constant",
                allow_blank=False,
                id="mode",
                compact=True,
            )
        with Horizontal(classes="form-row"):
            yield Label("rate/s ")
            yield Input("100", id="rate", compact=True, restrict=r"[0-9.]*")
            yield Label(" secs ")
            yield Input("30", id="duration", compact=True, restrict=r"[0-9.]*")
            yield Label(" seed ")
            yield Input("", id="seed", compact=True, restrict=r"[0-9]*", placeholder="-")
            yield Label(" anomaly ")
            yield Input("0", id="anomaly", compact=True, restrict=r"[0-9.]*")
            yield Button("Start ^s", id="start", variant="primary", compact=True)
        yield Static("bronze: …", id="bronze-count", markup=False)
        yield VerticalScroll(id="runs")

    def on_mount(self) -> None:
        super().on_mount()
        self.backend = ProducerChildren(self.nexus.settings)
        self.load_templates()
        self.set_interval(TICK_S, self.tick)
        self.count_bronze()

    @work(thread=True, exit_on_error=False, group="producers-templates")
    def load_templates(self) -> None:
        from nexuskit.producers import list_templates

        with self.reporting("templates"):
            self.ui(self._show_templates, [str(t["name"]) for t in list_templates()])

    def on_unmount(self) -> None:
        if self.backend is not None:
            self.backend.stop_all()

    def _show_templates(self, names: list[str]) -> None:
        self.query_one("#template", Select).set_options([(n, n) for n in names])

    # -- start / stop ---------------------------------------------------------------------
    def _form_options(self) -> ChildRequest | None:
        def number(widget: str, default: float | None) -> float | None:
            text = self.query_one(widget, Input).value.strip()
            return float(text) if text else default

        try:
            seed = number("#seed", None)
            return ChildRequest(
                channel=str(self.query_one("#channel", Select).value),
                template=str(self.query_one("#template", Select).value),
                rate=number("#rate", 100.0) or 100.0,
                mode=str(self.query_one("#mode", Select).value),
                duration_s=number("#duration", None),
                seed=int(seed) if seed is not None else None,
                anomaly_rate=number("#anomaly", 0.0) or 0.0,
            )
        except ValueError as exc:
            self.notify(f"the form has a bad number: {exc}", severity="error")
            return None

    @on(Button.Pressed, "#start")
    def _start_pressed(self) -> None:
        self.action_start_producer()

    def action_start_producer(self) -> None:
        if not self.allowed("start_producer"):
            return
        options = self._form_options()
        if options is not None:
            self.start_run(options)

    @work(thread=True, exit_on_error=False, group="producers-start")
    def start_run(self, options: ChildRequest) -> None:
        assert self.backend is not None
        with self.reporting("start producer"):
            run = self.backend.start(options)
            self.ui(self._add_run, run, options)

    def _add_run(self, run: Any, options: ChildRequest) -> None:
        run_id = str(run.run_id)
        self.runs[run_id] = run
        self.query_one("#runs", VerticalScroll).mount(ProducerPanel(run_id, f"{run_id} · {options.title}"))

    def _selected_panel(self) -> ProducerPanel | None:
        if self.focused is not None:
            for node in self.focused.ancestors_with_self:
                if isinstance(node, ProducerPanel):
                    return node
        panels = list(self.query(ProducerPanel))
        running = [p for p in panels if p.counters.get("state", "running") == "running"]
        candidates = running or panels
        return candidates[-1] if candidates else None

    def action_stop_producer(self) -> None:
        if not self.allowed("stop_producer"):
            return
        panel = self._selected_panel()
        if panel is None:
            self.notify("no producer is running", severity="warning")
            return
        self.stop_run(panel.run_id)

    def action_stop_all(self) -> None:
        if not self.allowed("stop_all"):
            return
        for run_id in list(self.runs):
            self.stop_run(run_id)

    @on(ProducerPanel.StopRequested)
    def _stop_requested(self, event: ProducerPanel.StopRequested) -> None:
        if self.allowed("stop_producer"):
            self.stop_run(event.run_id)

    @work(thread=True, exit_on_error=False, group="producers-stop")
    def stop_run(self, run_id: str) -> None:
        with self.reporting(f"stop {run_id}"):
            self.runs[run_id].stop()

    # -- live -----------------------------------------------------------------------------
    def tick(self) -> None:
        self._tick_count += 1
        now = time.monotonic()
        for run_id, run in self.runs.items():
            try:
                counters = dict(run.counters())
            except Exception as exc:
                self.fail(f"counters of {run_id}", exc)
                continue
            panel = self.query_one(f"#producer-{run_id}", ProducerPanel)
            panel.update_counters(counters)
            if counters.get("state") not in FINISHED:
                self._bronze_until = now + BRONZE_AFTER_S
            elif run_id not in self.proved:
                self.proved.add(run_id)
                if counters.get("error"):
                    self.notify(str(counters["error"]), title=f"producer {run_id}", severity="error")
                if counters.get("proof_ready"):
                    self.prove(run_id)
        if now < self._bronze_until and self._tick_count % BRONZE_EVERY == 0 and self.is_current:
            self.count_bronze()

    def action_proof(self) -> None:
        panel = self._selected_panel()
        if panel is None:
            self.notify("no producer run yet", severity="warning")
            return
        self.prove(panel.run_id)

    @on(ProducerPanel.ProofRequested)
    def _proof_requested(self, event: ProducerPanel.ProofRequested) -> None:
        self.prove(event.run_id)

    @work(thread=True, exit_on_error=False, group="producers-proof")
    def prove(self, run_id: str) -> None:
        assert self.backend is not None
        with self.reporting(f"delivery proof of {run_id}"):
            proof = self.backend.proof(run_id)
            self.ui(self.query_one(f"#producer-{run_id}", ProducerPanel).show_proof, proof)

    @work(thread=True, exit_on_error=False, group="producers-bronze", exclusive=True)
    def count_bronze(self) -> None:
        from nexuskit.lake.browse import tier_summary

        with self.reporting("bronze count"):
            if self.lake is None:  # one Lake (and its boto3 clients) for the screen's life
                self.lake = overview.open_lake(self.nexus.settings)
            summary = tier_summary(self.lake, "bronze")
            self.ui(self._show_bronze, summary)

    def _show_bronze(self, summary: dict[str, Any]) -> None:
        self.bronze = summary
        self.query_one("#bronze-count", Static).update(
            f"bronze: {summary.get('objects', 0)} objects · {summary.get('pending') or 0} not yet promoted",
            layout=False,
        )
