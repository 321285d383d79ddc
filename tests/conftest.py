"""Fixtures shared by every test folder."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.helpers import EngineProcess

if TYPE_CHECKING:
    from tests.e2e.conftest import Stack


@pytest.fixture
def engine_factory(tmp_path: Path) -> Iterator[Callable[..., EngineProcess]]:
    """Start real engine processes (``python -m emulation``); all are stopped afterwards.

    ``engine_factory("--kinesis-limits", "off")`` starts one with those arguments and its
    own state dir and free port.
    """
    started: list[EngineProcess] = []

    def start(*args: str, state_dir: Path | None = None) -> EngineProcess:
        engine = EngineProcess(state_dir or tmp_path / f"engine{len(started)}", *args)
        started.append(engine)
        return engine.start()

    yield start
    for engine in started:
        engine.stop()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One real stack (``nexuskit up --local``, IAM enforced) shared by the end-to-end and
    security tests of a session; they leave it as they found it. Folders that need a
    stack of another shape define their own ``stack``."""
    from tests.e2e.conftest import nexuskit, start_stack

    running = start_stack(tmp_path_factory.mktemp("stack"))
    yield running
    nexuskit("down", *running.args)
