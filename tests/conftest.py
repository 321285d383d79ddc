"""Fixtures shared by every test folder."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers import EngineProcess


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
