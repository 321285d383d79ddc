"""`nexuskit doctor`: which Docker paths work here, and why not, one line each.

The verdicts are the real ones: ``DOCKER_HOST`` points at a socket nothing listens on (the
docker SDK really finds no engine), PATH holds what the test chooses. Where an engine
answers, the test that needs it runs instead of skipping.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from emulation.kind import docker_unavailable
from nexuskit.cli import app

NO_ENGINE = docker_unavailable()
EXISTING_KEYS = {"versions", "port", "state_dir", "tools", "terraform", "docker_engine", "engines"}
PATHS = ("docker engine", "localstack (testcontainers)", "kind runtime")


def _bin_with(tmp_path: Path, tools: tuple[str, ...]) -> Path:
    """A PATH folder holding links to the real ``tools`` only."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in tools:
        found = shutil.which(tool)
        if found:
            (folder / tool).symlink_to(found)
    return folder


def _doctor(tmp_path: Path, *args: str) -> Any:
    result = CliRunner().invoke(app, ["doctor", *args, "--state-dir", str(tmp_path / "state")])
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def no_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    host = f"unix://{tmp_path / 'no-engine.sock'}"
    monkeypatch.setenv("DOCKER_HOST", host)
    return host


def test_without_engine_every_docker_path_says_why(
    tmp_path: Path, no_engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--json keeps its keys and adds docker_paths: the engine, LocalStack and kind, each with why."""
    monkeypatch.delenv("LOCALSTACK_AUTH_TOKEN", raising=False)
    monkeypatch.setenv("PATH", str(_bin_with(tmp_path, ("terraform", "kubectl"))))
    report = json.loads(_doctor(tmp_path, "--json").stdout)
    assert set(report) >= EXISTING_KEYS
    assert report["docker_engine"] is False
    paths = report["docker_paths"]
    assert tuple(paths) == PATHS
    assert paths["docker engine"] == {
        "usable": False,
        "why": f"no Docker engine answers the docker SDK ({no_engine}: no such socket)",
    }
    ls = paths["localstack (testcontainers)"]
    assert ls["usable"] is False and ls["image"] == "localstack/localstack-pro:4.9"
    assert ls["why"].startswith("no Docker engine answers; LOCALSTACK_AUTH_TOKEN is not set")
    assert ls["why"].endswith("use the embedded engine (nexuskit up --local), token-free")
    kind = paths["kind runtime"]
    assert kind["usable"] is False
    assert kind["why"].startswith("no Docker engine answers; kind is not on PATH;")
    assert "kubectl" not in kind["why"]
    assert report["engines"]["localstack"]["available"] is False
    assert report["engines"]["kind runtime"]["available"] is False
    assert report["engines"]["embedded"]["available"] is True


def test_token_set_leaves_only_the_engine_in_the_way(
    tmp_path: Path, no_engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOCALSTACK_AUTH_TOKEN", "ls-test-token")
    monkeypatch.setenv("PATH", str(_bin_with(tmp_path, ("terraform",))))
    why = json.loads(_doctor(tmp_path, "--json").stdout)["docker_paths"]["localstack (testcontainers)"]["why"]
    assert "LOCALSTACK_AUTH_TOKEN" not in why and why.startswith("no Docker engine answers;")
    if shutil.which("terraform") is None:
        assert "terraform is not on PATH" in why


def test_text_output_has_one_line_per_docker_path(
    tmp_path: Path, no_engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LOCALSTACK_AUTH_TOKEN", raising=False)
    out = _doctor(tmp_path).stdout.splitlines()
    start = out.index("Docker paths")
    lines = out[start + 1 : start + 1 + len(PATHS)]
    for name, line in zip(PATHS, lines, strict=True):
        assert line.startswith(f"  {name}: not usable - "), line
    assert "no such socket" in lines[0]


def test_with_an_engine_doctor_says_it_is_usable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if NO_ENGINE:
        pytest.skip(f"no Docker engine answers: {NO_ENGINE}")
    monkeypatch.setenv("LOCALSTACK_AUTH_TOKEN", "ls-test-token")
    report = json.loads(_doctor(tmp_path, "--json").stdout)
    assert report["docker_engine"] is True
    assert report["docker_paths"]["docker engine"]["usable"] is True
    assert "no Docker engine" not in report["docker_paths"]["localstack (testcontainers)"]["why"]
