"""Tokens screen: issue, claims, clamp, countdown, masked and revealed secrets, export, history."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Input, Static

from tests.tui.conftest import wait_for
from tui.widgets import ExpiryCountdown

pytestmark = pytest.mark.e2e


@pytest.mark.asyncio
async def test_issue_a_token_and_see_its_claims(make_app) -> None:  # type: ignore[no-untyped-def]
    """User alice with TTL 90: claims name alice, 60 min granted (clamped), countdown runs."""
    app = make_app(start="tokens")
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        screen = app.screen
        screen.query_one("#user", Input).value = "alice"
        screen.query_one("#ttl", Input).value = "90"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen.current is not None, what="a token")  # type: ignore[attr-defined]
        token = screen.current  # type: ignore[attr-defined]
        assert token.claims["sub"] == "alice"
        assert token.granted == 60
        status = str(screen.query_one("#token-status", Static).render())
        assert "granted 60 min (clamped to 15-60)" in status and "signature valid" in status
        claims = screen.query_one("#claims", Static).content.code  # a Syntax of the JSON
        assert '"sub": "alice"' in claims and '"aud"' in claims
        countdown = screen.query_one("#countdown", ExpiryCountdown)
        assert 59 * 60 < (countdown.seconds_left or 0) <= 60 * 60
        assert "left" in str(countdown.render())
        history = screen.query_one("#history", DataTable)
        assert history.row_count == 1


@pytest.mark.asyncio
async def test_secrets_masked_until_revealed_and_copied(make_app) -> None:  # type: ignore[no-untyped-def]
    """The secret key is masked; `v` reveals it; `c` copies the export lines (OSC 52)."""
    app = make_app(start="tokens")
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        screen = app.screen
        screen.query_one("#user", Input).value = "bob"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen.current is not None, what="a token")  # type: ignore[attr-defined]
        secret = screen.current.payload["credentials"]["SecretAccessKey"]  # type: ignore[attr-defined]
        exports = screen.query_one("#exports", Static)
        assert secret not in str(exports.render())
        screen.query_one("#history", DataTable).focus()
        await pilot.press("v")
        await pilot.pause()
        assert secret in str(exports.render())
        await pilot.press("c")
        await pilot.pause()
        assert f"export AWS_SECRET_ACCESS_KEY={secret}" in app.clipboard
        assert "export NEXUS_BEARER_TOKEN=" in app.clipboard
