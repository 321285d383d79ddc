"""Logs: the engine, the runtime and every Deployment, merged or one at a time.

Follows with :class:`nexuskit.logs.LogFollower`; filters with ``compile_filter`` /
``matching``; saves with ``save`` — the functions behind ``nexuskit tail``.
"""

from __future__ import annotations

import re
import time
from collections import deque
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Input, RichLog, Select, Static

from nexuskit import logs
from nexuskit.errors import NexuskitError
from tui.actions import bindings_for
from tui.screens.base import NexusScreen
from tui.screens.prompt import PromptScreen

BUFFER_LINES = 5000
POLL_S = 0.25
ALL = "all"


class LogsScreen(NexusScreen):
    """A source picker, a ``/`` filter bar and the log view; new lines arrive every 250 ms."""

    AUTO_FOCUS = "#log"
    MODE = "logs"
    BINDINGS: ClassVar[list[BindingType]] = [
        *bindings_for("logs"),
        Binding("escape", "close_filter", "close filter", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.buffer: deque[logs.LogLine] = deque(maxlen=BUFFER_LINES)
        self._stale = False  # lines arrived while the screen was hidden
        self.follower: logs.LogFollower | None = None
        self.regex: re.Pattern[str] | None = None
        self.pattern = ""
        self.source = ALL
        self.follow = True
        self.timestamps = True

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="logs-bar"):
            yield Select([(ALL, ALL)], value=ALL, allow_blank=False, id="source", compact=True)
            yield Static("", id="logs-status", markup=False)
        yield Input(
            placeholder="/ regular expression (Enter applies, empty clears, esc closes)",
            id="filter",
            compact=True,
        )
        yield RichLog(
            id="log", max_lines=BUFFER_LINES, wrap=True, highlight=False, markup=False, auto_scroll=True
        )

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#filter", Input).display = False
        self.start_follower()
        # Lines are taken from the follower all the time (its queue must not grow), but
        # drawn only while the screen is shown; shown again, it redraws once.
        self.set_interval(POLL_S, self.poll)
        self.while_shown(POLL_S * 4, self._redraw_if_stale)
        self._update_status()

    def on_unmount(self) -> None:
        if self.follower is not None:
            self.follower.close()
            self.follower = None

    @work(thread=True, exit_on_error=False, group="logs-start")
    def start_follower(self) -> None:
        with self.reporting("follow logs"):
            follower = logs.LogFollower(self.nexus.settings, backlog=100).start()
            self.ui(self._started, follower)

    def _started(self, follower: logs.LogFollower) -> None:
        if not self.is_attached:
            follower.close()
            return
        self.follower = follower
        select = self.query_one("#source", Select)
        select.set_options([(ALL, ALL), *((s, s) for s in follower.sources)])
        select.value = self.source if self.source in follower.sources else ALL

    # -- lines ----------------------------------------------------------------------------
    def poll(self) -> None:
        if self.follower is None:
            return
        fresh = self.follower.poll()
        if not fresh:
            return
        self.buffer.extend(fresh)
        if self._suspended:
            self._stale = True
            return
        view = self.query_one("#log", RichLog)
        for line in self._visible(fresh):
            view.write(self._line_text(line))
        self._update_status()

    def _visible(self, lines: Any) -> list[logs.LogLine]:
        chosen = [line for line in lines if self.source in (ALL, line.source)]
        return logs.matching(chosen, self.regex)

    def _line_text(self, line: logs.LogLine) -> Text:
        text = Text(line.render(self.timestamps))
        source_at = text.plain.find(line.short_source)
        if source_at >= 0:
            text.stylize("bold cyan", source_at, source_at + len(line.short_source))
        if self.timestamps:
            text.stylize("dim", 0, 8)
        if self.regex is not None:
            text.highlight_regex(self.regex, style="bold black on yellow")
        return text

    def _redraw_if_stale(self) -> None:
        if self._stale:
            self._stale = False
            self.redraw()

    def redraw(self) -> None:
        view = self.query_one("#log", RichLog)
        view.clear()
        for line in self._visible(self.buffer):
            view.write(self._line_text(line))
        self._update_status()

    def _update_status(self) -> None:
        shown = len(self._visible(self.buffer)) if self.regex or self.source != ALL else len(self.buffer)
        parts = [
            f"follow {'on' if self.follow else 'off'} (f)",
            f"time {'on' if self.timestamps else 'off'} (t)",
        ]
        if self.pattern:
            parts.append(f"filter /{self.pattern}/")
        parts.append(f"{shown} of {len(self.buffer)} lines")
        self.query_one("#logs-status", Static).update(" · ".join(parts))

    @property
    def visible_lines(self) -> list[logs.LogLine]:
        return self._visible(self.buffer)

    # -- actions --------------------------------------------------------------------------
    @on(Select.Changed, "#source")
    def _source_changed(self, event: Select.Changed) -> None:
        self.source = str(event.value)
        self.redraw()

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.value = self.pattern
        box.focus()

    def action_close_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if box.display:
            box.display = False
            self.query_one("#log", RichLog).focus()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.apply_filter(event.value)

    def apply_filter(self, pattern: str) -> None:
        try:
            regex = logs.compile_filter(pattern)
        except NexuskitError as exc:
            self.notify(exc.message, title="filter", severity="error")
            return
        self.regex = regex
        self.pattern = pattern
        box = self.query_one("#filter", Input)
        box.display = bool(pattern)
        if not pattern:
            self.query_one("#log", RichLog).focus()
        self.redraw()

    def action_toggle_follow(self) -> None:
        self.follow = not self.follow
        view = self.query_one("#log", RichLog)
        view.auto_scroll = self.follow
        if self.follow:
            view.scroll_end(animate=False)
        self._update_status()

    def action_toggle_timestamps(self) -> None:
        self.timestamps = not self.timestamps
        self.redraw()

    def action_clear(self) -> None:
        self.buffer.clear()
        self.redraw()

    def action_save(self) -> None:
        default = self.nexus.settings.resolved_state_dir() / "logs" / time.strftime("tui-%Y%m%d-%H%M%S.log")

        def answered(value: str | None) -> None:
            if value:
                self.save_to(value)

        self.app.push_screen(
            PromptScreen(
                "Save the lines shown to:", str(default), ok="Save", cursor_blink=self.nexus.cursor_blink
            ),
            answered,
        )

    @work(thread=True, exit_on_error=False, group="logs-save")
    def save_to(self, path: str) -> None:
        from pathlib import Path

        with self.reporting("save logs"):
            result = logs.save(self.visible_lines, Path(path), timestamps=self.timestamps)
            self.ui(self.notify, f"{result['lines']} lines written to {result['path']}", title="saved")
