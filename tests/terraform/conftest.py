"""Fixtures of the static Terraform checks (no terraform binary needed)."""

from __future__ import annotations

import sys
from pathlib import Path

# The helpers (tfstatic, parity) sit next to the tests; this folder has no __init__.py.
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pytest
from tfstatic import TF_ROOT, Config, Scope, load_config, module_dir, stack_dir, stack_scope

ENVS = sorted(p.name for p in (TF_ROOT / "envs").iterdir() if (p / "terraform.tfvars.json").is_file())


@pytest.fixture(scope="session")
def platform() -> Config:
    return load_config(stack_dir("platform"))


@pytest.fixture(scope="session")
def workloads() -> Config:
    return load_config(stack_dir("workloads"))


@pytest.fixture(scope="session")
def modules() -> dict[str, Config]:
    return {p.name: load_config(p) for p in sorted((TF_ROOT / "modules").iterdir()) if p.is_dir()}


@pytest.fixture(params=ENVS)
def env(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def stack(env: str) -> Scope:
    return stack_scope(env)


def module_config(name: str) -> Config:
    return load_config(module_dir(name))
