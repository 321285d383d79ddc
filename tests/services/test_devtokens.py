"""``python -m services.common.devtokens``: the token issuer of the docker-compose path."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

from services.common.callers import AuthSettings, CallerAuth, ForbiddenError, UnauthenticatedError

ISSUER = "https://nexus-compose.local"


def _issue(out: Path, *accounts: str) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, "-m", "services.common.devtokens", "--out", str(out), "--issuer", ISSUER]
    for account in accounts:
        args += ["--account", account]
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)


def _auth(out: Path, callers: str) -> CallerAuth:
    return CallerAuth(AuthSettings(jwks=str(out / "public" / "jwks.json"), issuer=ISSUER, callers=callers))


def test_issued_tokens_verify_as_serviceaccount_tokens(tmp_path: Path) -> None:
    """A service trusting the written JWKS accepts the listed account's token, with its roles."""
    done = _issue(tmp_path, "nexus-agent-core/agent-orchestrator", "nexus-agent-core/nexus-ui")
    assert done.returncode == 0, done.stderr
    token = (tmp_path / "nexus-agent-core" / "agent-orchestrator" / "token").read_text()
    caller = _auth(tmp_path, "nexus-agent-core/agent-orchestrator=read,write").authenticate(f"Bearer {token}")
    assert caller.name == "nexus-agent-core/agent-orchestrator" and caller.roles == {"read", "write"}
    other = (tmp_path / "nexus-agent-core" / "nexus-ui" / "token").read_text()
    with pytest.raises(ForbiddenError, match="not an allowed caller"):
        _auth(tmp_path, "nexus-agent-core/agent-orchestrator=read").authenticate(f"Bearer {other}")


def test_private_key_and_tokens_are_owner_only(tmp_path: Path) -> None:
    """The signing key and each token are 0600 in 0700 folders; only the JWKS is public."""
    assert _issue(tmp_path, "nexus-mcp/aws-mcp").returncode == 0
    for path in (tmp_path / "private" / "signing-key.pem", tmp_path / "nexus-mcp" / "aws-mcp" / "token"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700, path.parent
    assert stat.S_IMODE((tmp_path / "public" / "jwks.json").stat().st_mode) == 0o644


def test_a_rerun_keeps_the_key_so_earlier_tokens_stay_valid(tmp_path: Path) -> None:
    """Refreshing the tokens does not change the key: a token of the first run still verifies."""
    assert _issue(tmp_path, "nexus-mcp/aws-mcp").returncode == 0
    first = (tmp_path / "nexus-mcp" / "aws-mcp" / "token").read_text()
    assert _issue(tmp_path, "nexus-mcp/aws-mcp").returncode == 0
    assert (
        _auth(tmp_path, "nexus-mcp/aws-mcp=read").authenticate(f"Bearer {first}").name == "nexus-mcp/aws-mcp"
    )


def test_another_issuers_keys_do_not_verify(tmp_path: Path) -> None:
    """Two compose projects have different keys: one's token is refused by the other's services."""
    assert _issue(tmp_path / "a", "nexus-mcp/aws-mcp").returncode == 0
    assert _issue(tmp_path / "b", "nexus-mcp/aws-mcp").returncode == 0
    token = (tmp_path / "a" / "nexus-mcp" / "aws-mcp" / "token").read_text()
    with pytest.raises(UnauthenticatedError):
        _auth(tmp_path / "b", "nexus-mcp/aws-mcp=read").authenticate(f"Bearer {token}")


def test_a_bad_account_name_is_refused_with_its_name(tmp_path: Path) -> None:
    """``--account`` must be namespace/serviceaccount; nothing is written otherwise."""
    done = _issue(tmp_path, "agent-orchestrator")
    assert done.returncode != 0 and "'agent-orchestrator' is not namespace/serviceaccount" in done.stderr
    assert not (tmp_path / "public").exists()
