"""nexus-ui in headless Chromium against a real stack: sign in, map, workflow, lake, health.

Skips, saying why, when /usr/bin/chromium is absent or playwright-core cannot be installed.
Screenshots of each view go to the test's tmp folder (printed).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import Stack
from tests.ui.browser_support import browser_unavailable, drive
from tests.ui.conftest import put_telemetry

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def browser_ready() -> None:
    reason = browser_unavailable()
    if reason:
        pytest.skip(reason)


def test_operator_walks_every_view(browser_ready: None, ui_stack: Stack, ui_url: str, tmp_path: Path) -> None:
    """Sign in, see points on the map, run lake-inventory, see the four tiers, sign out."""
    put_telemetry(ui_stack, "dev-browser", 51.5, -0.1)
    out = drive(ui_url, tmp_path, "views")
    print(f"screenshots in {tmp_path}")
    assert out["errors"] == [], out["errors"]
    assert out["map_points"] > 0
    assert out["token_in_storage"] == 0
    assert "succeeded" in out["run_heading"]
    assert set(out["tiers"]) == {"bronze", "silver", "gold", "vibranium"}
    assert out["signed_out"]
    for view in ("map", "workflows", "lake", "health"):
        assert (tmp_path / f"{view}.png").stat().st_size > 0
