"""Time left until an instant (a token's expiry), redrawn every second."""

from __future__ import annotations

from collections.abc import Callable

from textual.reactive import reactive
from textual.widgets import Static


def _left(seconds: float) -> str:
    if seconds <= 0:
        return "expired"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes:02d}:{secs:02d} left"


class ExpiryCountdown(Static):
    """``mm:ss left`` (warning under 5 minutes, error once expired)."""

    DEFAULT_CSS = """
    ExpiryCountdown { width: auto; height: 1; text-style: bold; color: $success; }
    ExpiryCountdown.-soon { color: $warning; }
    ExpiryCountdown.-expired { color: $error; }
    """

    expires_at: reactive[float | None] = reactive(None)

    def __init__(self, clock: Callable[[], float], *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.clock = clock

    def on_mount(self) -> None:
        self.set_interval(1.0, self.tick)

    def watch_expires_at(self) -> None:
        self.tick()

    def tick(self) -> None:
        if self.expires_at is None:
            self.update("no token")
            self.set_class(False, "-soon", "-expired")
            return
        left = self.expires_at - self.clock()
        self.update(_left(left))
        self.set_class(0 < left < 300, "-soon")
        self.set_class(left <= 0, "-expired")

    @property
    def seconds_left(self) -> float | None:
        return None if self.expires_at is None else self.expires_at - self.clock()
