"""``nexuskit token history``: the dashboard's token history from the CLI (no stack needed)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from nexuskit.cli import app
from nexuskit.token_history import TokenHistory, TokenRecord


def _record(user: str, issued_at: float, token_id: str) -> TokenRecord:
    claims = {
        "exp": issued_at + 900,
        "sub": user,
        "jti": token_id,
        "sid": f"nexus-{user}",
        "iss": "https://auth.local",
        "aud": "nexus",
    }
    return TokenRecord.from_claims(user, None if user == "bob" else 90, 15, claims, issued_at)


def _history(state_dir: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["token", "history", "--state-dir", str(state_dir), *args])
    return result.exit_code, result.stdout, result.stderr


def test_history_lists_the_dashboards_tokens_newest_first(tmp_path: Path) -> None:
    """Tokens kept by the dashboard come out newest first, as a table and as --json (no secret)."""
    store = TokenHistory(tmp_path)
    store.add(_record("alice", 1_795_600_000.0, "jti-alice"))
    store.add(_record("bob", 1_795_600_600.0, "jti-bob"))

    code, out, err = _history(tmp_path, "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert [row["user"] for row in rows] == ["bob", "alice"]
    assert rows[1] == _record("alice", 1_795_600_000.0, "jti-alice").as_dict()

    code, out, err = _history(tmp_path)
    assert code == 0, err
    assert "jti-bob" in out and "jti-alice" in out
    assert out.index("jti-bob") < out.index("jti-alice")
    assert "default" in out and "90 min" in out and "2026-11-25" in out


def test_no_history_yet_is_said(tmp_path: Path) -> None:
    """No history file: an empty JSON list, or one line naming where it would be."""
    code, out, _ = _history(tmp_path, "--json")
    assert (code, json.loads(out)) == (0, [])
    code, out, _ = _history(tmp_path)
    assert code == 0 and "no tokens in the history" in out


def test_a_corrupt_history_is_one_error_line_and_moved_aside(tmp_path: Path) -> None:
    """A history that is not JSON: exit 1, one error line saying where it went; the file is kept."""
    path = tmp_path / "tui" / "token-history.json"
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    code, out, err = _history(tmp_path)
    assert code == 1 and out == ""
    assert err.startswith("error: the token history") and "was moved to" in err
    assert "Traceback" not in err
    aside = list(path.parent.glob("token-history.corrupt-*.json"))
    assert len(aside) == 1 and aside[0].read_text() == "{not json"
