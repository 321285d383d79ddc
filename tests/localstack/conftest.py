"""LocalStack's own tools (``awslocal``, ``tflocal``), unchanged, against nexuskit.

The tools live in their own virtualenv, ``.localstack-tools-venv`` at the repository root,
made by ``make localstack-tools`` (``tests/localstack/setup.sh``; ``make test`` runs it).
Where it could not be made, the setup wrote why to ``.unavailable`` and the tests skip with
that reason.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLS_VENV = Path(os.environ.get("LOCALSTACK_TOOLS_VENV") or REPO_ROOT / ".localstack-tools-venv")
#: what a shell needs to run the tools; every AWS_* and LocalStack setting is left out
_KEPT = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TERM")


def tool(name: str) -> Path:
    """The tool's executable in the tools' virtualenv; skips, saying why, when it is absent."""
    path = TOOLS_VENV / "bin" / name
    if path.is_file() and os.access(path, os.X_OK):
        return path
    reason_file = TOOLS_VENV / ".unavailable"
    if reason_file.is_file():
        pytest.skip(f"{name}: {reason_file.read_text(encoding='utf-8').strip()}")
    pytest.skip(f"{name} is not installed in {TOOLS_VENV}: run `make localstack-tools`")


def clean_env(**settings: str) -> dict[str, str]:
    """A user's shell with nothing pointing at AWS or an emulator, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if k in _KEPT}
    env["PATH"] = f"{TOOLS_VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env.update(settings)
    return env


def nexuskit(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """The installed CLI in a subprocess, as a user runs it (no endpoint from this process)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run(
        [sys.executable, "-m", "nexuskit.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def env_exports(output: str) -> dict[str, str]:
    """The variables of ``nexuskit env``'s ``export NAME=VALUE`` lines."""
    found: dict[str, str] = {}
    for line in output.splitlines():
        words = shlex.split(line)
        if len(words) == 2 and words[0] == "export" and "=" in words[1]:
            name, value = words[1].split("=", 1)
            found[name] = value
    return found
