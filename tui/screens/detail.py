"""Drill-down: one resource's or Deployment's configuration and recent activity."""

from __future__ import annotations

import json
from typing import Any

from rich.syntax import Syntax
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def _activity(detail: dict[str, Any]) -> str:
    lines: list[str] = []
    for pod in detail.get("pods", []):
        last = pod.get("last_exit") or {}
        exit_text = f", last exit {last.get('reason')} ({last.get('exit_code')})" if last else ""
        lines.append(
            f"pod {pod['name']}: {pod['phase']}, ready {pod['ready']}, restarts {pod['restarts']}, "
            f"port {pod.get('port')}, pid {pod.get('pid')}{exit_text}"
        )
    for event in detail.get("events", []):
        lines.append(f"event {event['type']} {event['reason']}: {event['message']} (x{event['count']})")
    lines.extend(f"log {line}" for line in detail.get("logs", []))
    return "\n".join(lines) or "no recent activity"


class DetailScreen(ModalScreen[None]):
    """A modal with the configuration (JSON) and the recent activity; ``escape`` closes."""

    BINDINGS = [Binding("escape,q,enter", "close", "Close", key_display="esc")]

    def __init__(self, detail: dict[str, Any], theme: str = "ansi_dark") -> None:
        super().__init__()
        self.detail = detail
        self.syntax_theme = theme

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="detail-box") as box:
            box.border_title = f"{self.detail.get('kind', '')} {self.detail.get('name', '')}"
            box.border_subtitle = "esc closes"
            config = json.dumps(self.detail.get("configuration", {}), indent=2, default=str)
            yield Static("[b]configuration[/]", classes="section")
            yield Static(Syntax(config, "json", theme=self.syntax_theme, word_wrap=True), id="detail-config")
            yield Static("[b]recent activity[/]", classes="section")
            yield Static(_activity(self.detail), id="detail-activity", markup=False)

    def action_close(self) -> None:
        self.dismiss(None)
