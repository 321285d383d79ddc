"""What every screen of the dashboard shares: the screen bar, the footer, the read-only
guard, and running core functions in workers with errors turned into notifications."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual._context import NoActiveAppError
from textual.app import ComposeResult
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, TextArea

from nexuskit.errors import NexuskitError
from tui.actions import find
from tui.widgets import ScreenTabs

if TYPE_CHECKING:
    from tui.app import NexusApp

log = logging.getLogger(__name__)


class NexusScreen(Screen[None]):
    """Base of the six screens; a subclass sets ``MODE`` and writes ``compose_body``."""

    MODE: ClassVar[str] = ""

    def __init__(self) -> None:
        super().__init__()
        self._while_shown: list[tuple[Timer, Callable[[], Any]]] = []
        self._suspended = False

    @property
    def nexus(self) -> NexusApp:
        return cast("NexusApp", self.app)

    def compose(self) -> ComposeResult:
        yield ScreenTabs(self.MODE, note="READ-ONLY" if self.nexus.read_only else "")
        yield from self.compose_body()
        yield Footer(compact=True)

    def compose_body(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        if not self.nexus.cursor_blink:
            for widget in self.query(Input):
                widget.cursor_blink = False
            for area in self.query(TextArea):
                area.cursor_blink = False

    # -- timers that run only while the screen is shown ---------------------------------------
    def while_shown(self, seconds: float, callback: Callable[[], Any]) -> Timer:
        """Call ``callback`` every ``seconds`` while this screen is the one shown.

        A screen hidden behind another (or behind a dialog) does no background work, so it
        takes nothing from the screen in front; shown again, it calls ``callback`` at once.
        """
        timer = self.set_interval(seconds, callback)
        self._while_shown.append((timer, callback))
        if self._suspended:
            timer.pause()
        return timer

    def on_screen_suspend(self) -> None:
        self._suspended = True
        for timer, _ in self._while_shown:
            timer.pause()

    def on_screen_resume(self) -> None:
        if not self._suspended:
            return
        self._suspended = False
        for timer, callback in self._while_shown:
            timer.resume()
            callback()

    # -- read-only ------------------------------------------------------------------------
    def allowed(self, name: str) -> bool:
        """False (and a notification saying so) for a state-changing action in read-only mode."""
        action = find(self.MODE, name)
        if action is not None and action.mutates and self.nexus.read_only:
            self.notify(
                f"{action.title} is disabled: the dashboard runs read-only (--read-only)",
                title="read-only",
                severity="warning",
            )
            return False
        return True

    # -- workers --------------------------------------------------------------------------
    def ui(self, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run ``callback`` on the UI thread (from a worker thread or from the UI itself).

        An exception in ``callback`` becomes an error notification, not a crash.
        """

        def guarded() -> None:
            try:
                callback(*args, **kwargs)
            except Exception as exc:
                if callback == self.notify:
                    raise
                self.fail("update the screen", exc)

        try:
            app = self.app
        except NoActiveAppError:  # the app has exited
            return
        if not app.is_running:
            return
        if threading.get_ident() == app._thread_id:
            guarded()
            return
        try:
            app.call_from_thread(guarded)
        except RuntimeError:  # the app is closing
            log.debug("dropped a UI update: the app is not running")

    def fail(self, what: str, exc: BaseException) -> None:
        """Tell the user (one line, never a traceback) that ``what`` failed."""
        if isinstance(exc, NexuskitError):
            message = exc.message + (f"\nhint: {exc.hint}" if exc.hint else "")
        else:
            log.exception("%s failed", what)
            message = f"{type(exc).__name__}: {exc}"
        self.ui(self.notify, message, title=f"{what} failed", severity="error", timeout=8)

    @contextmanager
    def reporting(self, what: str) -> Iterator[None]:
        """Inside a worker: any exception becomes an error notification about ``what``."""
        try:
            yield
        except Exception as exc:
            self.fail(what, exc)
