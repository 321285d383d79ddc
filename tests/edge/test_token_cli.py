"""``nexuskit token issue|verify|env`` as a user runs them (real subprocesses, over HTTP)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.edge.conftest import EdgeStack


def nexuskit(edge: EdgeStack, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("AWS_ENDPOINT_URL", None)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "nexuskit.cli",
            *args,
            "--port",
            str(edge.engine.port),
            "--state-dir",
            str(edge.engine.state_dir),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        input=stdin,
        check=False,
    )


@pytest.fixture(scope="module")
def issued(edge: EdgeStack) -> dict[str, object]:
    """``token issue --json --show-secrets``: the full payload."""
    result = nexuskit(edge, "token", "issue", "--user", "cli-user", "--ttl", "5", "--json", "--show-secrets")
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_issue_reports_the_clamped_ttl(issued: dict[str, object]) -> None:
    """--ttl 5 is clamped by the service to 15 minutes."""
    assert issued["ttl_minutes"] == 15
    assert issued["token_type"] == "Bearer"


def test_issue_masks_secrets_by_default(edge: EdgeStack) -> None:
    """Without --show-secrets the secret key, session token and signature are masked."""
    result = nexuskit(edge, "token", "issue", "--user", "cli-user", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    credentials = payload["credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA")
    assert "…" in credentials["SecretAccessKey"] and "…" in credentials["SessionToken"]
    assert payload["token"].endswith("chars)")


def test_verify_accepts_an_issued_token(edge: EdgeStack, issued: dict[str, object]) -> None:
    """token verify checks the token against the stack's JWKS."""
    result = nexuskit(edge, "token", "verify", str(issued["token"]), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["claims"]["sub"] == "cli-user"


def test_verify_rejects_a_tampered_token_in_one_line(edge: EdgeStack, issued: dict[str, object]) -> None:
    """A changed signature: exit 1 and one clear line on stderr."""
    token = str(issued["token"])
    tampered = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")
    result = nexuskit(edge, "token", "verify", "-", stdin=tampered)
    assert result.returncode == 1
    assert "signature does not verify" in result.stderr
    assert "Traceback" not in result.stderr


def test_env_prints_exports_for_a_producer_shell(edge: EdgeStack, tmp_path: Path) -> None:
    """token env's lines, evaluated by a shell, let boto3 write to the client stream."""
    result = nexuskit(edge, "token", "env", "--user", "shell-user", "--ttl", "20")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert all(line.startswith("export ") for line in lines)
    script = tmp_path / "producer.sh"
    script.write_text(
        result.stdout + f'{sys.executable} -c "import boto3, os; '
        "print(boto3.client('kinesis').put_record(StreamName=os.environ['NEXUS_CLIENT_STREAM'], "
        "Data=b'x', PartitionKey='p')['ShardId'])\"\n"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    produced = subprocess.run(
        ["bash", str(script)], capture_output=True, text=True, env=clean, timeout=60, check=False
    )
    assert produced.returncode == 0, produced.stderr
    assert produced.stdout.strip().startswith("shardId-")


def test_issue_without_a_running_engine_says_so(tmp_path: Path) -> None:
    """No engine on the port: one line saying so, and how to start the stack."""
    result = subprocess.run(
        [sys.executable, "-m", "nexuskit.cli", "token", "issue", "--port", "1", "--state-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "no engine answers" in result.stderr and "nexuskit up --local" in result.stderr
