"""The dashboard against a real embedded stack, driven with Pilot.

``tui_stack`` is one ``nexuskit up --local`` for the whole session (``start_stack`` of
the end-to-end tests); ``make_app`` builds the App on it with the cursor blink off.
``snap_compare`` takes an SVG screenshot and compares it with
``__snapshots__/<test file>/<test>.svg`` (``--snapshot-update`` writes it): the fixture
of pytest-textual-snapshot, rebuilt on syrupy 7 because that plugin pins syrupy 4.8,
which pins pytest < 9.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode
from textual.pilot import Pilot

from nexuskit.config import KitSettings
from tests.e2e.conftest import Stack, nexuskit, start_stack
from tui.app import NexusApp

FROZEN_NOW = 1_795_600_000.0  # 2026-11-25, the clock of every snapshot


@pytest.fixture(scope="session")
def tui_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One real stack (engine + control plane) shared by the dashboard tests."""
    running = None
    for attempt in range(3):  # a random engine port can collide with a Service port (+100)
        state_dir = tmp_path_factory.mktemp("tui-stack")
        try:
            running = start_stack(state_dir)
            break
        except AssertionError:
            nexuskit("down", "--state-dir", str(state_dir))
            if attempt == 2:
                raise
    assert running is not None
    yield running
    nexuskit("down", *running.args)


@pytest.fixture
def make_app(tui_stack: Stack) -> Callable[..., NexusApp]:
    """``make_app(read_only=True, start="logs")``: the dashboard on the session's stack."""

    def build(**options: Any) -> NexusApp:
        options.setdefault("cursor_blink", False)
        options.setdefault("refresh_s", 1.0)
        return NexusApp(tui_stack.settings, **options)

    return build


async def wait_for(
    pilot: Pilot[Any], condition: Callable[[], Any], timeout: float = 20.0, what: str = "condition"
) -> Any:
    """Let the app run until ``condition()`` is truthy (its value), or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        await pilot.pause(0.1)
    shown = "; ".join(notifications(pilot.app)) or "none"
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (notifications: {shown})")


def notifications(app: NexusApp) -> list[str]:
    return [f"{n.title}: {n.message}" for n in app._notifications]


# -- snapshots ----------------------------------------------------------------------------
def normalize_svg(svg: str) -> str:
    """Strip the random id rich puts in every SVG export."""
    return re.sub(r"\bterminal-\d+-([\w-]+)", r"terminal-\1", svg)


class SVGImageExtension(SingleFileSnapshotExtension):
    file_extension = "svg"
    _write_mode = WriteMode.TEXT

    def read_snapshot_data_from_location(self, *args: Any, **kwargs: Any) -> Any:
        data = super().read_snapshot_data_from_location(*args, **kwargs)
        return normalize_svg(data) if isinstance(data, str) else data

    def serialize(self, data: Any, **kwargs: Any) -> Any:
        return normalize_svg(str(super().serialize(data, **kwargs)))


@pytest.fixture
def snap_compare(snapshot: SnapshotAssertion) -> Callable[..., bool]:
    """``snap_compare(app, press=(), terminal_size=(80, 24), run_before=None)`` -> matches?"""
    svg_snapshot = snapshot.use_extension(SVGImageExtension)

    def compare(
        app: NexusApp,
        press: Iterable[str] = (),
        terminal_size: tuple[int, int] = (80, 24),
        run_before: Callable[[Pilot[Any]], Awaitable[None] | None] | None = None,
    ) -> bool:
        from textual._doc import take_svg_screenshot

        screenshot = take_svg_screenshot(
            app=app, press=press, terminal_size=terminal_size, run_before=run_before
        )
        return bool(svg_snapshot == screenshot)

    return compare


@pytest.fixture
def offline_settings() -> KitSettings:
    """A stack that is not running, at a fixed port and path (deterministic screens)."""
    return KitSettings(port=9, state_dir=Path("/nonexistent/nexuskit-snapshot"))
