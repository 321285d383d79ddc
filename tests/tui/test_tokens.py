"""Tokens screen: issue, claims, clamp, countdown, masked and revealed secrets, export, history."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from tests.tui.conftest import notifications, wait_for
from tui.app import NexusApp
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
        assert history.get_row_at(0)[1] == "alice"  # newest first


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


def _history_file(tui_stack: Any) -> Path:
    return Path(tui_stack.state_dir) / "tui" / "token-history.json"


async def _issue(pilot: Pilot[Any], app: NexusApp, user: str) -> Any:
    screen = app.screen
    screen.query_one("#user", Input).value = user
    await pilot.press("ctrl+s")
    return await wait_for(
        pilot,
        lambda: screen.current if screen.current and screen.current.user == user else None,  # type: ignore[attr-defined]
        what=f"a token for {user}",
    )


@pytest.mark.asyncio
async def test_history_outlives_the_session_without_its_secrets(make_app, tui_stack) -> None:  # type: ignore[no-untyped-def]
    """A token issued in one session is listed in the next; Enter shows its claims; no secret was kept."""
    first = make_app(start="tokens")
    async with first.run_test(size=(160, 48)) as pilot:
        token = await _issue(pilot, first, "dora")
        await wait_for(pilot, lambda: token.jti in _history_file(tui_stack).read_text(), what="history saved")
    kept = _history_file(tui_stack).read_text()
    for secret in (
        token.payload["token"],
        token.payload["credentials"]["SecretAccessKey"],
        token.payload["credentials"]["SessionToken"],
    ):
        assert secret not in kept

    second = make_app(start="tokens")
    async with second.run_test(size=(160, 48), notifications=True) as pilot:
        screen = second.screen
        history = screen.query_one("#history", DataTable)
        await wait_for(pilot, lambda: history.row_count, what="the history")
        _issued, user, _asked, granted, _expires, session, _jti = history.get_row_at(0)
        assert (user, granted, session) == ("dora", f"{token.granted} min", token.claims["sid"])
        history.focus()
        await pilot.press("enter")
        await pilot.pause()
        status = str(screen.query_one("#token-status", Static).render())
        assert "token for dora from an earlier session" in status and "were not kept" in status
        claims = screen.query_one("#claims", Static).content.code
        assert '"sub": "dora"' in claims and token.jti in claims
        await pilot.press("v")  # nothing to reveal
        await pilot.pause()
        assert any("its secrets were not kept" in n for n in notifications(second))
        assert token.payload["credentials"]["SecretAccessKey"] not in str(
            screen.query_one("#exports", Static).render()
        )


@pytest.mark.asyncio
async def test_a_corrupt_history_is_moved_aside_and_said(make_app, tui_stack) -> None:  # type: ignore[no-untyped-def]
    """A history file that is not JSON: a notification says where it went; the file is kept; tokens go on."""
    path = _history_file(tui_stack)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json")
    app = make_app(start="tokens")
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        message = await wait_for(
            pilot,
            lambda: next((n for n in notifications(app) if "token history" in n), None),
            what="a notification",
        )
        assert "is not readable" in message and "moved to" in message
        aside = [p for p in path.parent.glob("token-history.corrupt-*.json") if p.read_text() == "{not json"]
        assert len(aside) == 1 and aside[0].name in message
        assert app.screen.query_one("#history", DataTable).row_count == 0
        token = await _issue(pilot, app, "erin")
        await wait_for(pilot, path.exists, what="a new history")
        await wait_for(pilot, lambda: token.jti in path.read_text(), what="the token kept")
    assert [t["user"] for t in json.loads(path.read_text())["tokens"]] == ["erin"]


@pytest.mark.asyncio
async def test_history_keeps_the_newest_fifty(make_app, tui_stack) -> None:  # type: ignore[no-untyped-def]
    """With 50 tokens kept, a new one pushes the oldest out (file and table)."""
    path = _history_file(tui_stack)
    path.parent.mkdir(parents=True, exist_ok=True)
    now = time.time()
    old = [
        {
            "user": f"old-{n}",
            "issued_at": now - 86400 - n * 60,
            "expires_at": now - 86400 - n * 60 + 1800,
            "asked_minutes": None,
            "granted_minutes": 30,
            "subject": f"old-{n}",
            "token_id": f"{n:032x}",
            "session_name": f"old-{n}.{n:08x}",
            "issuer": "urn:test",
            "audience": "urn:test",
        }
        for n in range(50)
    ]
    path.write_text(json.dumps({"version": 1, "tokens": old}))
    app = make_app(start="tokens")
    async with app.run_test(size=(160, 48)) as pilot:
        history = app.screen.query_one("#history", DataTable)
        await wait_for(pilot, lambda: history.row_count == 50, what="50 kept tokens")
        token = await _issue(pilot, app, "fay")
        await wait_for(pilot, lambda: token.jti in path.read_text(), what="the token kept")
        assert history.row_count == 50
        assert history.get_row_at(0)[1] == "fay" and history.get_row_at(49)[1] == "old-48"
    users = [t["user"] for t in json.loads(path.read_text())["tokens"]]
    assert len(users) == 50 and users[0] == "fay" and "old-49" not in users
