"""A real stack for end-to-end tests: ``nexuskit up --local`` as a user runs it.

The session's shared ``stack`` fixture lives in ``tests/conftest.py`` (the end-to-end and
security tests share it); ``own_stack`` here is a stack of the test's own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from nexuskit.aws import AwsTarget
from nexuskit.config import KitSettings
from nexuskit.engine import EmbeddedEngine
from nexuskit.params import StackSpec, load_stack
from tests.helpers import free_port


def nexuskit(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the installed CLI as a user would (a real subprocess)."""
    full_env = dict(os.environ)
    full_env.pop("AWS_ENDPOINT_URL", None)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "nexuskit.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        check=False,
    )


@dataclass
class Stack:
    """One running stack: its port, state dir and the admin identity."""

    port: int
    state_dir: Path
    up_report: dict[str, Any]

    @property
    def args(self) -> list[str]:
        return ["--port", str(self.port), "--state-dir", str(self.state_dir)]

    @property
    def settings(self) -> KitSettings:
        return KitSettings(port=self.port, state_dir=self.state_dir)

    @property
    def spec(self) -> StackSpec:
        return load_stack()

    @property
    def target(self) -> AwsTarget:
        return EmbeddedEngine(self.settings).target(self.spec.region)

    def client(self, service: str) -> Any:
        return self.target.client(service)

    def cli(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return nexuskit(*args, *self.args, **kwargs)


def start_stack(state_dir: Path, *extra: str) -> Stack:
    port = free_port()
    result = nexuskit("up", "--local", "--json", "--port", str(port), "--state-dir", str(state_dir), *extra)
    assert result.returncode == 0, result.stderr + result.stdout
    return Stack(port=port, state_dir=state_dir, up_report=json.loads(result.stdout))


@pytest.fixture
def own_stack(tmp_path: Path) -> Iterator[Stack]:
    """A stack of the test's own (for tests that stop, crash or wipe it)."""
    running = start_stack(tmp_path / "state")
    yield running
    nexuskit("down", *running.args)
