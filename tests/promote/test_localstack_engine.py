"""`nexuskit up --local --engine localstack`: each missing tool in one line; the happy path."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from nexuskit import localstack
from nexuskit.cli import app
from nexuskit.errors import ConfigError
from tests.promote.support import LOCAL_PARAMS, MAIN, Fakes


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A checkout with docker-compose.yml, the local parameters and the platform stack; the cwd."""
    root = tmp_path / "checkout"
    (root / "terraform/stacks/platform").mkdir(parents=True)
    (root / LOCAL_PARAMS).parent.mkdir(parents=True)
    shutil.copy(MAIN / LOCAL_PARAMS, root / LOCAL_PARAMS)
    shutil.copy(MAIN / "docker-compose.yml", root / "docker-compose.yml")
    monkeypatch.chdir(root)
    return root


def _one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


def test_without_docker_up_says_so_in_one_line(
    fakes: Fakes, checkout: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No docker on PATH: `up --engine localstack` fails with one line naming docker."""
    fakes.remove("docker")
    monkeypatch.setenv("LOCALSTACK_AUTH_TOKEN", "ls-test-token")
    result = CliRunner().invoke(app, ["up", "--local", "--engine", "localstack"])
    assert result.exit_code != 0
    assert "docker is not installed" in _one_line(result.stderr)


def test_without_token_up_says_so_in_one_line(
    fakes: Fakes, checkout: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Docker present but LOCALSTACK_AUTH_TOKEN unset: one line explaining the token."""
    monkeypatch.delenv("LOCALSTACK_AUTH_TOKEN", raising=False)
    result = CliRunner().invoke(app, ["up", "--local", "--engine", "localstack"])
    assert result.exit_code != 0
    assert "LOCALSTACK_AUTH_TOKEN is not set" in _one_line(result.stderr)
    assert fakes.docker_calls() == []


def test_without_terraform_up_says_so_in_one_line(
    fakes: Fakes, checkout: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Docker and token present but no terraform: one line naming terraform, nothing started."""
    fakes.remove("terraform")
    monkeypatch.setenv("LOCALSTACK_AUTH_TOKEN", "ls-test-token")
    result = CliRunner().invoke(app, ["up", "--local", "--engine", "localstack"])
    assert "terraform is not installed" in _one_line(result.stderr)
    assert not any(argv[:2] == ["compose", "-f"] for argv in fakes.docker_calls())


def test_localstack_starts_from_compose_and_applies_the_platform(
    fakes: Fakes, checkout: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pinned compose service starts with the token passed through; terraform applies platform."""
    monkeypatch.setenv("LOCALSTACK_AUTH_TOKEN", "ls-test-token")
    result = CliRunner().invoke(app, ["up", "--local", "--engine", "localstack", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["applied"] and report["image"] == "localstack/localstack-pro:4.9"
    compose = [
        json.loads(line) for line in fakes.docker_log.read_text().splitlines() if '"compose", "-f"' in line
    ]
    assert compose[0]["argv"] == ["compose", "-f", "docker-compose.yml", "up", "-d", "--wait", "localstack"]
    assert compose[0]["token_set"]
    tf = [c["argv"][1:3] for c in fakes.tf_calls()]
    assert tf == [["init", "-input=false"], ["apply", "-input=false"]]
    override = (checkout / "terraform/stacks/platform/nexuskit_override.tf").read_text()
    assert '"http://127.0.0.1:4566"' in override and 'backend "local"' in override


def test_unpinned_localstack_image_is_refused(tmp_path: Path) -> None:
    """A compose file with localstack :latest (or no tag) is refused."""
    doc = yaml.safe_load((MAIN / "docker-compose.yml").read_text())
    doc["services"]["localstack"]["image"] = "localstack/localstack-pro:latest"
    (tmp_path / "docker-compose.yml").write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError, match="not pinned"):
        localstack.pinned_image(tmp_path)
