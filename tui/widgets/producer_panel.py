"""One producer run: its counters and sparklines of sent/throttled/failed per second."""

from __future__ import annotations

from collections import deque
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Label, Sparkline, Static

SERIES = ("sent", "throttled", "failed")
WINDOW = 60


class ProducerPanel(Vertical):
    """A producer run's live view; posts :class:`StopRequested` and :class:`ProofRequested`."""

    DEFAULT_CSS = """
    ProducerPanel {
        height: auto;
        border: round $primary;
        padding: 0 1;
        margin-bottom: 1;
    }
    ProducerPanel.-done { border: round $success; }
    ProducerPanel.-failed { border: round $error; }
    ProducerPanel > .producer-head { height: 1; }
    ProducerPanel .producer-title { width: 1fr; text-style: bold; }
    ProducerPanel .producer-counters { width: 1fr; height: 1; }
    ProducerPanel Horizontal.series { height: 1; }
    ProducerPanel Horizontal.series Label { width: 12; }
    ProducerPanel Sparkline { width: 1fr; height: 1; }
    ProducerPanel #sparkline-throttled > .sparkline--max-color { color: $warning; }
    ProducerPanel #sparkline-failed > .sparkline--max-color { color: $error; }
    ProducerPanel .producer-proof { height: auto; color: $success; }
    ProducerPanel .producer-error { height: auto; color: $error; }
    ProducerPanel .producer-error.-empty { display: none; }
    ProducerPanel Button { min-width: 8; height: 1; border: none; margin-left: 1; }
    """

    class StopRequested(Message):
        """The user asked to stop this run."""

        def __init__(self, panel: ProducerPanel) -> None:
            super().__init__()
            self.panel = panel
            self.run_id = panel.run_id

    class ProofRequested(Message):
        """The user asked for this run's delivery proof."""

        def __init__(self, panel: ProducerPanel) -> None:
            super().__init__()
            self.panel = panel
            self.run_id = panel.run_id

    def __init__(self, run_id: str, title: str) -> None:
        super().__init__(id=f"producer-{run_id}")
        self.run_id = run_id
        self.panel_title = title
        self.history: dict[str, deque[float]] = {
            name: deque([0.0] * WINDOW, maxlen=WINDOW) for name in SERIES
        }
        self._last: dict[str, float] = {}
        self._shown: dict[str, str] = {}
        self.counters: dict[str, Any] = {}

    def compose(self) -> ComposeResult:
        with Horizontal(classes="producer-head"):
            yield Static(self.panel_title, classes="producer-title", markup=False)
            yield Button("stop", id="stop", variant="warning", compact=True)
            yield Button("proof", id="proof", compact=True)
        yield Static("starting…", classes="producer-counters", id="counters", markup=False)
        for name in SERIES:
            with Horizontal(classes="series"):
                yield Label(f"{name}/s", id=f"label-{name}")
                yield Sparkline(list(self.history[name]), id=f"sparkline-{name}")
        yield Static("", classes="producer-error -empty", id="error-text", markup=False)
        yield Static("", classes="producer-proof", id="proof-text", markup=False)

    def on_mount(self) -> None:
        if self.counters:
            self._show_counters()

    def update_counters(self, counters: dict[str, Any]) -> None:
        """New totals: the per-second series grow by the difference since the last update."""
        self.counters = dict(counters)
        for name in SERIES:
            total = float(counters.get(name) or 0)
            self.history[name].append(max(0.0, total - self._last.get(name, 0.0)))
            self._last[name] = total
        if self.is_mounted:  # else on_mount shows them
            self._show_counters()

    def _text(self, selector: str, text: str, layout: bool = False) -> Static:
        """Show ``text`` in ``selector``: no redraw when it says that already, and no new
        layout of the screen unless ``layout`` (the one-line fields keep their size)."""
        widget = self.query_one(selector, Static)
        if self._shown.get(selector) != text:
            self._shown[selector] = text
            widget.update(text, layout=layout)
        return widget

    def _show_counters(self) -> None:
        counters = self.counters
        for name in SERIES:
            self.query_one(f"#sparkline-{name}", Sparkline).data = list(self.history[name])
            self._text(f"#label-{name}", f"{name} {int(self.history[name][-1])}/s")
        state = counters.get("state", "running")
        rate = counters.get("rate")
        parts = [
            f"{state}",
            f"sent {counters.get('sent', 0)}",
            f"throttled {counters.get('throttled', 0)}",
            f"retried {counters.get('retried', 0)}",
            f"failed {counters.get('failed', 0)}",
        ]
        if rate is not None:
            parts.append(f"{float(rate):.0f}/s")
        self._text("#counters", " · ".join(parts))
        error = counters.get("error")
        self._text("#error-text", f"error: {error}" if error else "", layout=True).set_class(
            not error, "-empty"
        )
        self.set_class(state in {"done", "stopped"}, "-done")
        self.set_class(state == "failed", "-failed")

    def show_proof(self, proof: dict[str, Any]) -> None:
        text = (
            f"delivery proof: sent {proof.get('sent')} · delivered {proof.get('delivered')} · "
            f"missing {proof.get('missing')} · duplicated {proof.get('duplicated')}"
        )
        self.query_one("#proof-text", Static).update(text)

    @on(Button.Pressed, "#stop")
    def _on_stop_button(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.StopRequested(self))

    @on(Button.Pressed, "#proof")
    def _on_proof_button(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.ProofRequested(self))
